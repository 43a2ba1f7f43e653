"""Personal access tokens and web sessions: rows keyed by the SHA-256 digest of their secret.

A request authenticated by a token costs one indexed select (token joined with its user, by digest). Its
``last_used_at`` is written at most once a minute (:data:`LAST_USED_GRANULARITY_MS`), by a statement that only
matches while the stored time is older, so concurrent requests write it once and a replay writes nothing new.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities.auth import AccessToken, User
from mltrail.store.auth import passwords
from mltrail.store.auth.sql import _rows
from mltrail.store.auth.sql.tables import tokens, users

#: How stale ``last_used_at`` may get before a use writes it again.
LAST_USED_GRANULARITY_MS = 60_000

_TOKEN_COLUMNS = (tokens, users.c.username)


def create(conn: Connection, username: str, name: str, kind: str, expires_at: int | None, secret: str) -> AccessToken:
    """Insert a token (or a session) for a user; RESOURCE_ALREADY_EXISTS when the user has one of this name.

    The user's expired sessions are deleted on the way (a sign-in is when they pile up), so abandoned sessions
    never accumulate.
    """
    user_id = _rows.user_id(conn, username, lock=True)
    now = _rows.now_ms()
    t = tokens
    conn.execute(
        t.delete().where(
            t.c.user_id == user_id, t.c.kind == "session", t.c.expires_at.is_not(None), t.c.expires_at <= now
        )
    )
    taken = conn.execute(sa.select(t.c.id).where(t.c.user_id == user_id, t.c.kind == kind, t.c.name == name)).first()
    if taken is not None:
        what = "Session" if kind == "session" else "Token"
        raise errors.already_exists(f"{what} with name={name} already exists for user {username}.")
    values = {
        "user_id": user_id,
        "name": name,
        "kind": kind,
        "secret_digest": passwords.digest(secret),
        "created_at": now,
        "expires_at": expires_at,
    }
    new_id = conn.execute(t.insert().values(values)).inserted_primary_key[0]
    return AccessToken(int(new_id), username, name, now, expires_at, None, kind)


def list_for(conn: Connection, username: str | None, kind: str) -> list[AccessToken]:
    """A user's tokens of a kind (everyone's with None), newest first."""
    query = sa.select(*_TOKEN_COLUMNS).join(users, users.c.id == tokens.c.user_id).where(tokens.c.kind == kind)
    if username is not None:
        query = query.where(tokens.c.user_id == _rows.user_id(conn, username))
    rows = conn.execute(query.order_by(tokens.c.created_at.desc(), tokens.c.id.desc()))
    return [_to_token(row) for row in rows]


def revoke(conn: Connection, token_id: int, username: str | None) -> None:
    """Delete a token by id (only one of ``username``'s with a name); RESOURCE_DOES_NOT_EXIST otherwise."""
    query = tokens.delete().where(tokens.c.id == token_id)
    if username is not None:
        owner = sa.select(users.c.id).where(users.c.username == username).scalar_subquery()
        query = query.where(tokens.c.user_id == owner)
    if conn.execute(query).rowcount == 0:
        raise errors.not_found(f"Token with id={token_id} not found")


def revoke_secret(conn: Connection, secret: str) -> None:
    """Delete the token or session with this secret, if there is one."""
    conn.execute(tokens.delete().where(tokens.c.secret_digest == passwords.digest(secret)))


def lookup(conn: Connection, digest: str) -> Row[Any] | None:
    """The token with this secret digest joined with its owner's row (one indexed select), or None."""
    query = (
        sa.select(
            tokens.c.id.label("token_id"),
            tokens.c.kind,
            tokens.c.expires_at,
            tokens.c.last_used_at,
            users,
        )
        .join(users, users.c.id == tokens.c.user_id)
        .where(tokens.c.secret_digest == digest)
    )
    return conn.execute(query).first()


def owner(row: Row[Any]) -> User:
    """The owner of a token row of :func:`lookup` (their own fields only)."""
    return _rows.to_user(row)


def needs_touch(row: Row[Any], now_ms: int) -> bool:
    """Whether a use at ``now_ms`` should write the token's ``last_used_at``."""
    return row.last_used_at is None or now_ms - int(row.last_used_at) >= LAST_USED_GRANULARITY_MS


def touch(conn: Connection, token_id: int, now_ms: int) -> None:
    """Record a use (only if the stored time is a minute old or more: concurrent uses write it once)."""
    t = tokens
    stale = sa.or_(t.c.last_used_at.is_(None), t.c.last_used_at <= now_ms - LAST_USED_GRANULARITY_MS)
    conn.execute(t.update().where(t.c.id == token_id, stale).values(last_used_at=now_ms))


def _to_token(row: Row[Any]) -> AccessToken:
    return AccessToken(
        id=int(row.id),
        username=row.username,
        name=row.name,
        created_at=int(row.created_at),
        expires_at=None if row.expires_at is None else int(row.expires_at),
        last_used_at=None if row.last_used_at is None else int(row.last_used_at),
        kind=row.kind,
    )
