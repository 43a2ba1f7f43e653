"""Compile the search syntax tree to SQLAlchemy: one statement selects a page of runs, experiments or models.

Filters become ``EXISTS`` subqueries on the key/value tables (their primary keys make each one an index
lookup); metric filters read ``latest_metrics``, whose min/max/sum/count columns also serve the
``min/max/avg(metrics.x)`` aggregates. Sorting joins one ``LEFT JOIN`` per sorted metric/param/tag. NULLs (and
NaN metrics) sort last in both directions, as in MLflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg as _psycopg_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from mltrail import errors
from mltrail.entities import DATASET_CONTEXT_TAG, LoggedModelStatus, ViewType
from mltrail.errors import MltrailError
from mltrail.search.ast import Comparison, Identifier, OrderBy
from mltrail.search.grammar import parse_filter, parse_order_by
from mltrail.search.targets import EXPERIMENTS, LOGGED_MODELS, RUNS
from mltrail.store.sql.compare import combine, compare_number, compare_string
from mltrail.store.sql.dialect import POSTGRESQL, Dialect, pg_inline_literals
from mltrail.store.tracking.sql import _load
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

_RUN_ATTRIBUTES = {
    "run_id": runs.c.run_uuid,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user_id": runs.c.user_id,
    "artifact_uri": runs.c.artifact_uri,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "lifecycle_stage": runs.c.lifecycle_stage,
    "experiment_id": runs.c.experiment_id,
}
_EXPERIMENT_ATTRIBUTES = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.experiment_id,
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
}
_MODEL_ATTRIBUTES = {
    "model_id": logged_models.c.model_id,
    "experiment_id": logged_models.c.experiment_id,
    "name": logged_models.c.name,
    "artifact_location": logged_models.c.artifact_location,
    "artifact_uri": logged_models.c.artifact_location,
    "status": logged_models.c.status,
    "lifecycle_stage": logged_models.c.lifecycle_stage,
    "model_type": logged_models.c.model_type,
    "source_run_id": logged_models.c.source_run_id,
    "status_message": logged_models.c.status_message,
    "creation_timestamp": logged_models.c.creation_timestamp_ms,
    "creation_time": logged_models.c.creation_timestamp_ms,
    "last_updated_timestamp": logged_models.c.last_updated_timestamp_ms,
}


# ------------------------------------------------------------------------------------------ conditions
def _metric_condition(lm: Any, identifier: Identifier, comparison: Comparison) -> ColumnElement[bool]:
    """A comparison on a ``latest_metrics`` row: the latest value or an aggregate over the history."""
    op, value = comparison.comparator, comparison.value
    aggregate = identifier.aggregate
    if aggregate == "min":
        return compare_number(lm.c.min_value, op, value)
    if aggregate == "max":
        return compare_number(lm.c.max_value, op, value)
    if aggregate == "avg":
        average = lm.c.sum_value / sa.func.nullif(lm.c.count_value, 0)
        return compare_number(average, op, value)
    condition = compare_number(lm.c.value, op, value)
    if op == "!=":
        return sa.or_(lm.c.is_nan.is_(True), condition)
    return sa.and_(lm.c.is_nan.is_(False), condition)


def _key_value_exists(
    table: sa.Table, owner: ColumnElement[Any], owner_col: str, key: str, condition: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    where = [table.c[owner_col] == owner, table.c.key == key]
    if condition is not None:
        where.append(condition)
    return sa.exists().where(*where)


def _key_value_filter(
    table: sa.Table, owner: ColumnElement[Any], owner_col: str, c: Comparison, dialect: Dialect
) -> ColumnElement[bool]:
    key = c.identifier.key
    if c.comparator == "IS NULL":
        return ~_key_value_exists(table, owner, owner_col, key, None)
    if c.comparator == "IS NOT NULL":
        return _key_value_exists(table, owner, owner_col, key, None)
    return _key_value_exists(table, owner, owner_col, key, compare_string(table.c.value, c, dialect))


def _nulls_last(value: ColumnElement[Any], ascending: bool, missing: ColumnElement[Any] | None = None) -> list[Any]:
    return [e.asc() if asc else e.desc() for e, asc in _nulls_last_keys(value, ascending, missing)]


def _nulls_last_keys(
    value: ColumnElement[Any], ascending: bool, missing: ColumnElement[Any] | None = None
) -> list[tuple[ColumnElement[Any], bool]]:
    rank = sa.case((value.is_(None), 1), else_=0) if missing is None else missing
    return [(rank, True), (value, ascending)]


# ------------------------------------------------------------------------------------------------- runs
def _run_leaf(c: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    ident = c.identifier
    if ident.kind == "metric":
        lm = latest_metrics
        return sa.exists().where(
            lm.c.run_uuid == runs.c.run_uuid, lm.c.key == ident.key, _metric_condition(lm, ident, c)
        )
    if ident.kind == "param":
        return _key_value_filter(params, runs.c.run_uuid, "run_uuid", c, dialect)
    if ident.kind == "tag":
        return _key_value_filter(tags, runs.c.run_uuid, "run_uuid", c, dialect)
    if ident.kind == "dataset":
        return _dataset_filter(c, dialect)
    column = _RUN_ATTRIBUTES.get(ident.key)
    if column is None:
        raise errors.invalid(f"Invalid attribute key '{ident.key}' specified.")
    if ident.key in ("start_time", "end_time"):
        return compare_number(column, c.comparator, c.value)
    return compare_string(column, c, dialect)


def _dataset_filter(c: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    key = c.identifier.key
    context = input_tags.alias("ctx")
    source = inputs.join(datasets, datasets.c.dataset_uuid == inputs.c.source_id)
    if key == "context":
        source = source.join(
            context, sa.and_(context.c.input_uuid == inputs.c.input_uuid, context.c.name == DATASET_CONTEXT_TAG)
        )
        column: ColumnElement[Any] = context.c.value
    elif key in ("name", "digest"):
        column = datasets.c[key]
    else:
        raise errors.invalid(f"Invalid dataset key '{key}' specified.")
    return (
        sa.select(sa.literal(1))
        .select_from(source)
        .where(
            inputs.c.destination_type == "RUN",
            inputs.c.destination_id == runs.c.run_uuid,
            inputs.c.source_type == "DATASET",
            compare_string(column, c, dialect),
        )
        .exists()
    )


def _ordered_runs(where: list[ColumnElement[bool]], clauses: Sequence[OrderBy]) -> sa.Select[Any]:
    source: Any = runs
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for index, clause in enumerate(clauses):
        source, clause_keys = _run_order(source, index, clause)
        keys.extend(clause_keys)
    return (
        sa.select(*_load.RUN_COLUMNS)
        .select_from(source)
        .where(*where)
        .order_by(*(e.asc() if asc else e.desc() for e, asc in keys))
    )


@dataclass(frozen=True)
class RunSearchPlan:
    """The statements that select one page of a run search.

    ``first`` always runs. With ``rest`` (PostgreSQL, sorted by a metric's latest value) ``first`` selects up to
    ``offset + limit`` runs that have a value, ``rest`` the runs with a NaN or no value (they sort after all of
    those) and runs only when ``first`` came back short; the page is then cut from both. A statement is a
    SQLAlchemy select, or for PostgreSQL compiled once: SQL with its values written in as literals (so that
    the driver's prepared statement is planned once), or ``(sql, params)`` where a value has no literal form.
    """

    first: Any
    rest: Any | None
    offset: int
    wanted: int

    def rows(self, conn: Connection) -> list[Any]:
        """Rows (:data:`_load.RUN_COLUMNS`) of the page, in order."""
        rows = _rows(conn, self.first)
        if self.rest is None:
            return rows
        if len(rows) < self.wanted:
            rows.extend(_rows(conn, self.rest)[: self.wanted - len(rows)])
        return rows[self.offset : self.wanted]


_NO_PARAMETERS = {"no_parameters": True}


def _rows(conn: Connection, statement: Any) -> list[Any]:
    if isinstance(statement, str):  # PostgreSQL with the values inlined: executed without parameters
        return list(conn.exec_driver_sql(statement, execution_options=_NO_PARAMETERS).all())
    if isinstance(statement, tuple):
        return list(conn.exec_driver_sql(*statement).all())
    return list(conn.execute(statement).all())


def plan_run_search(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    view: ViewType,
    order_by: Sequence[str] | None,
    dialect: Dialect,
    limit: int,
    offset: int = 0,
) -> RunSearchPlan:
    """Parse a run search and build the statements of the page ``offset`` .. ``offset + limit`` (no database work).

    On PostgreSQL the compiled SQL of recent searches is cached: building, caching and compiling a search
    statement costs a sizeable part of a fast search, and dashboards repeat the same searches.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter or order_by.
    """
    if dialect is POSTGRESQL:
        return _compiled_pg_plan(
            tuple(experiment_ids), filter_string, view, None if order_by is None else tuple(order_by), limit, offset
        )
    return _plan(experiment_ids, filter_string, view, order_by, dialect, limit, offset)


_PG_DIALECT = _psycopg_dialect.dialect()


@lru_cache(maxsize=256)
def _compiled_pg_plan(
    experiment_ids: tuple[int, ...],
    filter_string: str | None,
    view: ViewType,
    order_by: tuple[str, ...] | None,
    limit: int,
    offset: int,
) -> RunSearchPlan:
    plan = _plan(experiment_ids, filter_string, view, order_by, POSTGRESQL, limit, offset)

    def compiled(statement: Any) -> str | tuple[str, dict[str, Any]] | None:
        if statement is None:
            return None
        done = statement.compile(dialect=_PG_DIALECT, compile_kwargs={"render_postcompile": True})
        params = dict(done.params)
        # Without parameters psycopg's prepared statement keeps its plan: ~1 ms of planning saved per search.
        return pg_inline_literals(done.string, params) or (done.string, params)

    return RunSearchPlan(compiled(plan.first), compiled(plan.rest), plan.offset, plan.wanted)


def _plan(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    view: ViewType,
    order_by: Sequence[str] | None,
    dialect: Dialect,
    limit: int,
    offset: int,
) -> RunSearchPlan:
    expr = parse_filter(filter_string, RUNS)
    clauses = RUNS.complete_order_by(parse_order_by(order_by, RUNS))
    where: list[ColumnElement[bool]] = [
        runs.c.experiment_id.in_(list(experiment_ids)),
        runs.c.lifecycle_stage.in_(view.stages),
    ]
    if expr is not None:
        where.append(combine(expr, lambda c: _run_leaf(c, dialect)))
    first = clauses[0].identifier
    if dialect is POSTGRESQL and first.kind == "metric" and first.aggregate is None:
        return _runs_by_metric_index(where, clauses, limit, offset)
    return RunSearchPlan(_ordered_runs(where, clauses).limit(limit).offset(offset), None, offset, offset + limit)


def _runs_by_metric_index(
    where: list[ColumnElement[bool]], clauses: Sequence[OrderBy], limit: int, offset: int
) -> RunSearchPlan:
    """Runs sorted by a metric's latest value, in two queries PostgreSQL can each stop early.

    The single-statement form sorts by ``CASE`` (missing, NaN, value) first, which no index serves, so
    PostgreSQL sorts every match. Here runs with a non-NaN value come first: that query walks
    ``ix_latest_metrics_key_value`` in order (an incremental sort breaks ties) and stops after ``offset + limit``
    rows. Runs with a NaN or no value sort after all of them, so they are looked up only when the first query
    ran out before filling the page (a metric most runs lack); that second query has to visit every match.
    """
    ident, ascending = clauses[0].identifier, clauses[0].ascending
    wanted = offset + limit
    lm = latest_metrics.alias("order_m0")
    present = runs.join(lm, sa.and_(lm.c.run_uuid == runs.c.run_uuid, lm.c.key == ident.key, lm.c.is_nan.is_(False)))
    absent: Any = runs.outerjoin(lm, sa.and_(lm.c.run_uuid == runs.c.run_uuid, lm.c.key == ident.key))
    rest: list[tuple[ColumnElement[Any], bool]] = []
    for index, clause in enumerate(clauses[1:], start=1):
        join, keys = _run_order_parts(index, clause)
        if join is not None:
            present, absent = present.outerjoin(*join), absent.outerjoin(*join)
        rest.extend(keys)
    tail = [e.asc() if asc else e.desc() for e, asc in rest]
    value_order = lm.c.value.asc() if ascending else lm.c.value.desc()
    with_value = sa.select(*_load.RUN_COLUMNS).select_from(present).where(*where)
    missing = sa.case((lm.c.run_uuid.is_(None), 2), else_=1)
    without_value = (
        sa.select(*_load.RUN_COLUMNS)
        .select_from(absent)
        .where(*where, sa.or_(lm.c.run_uuid.is_(None), lm.c.is_nan.is_(True)))
        .order_by(missing.asc(), *tail)
        .limit(wanted)
    )
    return RunSearchPlan(with_value.order_by(value_order, *tail).limit(wanted), without_value, offset, wanted)


def _run_order(source: Any, index: int, clause: OrderBy) -> tuple[Any, list[tuple[ColumnElement[Any], bool]]]:
    join, keys = _run_order_parts(index, clause)
    return (source if join is None else source.outerjoin(*join)), keys


def _run_order_parts(
    index: int, clause: OrderBy
) -> tuple[tuple[Any, Any] | None, list[tuple[ColumnElement[Any], bool]]]:
    """The outer join (table, on) a sort clause needs, if any, and its (expression, ascending) sort keys."""
    ident, asc = clause.identifier, clause.ascending
    if ident.kind == "attribute":
        return None, _nulls_last_keys(_RUN_ATTRIBUTES[ident.key], asc)
    if ident.kind == "metric":
        lm = latest_metrics.alias(f"order_m{index}")
        join = (lm, sa.and_(lm.c.run_uuid == runs.c.run_uuid, lm.c.key == ident.key))
        if ident.aggregate in ("min", "max", "avg"):
            value = {
                "min": lm.c.min_value,
                "max": lm.c.max_value,
                "avg": lm.c.sum_value / sa.func.nullif(lm.c.count_value, 0),
            }[ident.aggregate]
            return join, _nulls_last_keys(value, asc)
        rank = sa.case((lm.c.run_uuid.is_(None), 2), (lm.c.is_nan.is_(True), 1), else_=0)
        return join, _nulls_last_keys(lm.c.value, asc, rank)
    table = params if ident.kind == "param" else tags
    kv = table.alias(f"order_{ident.kind}{index}")
    return (kv, sa.and_(kv.c.run_uuid == runs.c.run_uuid, kv.c.key == ident.key)), _nulls_last_keys(kv.c.value, asc)


# ------------------------------------------------------------------------------------------ experiments
def _experiment_ids(value: Any) -> list[int]:
    values = value if isinstance(value, tuple) else (value,)
    result = []
    for v in values:
        try:
            result.append(int(str(v)))
        except ValueError:
            continue
    return result


def _experiment_leaf(c: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    ident = c.identifier
    if ident.kind == "tag":
        return _key_value_filter(experiment_tags, experiments.c.experiment_id, "experiment_id", c, dialect)
    column = _EXPERIMENT_ATTRIBUTES[ident.key]
    if ident.key == "experiment_id":
        ids = _experiment_ids(c.value)
        if c.comparator in ("=", "IN"):
            return column.in_(ids) if ids else sa.false()
        return column.not_in(ids) if ids else sa.true()
    if ident.key in ("creation_time", "last_update_time"):
        return compare_number(column, c.comparator, c.value)
    return compare_string(column, c, dialect)


def experiments_query(
    filter_string: str | None, order_by: Sequence[str] | None, view: ViewType, dialect: Dialect
) -> sa.Select[Any]:
    """The statement that selects matching experiments in order.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter or order_by.
    """
    expr = parse_filter(filter_string, EXPERIMENTS)
    clauses = EXPERIMENTS.complete_order_by(parse_order_by(order_by, EXPERIMENTS))
    query = _load.experiment_query().where(experiments.c.lifecycle_stage.in_(view.stages))
    if expr is not None:
        query = query.where(combine(expr, lambda c: _experiment_leaf(c, dialect)))
    order: list[Any] = []
    for clause in clauses:
        order.extend(_nulls_last(_EXPERIMENT_ATTRIBUTES[clause.identifier.key], clause.ascending))
    return query.order_by(*order)


# ---------------------------------------------------------------------------------------- logged models
def _latest_model_metric(
    key: str, aggregate: str | None, dataset_name: str | None = None, dataset_digest: str | None = None
) -> Any:
    m = logged_model_metrics.alias("lmm")
    where = [m.c.model_id == logged_models.c.model_id, m.c.metric_name == key]
    if dataset_name is not None:
        where.append(m.c.dataset_name == dataset_name)
    if dataset_digest is not None:
        where.append(m.c.dataset_digest == dataset_digest)
    if aggregate in ("min", "max", "avg"):
        func = {"min": sa.func.min, "max": sa.func.max, "avg": sa.func.avg}[aggregate]
        return sa.select(func(m.c.metric_value)).where(*where).scalar_subquery()
    return (
        sa.select(m.c.metric_value)
        .where(*where)
        .order_by(m.c.metric_step.desc(), m.c.metric_timestamp_ms.desc())
        .limit(1)
        .scalar_subquery()
    )


def _status_values(value: Any) -> Any:
    def one(v: str) -> str:
        try:
            return str(LoggedModelStatus.parse(v).value)
        except MltrailError:
            try:
                return str(LoggedModelStatus.parse(f"LOGGED_MODEL_{v}").value)
            except MltrailError:
                return v

    return tuple(one(v) for v in value) if isinstance(value, tuple) else one(str(value))


def _model_leaf(c: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    ident = c.identifier
    if ident.kind == "metric":
        return compare_number(_latest_model_metric(ident.key, ident.aggregate), c.comparator, c.value)
    if ident.kind in ("param", "tag"):
        table, key_col, value_col = (
            (logged_model_params, "param_key", "param_value")
            if ident.kind == "param"
            else (logged_model_tags, "tag_key", "tag_value")
        )
        condition = compare_string(table.c[value_col], c, dialect)
        return sa.exists().where(table.c.model_id == logged_models.c.model_id, table.c[key_col] == ident.key, condition)
    column = _MODEL_ATTRIBUTES.get(ident.key)
    if column is None:
        raise errors.invalid(f"Invalid attribute key '{ident.key}' specified.")
    if ident.key in ("creation_timestamp", "last_updated_timestamp", "creation_time"):
        return compare_number(column, c.comparator, c.value)
    if ident.key == "experiment_id":
        ids = _experiment_ids(c.value)
        if c.comparator in ("=", "IN"):
            return column.in_(ids) if ids else sa.false()
        if c.comparator in ("!=", "NOT IN"):
            return column.not_in(ids) if ids else sa.true()
        column = sa.cast(column, sa.String(20))
    if ident.key == "status" and c.comparator in ("=", "!=", "IN", "NOT IN"):
        c = Comparison(c.identifier, c.comparator, _status_values(c.value))
    return compare_string(column, c, dialect)


def logged_models_query(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    dataset_filters: Sequence[dict[str, str]] | None,
    order_by: Sequence[Any] | None,
    dialect: Dialect,
) -> sa.Select[Any]:
    """The statement that selects matching active logged models in order.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter, dataset filter or order_by.
    """
    expr = parse_filter(filter_string, LOGGED_MODELS)
    query = _load.logged_model_query().where(
        logged_models.c.experiment_id.in_(list(experiment_ids)), logged_models.c.lifecycle_stage == "active"
    )
    if expr is not None:
        query = query.where(combine(expr, lambda c: _model_leaf(c, dialect)))
    if dataset_filters:
        m = logged_model_metrics
        alternatives = []
        for item in dataset_filters:
            name = item.get("dataset_name")
            if not name:
                raise errors.invalid("`dataset_name` in the `datasets` clause must be specified.")
            where = [m.c.model_id == logged_models.c.model_id, m.c.dataset_name == name]
            if item.get("dataset_digest"):
                where.append(m.c.dataset_digest == item["dataset_digest"])
            alternatives.append(sa.exists().where(*where))
        query = query.where(sa.or_(*alternatives))
    order: list[Any] = []
    present: set[str] = set()
    for clause in order_by or ():
        fields = (
            clause
            if isinstance(clause, dict)
            else {k: getattr(clause, k, None) for k in ("field_name", "ascending", "dataset_name", "dataset_digest")}
        )
        field = fields.get("field_name")
        if not field:
            raise errors.invalid("`field_name` in the `order_by` clause must be specified.")
        ascending = True if fields.get("ascending") is None else bool(fields.get("ascending"))
        if field.startswith("metrics."):
            value = _latest_model_metric(
                field[len("metrics.") :], None, fields.get("dataset_name"), fields.get("dataset_digest")
            )
        else:
            column = _MODEL_ATTRIBUTES.get(field.removesuffix("_ms"))
            if column is None:
                raise errors.invalid(f"Invalid order by field name: {field}")
            value = column
            present.add(column.name)
        order.extend(_nulls_last(value, ascending))
    if "creation_timestamp_ms" not in present:
        order.append(logged_models.c.creation_timestamp_ms.desc())
    if "model_id" not in present:
        order.append(logged_models.c.model_id.asc())
    return query.order_by(*order)
