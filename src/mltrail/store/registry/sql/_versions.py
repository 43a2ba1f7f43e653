"""Model versions: creation (from a path, a logged model or a ``models:/`` URI), stages, tags and deletion.

A version made from a logged model takes its run and is appended to the logged model's ``mlflow.modelVersions``
tag in the same transaction (the tracking tables are in the same database).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import ModelVersion, ModelVersionStatus
from mltrail.entities.registry import MODEL_VERSIONS_TAG, STAGE_ARCHIVED, STAGE_NONE, canonical_stage
from mltrail.store.registry.sql import _aliases, _load, _models
from mltrail.store.registry.sql.tables import model_version_tags, model_versions, registered_model_aliases
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.base import now_ms
from mltrail.store.tracking.sql.tables import logged_model_tags, logged_models

mvs = model_versions


def _logged_model(conn: Connection, model_id: str) -> Row[Any]:
    row = conn.execute(
        sa.select(logged_models.c.model_id, logged_models.c.artifact_location, logged_models.c.source_run_id).where(
            logged_models.c.model_id == model_id
        )
    ).first()
    if row is None:
        raise errors.not_found(f"Logged model with ID '{model_id}' not found.")
    return row


def _tag_logged_model(conn: Connection, dialect: Dialect, model_id: str, name: str, version: int) -> None:
    """Append ``{name, version}`` to the logged model's ``mlflow.modelVersions`` tag (a JSON list)."""
    t = logged_model_tags
    row = conn.execute(
        sa.select(t.c.tag_value, t.c.experiment_id).where(t.c.model_id == model_id, t.c.tag_key == MODEL_VERSIONS_TAG)
    ).first()
    entry = {"name": name, "version": version}
    entries: list[Any] = []
    if row is not None:
        try:
            entries = list(json.loads(row.tag_value))
        except (ValueError, TypeError):
            entries = []
    if entry in entries:
        return
    experiment_id = (
        row.experiment_id
        if row is not None
        else conn.execute(
            sa.select(logged_models.c.experiment_id).where(logged_models.c.model_id == model_id)
        ).scalar_one()
    )
    record = {"model_id": model_id, "experiment_id": experiment_id, "tag_key": MODEL_VERSIONS_TAG}
    dialect.upsert(
        conn, t, [{**record, "tag_value": json.dumps([*entries, entry])}], ["model_id", "tag_key"], ["tag_value"]
    )


def _resolve_models_uri(conn: Connection, uri: str) -> tuple[str, str | None, str | None]:
    """``models:/...`` -> (storage location, run_id, model_id) of what it names."""
    target = uri[len("models:") :].lstrip("/")
    if target.startswith("m-") and "/" not in target and "@" not in target:
        logged = _logged_model(conn, target)
        return logged.artifact_location, logged.source_run_id, logged.model_id
    if "@" in target:
        name, alias = target.split("@", 1)
        model = _models.row(conn, name)
        number = _aliases.version_of(conn, model.rm_id, alias)
    else:
        name, _, which = target.partition("/")
        model = _models.row(conn, name)
        if which.isdigit():
            number = int(which)
        else:
            query = sa.select(sa.func.max(mvs.c.version)).where(mvs.c.rm_id == model.rm_id)
            if which.lower() != "latest":
                query = query.where(mvs.c.current_stage == canonical_stage(which))
            number = conn.execute(query).scalar()
            if number is None:
                raise errors.not_found(f"No versions of model '{name}' match '{uri}'.")
    _, row = _models.version_row(conn, model.name, number)
    return row.storage_location or row.source, row.run_id, row.model_id


def create(
    conn: Connection,
    dialect: Dialect,
    name: str,
    source: str,
    run_id: str | None,
    tags: dict[str, str],
    run_link: str | None,
    description: str | None,
    model_id: str | None,
) -> ModelVersion:
    """Insert the next version of a registered model (its number is never reused)."""
    storage, linked_run, linked_model = source, None, model_id or None
    if source.startswith("models:"):
        storage, linked_run, source_model = _resolve_models_uri(conn, source)
        linked_model = linked_model or source_model
    elif linked_model:
        linked_run = _logged_model(conn, linked_model).source_run_id
    model = _models.row(conn, name, lock=True)
    number = int(model.next_version)
    now = now_ms()
    conn.execute(
        _models.rms.update()
        .where(_models.rms.c.rm_id == model.rm_id)
        .values(next_version=number + 1, last_updated_time=now)
    )
    values = {
        "rm_id": model.rm_id,
        "version": number,
        "creation_time": now,
        "last_updated_time": now,
        "description": description or None,
        "current_stage": STAGE_NONE,
        "source": source,
        "storage_location": storage,
        "run_id": run_id or linked_run or None,
        "run_link": run_link or None,
        "status": ModelVersionStatus.READY.value,
        "model_id": linked_model,
        "user_id": None,
        "status_message": None,
    }
    conn.execute(mvs.insert().values(**values))
    if tags:
        conn.execute(
            model_version_tags.insert(),
            [{"rm_id": model.rm_id, "version": number, "key": k, "value": val} for k, val in tags.items()],
        )
    if linked_model:
        _tag_logged_model(conn, dialect, linked_model, name, number)
    row = conn.execute(sa.select(mvs).where(mvs.c.rm_id == model.rm_id, mvs.c.version == number)).one()
    return _load.model_version(row, name, tags, {})


def get(conn: Connection, name: str, version: str | int) -> ModelVersion:
    """One version with its tags and aliases."""
    return _models.load_version(conn, *_models.version_row(conn, name, version))


def update(conn: Connection, name: str, version: str | int, description: str | None) -> ModelVersion:
    """Set a version's description."""
    model, row = _models.version_row(conn, name, version, lock=True)
    conn.execute(
        mvs.update()
        .where(mvs.c.rm_id == model.rm_id, mvs.c.version == row.version)
        .values(description=description, last_updated_time=now_ms())
    )
    return get(conn, name, version)


def transition(
    conn: Connection, name: str, version: str | int, stage: str, archive_existing: bool
) -> tuple[ModelVersion, str]:
    """Move a version to ``stage`` (canonical), archiving the others there with ``archive_existing``.

    Returns:
        The version after the move, and the stage it was in before.
    """
    model, row = _models.version_row(conn, name, version, lock=True)
    now = now_ms()
    if archive_existing:
        conn.execute(
            mvs.update()
            .where(mvs.c.rm_id == model.rm_id, mvs.c.version != row.version, mvs.c.current_stage == stage)
            .values(current_stage=STAGE_ARCHIVED, last_updated_time=now)
        )
    conn.execute(
        mvs.update()
        .where(mvs.c.rm_id == model.rm_id, mvs.c.version == row.version)
        .values(current_stage=stage, last_updated_time=now)
    )
    _models.touch(conn, model.rm_id, now)
    return get(conn, name, version), row.current_stage


def delete(conn: Connection, name: str, version: str | int) -> None:
    """Delete a version, its tags and the aliases pointing at it."""
    model, row = _models.version_row(conn, name, version, lock=True)
    t, a = model_version_tags, registered_model_aliases
    conn.execute(t.delete().where(t.c.rm_id == model.rm_id, t.c.version == row.version))
    conn.execute(a.delete().where(a.c.rm_id == model.rm_id, a.c.version == row.version))
    conn.execute(mvs.delete().where(mvs.c.rm_id == model.rm_id, mvs.c.version == row.version))
    _models.touch(conn, model.rm_id, now_ms())


def download_uri(conn: Connection, name: str, version: str | int) -> str:
    """Where a version's artifacts are."""
    _, row = _models.version_row(conn, name, version)
    return str(row.storage_location or row.source)


def set_tag(conn: Connection, dialect: Dialect, name: str, number: int, key: str, value: str) -> None:
    """Set (or overwrite) a tag on a version."""
    model, _ = _models.version_row(conn, name, number, lock=True)
    row = {"rm_id": model.rm_id, "version": number, "key": key, "value": value}
    dialect.upsert(conn, model_version_tags, [row], ["rm_id", "version", "key"], ["value"])


def delete_tag(conn: Connection, name: str, number: int, key: str) -> None:
    """Delete a tag from a version (no error when it is not set)."""
    model, _ = _models.version_row(conn, name, number, lock=True)
    t = model_version_tags
    conn.execute(t.delete().where(t.c.rm_id == model.rm_id, t.c.version == number, t.c.key == key))
