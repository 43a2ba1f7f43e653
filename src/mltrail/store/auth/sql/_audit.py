"""The audit log: batched appends and keyset-paged searches, newest first.

A page token is opaque to callers: URL-safe base64 of ``{"ts": timestamp, "id": id}``, the last event of the page
before. The next page starts strictly after that key in ``(timestamp DESC, id DESC)`` order, so events appended
while someone pages never shift or repeat what they see (an offset would).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail import errors
from mltrail.entities.auth import AuditEvent
from mltrail.store.auth.sql.tables import NAME_LENGTH, audit_log

#: The most events one search returns.
MAX_RESULTS = 1000
#: Longest stored path and target; longer ones are cut (an audit write never fails on a long request).
MAX_TEXT_LENGTH = 8192
_LIMITS = {"username": NAME_LENGTH, "method": 16, "address": 255, "action": 255}
_MAX_TOKEN_LENGTH = 512


def _cut(value: str | None, limit: int) -> str | None:
    """``value`` as stored: at most ``limit`` characters, without NUL (PostgreSQL refuses it in text)."""
    if value is None:
        return None
    return str(value).replace("\x00", "")[:limit]


def row_of(event: AuditEvent) -> dict[str, Any]:
    """The row an event is stored as (strings cut to their columns)."""
    return {
        "timestamp": int(event.timestamp),
        "username": _cut(event.username, _LIMITS["username"]),
        "method": _cut(event.method, _LIMITS["method"]) or "",
        "path": _cut(event.path, MAX_TEXT_LENGTH) or "",
        "status": int(event.status),
        "address": _cut(event.address, _LIMITS["address"]),
        "action": _cut(event.action, _LIMITS["action"]) or "",
        "target": _cut(event.target, MAX_TEXT_LENGTH) or "",
    }


def add(conn: Connection, events: Sequence[AuditEvent]) -> None:
    """Append events with one batched insert."""
    if events:
        conn.execute(audit_log.insert(), [row_of(e) for e in events])


def validate_max_results(max_results: object) -> int:
    """``max_results`` as an int in 1..1000; INVALID_PARAMETER_VALUE otherwise."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
        raise errors.invalid(
            f"Invalid value {max_results!r} for parameter 'max_results': an integer from 1 to "
            f"{MAX_RESULTS} is required."
        )
    return max_results


def encode_token(timestamp: int, event_id: int) -> str:
    """The page token of the page after the event ``(timestamp, event_id)``."""
    raw = json.dumps({"ts": timestamp, "id": event_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str | None) -> tuple[int, int] | None:
    """``(timestamp, id)`` of a page token (None for the first page); INVALID_PARAMETER_VALUE when malformed."""
    if token is None or token == "":
        return None
    bad = errors.invalid(f"Invalid page token {str(token)[:40]!r}: pass the next_page_token of an earlier search.")
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ts, event_id = data["ts"], data["id"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise bad from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in (ts, event_id)):
        raise bad
    return ts, event_id


def search(
    conn: Connection,
    username: str | None,
    since_ms: int | None,
    until_ms: int | None,
    limit: int,
    after: tuple[int, int] | None,
) -> tuple[list[AuditEvent], str | None]:
    """One page of events, newest first, and the token of the next (None on the last page)."""
    t = audit_log
    query = sa.select(t).order_by(t.c.timestamp.desc(), t.c.id.desc()).limit(limit + 1)
    if username is not None:
        query = query.where(t.c.username == username)
    if since_ms is not None:
        query = query.where(t.c.timestamp >= since_ms)
    if until_ms is not None:
        query = query.where(t.c.timestamp <= until_ms)
    if after is not None:
        ts, event_id = after
        query = query.where(sa.or_(t.c.timestamp < ts, sa.and_(t.c.timestamp == ts, t.c.id < event_id)))
    rows = conn.execute(query).all()
    events = [
        AuditEvent(
            timestamp=int(r.timestamp),
            username=r.username,
            method=r.method,
            path=r.path,
            status=int(r.status),
            address=r.address,
            action=r.action,
            target=r.target,
            id=int(r.id),
        )
        for r in rows[:limit]
    ]
    token = None
    if len(rows) > limit:
        last = events[-1]
        assert last.id is not None
        token = encode_token(last.timestamp, last.id)
    return events, token
