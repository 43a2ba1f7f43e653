"""Aliases: a name per registered model that points at one of its versions (``models:/name@alias``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail import errors
from mltrail.entities import ModelVersion
from mltrail.store.registry.sql import _models
from mltrail.store.registry.sql.tables import model_versions, registered_model_aliases
from mltrail.store.sql.dialect import Dialect


def version_of(conn: Connection, rm_id: int, alias: str) -> int:
    """The version number ``alias`` points at (INVALID_PARAMETER_VALUE when it is not set)."""
    a = registered_model_aliases
    number = conn.execute(sa.select(a.c.version).where(a.c.rm_id == rm_id, a.c.alias == alias)).scalar()
    if number is None:
        raise errors.invalid(f"Registered model alias {alias} not found.")
    return int(number)


def set_alias(conn: Connection, dialect: Dialect, name: str, alias: str, number: int) -> None:
    """Point ``alias`` at an existing version (moving it if it pointed elsewhere)."""
    model, _ = _models.version_row(conn, name, number, lock=True)
    row = {"rm_id": model.rm_id, "alias": alias, "version": number}
    dialect.upsert(conn, registered_model_aliases, [row], ["rm_id", "alias"], ["version"])


def delete_alias(conn: Connection, name: str, alias: str) -> bool:
    """Remove an alias; whether it was set."""
    rm_id = _models.row(conn, name, lock=True).rm_id
    a = registered_model_aliases
    return conn.execute(a.delete().where(a.c.rm_id == rm_id, a.c.alias == alias)).rowcount > 0


def get_version(conn: Connection, name: str, alias: str) -> ModelVersion:
    """The version an alias names (``latest``: the highest version)."""
    model = _models.row(conn, name)
    if alias.lower() == "latest":
        mvs = model_versions
        number = conn.execute(sa.select(sa.func.max(mvs.c.version)).where(mvs.c.rm_id == model.rm_id)).scalar()
        if number is None:
            raise errors.not_found(f"Latest version not found for model {name}.")
    else:
        number = version_of(conn, model.rm_id, alias)
    return _models.load_version(conn, *_models.version_row(conn, name, number))
