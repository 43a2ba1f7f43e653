"""Groups and their members, including single sign-on's "exactly these groups" mapping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities.auth import Group
from mltrail.store.auth.sql import _permissions, _rows
from mltrail.store.auth.sql.tables import group_members, groups, users
from mltrail.store.sql.dialect import Dialect


def create(conn: Connection, name: str) -> Group:
    """Insert an empty group; RESOURCE_ALREADY_EXISTS when the name is taken."""
    if conn.execute(sa.select(groups.c.id).where(groups.c.name == name)).first() is not None:
        raise exists_error(name)
    new_id = conn.execute(groups.insert().values(name=name)).inserted_primary_key[0]
    return Group(id=int(new_id), name=name)


def exists_error(name: str) -> errors.MltrailError:
    """RESOURCE_ALREADY_EXISTS for a taken group name."""
    return errors.already_exists(f"Group (name={name}) already exists.")


def get(conn: Connection, name: str) -> Group:
    """A group with its members and grants."""
    row = _rows.group_row(conn, name)
    return _to_group(
        row,
        members=tuple(_members(conn, row.id).get(row.id, ())),
        experiment_permissions=_permissions.holder_grants(conn, _permissions.EXPERIMENT, group_id=row.id),
        registered_model_permissions=_permissions.holder_grants(conn, _permissions.REGISTERED_MODEL, group_id=row.id),
    )


def list_all(conn: Connection) -> list[Group]:
    """Every group by name, with its members (two queries)."""
    rows = conn.execute(sa.select(groups).order_by(groups.c.name)).all()
    members = _members(conn, None)
    return [_to_group(row, members=tuple(members.get(row.id, ()))) for row in rows]


def delete(conn: Connection, name: str) -> None:
    """Delete a group with its memberships and grants."""
    group_id = int(_rows.group_row(conn, name, lock=True).id)
    _permissions.delete_holder(conn, group_id=group_id)
    conn.execute(group_members.delete().where(group_members.c.group_id == group_id))
    conn.execute(groups.delete().where(groups.c.id == group_id))


def add_member(conn: Connection, dialect: Dialect, group: str, username: str) -> None:
    """Add a user to a group (nothing changes when they are a member already)."""
    group_id = int(_rows.group_row(conn, group, lock=True).id)
    user_id = _rows.user_id(conn, username, lock=True)
    dialect.insert_ignore(conn, group_members, [{"group_id": group_id, "user_id": user_id}], "group_id")


def remove_member(conn: Connection, group: str, username: str) -> None:
    """Remove a user from a group; RESOURCE_DOES_NOT_EXIST when they are not a member."""
    group_id = int(_rows.group_row(conn, group).id)
    user_id = _rows.user_id(conn, username)
    gm = group_members
    deleted = conn.execute(gm.delete().where(gm.c.group_id == group_id, gm.c.user_id == user_id))
    if deleted.rowcount == 0:
        raise errors.not_found(f"User with username={username} is not a member of group {group}")


def set_user_groups(conn: Connection, dialect: Dialect, username: str, names: Sequence[str]) -> None:
    """Make a user a member of exactly ``names``, creating the groups that do not exist yet."""
    user_id = _rows.user_id(conn, username, lock=True)
    wanted = sorted(set(names))
    group_ids: list[int] = []
    if wanted:
        dialect.insert_ignore(conn, groups, [{"name": n} for n in wanted], "name")
        group_ids = [int(i) for i in conn.execute(sa.select(groups.c.id).where(groups.c.name.in_(wanted))).scalars()]
    gm = group_members
    conn.execute(gm.delete().where(gm.c.user_id == user_id, gm.c.group_id.not_in(group_ids)))
    rows = [{"group_id": gid, "user_id": user_id} for gid in group_ids]
    dialect.insert_ignore(conn, group_members, rows, "group_id")


def _members(conn: Connection, group_id: int | None) -> dict[int, list[str]]:
    """group id -> its members' names, sorted (for one group, or every group with None)."""
    gm = group_members
    query = sa.select(gm.c.group_id, users.c.username).join(users, users.c.id == gm.c.user_id)
    if group_id is not None:
        query = query.where(gm.c.group_id == group_id)
    out: dict[int, list[str]] = defaultdict(list)
    for gid, name in conn.execute(query.order_by(users.c.username)):
        out[gid].append(name)
    return out


def _to_group(row: Row[Any], **related: Any) -> Group:
    return Group(id=int(row.id), name=row.name, **related)
