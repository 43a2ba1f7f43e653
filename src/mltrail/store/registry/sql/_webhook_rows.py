"""Webhook rows: CRUD for webhooks and their delivery log, and the dispatcher's view of them.

Which webhooks exist is cached for a second per process (every registry write asks), and the cache is dropped
whenever this process changes a webhook, so a new webhook takes effect at once here and within a second in other
server workers.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import Webhook, WebhookDelivery, WebhookEvent
from mltrail.store.registry.sql.tables import webhook_deliveries, webhooks
from mltrail.store.registry.webhooks import PENDING, DeliveryLog, Target
from mltrail.store.sql.database import Database
from mltrail.store.tracking.base import now_ms

_CACHE_SECONDS = 1.0


def _check_url(url: object) -> str:
    if not isinstance(url, str) or urllib.parse.urlparse(url).scheme not in ("http", "https"):
        raise errors.invalid(f"Invalid webhook URL {url!r}: it must be an http:// or https:// URL.")
    if not urllib.parse.urlparse(url).netloc:
        raise errors.invalid(f"Invalid webhook URL {url!r}: it has no host.")
    return url


def _check_events(events: Sequence[str] | None) -> list[str]:
    chosen = list(events or [])
    if not chosen:
        raise errors.invalid(f"A webhook needs at least one event; valid events are {', '.join(WebhookEvent.ALL)}.")
    unknown = [e for e in chosen if e not in WebhookEvent.ALL and e != "*"]
    if unknown:
        raise errors.invalid(
            f"Invalid webhook events {unknown}; valid events are {', '.join(WebhookEvent.ALL)} (or '*')."
        )
    return list(dict.fromkeys(chosen))


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        webhook_id=row.webhook_id,
        name=row.name,
        url=row.url,
        events=tuple(e for e in row.events.split(",") if e),
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        description=row.description,
        active=bool(row.active),
    )


class WebhookRows(DeliveryLog):
    """Webhook and delivery rows in the registry's database.

    Args:
        db: the database (the registry store's).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._cached: list[Row[Any]] | None = None
        self._cached_at = 0.0

    # --------------------------------------------------------------------------------------- cache
    def _active_rows(self) -> list[Row[Any]]:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached_at < _CACHE_SECONDS:
                return self._cached
        rows = self.db.read(lambda conn: conn.execute(sa.select(webhooks).where(webhooks.c.active.is_(True))).all())
        with self._lock:
            self._cached, self._cached_at = rows, time.monotonic()
        return rows

    def _invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def has_targets(self, event: str) -> bool:
        """Whether any active webhook wants ``event`` (cheap: cached)."""
        return any(event in r.events.split(",") or r.events == "*" for r in self._active_rows())

    def targets_for(self, event: str) -> list[Target]:
        """Active webhooks subscribed to ``event``."""
        return [
            Target(r.webhook_id, r.url, r.secret)
            for r in self._active_rows()
            if event in r.events.split(",") or r.events == "*"
        ]

    # --------------------------------------------------------------------------------------- CRUD
    def _row(self, conn: Connection, webhook_id: str) -> Row[Any]:
        row = conn.execute(sa.select(webhooks).where(webhooks.c.webhook_id == webhook_id)).first()
        if row is None:
            raise errors.not_found(f"Webhook with ID {webhook_id} not found.")
        return row

    def create(
        self, name: str, url: str, events: Sequence[str], secret: str | None, description: str | None
    ) -> Webhook:
        """Insert a webhook."""
        if not isinstance(name, str) or not name.strip():
            raise errors.invalid("Missing value for required parameter 'name'.")
        values = {
            "webhook_id": uuid.uuid4().hex,
            "name": name,
            "url": _check_url(url),
            "events": ",".join(_check_events(events)),
            "secret": secret or None,
            "description": description or None,
            "active": True,
            "creation_time": now_ms(),
        }
        values["last_updated_time"] = values["creation_time"]

        def insert(conn: Connection) -> Webhook:
            conn.execute(webhooks.insert().values(**values))
            return _webhook(self._row(conn, str(values["webhook_id"])))

        try:
            return self.db.write(insert)
        finally:
            self._invalidate()

    def get(self, webhook_id: str) -> Webhook:
        """One webhook."""
        return self.db.read(lambda conn: _webhook(self._row(conn, webhook_id)))

    def list(self) -> list[Webhook]:
        """Every webhook, oldest first."""
        query = sa.select(webhooks).order_by(webhooks.c.creation_time, webhooks.c.webhook_id)
        return self.db.read(lambda conn: [_webhook(r) for r in conn.execute(query)])

    def update(
        self,
        webhook_id: str,
        *,
        url: str | None,
        events: Sequence[str] | None,
        secret: str | None,
        description: str | None,
        active: bool | None,
    ) -> Webhook:
        """Change the given fields of a webhook."""
        values: dict[str, Any] = {"last_updated_time": now_ms()}
        if url is not None:
            values["url"] = _check_url(url)
        if events is not None:
            values["events"] = ",".join(_check_events(events))
        if secret is not None:
            values["secret"] = secret or None
        if description is not None:
            values["description"] = description or None
        if active is not None:
            values["active"] = bool(active)

        def update(conn: Connection) -> Webhook:
            self._row(conn, webhook_id)
            conn.execute(webhooks.update().where(webhooks.c.webhook_id == webhook_id).values(**values))
            return _webhook(self._row(conn, webhook_id))

        try:
            return self.db.write(update)
        finally:
            self._invalidate()

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook and its deliveries."""

        def delete(conn: Connection) -> None:
            self._row(conn, webhook_id)
            conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.webhook_id == webhook_id))
            conn.execute(webhooks.delete().where(webhooks.c.webhook_id == webhook_id))

        try:
            self.db.write(delete)
        finally:
            self._invalidate()

    # --------------------------------------------------------------------------------- deliveries
    def record_delivery(self, delivery_id: str, target: Target, event_id: str, event: str, payload: str) -> None:
        """Insert a PENDING delivery row."""
        now = now_ms()
        row = {
            "delivery_id": delivery_id,
            "webhook_id": target.webhook_id,
            "event_id": event_id,
            "event": event,
            "payload": payload,
            "status": PENDING,
            "attempts": 0,
            "creation_time": now,
            "last_updated_time": now,
        }
        self.db.write(lambda conn: conn.execute(webhook_deliveries.insert().values(**row)))

    def update_delivery(
        self, delivery_id: str, status: str, attempts: int, response_code: int | None, error: str | None
    ) -> None:
        """Record the outcome of an attempt."""
        d = webhook_deliveries
        values = {
            "status": status,
            "attempts": attempts,
            "response_code": response_code,
            "error": error[:1000] if error else None,
            "last_updated_time": now_ms(),
        }
        self.db.write(lambda conn: conn.execute(d.update().where(d.c.delivery_id == delivery_id).values(**values)))

    def deliveries(self, webhook_id: str, max_results: int) -> list[WebhookDelivery]:
        """A webhook's deliveries, newest first."""
        d = webhook_deliveries

        def read(conn: Connection) -> list[WebhookDelivery]:
            self._row(conn, webhook_id)
            query = (
                sa.select(d)
                .where(d.c.webhook_id == webhook_id)
                .order_by(d.c.creation_time.desc(), d.c.delivery_id)
                .limit(max(1, min(int(max_results), 1000)))
            )
            return [
                WebhookDelivery(
                    delivery_id=r.delivery_id,
                    webhook_id=r.webhook_id,
                    event_id=r.event_id,
                    event=r.event,
                    status=r.status,
                    attempts=r.attempts,
                    creation_timestamp=r.creation_time,
                    last_updated_timestamp=r.last_updated_time,
                    response_code=r.response_code,
                    error=r.error,
                    payload=r.payload,
                )
                for r in conn.execute(query)
            ]

        return self.db.read(read)
