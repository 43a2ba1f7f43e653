"""Row lookups shared by the store's parts: a user or a group by name (optionally locked) or id."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities.auth import User
from mltrail.errors import MltrailError
from mltrail.store.auth.sql.tables import groups, users


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


def user_not_found(username: str) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for a user name (MLflow's wording)."""
    return errors.not_found(f"User with username={username} not found")


def group_not_found(name: str) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for a group name."""
    return errors.not_found(f"Group with name={name} not found")


def user_row(conn: Connection, username: str, lock: bool = False) -> Row[Any]:
    """The user's row (locked for update with ``lock``); RESOURCE_DOES_NOT_EXIST when there is none."""
    query = sa.select(users).where(users.c.username == username)
    found = conn.execute(query.with_for_update() if lock else query).first()
    if found is None:
        raise user_not_found(username)
    return found


def user_id(conn: Connection, username: str, lock: bool = False) -> int:
    """The id of the user of this name (locked with ``lock``, so the user cannot vanish before COMMIT)."""
    query = sa.select(users.c.id).where(users.c.username == username)
    found = conn.execute(query.with_for_update() if lock else query).scalar()
    if found is None:
        raise user_not_found(username)
    return int(found)


def group_row(conn: Connection, name: str, lock: bool = False) -> Row[Any]:
    """The group's row (locked for update with ``lock``); RESOURCE_DOES_NOT_EXIST when there is none."""
    query = sa.select(groups).where(groups.c.name == name)
    found = conn.execute(query.with_for_update() if lock else query).first()
    if found is None:
        raise group_not_found(name)
    return found


def to_user(row: Row[Any], **related: Any) -> User:
    """A :class:`User` of a ``auth_users`` row, with ``related`` (permissions, groups) when given."""
    return User(
        id=int(row.id),
        username=row.username,
        is_admin=bool(row.is_admin),
        password_hash=row.password_hash,
        source=row.source,
        created_at=int(row.created_at),
        **related,
    )
