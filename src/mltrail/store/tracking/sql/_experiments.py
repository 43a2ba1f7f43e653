"""Experiments and their tags: row lookups and the writes, each a function of a connection in a transaction."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiment, ExperimentTag, LifecycleStage
from mltrail.errors import (
    MltrailError,
)
from mltrail.store.sql.dialect import MYSQL, Dialect
from mltrail.store.tracking.base import now_ms
from mltrail.store.tracking.sql import _load
from mltrail.store.tracking.sql.tables import experiment_tags, experiments, runs
from mltrail.store.tracking.validation import parse_experiment_id

_INT32_MAX = 2**31 - 1
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


def join_uri(base: str, *parts: str) -> str:
    """``base/part/...`` (one slash between them)."""
    return "/".join([base.rstrip("/"), *parts])


def resolve_location(location: str) -> str:
    """A local path becomes absolute; URIs (``s3://``, ``file:///``, ``mlflow-artifacts:/``) are kept."""
    if _SCHEME.match(location):
        return location
    return os.path.abspath(os.path.expanduser(location))


def not_found(experiment_id: object) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for an experiment id."""
    return errors.not_found(f"No Experiment with id={experiment_id} exists")


def name_taken(name: str, experiment_id: object, exc: Exception | None = None) -> MltrailError:
    """RESOURCE_ALREADY_EXISTS for a name that another experiment has (found, or reported by ``exc``)."""
    detail = f"experiment_id={experiment_id} has this name" if exc is None else str(exc.__cause__ or exc)
    return errors.already_exists(f"Experiment(name={name}) already exists. Error: {detail}")


def row(conn: Connection, experiment_id: object, lock: bool = False) -> Row[Any]:
    """The experiment's row (deleted ones too), locked for update with ``lock``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a malformed id, RESOURCE_DOES_NOT_EXIST for an unknown one.
    """
    exp_id = parse_experiment_id(experiment_id)
    if not 0 <= exp_id <= _INT32_MAX:
        raise not_found(exp_id)
    query = sa.select(experiments).where(experiments.c.experiment_id == exp_id)
    found = conn.execute(query.with_for_update() if lock else query).first()
    if found is None:
        raise not_found(exp_id)
    return found


def active_row(conn: Connection, experiment_id: object, lock: bool = False) -> Row[Any]:
    """:func:`row` of an active experiment (INVALID_PARAMETER_VALUE for a deleted one)."""
    found = row(conn, experiment_id, lock)
    if found.lifecycle_stage != LifecycleStage.ACTIVE:
        raise errors.invalid(
            f"The experiment {found.experiment_id} must be in the 'active' state. "
            f"Current state is {found.lifecycle_stage}."
        )
    return found


def create_default(conn: Connection, dialect: Dialect, artifact_root: str) -> None:
    """Create the Default experiment (id 0) unless it exists."""
    found = conn.execute(sa.select(experiments.c.experiment_id).where(experiments.c.experiment_id == 0))
    if found.first() is not None:
        return
    now = now_ms()
    mysql = dialect is MYSQL
    if mysql:  # 0 would otherwise mean "the next auto-increment value"
        conn.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
    try:
        conn.execute(
            experiments.insert().values(
                experiment_id=0,
                name=DEFAULT_EXPERIMENT_NAME,
                artifact_location=join_uri(artifact_root, DEFAULT_EXPERIMENT_ID),
                lifecycle_stage=LifecycleStage.ACTIVE,
                creation_time=now,
                last_update_time=now,
            )
        )
    finally:
        if mysql:
            conn.exec_driver_sql("SET SESSION sql_mode = REPLACE(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO', '')")


def create(conn: Connection, name: str, location: str | None, tags: Sequence[ExperimentTag], artifact_root: str) -> str:
    """Insert an experiment (artifacts under ``artifact_root/<id>`` unless ``location``) and return its id."""
    taken = conn.execute(sa.select(experiments.c.experiment_id).where(experiments.c.name == name)).first()
    if taken is not None:
        raise name_taken(name, taken.experiment_id)
    now = now_ms()
    result = conn.execute(
        experiments.insert().values(
            name=name,
            artifact_location=location,
            lifecycle_stage=LifecycleStage.ACTIVE,
            creation_time=now,
            last_update_time=now,
        )
    )
    exp_id = int(result.inserted_primary_key[0])
    if location is None:
        conn.execute(
            experiments.update()
            .where(experiments.c.experiment_id == exp_id)
            .values(artifact_location=join_uri(artifact_root, str(exp_id)))
        )
    unique = {t.key: t.value for t in tags}
    if unique:
        conn.execute(
            experiment_tags.insert(), [{"experiment_id": exp_id, "key": k, "value": v} for k, v in unique.items()]
        )
    return str(exp_id)


def get(conn: Connection, experiment_id: object) -> Experiment:
    """An experiment with its tags (deleted ones too)."""
    return _load.load_experiments(conn, [row(conn, experiment_id)])[0]


def get_by_name(conn: Connection, name: str) -> Experiment | None:
    """The experiment with this name (deleted ones too), or None."""
    found = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
    return None if found is None else _load.load_experiments(conn, [found])[0]


def delete(conn: Connection, experiment_id: object) -> None:
    """Soft-delete an active experiment and its active runs (they are restored with it)."""
    found = row(conn, experiment_id, lock=True)
    if found.lifecycle_stage != LifecycleStage.ACTIVE:
        raise not_found(found.experiment_id)
    now = now_ms()
    conn.execute(
        experiments.update()
        .where(experiments.c.experiment_id == found.experiment_id)
        .values(lifecycle_stage=LifecycleStage.DELETED, last_update_time=now, deleted_time=now)
    )
    conn.execute(
        runs.update()
        .where(runs.c.experiment_id == found.experiment_id, runs.c.lifecycle_stage == LifecycleStage.ACTIVE)
        .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now)
    )


def restore(conn: Connection, experiment_id: object) -> None:
    """Restore a soft-deleted experiment and the runs deleted with it."""
    found = row(conn, experiment_id, lock=True)
    if found.lifecycle_stage != LifecycleStage.DELETED:
        raise not_found(found.experiment_id)
    conn.execute(
        experiments.update()
        .where(experiments.c.experiment_id == found.experiment_id)
        .values(lifecycle_stage=LifecycleStage.ACTIVE, last_update_time=now_ms(), deleted_time=None)
    )
    deleted_with_it = runs.c.deleted_time >= found.deleted_time if found.deleted_time is not None else sa.true()
    conn.execute(
        runs.update()
        .where(
            runs.c.experiment_id == found.experiment_id,
            runs.c.lifecycle_stage == LifecycleStage.DELETED,
            deleted_with_it,
        )
        .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
    )


def rename(conn: Connection, experiment_id: object, new_name: str) -> None:
    """Rename an active experiment (INVALID_STATE for a deleted one)."""
    found = row(conn, experiment_id, lock=True)
    if found.lifecycle_stage != LifecycleStage.ACTIVE:
        raise errors.invalid_state("Cannot rename a non-active experiment.")
    taken = conn.execute(
        sa.select(experiments.c.experiment_id).where(
            experiments.c.name == new_name, experiments.c.experiment_id != found.experiment_id
        )
    ).first()
    if taken is not None:
        raise name_taken(new_name, taken.experiment_id)
    conn.execute(
        experiments.update()
        .where(experiments.c.experiment_id == found.experiment_id)
        .values(name=new_name, last_update_time=now_ms())
    )


def set_tag(conn: Connection, dialect: Dialect, experiment_id: object, tag: ExperimentTag) -> None:
    """Set (insert or overwrite) a tag on an active experiment."""
    found = active_row(conn, experiment_id, lock=True)
    dialect.upsert(
        conn,
        experiment_tags,
        [{"experiment_id": found.experiment_id, "key": tag.key, "value": tag.value}],
        ("experiment_id", "key"),
        ("value",),
    )


def delete_tag(conn: Connection, experiment_id: object, key: str) -> None:
    """Delete a tag from an active experiment (RESOURCE_DOES_NOT_EXIST when it is not set)."""
    found = active_row(conn, experiment_id, lock=True)
    t = experiment_tags
    result = conn.execute(t.delete().where(t.c.experiment_id == found.experiment_id, t.c.key == key))
    if result.rowcount == 0:
        raise errors.not_found(f"No tag with name: {key} in experiment with id {experiment_id}")
