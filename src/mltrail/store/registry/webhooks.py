"""Webhook delivery: signed JSON POSTs of registry events, retried with backoff, once across all server replicas.

Deliveries live in the database, not in a process. The store records one ``PENDING`` delivery row per subscribed
webhook in the same transaction as the change that fires the event (so an event is never lost between the commit
and the delivery, and an event whose change rolled back is never sent). Every process that runs a
:class:`WebhookDispatcher` (each worker of each ``mltrail server`` replica) then competes for due rows: a
dispatcher *claims* one by writing a lease (an owner token and an expiry) onto it in a short transaction that only
one claimant can win, POSTs it with no transaction open, and records the outcome under its lease: ``DELIVERED``,
``FAILED`` after ``max_attempts``, or ``RETRYING`` with the next attempt due after an exponential backoff, lease
released. A replica that dies mid-delivery leaves a lease that expires (``MLTRAIL_WEBHOOK_LEASE`` seconds, longer
than a POST may take), after which any replica takes the row again. Delivery is therefore at least once: a
receiver can see a second attempt of a delivery whose first answer was lost with its replica, and should treat
``X-Mltrail-Delivery`` as an idempotency key. Leases and due times are compared against each host's clock, which
should be NTP-synchronised (skew far below the lease).

Each request carries:

- ``X-Mltrail-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>``
  (left out for a webhook without a secret);
- ``X-Mltrail-Event``, ``X-Mltrail-Event-Id``, ``X-Mltrail-Delivery`` and ``X-Mltrail-Timestamp``.

The body is ``{"event_id", "event", "timestamp", "data"}``; receivers should check the signature over the body
bytes exactly as received (:func:`verify_signature` does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mltrail-Signature"
USER_AGENT = "mltrail-webhooks"
#: Delivery statuses: the first two are open (a dispatcher will try them), the last two final.
PENDING, RETRYING, DELIVERED, FAILED = "PENDING", "RETRYING", "DELIVERED", "FAILED"
OPEN_STATUSES = (PENDING, RETRYING)

_id_lock = threading.Lock()
_last_id_ns = 0


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``secret`` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def new_delivery_id() -> str:
    """A 32-hex-digit delivery id that sorts in creation order within a process (nanoseconds, then random bits).

    Deliveries due at the same millisecond go out in id order, so one process sends its events in the order they
    happened.
    """
    global _last_id_ns
    with _id_lock:
        _last_id_ns = max(time.time_ns(), _last_id_ns + 1)
        stamp = _last_id_ns
    return f"{stamp:016x}{secrets.token_hex(8)}"


def event_payload(event: str, data: Mapping[str, Any]) -> tuple[str, int, str]:
    """``(event_id, timestamp_ms, body)`` of a new event: the JSON body every delivery of it sends."""
    event_id = uuid.uuid4().hex
    timestamp = int(time.time() * 1000)
    body = json.dumps({"event_id": event_id, "event": event, "timestamp": timestamp, "data": dict(data)})
    return event_id, timestamp, body


@dataclass(frozen=True, slots=True)
class Target:
    """What a delivery needs to know about its webhook."""

    webhook_id: str
    url: str
    secret: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this dispatcher holds the lease of, for one attempt.

    Attributes:
        delivery_id: the delivery (``X-Mltrail-Delivery``).
        lease: the owner token written with the lease; the outcome is recorded only while it is still this one.
        target: the webhook's URL and secret as they are now.
        event_id: the event (``X-Mltrail-Event-Id``); every webhook's delivery of one event shares it.
        event: the event name.
        body: the JSON body, as stored.
        timestamp: when the event happened (ms).
        attempt: this attempt's number (1 for the first).
    """

    delivery_id: str
    lease: str
    target: Target
    event_id: str
    event: str
    body: str
    timestamp: int
    attempt: int


class DeliveryLog(ABC):
    """The shared state the dispatchers work on (the SQL registry store's delivery table implements it)."""

    @abstractmethod
    def record_event(self, event: str, data: Mapping[str, Any]) -> int:
        """Record a delivery of ``event`` for every active webhook subscribed to it (own transaction).

        Returns:
            How many deliveries were recorded.
        """

    @abstractmethod
    def next_due(self) -> int | None:
        """When (ms) the earliest open delivery can next be claimed (a held lease counts until it expires); None
        when no delivery is open."""

    @abstractmethod
    def claim(self, owner: str, now_ms: int, lease_ms: int) -> Claim | None:
        """Lease the earliest due, unleased open delivery to ``owner`` until ``now_ms + lease_ms``, counting the
        attempt; None when none is due. Two claimants, in any processes, never both win one delivery."""

    @abstractmethod
    def finish(
        self, claim: Claim, status: str, response_code: int | None, error: str | None, next_attempt_at: int | None
    ) -> bool:
        """Record the outcome of ``claim``'s attempt and release its lease; ``next_attempt_at`` (ms) for RETRYING.

        Returns:
            False when the lease was no longer this claim's (it expired and another dispatcher took the row).
        """

    @abstractmethod
    def open_count(self) -> int:
        """How many deliveries are still PENDING or RETRYING."""


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        return default


class WebhookDispatcher:
    """Claims due deliveries from a :class:`DeliveryLog` and POSTs them, on one daemon thread per process.

    A thread started by :meth:`start` (``mltrail server`` does, in each worker) keeps polling the log so that it
    also picks up retries and expired leases left by other replicas; one started by :meth:`wake` (a store used as a
    library) stops once no delivery is open.

    Args:
        log: the delivery rows.
        max_attempts: tries per delivery (``MLTRAIL_WEBHOOK_MAX_ATTEMPTS``, default 5).
        backoff: seconds before the first retry, doubled each time (``MLTRAIL_WEBHOOK_BACKOFF``, default 1).
        timeout: seconds per POST (``MLTRAIL_WEBHOOK_TIMEOUT``, default 10).
        lease: seconds a claim holds a delivery (``MLTRAIL_WEBHOOK_LEASE``, default 60; at least ``timeout`` + 5).
        poll: seconds between looks for due deliveries when idle (``MLTRAIL_WEBHOOK_POLL``, default 1).
        opener: ``urllib.request.urlopen`` or a stand-in.
    """

    def __init__(
        self,
        log: DeliveryLog,
        max_attempts: int | None = None,
        backoff: float | None = None,
        timeout: float | None = None,
        opener: Callable[..., Any] | None = None,
        lease: float | None = None,
        poll: float | None = None,
    ) -> None:
        self.log = log
        self.max_attempts = int(max_attempts or _env_number("MLTRAIL_WEBHOOK_MAX_ATTEMPTS", 5))
        self.backoff = backoff if backoff is not None else _env_number("MLTRAIL_WEBHOOK_BACKOFF", 1.0)
        self.timeout = timeout if timeout is not None else _env_number("MLTRAIL_WEBHOOK_TIMEOUT", 10.0)
        chosen_lease = lease if lease is not None else _env_number("MLTRAIL_WEBHOOK_LEASE", 60.0)
        self.lease = max(chosen_lease, self.timeout + 5.0)
        self.poll = max(0.01, poll if poll is not None else _env_number("MLTRAIL_WEBHOOK_POLL", 1.0))
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}"
        self._open = opener or urllib.request.urlopen
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._persistent = False
        self._stopping = False
        self._woken = False

    # ------------------------------------------------------------------------------------------ public
    def start(self) -> None:
        """Run the dispatcher thread for the life of the process (until :meth:`stop`), polling when idle."""
        with self._cond:
            self._persistent, self._stopping = True, False
            self._ensure_thread()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread after its current attempt (an unfinished one is retried when its lease expires)."""
        with self._cond:
            self._stopping, self._persistent = True, False
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wake(self) -> None:
        """New deliveries were recorded: look for due ones now (starting the thread if it is not running)."""
        with self._cond:
            self._stopping = False
            self._woken = True
            self._ensure_thread()
            self._cond.notify_all()

    def emit(self, event: str, data: Mapping[str, Any]) -> int:
        """Record a delivery of ``event`` for each subscribed webhook (one database write) and wake the thread.

        The store records deliveries in the transaction of the change itself; this is for events from elsewhere.

        Returns:
            How many deliveries were recorded.
        """
        count = self.log.record_event(event, data)
        if count:
            self.wake()
        return count

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until no delivery is open in the log (delivered or failed, by any process); False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.log.open_count() == 0:
                    return True
            except Exception:  # a database hiccup: look again
                _logger.debug("Webhook flush could not count open deliveries", exc_info=True)
            if time.monotonic() >= deadline:
                return False
            self.wake()
            time.sleep(0.02)

    def run_once(self) -> bool:
        """Claim one due delivery and attempt it; whether there was one."""
        claim = self.log.claim(self.owner + ":" + secrets.token_hex(4), _now_ms(), int(self.lease * 1000))
        if claim is None:
            return False
        if claim.attempt > self.max_attempts:  # the last attempt's replica stopped before recording an outcome
            self.log.finish(claim, FAILED, None, "No outcome recorded for the last attempt (its server stopped).", None)
            return True
        code, error = self._post(claim)
        if code is not None and 200 <= code < 300:
            recorded = self.log.finish(claim, DELIVERED, code, None, None)
        elif claim.attempt >= self.max_attempts:
            recorded = self.log.finish(claim, FAILED, code, error, None)
        else:
            due = _now_ms() + int(self.backoff * 1000 * (2 ** (claim.attempt - 1)))
            recorded = self.log.finish(claim, RETRYING, code, error, due)
        if not recorded:
            _logger.warning("Webhook delivery %s: lease lost before the outcome was recorded", claim.delivery_id)
        return True

    # ---------------------------------------------------------------------------------------- internals
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mltrail-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    self._thread = None
                    return
                self._woken = False
            try:
                if self.run_once():
                    continue
                due = self.log.next_due()
            except Exception:  # a broken receiver or database must never kill the thread
                _logger.exception("Webhook dispatch failed")
                due, pause = None, self.poll
            else:
                pause = self.poll
            if due is not None:
                # Due but not won (another dispatcher is claiming it right now): look again shortly.
                pause = min(pause, max((due - _now_ms()) / 1000, 0.05))
            with self._cond:
                if self._woken or self._stopping:
                    continue
                if due is None and not self._persistent:
                    self._thread = None  # nothing open: a library's thread ends; wake() starts another
                    return
                self._cond.wait(pause)

    def _post(self, claim: Claim) -> tuple[int | None, str | None]:
        body = claim.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Mltrail-Event": claim.event,
            "X-Mltrail-Event-Id": claim.event_id,
            "X-Mltrail-Delivery": claim.delivery_id,
            "X-Mltrail-Timestamp": str(claim.timestamp),
        }
        if claim.target.secret:
            headers[SIGNATURE_HEADER] = sign(body, claim.target.secret)
        request = urllib.request.Request(claim.target.url, data=body, headers=headers, method="POST")
        try:
            with self._open(request, timeout=self.timeout) as response:
                return int(response.status), None
        except urllib.error.HTTPError as exc:
            return int(exc.code), f"HTTP {exc.code}: {exc.reason}"
        except Exception as exc:  # connection refused, timeout, DNS, ...
            return None, f"{type(exc).__name__}: {exc}"[:1000]


def _now_ms() -> int:
    return int(time.time() * 1000)
