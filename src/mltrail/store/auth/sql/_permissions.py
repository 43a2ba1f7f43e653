"""Grants on experiments and registered models, to users or to groups: one set of functions for both resources.

A :class:`Resource` says which table and key column a call works on; each function takes a connection and runs
inside the store's read or write. Holders (users, groups) are looked up, and locked in writes, before a grant is
written, so a grant never outlives a concurrently deleted holder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities.auth import ExperimentPermission, RegisteredModelPermission, permission_level
from mltrail.errors import MltrailError
from mltrail.store.auth.sql import _rows
from mltrail.store.auth.sql.tables import (
    experiment_permissions,
    group_members,
    groups,
    registered_model_permissions,
    users,
)
from mltrail.store.sql.dialect import Dialect

Grant = ExperimentPermission | RegisteredModelPermission


@dataclass(frozen=True)
class Resource:
    """One kind of resource that takes grants: its table, key column and wording."""

    table: sa.Table
    key: str
    label: str

    def entity(self, resource: str, permission: str, user_id: int | None, group_id: int | None) -> Grant:
        """The grant as its entity."""
        if self.key == "experiment_id":
            return ExperimentPermission(resource, permission, user_id=user_id, group_id=group_id)
        return RegisteredModelPermission(resource, permission, user_id=user_id, group_id=group_id)

    def of_row(self, row: Row[Any]) -> Grant:
        """The entity of a grant's row."""
        return self.entity(getattr(row, self.key), row.permission, row.user_id, row.group_id)

    def not_found(self, resource: str, username: str | None, group: str | None) -> MltrailError:
        """RESOURCE_DOES_NOT_EXIST for a missing grant (MLflow's wording for a user's)."""
        holder = f"username={username}" if username is not None else f"group={group}"
        return errors.not_found(f"{self.label} permission with {self.key}={resource} and {holder} not found")

    def exists(self, resource: str, username: str) -> MltrailError:
        """RESOURCE_ALREADY_EXISTS for a user's second grant on one resource."""
        return errors.already_exists(
            f"{self.label} permission ({self.key}={resource}, username={username}) already exists."
        )


EXPERIMENT = Resource(experiment_permissions, "experiment_id", "Experiment")
REGISTERED_MODEL = Resource(registered_model_permissions, "name", "Registered model")
RESOURCES = (EXPERIMENT, REGISTERED_MODEL)


def _holder(conn: Connection, username: str | None, group: str | None) -> tuple[int | None, int | None]:
    """``(user_id, group_id)`` of the one holder named, its row locked."""
    if username is not None:
        return _rows.user_id(conn, username, lock=True), None
    assert group is not None
    return None, int(_rows.group_row(conn, group, lock=True).id)


def _holder_clause(kind: Resource, user_id: int | None, group_id: int | None) -> sa.ColumnElement[bool]:
    t = kind.table
    return t.c.user_id == user_id if user_id is not None else t.c.group_id == group_id


def set_grant(
    conn: Connection,
    dialect: Dialect,
    kind: Resource,
    resource: str,
    permission: str,
    username: str | None,
    group: str | None,
) -> Grant:
    """Create or replace a user's or a group's grant on a resource (one upsert)."""
    user_id, group_id = _holder(conn, username, group)
    row = {kind.key: resource, "user_id": user_id, "group_id": group_id, "permission": permission}
    holder_column = "user_id" if user_id is not None else "group_id"
    dialect.upsert(conn, kind.table, [row], [kind.key, holder_column], ["permission"])
    return kind.entity(resource, permission, user_id, group_id)


def create_grant(conn: Connection, kind: Resource, resource: str, username: str, permission: str) -> Grant:
    """Insert a user's grant; RESOURCE_ALREADY_EXISTS when the user has one on the resource."""
    user_id = _rows.user_id(conn, username, lock=True)
    t = kind.table
    taken = conn.execute(sa.select(t.c.id).where(t.c[kind.key] == resource, t.c.user_id == user_id)).first()
    if taken is not None:
        raise kind.exists(resource, username)
    conn.execute(t.insert().values({kind.key: resource, "user_id": user_id, "permission": permission}))
    return kind.entity(resource, permission, user_id, None)


def get_grant(conn: Connection, kind: Resource, resource: str, username: str) -> Grant:
    """A user's direct grant on a resource; RESOURCE_DOES_NOT_EXIST for an unknown user or no grant."""
    user_id = _rows.user_id(conn, username)
    t = kind.table
    found = conn.execute(sa.select(t).where(t.c[kind.key] == resource, t.c.user_id == user_id)).first()
    if found is None:
        raise kind.not_found(resource, username, None)
    return kind.of_row(found)


def delete_grant(conn: Connection, kind: Resource, resource: str, username: str | None, group: str | None) -> None:
    """Remove a user's or a group's grant; RESOURCE_DOES_NOT_EXIST when there is none."""
    user_id, group_id = _holder(conn, username, group)
    t = kind.table
    deleted = conn.execute(t.delete().where(t.c[kind.key] == resource, _holder_clause(kind, user_id, group_id)))
    if deleted.rowcount == 0:
        raise kind.not_found(resource, username, group)


def list_grants(conn: Connection, kind: Resource, resource: str) -> list[tuple[str, str, str]]:
    """Every grant on a resource as ``(kind, name, permission)``: users' first, each part by name."""
    t = kind.table
    by_user = sa.select(users.c.username, t.c.permission).join(users, users.c.id == t.c.user_id)
    by_group = sa.select(groups.c.name, t.c.permission).join(groups, groups.c.id == t.c.group_id)
    out = [("user", n, p) for n, p in conn.execute(by_user.where(t.c[kind.key] == resource))]
    out += [("group", n, p) for n, p in conn.execute(by_group.where(t.c[kind.key] == resource))]
    return sorted(out)


def holder_grants(
    conn: Connection, kind: Resource, user_id: int | None = None, group_id: int | None = None
) -> tuple[Grant, ...]:
    """A user's or a group's direct grants, by resource."""
    t = kind.table
    rows = conn.execute(sa.select(t).where(_holder_clause(kind, user_id, group_id)).order_by(t.c[kind.key]))
    return tuple(kind.of_row(row) for row in rows)


def effective(conn: Connection, kind: Resource, user_id: int) -> dict[str, str]:
    """resource -> the strongest permission the user holds directly or through a group (one query)."""
    t, gm = kind.table, group_members
    direct = sa.select(t.c[kind.key], t.c.permission).where(t.c.user_id == user_id)
    via_groups = (
        sa.select(t.c[kind.key], t.c.permission).join(gm, gm.c.group_id == t.c.group_id).where(gm.c.user_id == user_id)
    )
    return strongest((r[0], r[1]) for r in conn.execute(sa.union_all(direct, via_groups)))


def strongest(grants: Iterable[tuple[str, str]]) -> dict[str, str]:
    """resource -> the strongest of the permissions given for it."""
    out: dict[str, str] = {}
    for resource, permission in grants:
        held = out.get(resource)
        if held is None or permission_level(permission) > permission_level(held):
            out[resource] = permission
    return out


def rename_model(conn: Connection, old_name: str, new_name: str) -> None:
    """Move every grant on a model to its new name.

    Grants already on ``new_name`` are dropped first: the registry has just given the name to this model, so
    they were left behind by an earlier model of that name and must not apply to this one.
    """
    t = registered_model_permissions
    if old_name == new_name:
        return
    conn.execute(sa.select(t.c.id).where(t.c.name.in_([old_name, new_name])).with_for_update()).all()
    conn.execute(t.delete().where(t.c.name == new_name))
    conn.execute(t.update().where(t.c.name == old_name).values(name=new_name))


def delete_resource(conn: Connection, kind: Resource, resource: str) -> None:
    """Drop every grant on a resource."""
    conn.execute(kind.table.delete().where(kind.table.c[kind.key] == resource))


def delete_holder(conn: Connection, user_id: int | None = None, group_id: int | None = None) -> None:
    """Drop every grant of a user or a group, on both kinds of resource."""
    for kind in RESOURCES:
        conn.execute(kind.table.delete().where(_holder_clause(kind, user_id, group_id)))
