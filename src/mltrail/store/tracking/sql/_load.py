"""Rows -> entities, loading the data of a page of runs or models with a fixed number of batched queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
)
from mltrail.store.tracking.sql import _dialect
from mltrail.store.tracking.sql.tables import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    params,
    runs,
    tags,
)

_CHUNK = 500

#: The run columns every run query selects, in this order.
RUN_COLUMNS = (
    runs.c.run_uuid,
    runs.c.experiment_id,
    runs.c.name,
    runs.c.user_id,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.artifact_uri,
    runs.c.lifecycle_stage,
)


# Built once: building and caching a statement costs about as much as running it for a page of 100 runs.
_PARAMS_OF_RUNS = sa.select(params.c.run_uuid, params.c.key, params.c.value).where(
    params.c.run_uuid.in_(sa.bindparam("ids", expanding=True))
)
_TAGS_OF_RUNS = sa.select(tags.c.run_uuid, tags.c.key, tags.c.value).where(
    tags.c.run_uuid.in_(sa.bindparam("ids", expanding=True))
)
_METRICS_OF_RUNS = (
    sa.select(
        latest_metrics.c.run_uuid,
        latest_metrics.c.key,
        latest_metrics.c.value,
        latest_metrics.c.timestamp,
        latest_metrics.c.step,
        latest_metrics.c.is_nan,
    )
    .where(latest_metrics.c.run_uuid.in_(sa.bindparam("ids", expanding=True)))
    .order_by(latest_metrics.c.run_uuid, latest_metrics.c.key)
)


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def run_info(row: Row[Any]) -> RunInfo:
    """A :class:`RunInfo` from a row selecting :data:`RUN_COLUMNS`."""
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name or "",
        user_id=row.user_id or "",
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri or "",
        lifecycle_stage=row.lifecycle_stage,
    )


def load_runs(conn: Connection, rows: Sequence[Row[Any]], dialect: str) -> list[Run]:
    """Full runs for rows selecting :data:`RUN_COLUMNS`, in the same order (five queries per 500 runs)."""
    ids = [r.run_uuid for r in rows]
    run_params: dict[str, dict[str, str]] = defaultdict(dict)
    run_tags: dict[str, dict[str, str]] = defaultdict(dict)
    run_metrics: dict[str, list[Metric]] = defaultdict(list)
    load = _dialect.load_float
    # Rows are unpacked positionally: attribute access by name costs more than the query on a page of runs.
    for chunk in _chunks(ids):
        for run_id, key, value in conn.execute(_PARAMS_OF_RUNS, {"ids": list(chunk)}):
            run_params[run_id][key] = value
        for run_id, key, value in conn.execute(_TAGS_OF_RUNS, {"ids": list(chunk)}):
            run_tags[run_id][key] = value or ""
        for run_id, key, value, timestamp, step, is_nan in conn.execute(_METRICS_OF_RUNS, {"ids": list(chunk)}):
            run_metrics[run_id].append(Metric(key, load(value, bool(is_nan), dialect), int(timestamp), int(step)))
    run_inputs = load_run_inputs(conn, ids)
    run_outputs = load_run_outputs(conn, ids)
    return [
        Run(
            info=run_info(row),
            data=RunData(
                metric_objects=tuple(run_metrics.get(row.run_uuid, ())),
                params=dict(sorted(run_params.get(row.run_uuid, {}).items())),
                tags=dict(sorted(run_tags.get(row.run_uuid, {}).items())),
            ),
            inputs=run_inputs.get(row.run_uuid, RunInputs()),
            outputs=run_outputs.get(row.run_uuid, RunOutputs()),
        )
        for row in rows
    ]


def load_run_inputs(conn: Connection, run_ids: Sequence[str]) -> dict[str, RunInputs]:
    """Dataset and model inputs of these runs (two queries per 500 runs)."""
    datasets_by_run: dict[str, list[DatasetInput]] = defaultdict(list)
    models_by_run: dict[str, list[LoggedModelInput]] = defaultdict(list)
    for chunk in _chunks(run_ids):
        q = (
            sa.select(
                inputs.c.input_uuid,
                inputs.c.destination_id,
                datasets.c.name,
                datasets.c.digest,
                datasets.c.dataset_source_type,
                datasets.c.dataset_source,
                datasets.c.dataset_schema,
                datasets.c.dataset_profile,
                input_tags.c.name.label("tag_name"),
                input_tags.c.value.label("tag_value"),
            )
            .select_from(
                inputs.join(datasets, datasets.c.dataset_uuid == inputs.c.source_id).outerjoin(
                    input_tags, input_tags.c.input_uuid == inputs.c.input_uuid
                )
            )
            .where(
                inputs.c.destination_type == "RUN",
                inputs.c.destination_id.in_(chunk),
                inputs.c.source_type == "DATASET",
            )
            .order_by(inputs.c.destination_id, datasets.c.name, datasets.c.digest, input_tags.c.name)
        )
        grouped: dict[str, tuple[str, Dataset, list[InputTag]]] = {}
        for r in conn.execute(q):
            entry = grouped.get(r.input_uuid)
            if entry is None:
                ds = Dataset(
                    name=r.name,
                    digest=r.digest,
                    source_type=r.dataset_source_type,
                    source=r.dataset_source or "",
                    schema=r.dataset_schema,
                    profile=r.dataset_profile,
                )
                entry = grouped[r.input_uuid] = (r.destination_id, ds, [])
            if r.tag_name is not None:
                entry[2].append(InputTag(r.tag_name, r.tag_value))
        for run_id, ds, input_tag_list in grouped.values():
            datasets_by_run[run_id].append(DatasetInput(ds, tuple(input_tag_list)))
        q2 = sa.select(inputs.c.source_id, inputs.c.destination_id).where(
            inputs.c.source_type == "RUN_INPUT",
            inputs.c.source_id.in_(chunk),
            inputs.c.destination_type == "MODEL_INPUT",
        )
        for r in conn.execute(q2.order_by(inputs.c.source_id, inputs.c.destination_id)):
            models_by_run[r.source_id].append(LoggedModelInput(r.destination_id))
    return {
        run_id: RunInputs(tuple(datasets_by_run.get(run_id, ())), tuple(models_by_run.get(run_id, ())))
        for run_id in run_ids
        if run_id in datasets_by_run or run_id in models_by_run
    }


def load_run_outputs(conn: Connection, run_ids: Sequence[str]) -> dict[str, RunOutputs]:
    """Logged models these runs produced (one query per 500 runs)."""
    outputs: dict[str, list[LoggedModelOutput]] = defaultdict(list)
    for chunk in _chunks(run_ids):
        q = sa.select(inputs.c.source_id, inputs.c.destination_id, inputs.c.step).where(
            inputs.c.source_type == "RUN_OUTPUT",
            inputs.c.source_id.in_(chunk),
            inputs.c.destination_type == "MODEL_OUTPUT",
        )
        for r in conn.execute(q.order_by(inputs.c.source_id, inputs.c.step, inputs.c.destination_id)):
            outputs[r.source_id].append(LoggedModelOutput(r.destination_id, int(r.step or 0)))
    return {run_id: RunOutputs(tuple(items)) for run_id, items in outputs.items()}


def load_experiments(conn: Connection, rows: Sequence[Row[Any]]) -> list[Experiment]:
    """Experiments with their tags for rows of the ``experiments`` table (one extra query per 500)."""
    ids = [r.experiment_id for r in rows]
    exp_tags: dict[int, dict[str, str]] = defaultdict(dict)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        q = sa.select(experiment_tags.c.experiment_id, experiment_tags.c.key, experiment_tags.c.value).where(
            experiment_tags.c.experiment_id.in_(chunk)
        )
        for r in conn.execute(q):
            exp_tags[r.experiment_id][r.key] = r.value or ""
    return [
        Experiment(
            experiment_id=str(r.experiment_id),
            name=r.name,
            artifact_location=r.artifact_location or "",
            lifecycle_stage=r.lifecycle_stage,
            tags=dict(sorted(exp_tags.get(r.experiment_id, {}).items())),
            creation_time=r.creation_time,
            last_update_time=r.last_update_time,
        )
        for r in rows
    ]


def experiment_query() -> sa.Select[Any]:
    """``SELECT`` of every experiment column, for :func:`load_experiments`."""
    return sa.select(experiments)


def load_logged_models(conn: Connection, rows: Sequence[Row[Any]], dialect: str) -> list[LoggedModel]:
    """Logged models with tags, params and metrics for rows of ``logged_models`` (three queries per 500)."""
    ids = [r.model_id for r in rows]
    m_tags: dict[str, dict[str, str]] = defaultdict(dict)
    m_params: dict[str, dict[str, str]] = defaultdict(dict)
    m_metrics: dict[str, list[Metric]] = defaultdict(list)
    for chunk in _chunks(ids):
        t, p, m = logged_model_tags, logged_model_params, logged_model_metrics
        for r in conn.execute(sa.select(t.c.model_id, t.c.tag_key, t.c.tag_value).where(t.c.model_id.in_(chunk))):
            m_tags[r.model_id][r.tag_key] = r.tag_value
        q = sa.select(p.c.model_id, p.c.param_key, p.c.param_value).where(p.c.model_id.in_(chunk))
        for r in conn.execute(q):
            m_params[r.model_id][r.param_key] = r.param_value
        q = (
            sa.select(m)
            .where(m.c.model_id.in_(chunk))
            .order_by(m.c.model_id, m.c.metric_name, m.c.metric_step, m.c.metric_timestamp_ms)
        )
        for r in conn.execute(q):
            value = _dialect.load_float(r.metric_value, r.metric_value is None, dialect)
            m_metrics[r.model_id].append(
                Metric(
                    key=r.metric_name,
                    value=value,
                    timestamp=int(r.metric_timestamp_ms),
                    step=int(r.metric_step),
                    dataset_name=r.dataset_name,
                    dataset_digest=r.dataset_digest,
                    model_id=r.model_id,
                    run_id=r.run_id,
                )
            )
    return [
        LoggedModel(
            model_id=r.model_id,
            experiment_id=str(r.experiment_id),
            name=r.name,
            artifact_location=r.artifact_location,
            creation_timestamp=int(r.creation_timestamp_ms),
            last_updated_timestamp=int(r.last_updated_timestamp_ms),
            status=LoggedModelStatus(r.status),
            model_type=r.model_type,
            source_run_id=r.source_run_id,
            status_message=r.status_message,
            lifecycle_stage=r.lifecycle_stage,
            tags=dict(sorted(m_tags.get(r.model_id, {}).items())),
            params=dict(sorted(m_params.get(r.model_id, {}).items())),
            metrics=tuple(m_metrics.get(r.model_id, ())),
        )
        for r in rows
    ]


def logged_model_query() -> sa.Select[Any]:
    """``SELECT`` of every logged model column, for :func:`load_logged_models`."""
    return sa.select(logged_models)
