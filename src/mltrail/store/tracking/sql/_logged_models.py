"""Logged models (``m-<32 hex>``): creation, status, soft deletion, tags and params."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import LifecycleStage, LoggedModel, LoggedModelStatus
from mltrail.errors import MltrailError
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.base import now_ms
from mltrail.store.tracking.sql import _experiments, _load
from mltrail.store.tracking.sql.tables import logged_model_params, logged_model_tags, logged_models


def not_found(model_id: str) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for a logged model id."""
    return errors.not_found(f"Logged model with ID '{model_id}' not found.")


def check_name(name: str) -> None:
    """Reject an empty name, one over 500 characters, or one with ``/ : . % " '``."""
    if not name or not name.strip():
        raise errors.invalid("Logged model name cannot be empty.")
    bad = [c for c in ("/", ":", ".", "%", '"', "'") if c in name]
    if bad:
        raise errors.invalid(
            f"Invalid model name ('{name}') provided. Model name must not contain any of the following "
            f"characters: {bad}"
        )
    if len(name) > 500:
        raise errors.invalid("'name' exceeds the maximum length of 500 characters")


def row(conn: Connection, model_id: str, allow_deleted: bool = False, lock: bool = False) -> Row[Any]:
    """The model's row, locked for update with ``lock`` (RESOURCE_DOES_NOT_EXIST when absent or deleted)."""
    query = sa.select(logged_models).where(logged_models.c.model_id == model_id)
    found = conn.execute(query.with_for_update() if lock else query).first()
    if found is None or (not allow_deleted and found.lifecycle_stage == LifecycleStage.DELETED):
        raise not_found(model_id)
    return found


def get(conn: Connection, dialect: Dialect, model_id: str, allow_deleted: bool = False) -> LoggedModel:
    """A logged model with its tags, params and the metrics logged against it."""
    return _load.load_logged_models(conn, [row(conn, model_id, allow_deleted)], dialect)[0]


def check_exist(conn: Connection, model_ids: Sequence[str]) -> None:
    """RESOURCE_DOES_NOT_EXIST unless every one of ``model_ids`` exists (deleted ones count)."""
    found = set(
        conn.execute(sa.select(logged_models.c.model_id).where(logged_models.c.model_id.in_(model_ids))).scalars()
    )
    for model_id in model_ids:
        if model_id not in found:
            raise not_found(model_id)


def create(
    conn: Connection,
    dialect: Dialect,
    experiment_id: str,
    model_id: str,
    name: str,
    source_run_id: str | None,
    model_type: str | None,
    tags: dict[str, str],
    params: dict[str, str],
) -> LoggedModel:
    """Insert a PENDING logged model with artifacts under ``<experiment location>/models/<id>/artifacts``."""
    exp = _experiments.active_row(conn, experiment_id)
    now = now_ms()
    conn.execute(
        logged_models.insert().values(
            model_id=model_id,
            experiment_id=exp.experiment_id,
            name=name,
            artifact_location=_experiments.join_uri(exp.artifact_location or "", "models", model_id, "artifacts"),
            creation_timestamp_ms=now,
            last_updated_timestamp_ms=now,
            status=LoggedModelStatus.PENDING.value,
            lifecycle_stage=LifecycleStage.ACTIVE,
            model_type=model_type,
            source_run_id=source_run_id,
        )
    )
    write_tags_and_params(conn, dialect, model_id, exp.experiment_id, tags, params)
    return get(conn, dialect, model_id)


def write_tags_and_params(
    conn: Connection,
    dialect: Dialect,
    model_id: str,
    experiment_id: int,
    tags: dict[str, str],
    params: dict[str, str],
) -> None:
    """Set tags and params of a logged model (both overwrite)."""
    for table, key_column, value_column, values in (
        (logged_model_tags, "tag_key", "tag_value", tags),
        (logged_model_params, "param_key", "param_value", params),
    ):
        dialect.upsert(
            conn,
            table,
            [
                {"model_id": model_id, "experiment_id": experiment_id, key_column: k, value_column: v}
                for k, v in values.items()
            ],
            ("model_id", key_column),
            (value_column,),
        )


def finalize(conn: Connection, dialect: Dialect, model_id: str, status: LoggedModelStatus) -> LoggedModel:
    """Set a logged model's status (READY or UPLOAD_FAILED) and return it."""
    _update(conn, model_id, status=status.value)
    return get(conn, dialect, model_id)


def delete(conn: Connection, model_id: str) -> None:
    """Soft-delete a logged model."""
    _update(conn, model_id, lifecycle_stage=LifecycleStage.DELETED)


def _update(conn: Connection, model_id: str, **values: Any) -> None:
    row(conn, model_id, lock=True)
    conn.execute(
        logged_models.update()
        .where(logged_models.c.model_id == model_id)
        .values(**values, last_updated_timestamp_ms=now_ms())
    )


def set_tags_and_params(
    conn: Connection, dialect: Dialect, model_id: str, tags: dict[str, str], params: dict[str, str]
) -> None:
    """Lock a logged model and set tags and params on it."""
    found = row(conn, model_id, lock=True)
    write_tags_and_params(conn, dialect, model_id, found.experiment_id, tags, params)


def delete_tag(conn: Connection, model_id: str, key: str) -> None:
    """Delete a tag from a logged model (RESOURCE_DOES_NOT_EXIST when it is not set)."""
    row(conn, model_id, lock=True)
    t = logged_model_tags
    result = conn.execute(t.delete().where(t.c.model_id == model_id, t.c.tag_key == key))
    if result.rowcount == 0:
        raise errors.not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")
