"""Runs, their params and tags: row lookups, creation, updates, log-batch and moves between experiments.

Every write locks the run's row first (``SELECT ... FOR UPDATE``; SQLite has a single writer through
``BEGIN IMMEDIATE``), so concurrent log-batches on one run serialize cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail import errors
from mltrail.entities import LifecycleStage, Metric, Param, Run, RunData, RunInfo, RunStatus, RunTag
from mltrail.errors import MltrailError
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.base import now_ms
from mltrail.store.tracking.sql import _experiments, _load, _logged_models, _metrics
from mltrail.store.tracking.sql import tables as tbl
from mltrail.store.tracking.sql._names import random_name
from mltrail.store.tracking.sql.tables import runs
from mltrail.store.tracking.validation import validate_run_id, validate_tag

RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
MAX_RUN_NAME_LENGTH = 250
_CHUNK = 500

# Built once: the run lookup is on every logging call, and building the expression costs more than running it.
_RUN_BY_ID = sa.select(*_load.RUN_COLUMNS).where(runs.c.run_uuid == sa.bindparam("run_id"))
_RUN_BY_ID_LOCKED = _RUN_BY_ID.with_for_update()


def not_found(run_id: str) -> MltrailError:
    """RESOURCE_DOES_NOT_EXIST for a run id."""
    return errors.not_found(f"Run with id={run_id} not found")


def inactive(run_id: str, stage: str) -> MltrailError:
    """INVALID_PARAMETER_VALUE for a write to a deleted run."""
    return errors.invalid(f"The run {run_id} must be in the 'active' state. Current state is {stage}.")


def check_name(name: str) -> None:
    """Reject a run name over :data:`MAX_RUN_NAME_LENGTH` characters."""
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise errors.invalid(f"'run_name' exceeds the maximum length of {MAX_RUN_NAME_LENGTH} characters")


def row(conn: Connection, run_id: str, lock: bool = False) -> Row[Any]:
    """The run's row (:data:`_load.RUN_COLUMNS`; deleted runs too), locked for update with ``lock``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a malformed id, RESOURCE_DOES_NOT_EXIST for an unknown one.
    """
    if not isinstance(run_id, str) or not run_id or len(run_id) > 32:
        if isinstance(run_id, str) and run_id and len(run_id) <= 256:
            raise not_found(run_id)
        validate_run_id(run_id)
    found = conn.execute(_RUN_BY_ID_LOCKED if lock else _RUN_BY_ID, {"run_id": run_id}).first()
    if found is None:
        raise not_found(run_id)
    return found


def active_row(conn: Connection, run_id: str) -> Row[Any]:
    """:func:`row` of an active run, locked (INVALID_PARAMETER_VALUE for a deleted one)."""
    found = row(conn, run_id, lock=True)
    if found.lifecycle_stage != LifecycleStage.ACTIVE:
        raise inactive(run_id, found.lifecycle_stage)
    return found


def name_and_tags(tags: Sequence[RunTag], run_name: str | None) -> tuple[str, dict[str, str]]:
    """A new run's name (given, from its ``mlflow.runName`` tag, or random) and its validated tags with that tag.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for bad tags, a too long name, or a name and tag that disagree.
    """
    tag_values = {t.key: t.value for t in (validate_tag(t, f"tags[{i}]") for i, t in enumerate(tags or ()))}
    name_tag = tag_values.get(RUN_NAME_TAG)
    if run_name and name_tag and run_name != name_tag:
        raise errors.invalid(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
            f"different values (run_name='{run_name}', mlflow.runName='{name_tag}')."
        )
    name = run_name or name_tag or random_name()
    check_name(name)
    tag_values[RUN_NAME_TAG] = name
    return name, tag_values


def create(
    conn: Connection,
    experiment_id: str,
    run_id: str,
    name: str,
    user_id: str | None,
    start_time: int | None,
    tag_values: dict[str, str],
) -> Run:
    """Insert a RUNNING run in an active experiment, with artifacts under ``<experiment location>/<id>``."""
    exp = _experiments.active_row(conn, experiment_id)
    values = {
        "run_uuid": run_id,
        "name": name,
        "experiment_id": exp.experiment_id,
        "user_id": user_id or "",
        "status": RunStatus.RUNNING.value,
        "start_time": now_ms() if start_time is None else int(start_time),
        "end_time": None,
        "deleted_time": None,
        "lifecycle_stage": LifecycleStage.ACTIVE,
        "artifact_uri": _experiments.join_uri(exp.artifact_location or "", run_id, "artifacts"),
        "parent_run_id": tag_values.get(PARENT_RUN_ID_TAG),
    }
    conn.execute(runs.insert().values(**values))
    conn.execute(tbl.tags.insert(), [{"run_uuid": run_id, "key": k, "value": v} for k, v in tag_values.items()])
    info = RunInfo(
        run_id=run_id,
        experiment_id=str(exp.experiment_id),
        run_name=name,
        user_id=values["user_id"],
        status=RunStatus.RUNNING,
        start_time=values["start_time"],
        end_time=None,
        artifact_uri=values["artifact_uri"],
        lifecycle_stage=LifecycleStage.ACTIVE,
    )
    return Run(info=info, data=RunData(tags=dict(sorted(tag_values.items()))))


def get(conn: Connection, dialect: Dialect, run_id: str) -> Run:
    """A run with its latest metrics, params, tags, inputs and outputs."""
    return _load.load_runs(conn, [row(conn, run_id)], dialect)[0]


def update_info(
    conn: Connection,
    dialect: Dialect,
    run_id: str,
    status: RunStatus | None,
    end_time: int | None,
    run_name: str | None,
) -> RunInfo:
    """Apply the fields that are given to an active run; renaming also sets the ``mlflow.runName`` tag."""
    active_row(conn, run_id)
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = status.value
    if end_time is not None:
        values["end_time"] = int(end_time)
    if run_name:
        values["name"] = run_name
        dialect.upsert(
            conn,
            tbl.tags,
            [{"run_uuid": run_id, "key": RUN_NAME_TAG, "value": run_name}],
            ("run_uuid", "key"),
            ("value",),
        )
    if values:
        conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(**values))
    return _load.run_info(row(conn, run_id))


def set_lifecycle_stage(conn: Connection, run_id: str, stage: str) -> None:
    """Soft-delete (``deleted``) or restore (``active``) a run."""
    row(conn, run_id, lock=True)
    deleted_time = now_ms() if stage == LifecycleStage.DELETED else None
    conn.execute(
        runs.update().where(runs.c.run_uuid == run_id).values(lifecycle_stage=stage, deleted_time=deleted_time)
    )


def log_batch(
    conn: Connection,
    dialect: Dialect,
    run_id: str,
    metrics: Sequence[Metric],
    params: Sequence[Param],
    tags: Sequence[RunTag],
    model_ids: Sequence[str],
) -> None:
    """Write validated metrics, params and tags to an active run (metrics naming a model also to that model)."""
    run = active_row(conn, run_id)
    if params:
        _write_params(conn, run_id, params)
    if tags:
        _write_tags(conn, dialect, run_id, tags)
    if metrics:
        _metrics.write_metrics(conn, dialect, run_id, metrics)
    if model_ids:
        _logged_models.check_exist(conn, model_ids)
        _metrics.write_model_metrics(conn, dialect, run_id, run.experiment_id, metrics)


def _write_params(conn: Connection, run_id: str, new: Sequence[Param]) -> None:
    keys = [p.key for p in new]
    existing = dict(
        conn.execute(
            sa.select(tbl.params.c.key, tbl.params.c.value).where(
                tbl.params.c.run_uuid == run_id, tbl.params.c.key.in_(keys)
            )
        ).all()
    )
    for p in new:
        if p.key in existing and existing[p.key] != p.value:
            raise errors.invalid(
                f"Changing param values is not allowed. Param with key='{p.key}' was already logged with "
                f"value='{existing[p.key]}' for run ID='{run_id}'. Attempted logging new value '{p.value}'."
            )
    rows = [{"run_uuid": run_id, "key": p.key, "value": p.value} for p in new if p.key not in existing]
    if rows:
        conn.execute(tbl.params.insert(), rows)


def _write_tags(conn: Connection, dialect: Dialect, run_id: str, new: Sequence[RunTag]) -> None:
    values = {t.key: t.value for t in new}
    dialect.upsert(
        conn,
        tbl.tags,
        [{"run_uuid": run_id, "key": k, "value": v} for k, v in values.items()],
        ("run_uuid", "key"),
        ("value",),
    )
    changes: dict[str, Any] = {}
    if RUN_NAME_TAG in values:
        changes["name"] = values[RUN_NAME_TAG]
    if PARENT_RUN_ID_TAG in values:
        changes["parent_run_id"] = values[PARENT_RUN_ID_TAG][:32]
    if changes:
        conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(**changes))


def delete_tag(conn: Connection, run_id: str, key: str) -> None:
    """Delete a tag from an active run ("No tag with name: X" when absent)."""
    active_row(conn, run_id)
    result = conn.execute(tbl.tags.delete().where(tbl.tags.c.run_uuid == run_id, tbl.tags.c.key == key))
    if result.rowcount == 0:
        raise errors.not_found(f"No tag with name: {key} in run with id {run_id}")
    if key == PARENT_RUN_ID_TAG:
        conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(parent_run_id=None))


def move(conn: Connection, run_ids: Sequence[str], experiment_id: str) -> None:
    """Move runs and all their descendants to another active experiment."""
    exp = _experiments.active_row(conn, experiment_id, lock=True)
    for run_id in run_ids:
        row(conn, run_id, lock=True)
    moving, frontier = set(run_ids), list(run_ids)
    while frontier:
        children: list[str] = []
        for start in range(0, len(frontier), _CHUNK):
            chunk = frontier[start : start + _CHUNK]
            children.extend(conn.execute(sa.select(runs.c.run_uuid).where(runs.c.parent_run_id.in_(chunk))).scalars())
        frontier = [c for c in children if c not in moving]
        moving.update(frontier)
    ordered = sorted(moving)
    for start in range(0, len(ordered), _CHUNK):
        conn.execute(
            runs.update()
            .where(runs.c.run_uuid.in_(ordered[start : start + _CHUNK]))
            .values(experiment_id=exp.experiment_id)
        )
