"""Users: creation, loading (with grants and groups), password and admin changes, deletion with all they own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities.auth import User
from mltrail.store.auth.sql import _permissions, _rows
from mltrail.store.auth.sql.tables import group_members, groups, tokens, users


def exists_error(username: str) -> errors.MltrailError:
    """RESOURCE_ALREADY_EXISTS for a taken user name (MLflow's wording)."""
    return errors.already_exists(f"User (username={username}) already exists.")


def create(conn: Connection, username: str, password_hash: str | None, is_admin: bool, source: str) -> User:
    """Insert a user; RESOURCE_ALREADY_EXISTS when the name is taken."""
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
        raise exists_error(username)
    values = {
        "username": username,
        "password_hash": password_hash,
        "is_admin": is_admin,
        "source": source,
        "created_at": _rows.now_ms(),
    }
    new_id = conn.execute(users.insert().values(values)).inserted_primary_key[0]
    return User(id=int(new_id), **values)


def load(conn: Connection, row: Row[Any]) -> User:
    """A user with their direct grants and group names."""
    return _rows.to_user(
        row,
        experiment_permissions=_permissions.holder_grants(conn, _permissions.EXPERIMENT, user_id=row.id),
        registered_model_permissions=_permissions.holder_grants(conn, _permissions.REGISTERED_MODEL, user_id=row.id),
        groups=tuple(group_names(conn, [row.id]).get(row.id, ())),
    )


def by_id(conn: Connection, user_id: int) -> User:
    """The user with this id, loaded in full; RESOURCE_DOES_NOT_EXIST when there is none."""
    found = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    if found is None:
        raise errors.not_found(f"User with id={user_id} not found")
    return load(conn, found)


def list_all(conn: Connection) -> list[User]:
    """Every user by name, with group names (two queries)."""
    rows = conn.execute(sa.select(users).order_by(users.c.username)).all()
    names = group_names(conn, None)
    return [_rows.to_user(row, groups=tuple(names.get(row.id, ()))) for row in rows]


def group_names(conn: Connection, user_ids: Iterable[int] | None) -> dict[int, list[str]]:
    """user id -> the names of their groups, sorted (for the users given, or everyone with None)."""
    query = sa.select(group_members.c.user_id, groups.c.name).join(groups, groups.c.id == group_members.c.group_id)
    if user_ids is not None:
        query = query.where(group_members.c.user_id.in_(list(user_ids)))
    out: dict[int, list[str]] = defaultdict(list)
    for uid, name in conn.execute(query.order_by(groups.c.name)):
        out[uid].append(name)
    return out


def update(conn: Connection, username: str, **values: Any) -> None:
    """Set columns of a user's row; RESOURCE_DOES_NOT_EXIST for an unknown user."""
    done = conn.execute(users.update().where(users.c.username == username).values(**values))
    if done.rowcount == 0:
        raise _rows.user_not_found(username)


def replace_hash(conn: Connection, user_id: int, old_hash: str, new_hash: str) -> None:
    """Swap a password hash for a fresh one of the same password, unless the password changed meanwhile."""
    conn.execute(
        users.update().where(users.c.id == user_id, users.c.password_hash == old_hash).values(password_hash=new_hash)
    )


def delete(conn: Connection, username: str) -> None:
    """Delete a user with their grants, group memberships, tokens and sessions."""
    user_id = _rows.user_id(conn, username, lock=True)
    _permissions.delete_holder(conn, user_id=user_id)
    conn.execute(group_members.delete().where(group_members.c.user_id == user_id))
    conn.execute(tokens.delete().where(tokens.c.user_id == user_id))
    conn.execute(users.delete().where(users.c.id == user_id))
