"""Webhook rows: CRUD for webhooks, their delivery log, and the delivery queue the dispatchers share.

Deliveries are recorded in the transaction of the change that fires their event (:meth:`WebhookRows.record`),
reading the webhooks table there too, so a webhook created through any replica is seen by the next event on every
replica. Dispatchers claim due rows with a lease (see :mod:`mltrail.store.registry.webhooks`): the claim runs in a
short write transaction that selects the earliest due, unleased row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
MySQL/MariaDB, so concurrent claimants pass over each other's rows; SQLite's write transactions run one at a time)
and then leases it with an UPDATE whose WHERE clause repeats the conditions, so the claim stays exclusive on any
backend and isolation level.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import Webhook, WebhookDelivery, WebhookEvent
from mltrail.store.registry.sql.tables import webhook_deliveries, webhooks
from mltrail.store.registry.webhooks import (
    OPEN_STATUSES,
    PENDING,
    Claim,
    DeliveryLog,
    Target,
    event_payload,
    new_delivery_id,
)
from mltrail.store.sql.database import Database
from mltrail.store.tracking.base import now_ms

_ERROR_LENGTH = 1000


def _skips_locked(conn: Connection) -> bool:
    """Whether the server understands ``FOR UPDATE SKIP LOCKED`` (PostgreSQL, MySQL 8, MariaDB 10.6+)."""
    dialect = conn.dialect
    if dialect.name == "postgresql":
        return True
    if dialect.name in ("mysql", "mariadb"):
        version = tuple(dialect.server_version_info or ())
        return version >= ((10, 6) if getattr(dialect, "is_mariadb", False) else (8, 0, 1))
    return False


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

    # ------------------------------------------------------------------------------------ targets
    @staticmethod
    def targets_for(conn: Connection, event: str) -> list[Target]:
        """Active webhooks subscribed to ``event``, as the transaction of ``conn`` sees them."""
        rows = conn.execute(
            sa.select(webhooks.c.webhook_id, webhooks.c.url, webhooks.c.secret, webhooks.c.events).where(
                webhooks.c.active.is_(True)
            )
        )
        return [Target(r.webhook_id, r.url, r.secret) for r in rows if r.events == "*" or event in r.events.split(",")]

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

        return self.db.write(insert)

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

        return self.db.write(update)

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook and its deliveries."""

        def delete(conn: Connection) -> None:
            self._row(conn, webhook_id)
            conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.webhook_id == webhook_id))
            conn.execute(webhooks.delete().where(webhooks.c.webhook_id == webhook_id))

        self.db.write(delete)

    # --------------------------------------------------------------------------------- deliveries
    def record(self, conn: Connection, event: str, data: Mapping[str, Any]) -> int:
        """Record a PENDING delivery of ``event`` for each subscribed webhook, in the caller's transaction.

        Returns:
            How many deliveries were recorded (0 when no active webhook wants the event).
        """
        targets = self.targets_for(conn, event)
        if not targets:
            return 0
        event_id, timestamp, payload = event_payload(event, data)
        rows = [
            {
                "delivery_id": new_delivery_id(),
                "webhook_id": target.webhook_id,
                "event_id": event_id,
                "event": event,
                "payload": payload,
                "status": PENDING,
                "attempts": 0,
                "creation_time": timestamp,
                "last_updated_time": timestamp,
                "next_attempt_at": timestamp,
            }
            for target in targets
        ]
        conn.execute(webhook_deliveries.insert(), rows)
        return len(rows)

    def record_event(self, event: str, data: Mapping[str, Any]) -> int:
        """:meth:`record` in a transaction of its own."""
        return self.db.write(lambda conn: self.record(conn, event, data))

    def next_due(self) -> int | None:
        """When (ms) the earliest open delivery can next be claimed; None when none is open."""
        d = webhook_deliveries
        leased_later = sa.and_(d.c.lease_expires_at.is_not(None), d.c.lease_expires_at > d.c.next_attempt_at)
        ready = sa.case((leased_later, d.c.lease_expires_at), else_=d.c.next_attempt_at)
        query = sa.select(sa.func.min(ready)).where(d.c.status.in_(OPEN_STATUSES))
        found = self.db.read(lambda conn: conn.execute(query).scalar())
        return None if found is None else int(found)

    def claim(self, owner: str, now_ms: int, lease_ms: int) -> Claim | None:
        """Lease the earliest due, unleased open delivery to ``owner`` (see the module docstring)."""
        d = webhook_deliveries
        free = sa.or_(d.c.lease_expires_at.is_(None), d.c.lease_expires_at < now_ms)
        candidate = (
            sa.select(d.c.delivery_id, d.c.attempts)
            .where(d.c.status.in_(OPEN_STATUSES), d.c.next_attempt_at <= now_ms, free)
            .order_by(d.c.next_attempt_at, d.c.delivery_id)
            .limit(1)
        )

        def work(conn: Connection) -> Claim | None:
            query = candidate.with_for_update(skip_locked=True) if _skips_locked(conn) else candidate
            row = conn.execute(query).first()
            if row is None:
                return None
            lease = d.update().where(
                d.c.delivery_id == row.delivery_id, d.c.attempts == row.attempts, d.c.status.in_(OPEN_STATUSES), free
            )
            values = {
                "lease_owner": owner,
                "lease_expires_at": now_ms + lease_ms,
                "attempts": row.attempts + 1,
                "last_updated_time": now_ms,
            }
            if conn.execute(lease.values(**values)).rowcount != 1:
                return None  # another claimant got there first
            full = conn.execute(
                sa.select(d, webhooks.c.url, webhooks.c.secret)
                .join(webhooks, webhooks.c.webhook_id == d.c.webhook_id)
                .where(d.c.delivery_id == row.delivery_id)
            ).first()
            if full is None:
                return None
            return Claim(
                delivery_id=full.delivery_id,
                lease=owner,
                target=Target(full.webhook_id, full.url, full.secret),
                event_id=full.event_id,
                event=full.event,
                body=full.payload,
                timestamp=full.creation_time,
                attempt=full.attempts,
            )

        return self.db.write(work)

    def finish(
        self, claim: Claim, status: str, response_code: int | None, error: str | None, next_attempt_at: int | None
    ) -> bool:
        """Record an attempt's outcome and release the lease, if ``claim`` still holds it."""
        d = webhook_deliveries
        values: dict[str, Any] = {
            "status": status,
            "response_code": response_code,
            "error": error[:_ERROR_LENGTH] if error else None,
            "last_updated_time": now_ms(),
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        update = d.update().where(d.c.delivery_id == claim.delivery_id, d.c.lease_owner == claim.lease).values(**values)
        # Replayable: a replay after a lost COMMIT matches no row (the lease is gone) and changes nothing.
        return bool(self.db.write(lambda conn: conn.execute(update).rowcount, replayable=True))

    def open_count(self) -> int:
        """How many deliveries are PENDING or RETRYING."""
        d = webhook_deliveries
        query = sa.select(sa.func.count()).select_from(d).where(d.c.status.in_(OPEN_STATUSES))
        return int(self.db.read(lambda conn: conn.execute(query).scalar_one()))

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
