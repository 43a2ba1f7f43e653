"""Webhook delivery: signed JSON POSTs of registry events, retried with backoff on a background thread.

The store calls :meth:`WebhookDispatcher.emit` after a change commits; ``emit`` only queues the event, so a
request never waits for a receiver. The dispatcher thread records a delivery row per matching webhook
(``PENDING``), POSTs the payload, and retries failures (connection errors, timeouts, non-2xx answers) with
exponential backoff until ``max_attempts``; each attempt updates the row's status, attempt count, response code
and error, so the delivery log can be read back through the store.

Each request carries:

- ``X-Mltrail-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>``
  (left out for a webhook without a secret);
- ``X-Mltrail-Event``, ``X-Mltrail-Event-Id``, ``X-Mltrail-Delivery`` and ``X-Mltrail-Timestamp``.

The body is ``{"event_id", "event", "timestamp", "data"}``; receivers should check the signature over the body
bytes exactly as received (:func:`verify_signature` does).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mltrail-Signature"
USER_AGENT = "mltrail-webhooks"
#: Delivery statuses.
PENDING, RETRYING, DELIVERED, FAILED = "PENDING", "RETRYING", "DELIVERED", "FAILED"


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``secret`` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


@dataclass(frozen=True, slots=True)
class Target:
    """What a delivery needs to know about its webhook."""

    webhook_id: str
    url: str
    secret: str | None


@dataclass(slots=True)
class _Delivery:
    delivery_id: str
    target: Target
    event_id: str
    event: str
    body: bytes
    timestamp: int
    attempts: int = 0


class DeliveryLog:
    """Where the dispatcher finds webhooks and records deliveries (the SQL registry store implements it)."""

    def targets_for(self, event: str) -> list[Target]:  # pragma: no cover - interface
        """Active webhooks subscribed to ``event``."""
        raise NotImplementedError

    def record_delivery(
        self, delivery_id: str, target: Target, event_id: str, event: str, payload: str
    ) -> None:  # pragma: no cover
        """Insert a PENDING delivery row."""
        raise NotImplementedError

    def update_delivery(  # pragma: no cover - interface
        self, delivery_id: str, status: str, attempts: int, response_code: int | None, error: str | None
    ) -> None:
        """Record the outcome of an attempt."""
        raise NotImplementedError


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        return default


class WebhookDispatcher:
    """Sends queued events to webhooks on one daemon thread, with retries scheduled by due time.

    Args:
        log: finds targets and records deliveries.
        max_attempts: tries per delivery (``MLTRAIL_WEBHOOK_MAX_ATTEMPTS``, default 5).
        backoff: seconds before the first retry, doubled each time (``MLTRAIL_WEBHOOK_BACKOFF``, default 1).
        timeout: seconds per POST (``MLTRAIL_WEBHOOK_TIMEOUT``, default 10).
    """

    def __init__(
        self,
        log: DeliveryLog,
        max_attempts: int | None = None,
        backoff: float | None = None,
        timeout: float | None = None,
        opener: Callable[..., Any] | None = None,
    ) -> None:
        self.log = log
        self.max_attempts = int(max_attempts or _env_number("MLTRAIL_WEBHOOK_MAX_ATTEMPTS", 5))
        self.backoff = backoff if backoff is not None else _env_number("MLTRAIL_WEBHOOK_BACKOFF", 1.0)
        self.timeout = timeout if timeout is not None else _env_number("MLTRAIL_WEBHOOK_TIMEOUT", 10.0)
        self._open = opener or urllib.request.urlopen
        self._cond = threading.Condition()
        self._events: list[tuple[str, str, int, dict[str, Any]]] = []
        self._retries: list[tuple[float, int, _Delivery]] = []
        self._counter = itertools.count()
        self._busy = 0
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ public
    def emit(self, event: str, data: Mapping[str, Any]) -> str:
        """Queue an event for every webhook subscribed to it; returns the event id. Never blocks on I/O."""
        event_id = uuid.uuid4().hex
        with self._cond:
            self._events.append((event_id, event, int(time.time() * 1000), dict(data)))
            self._ensure_thread()
            self._cond.notify()
        return event_id

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event and scheduled retry is finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._events or self._retries or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    # ---------------------------------------------------------------------------------------- internals
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mltrail-webhooks", daemon=True)
            self._thread.start()

    def _next_job(self) -> tuple[str, Any]:
        with self._cond:
            while True:
                if self._events:
                    self._busy += 1
                    return "event", self._events.pop(0)
                now = time.monotonic()
                if self._retries and self._retries[0][0] <= now:
                    self._busy += 1
                    return "retry", heapq.heappop(self._retries)[2]
                wait = self._retries[0][0] - now if self._retries else None
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            kind, job = self._next_job()
            try:
                if kind == "event":
                    self._fan_out(*job)
                else:
                    self._attempt(job)
            except Exception:  # a broken receiver or database must never kill the thread
                _logger.exception("Webhook dispatch failed")
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _fan_out(self, event_id: str, event: str, timestamp: int, data: dict[str, Any]) -> None:
        targets = self.log.targets_for(event)
        if not targets:
            return
        payload = json.dumps({"event_id": event_id, "event": event, "timestamp": timestamp, "data": data})
        for target in targets:
            delivery = _Delivery(uuid.uuid4().hex, target, event_id, event, payload.encode("utf-8"), timestamp)
            self.log.record_delivery(delivery.delivery_id, target, event_id, event, payload)
            self._attempt(delivery)

    def _attempt(self, delivery: _Delivery) -> None:
        delivery.attempts += 1
        code, error = self._post(delivery)
        if code is not None and 200 <= code < 300:
            self.log.update_delivery(delivery.delivery_id, DELIVERED, delivery.attempts, code, None)
            return
        if delivery.attempts >= self.max_attempts:
            self.log.update_delivery(delivery.delivery_id, FAILED, delivery.attempts, code, error)
            return
        self.log.update_delivery(delivery.delivery_id, RETRYING, delivery.attempts, code, error)
        due = time.monotonic() + self.backoff * (2 ** (delivery.attempts - 1))
        with self._cond:
            heapq.heappush(self._retries, (due, next(self._counter), delivery))
            self._cond.notify()

    def _post(self, delivery: _Delivery) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Mltrail-Event": delivery.event,
            "X-Mltrail-Event-Id": delivery.event_id,
            "X-Mltrail-Delivery": delivery.delivery_id,
            "X-Mltrail-Timestamp": str(delivery.timestamp),
        }
        if delivery.target.secret:
            headers[SIGNATURE_HEADER] = sign(delivery.body, delivery.target.secret)
        request = urllib.request.Request(delivery.target.url, data=delivery.body, headers=headers, method="POST")
        try:
            with self._open(request, timeout=self.timeout) as response:
                return int(response.status), None
        except urllib.error.HTTPError as exc:
            return int(exc.code), f"HTTP {exc.code}: {exc.reason}"
        except Exception as exc:  # connection refused, timeout, DNS, ...
            return None, f"{type(exc).__name__}: {exc}"[:1000]
