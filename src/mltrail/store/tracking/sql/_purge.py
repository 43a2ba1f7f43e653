"""Garbage collection: what was soft-deleted (and when), and purging it for good with all its rows.

Artifacts are the caller's job (``mltrail gc`` deletes them before purging the rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail import errors
from mltrail.entities import LifecycleStage
from mltrail.store.tracking.base import DeletedExperiment, DeletedRun, now_ms
from mltrail.store.tracking.sql import _experiments, _runs
from mltrail.store.tracking.sql import tables as tbl
from mltrail.store.tracking.sql.tables import (
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    runs,
)


def deleted_runs(conn: Connection, older_than_ms: int | None, experiment_ids: Sequence[int] | None) -> list[DeletedRun]:
    """Soft-deleted runs, optionally only those deleted more than ``older_than_ms`` ago, oldest first."""
    query = sa.select(runs.c.run_uuid, runs.c.experiment_id, runs.c.artifact_uri, runs.c.deleted_time).where(
        runs.c.lifecycle_stage == LifecycleStage.DELETED
    )
    if older_than_ms is not None:
        query = query.where(runs.c.deleted_time <= now_ms() - int(older_than_ms))
    if experiment_ids is not None:
        query = query.where(runs.c.experiment_id.in_(experiment_ids))
    return [
        DeletedRun(r.run_uuid, str(r.experiment_id), r.artifact_uri or "", r.deleted_time)
        for r in conn.execute(query.order_by(runs.c.deleted_time, runs.c.run_uuid))
    ]


def deleted_experiments(conn: Connection, older_than_ms: int | None) -> list[DeletedExperiment]:
    """Soft-deleted experiments, optionally only those deleted more than ``older_than_ms`` ago, by id."""
    e = experiments
    query = sa.select(e.c.experiment_id, e.c.artifact_location, e.c.deleted_time).where(
        e.c.lifecycle_stage == LifecycleStage.DELETED
    )
    if older_than_ms is not None:
        query = query.where(sa.func.coalesce(e.c.deleted_time, e.c.last_update_time) <= now_ms() - int(older_than_ms))
    return [
        DeletedExperiment(str(r.experiment_id), r.artifact_location or "", r.deleted_time)
        for r in conn.execute(query.order_by(e.c.experiment_id))
    ]


def purge_run(conn: Connection, run_id: str) -> None:
    """Delete a soft-deleted run and all its rows (INVALID_PARAMETER_VALUE for an active one)."""
    found = _runs.row(conn, run_id, lock=True)
    if found.lifecycle_stage != LifecycleStage.DELETED:
        raise errors.invalid(
            f"Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle stage can be purged."
        )
    _purge_runs(conn, [run_id])


def _purge_runs(conn: Connection, run_ids: Sequence[str]) -> None:
    for table in tbl.RUN_CHILD_TABLES:
        conn.execute(table.delete().where(table.c.run_uuid.in_(run_ids)))
    run_inputs = sa.select(inputs.c.input_uuid).where(
        inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(run_ids)
    )
    conn.execute(input_tags.delete().where(input_tags.c.input_uuid.in_(run_inputs.scalar_subquery())))
    conn.execute(
        inputs.delete().where(
            sa.or_(
                sa.and_(inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(run_ids)),
                sa.and_(inputs.c.source_type.in_(("RUN_INPUT", "RUN_OUTPUT")), inputs.c.source_id.in_(run_ids)),
            )
        )
    )
    conn.execute(runs.update().where(runs.c.parent_run_id.in_(run_ids)).values(parent_run_id=None))
    conn.execute(runs.delete().where(runs.c.run_uuid.in_(run_ids)))


def purge_experiment(conn: Connection, experiment_id: str) -> None:
    """Delete a soft-deleted experiment that has no runs left, with its datasets, logged models and tags."""
    found = _experiments.row(conn, experiment_id, lock=True)
    exp_id = found.experiment_id
    if found.lifecycle_stage != LifecycleStage.DELETED:
        raise errors.invalid(
            f"Experiment {exp_id} is not in `deleted` lifecycle stage. Only experiments in `deleted` "
            "lifecycle stage can be purged."
        )
    left = conn.execute(sa.select(sa.func.count()).where(runs.c.experiment_id == exp_id)).scalar_one()
    if left:
        raise errors.invalid(f"Experiment {exp_id} still has {left} run(s); purge them before the experiment.")
    ds_ids = sa.select(tbl.datasets.c.dataset_uuid).where(tbl.datasets.c.experiment_id == exp_id).scalar_subquery()
    ds_inputs = sa.select(inputs.c.input_uuid).where(inputs.c.source_type == "DATASET", inputs.c.source_id.in_(ds_ids))
    conn.execute(input_tags.delete().where(input_tags.c.input_uuid.in_(ds_inputs.scalar_subquery())))
    conn.execute(inputs.delete().where(inputs.c.source_type == "DATASET", inputs.c.source_id.in_(ds_ids)))
    conn.execute(tbl.datasets.delete().where(tbl.datasets.c.experiment_id == exp_id))
    model_ids = sa.select(logged_models.c.model_id).where(logged_models.c.experiment_id == exp_id)
    for table in (logged_model_metrics, logged_model_params, logged_model_tags):
        conn.execute(table.delete().where(table.c.model_id.in_(model_ids.scalar_subquery())))
    conn.execute(
        inputs.delete().where(
            inputs.c.destination_type.in_(("MODEL_INPUT", "MODEL_OUTPUT")),
            inputs.c.destination_id.in_(model_ids.scalar_subquery()),
        )
    )
    conn.execute(logged_models.delete().where(logged_models.c.experiment_id == exp_id))
    conn.execute(experiment_tags.delete().where(experiment_tags.c.experiment_id == exp_id))
    conn.execute(experiments.delete().where(experiments.c.experiment_id == exp_id))
