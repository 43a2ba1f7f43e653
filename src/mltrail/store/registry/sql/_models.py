"""Registered models: row lookups (of models and their versions), creation, rename, description and tags."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import ModelVersion, RegisteredModel
from mltrail.entities.registry import IS_PROMPT_TAG_KEY
from mltrail.errors import MltrailError
from mltrail.store.registry import validation as v
from mltrail.store.registry.sql import _load
from mltrail.store.registry.sql.tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.base import now_ms

rms, mvs = registered_models, model_versions


def not_found(name: str) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for a registered model name."""
    return errors.not_found(f"Registered Model with name={name} not found")


def version_not_found(name: str, version: object) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for a model version."""
    return errors.not_found(f"Model Version (name={name}, version={version}) not found")


def exists_error(name: str, is_prompt: bool) -> MltrailError:
    """RESOURCE_ALREADY_EXISTS for a taken name (said as a prompt's when the existing model is one)."""
    kind = "Prompt" if is_prompt else "Registered Model"
    return errors.already_exists(f"{kind} (name={name}) already exists.")


def row(conn: Connection, name: str, lock: bool = False) -> Row[Any]:
    """The registered model's row, locked for update with ``lock``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad name, RESOURCE_DOES_NOT_EXIST for an unknown one.
    """
    v.validate_model_name(name)
    query = sa.select(rms).where(rms.c.name == name)
    found = conn.execute(query.with_for_update() if lock else query).first()
    if found is None:
        raise not_found(name)
    return found


def version_row(conn: Connection, name: str, version: object, lock: bool = False) -> tuple[Row[Any], Row[Any]]:
    """The rows of a registered model (locked with ``lock``) and of one of its versions."""
    number = v.validate_version(version)
    model = row(conn, name, lock)
    found = conn.execute(sa.select(mvs).where(mvs.c.rm_id == model.rm_id, mvs.c.version == number)).first()
    if found is None:
        raise version_not_found(name, number)
    return model, found


def touch(conn: Connection, rm_id: int, now: int) -> None:
    """Set a registered model's last-updated time."""
    conn.execute(rms.update().where(rms.c.rm_id == rm_id).values(last_updated_time=now))


def load(conn: Connection, model: Row[Any]) -> RegisteredModel:
    """A registered model with its latest versions, tags and aliases."""
    return _load.load_registered_models(conn, [model])[0]


def load_version(conn: Connection, model: Row[Any], version: Row[Any]) -> ModelVersion:
    """A version of ``model`` with its tags and aliases."""
    return _load.load_versions(conn, [version], {model.rm_id: model.name})[0]


def create(
    conn: Connection, name: str, tags: dict[str, str], description: str | None, deployment_job_id: str | None
) -> RegisteredModel:
    """Insert a registered model with its tags (IntegrityError for a taken name)."""
    now = now_ms()
    rm_id = conn.execute(
        rms.insert().values(
            name=name,
            creation_time=now,
            last_updated_time=now,
            description=description,
            deployment_job_id=deployment_job_id or None,
            next_version=1,
        )
    ).inserted_primary_key[0]
    if tags:
        conn.execute(
            registered_model_tags.insert(), [{"rm_id": rm_id, "key": k, "value": val} for k, val in tags.items()]
        )
    return RegisteredModel(
        name=name,
        creation_timestamp=now,
        last_updated_timestamp=now,
        description=description,
        tags=tags,
        deployment_job_id=deployment_job_id or None,
    )


def rename(conn: Connection, name: str, new_name: str) -> RegisteredModel:
    """Rename a registered model; its versions' last-updated times change with it."""
    found = row(conn, name, lock=True)
    now = now_ms()
    conn.execute(rms.update().where(rms.c.rm_id == found.rm_id).values(name=new_name, last_updated_time=now))
    conn.execute(mvs.update().where(mvs.c.rm_id == found.rm_id).values(last_updated_time=now))
    return load(conn, row(conn, new_name))


def update(conn: Connection, name: str, description: str | None, deployment_job_id: str | None) -> RegisteredModel:
    """Set a registered model's description (and deployment job id when given; "" clears it)."""
    found = row(conn, name, lock=True)
    values: dict[str, Any] = {"description": description, "last_updated_time": now_ms()}
    if deployment_job_id is not None:
        values["deployment_job_id"] = deployment_job_id or None
    conn.execute(rms.update().where(rms.c.rm_id == found.rm_id).values(**values))
    return load(conn, row(conn, name))


def delete(conn: Connection, name: str) -> None:
    """Delete a registered model with its versions, tags and aliases."""
    rm_id = row(conn, name, lock=True).rm_id
    for table in (model_version_tags, registered_model_aliases, mvs, registered_model_tags):
        conn.execute(table.delete().where(table.c.rm_id == rm_id))
    conn.execute(rms.delete().where(rms.c.rm_id == rm_id))


def latest_versions(conn: Connection, name: str, stages: set[str]) -> list[ModelVersion]:
    """The newest version of a registered model in each of ``stages``."""
    model = row(conn, name)
    rows = [r for r in _load.latest_version_rows(conn, [model.rm_id]) if r.current_stage in stages]
    return _load.load_versions(conn, rows, {model.rm_id: model.name})


def set_tag(conn: Connection, dialect: Dialect, name: str, key: str, value: str) -> None:
    """Set (or overwrite) a tag on a registered model."""
    rm_id = row(conn, name, lock=True).rm_id
    dialect.upsert(
        conn, registered_model_tags, [{"rm_id": rm_id, "key": key, "value": value}], ["rm_id", "key"], ["value"]
    )


def delete_tag(conn: Connection, name: str, key: str) -> None:
    """Delete a tag from a registered model (no error when it is not set)."""
    rm_id = row(conn, name, lock=True).rm_id
    t = registered_model_tags
    conn.execute(t.delete().where(t.c.rm_id == rm_id, t.c.key == key))


def is_prompt(conn: Connection, name: str) -> bool:
    """Whether the registered model ``name`` is a prompt (False when it does not exist)."""
    t = registered_model_tags
    value = conn.execute(
        sa.select(t.c.value)
        .select_from(t.join(rms, rms.c.rm_id == t.c.rm_id))
        .where(rms.c.name == name, t.c.key == IS_PROMPT_TAG_KEY)
    ).scalar()
    return str(value).lower() == "true"
