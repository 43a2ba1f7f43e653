"""Rows -> entities, loading the data of a page of runs or models with a fixed number of batched queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import psycopg as _psycopg_dialect
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

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
from mltrail.entities.metric import wire_float
from mltrail.store.sql.dialect import MYSQL, POSTGRESQL, SQLITE, Dialect
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


# Row kinds of the page statement.
_PARAM, _TAG, _METRIC, _HAS_INPUTS, _HAS_OUTPUTS = 0, 1, 2, 3, 4


def _page_statement(dialect: Dialect) -> sa.CompoundSelect[Any]:
    """``(kind, run_uuid, key, text value, metric value, timestamp, step, is_nan)`` rows for the bound run ids.

    One ``UNION ALL``: the params, tags and latest metrics of the runs, plus one marker row per run that has
    dataset/model inputs or logged-model outputs (rare; those are then loaded apart). On PostgreSQL the ids are
    bound as one array (``= ANY(:ids)``); elsewhere as an expanding ``IN`` list.
    """

    def owned_by(column: Any) -> ColumnElement[bool]:
        if dialect is POSTGRESQL:
            return column == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.String)))
        return column.in_(sa.bindparam("ids", expanding=True))

    def kind(value: int) -> Any:
        return sa.literal_column(str(value), sa.Integer)

    def null(type_: Any) -> Any:  # PostgreSQL needs typed NULLs where a branch (or its DISTINCT) fixes the type
        return sa.cast(sa.null(), type_) if dialect is POSTGRESQL else sa.null()

    no_text = null(sa.Text)
    no_metric = (null(sa.Float), null(sa.BigInteger), null(sa.BigInteger), null(sa.Boolean))
    no_row = (no_text, no_text, *no_metric)
    lm = latest_metrics
    return sa.union_all(
        sa.select(
            kind(_METRIC), lm.c.run_uuid, lm.c.key, no_text, lm.c.value, lm.c.timestamp, lm.c.step, lm.c.is_nan
        ).where(owned_by(lm.c.run_uuid)),
        sa.select(kind(_PARAM), params.c.run_uuid, params.c.key, params.c.value, *no_metric).where(
            owned_by(params.c.run_uuid)
        ),
        sa.select(kind(_TAG), tags.c.run_uuid, tags.c.key, tags.c.value, *no_metric).where(owned_by(tags.c.run_uuid)),
        sa.select(kind(_HAS_INPUTS), inputs.c.destination_id, *no_row)
        .where(inputs.c.destination_type == "RUN", owned_by(inputs.c.destination_id))
        .distinct(),
        sa.select(kind(_HAS_INPUTS), inputs.c.source_id, *no_row)
        .where(inputs.c.source_type == "RUN_INPUT", owned_by(inputs.c.source_id))
        .distinct(),
        sa.select(kind(_HAS_OUTPUTS), inputs.c.source_id, *no_row)
        .where(inputs.c.source_type == "RUN_OUTPUT", owned_by(inputs.c.source_id))
        .distinct(),
    )


# Built once per dialect: building and caching a statement costs about as much as running it for a page.
_PAGE_STATEMENTS = {dialect: _page_statement(dialect) for dialect in (SQLITE, POSTGRESQL, MYSQL)}
# PostgreSQL binds one array, so the statement is compiled once and its ~2,000 rows come straight from the driver
# as tuples: SQLAlchemy's result rows cost about a fifth of the page load.
_PG_PAGE = _PAGE_STATEMENTS[POSTGRESQL].compile(dialect=_psycopg_dialect.dialect())
_PG_PAGE_PARAMS = dict(_PG_PAGE.params)


def _page_rows(conn: Connection, ids: list[str], dialect: Dialect) -> Sequence[Any]:
    if dialect is not POSTGRESQL:
        return conn.execute(_PAGE_STATEMENTS[dialect], {"ids": ids}).all()
    # Binary results: numbers and booleans are read without parsing their text (~0.2 ms less per page).
    cursor = conn.connection.dbapi_connection.cursor(binary=True)  # type: ignore[union-attr]
    try:
        cursor.execute(_PG_PAGE.string, {**_PG_PAGE_PARAMS, "ids": ids})
        return cursor.fetchall()
    finally:
        cursor.close()


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


_STATUSES = {s.value: s for s in RunStatus}


def run_info(row: Row[Any]) -> RunInfo:
    """A :class:`RunInfo` from a row selecting :data:`RUN_COLUMNS`."""
    run_id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, stage = row
    return RunInfo(
        run_id=run_id,
        experiment_id=str(experiment_id),
        run_name=name or "",
        user_id=user_id or "",
        status=_STATUSES.get(status) or RunStatus(status),
        start_time=start_time,
        end_time=end_time,
        artifact_uri=artifact_uri or "",
        lifecycle_stage=stage,
    )


@dataclass
class _Page:
    """The data of a page of runs, by run id: as entities' fields (metrics as ``(key, value, timestamp, step)``,
    sorted by key) or, for :func:`load_run_dicts`, as wire lists of ``{"key", "value", ...}`` dicts."""

    params: dict[str, Any]
    tags: dict[str, Any]
    metrics: dict[str, list[Any]]
    inputs: dict[str, RunInputs]
    outputs: dict[str, RunOutputs]


def _fetch_page(conn: Connection, ids: Sequence[str], dialect: Dialect, wire: bool = False) -> _Page:
    """Params, tags and latest metrics of these runs in one query per 500 runs; inputs and outputs only for the
    runs that have some. With ``wire`` the items are built as wire dicts straight from the rows."""
    page = _Page(defaultdict(dict), defaultdict(dict), defaultdict(list), {}, {})
    if wire:
        page.params, page.tags = defaultdict(list), defaultdict(list)
    with_inputs: set[str] = set()
    with_outputs: set[str] = set()
    load = dialect.load_float
    # Rows are unpacked positionally: attribute access by name costs more than the query on a page of runs.
    for chunk in _chunks(ids):
        rows = _page_rows(conn, list(chunk), dialect)
        if wire:
            _wire_items(page, rows, dialect, with_inputs, with_outputs)
            continue
        for kind, run_id, key, text, value, timestamp, step, is_nan in rows:
            if kind == _METRIC:
                page.metrics[run_id].append((key, load(value, bool(is_nan)), int(timestamp), int(step)))
            elif kind == _PARAM:
                page.params[run_id][key] = text
            elif kind == _TAG:
                page.tags[run_id][key] = text or ""
            elif kind == _HAS_INPUTS:
                with_inputs.add(run_id)
            else:
                with_outputs.add(run_id)
    if wire:
        for by_run in (page.metrics, page.params, page.tags):
            for items in by_run.values():
                items.sort(key=_by_key)
    else:
        for points in page.metrics.values():
            points.sort()
    if with_inputs:
        page.inputs = load_run_inputs(conn, [i for i in ids if i in with_inputs])
    if with_outputs:
        page.outputs = load_run_outputs(conn, [i for i in ids if i in with_outputs])
    return page


def _by_key(item: dict[str, Any]) -> str:
    return item["key"]  # type: ignore[no-any-return]


def _wire_items(
    page: _Page, rows: Sequence[Any], dialect: Dialect, with_inputs: set[str], with_outputs: set[str]
) -> None:
    """Append the page rows' params, tags and metrics to ``page`` as wire dicts (keys are unique per run)."""
    load, wire_value, clamps = dialect.load_float, wire_float, dialect.clamps_infinities
    metrics, params, tags = page.metrics, page.params, page.tags
    for kind, run_id, key, text, value, timestamp, step, is_nan in rows:
        if kind == _METRIC:
            plain = value is not None and not is_nan and not clamps
            number = float(value) if plain else load(value, bool(is_nan))
            metrics[run_id].append(
                {"key": key, "value": wire_value(number), "timestamp": int(timestamp), "step": int(step)}
            )
        elif kind == _PARAM:
            params[run_id].append({"key": key, "value": text})
        elif kind == _TAG:
            tags[run_id].append({"key": key, "value": text or ""})
        elif kind == _HAS_INPUTS:
            with_inputs.add(run_id)
        else:
            with_outputs.add(run_id)


def load_runs(conn: Connection, rows: Sequence[Row[Any]], dialect: Dialect) -> list[Run]:
    """Full runs for rows selecting :data:`RUN_COLUMNS`, in the same order (see :func:`_fetch_page`)."""
    page = _fetch_page(conn, [r[0] for r in rows], dialect)
    no_inputs, no_outputs = RunInputs(), RunOutputs()
    result = []
    for row in rows:
        run_id = row[0]
        result.append(
            Run(
                info=run_info(row),
                data=RunData(
                    metric_objects=tuple(Metric(*point) for point in page.metrics.get(run_id, ())),
                    params=dict(sorted(page.params[run_id].items())) if run_id in page.params else {},
                    tags=dict(sorted(page.tags[run_id].items())) if run_id in page.tags else {},
                ),
                inputs=page.inputs.get(run_id, no_inputs),
                outputs=page.outputs.get(run_id, no_outputs),
            )
        )
    return result


def load_run_dicts(conn: Connection, rows: Sequence[Row[Any]], dialect: Dialect) -> list[dict[str, Any]]:
    """What ``[r.to_dict() for r in load_runs(conn, rows, dialect)]`` returns, built straight from the rows.

    A page of search results skips the entities: building a thousand frozen :class:`Metric` objects and
    turning them back into dicts costs more than fetching them.
    """
    page = _fetch_page(conn, [r[0] for r in rows], dialect, wire=True)
    result = []
    for run_id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, stage in rows:
        info: dict[str, Any] = {
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": name or "",
            "experiment_id": str(experiment_id),
            "user_id": user_id or "",
            "status": (_STATUSES.get(status) or RunStatus(status)).value,
        }
        if start_time is not None:
            info["start_time"] = start_time
        if end_time is not None:
            info["end_time"] = end_time
        info["artifact_uri"] = artifact_uri or ""
        if stage is not None:
            info["lifecycle_stage"] = stage
        data: dict[str, Any] = {}
        if run_id in page.metrics:
            data["metrics"] = page.metrics[run_id]
        if run_id in page.params:
            data["params"] = page.params[run_id]
        if run_id in page.tags:
            data["tags"] = page.tags[run_id]
        inputs, outputs = page.inputs.get(run_id), page.outputs.get(run_id)
        result.append(
            {
                "info": info,
                "data": data,
                "inputs": inputs.to_dict() if inputs is not None else {},
                "outputs": outputs.to_dict() if outputs is not None else {},
            }
        )
    return result


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


def load_logged_models(conn: Connection, rows: Sequence[Row[Any]], dialect: Dialect) -> list[LoggedModel]:
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
            value = dialect.load_float(r.metric_value, r.metric_value is None)
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
