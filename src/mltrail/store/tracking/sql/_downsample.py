"""The M4 downsampling of metric histories in one SQL statement (window functions: SQLite >= 3.25, PostgreSQL,
MariaDB/MySQL 8), so only the kept points leave the database.

Per run, the points of the key (within the optional step range) are split into ``max_points // 4`` buckets of
equal step width between the run's first and last step; each bucket keeps its first, last, min-value and
max-value point. Runs with at most ``max_points`` points keep them all. Same selection as
:func:`mltrail.store.tracking.downsample.m4`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail.entities import Metric
from mltrail.errors import RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.tracking.downsample import bucket_count
from mltrail.store.tracking.sql import _dialect
from mltrail.store.tracking.sql.tables import metrics, runs


def downsampled_history(
    conn: Connection,
    run_ids: Sequence[str],
    metric_key: str,
    max_points: int,
    start_step: int | None,
    end_step: int | None,
) -> list[Metric]:
    """The kept points of every run, ordered by run (in ``run_ids`` order), step, timestamp and value."""
    ids = list(dict.fromkeys(run_ids))
    _check_runs_exist(conn, ids)
    m = metrics
    where = [m.c.run_uuid.in_(ids), m.c.key == metric_key]
    if start_step is not None:
        where.append(m.c.step >= start_step)
    if end_step is not None:
        where.append(m.c.step <= end_step)
    per_run = {"partition_by": m.c.run_uuid}
    base = (
        sa.select(
            m.c.run_uuid,
            m.c.step,
            m.c.timestamp,
            m.c.value,
            m.c.is_nan,
            sa.func.min(m.c.step).over(**per_run).label("lo"),
            sa.func.max(m.c.step).over(**per_run).label("hi"),
            sa.func.count().over(**per_run).label("n"),
        )
        .where(*where)
        .subquery("base")
    )
    b = base.c
    bucket = ((b.step - b.lo) * bucket_count(max_points)) // (b.hi - b.lo + 1)
    bucketed = sa.select(b.run_uuid, b.step, b.timestamp, b.value, b.is_nan, b.n, bucket.label("bucket")).subquery(
        "bucketed"
    )
    c = bucketed.c
    part = [c.run_uuid, c.bucket]

    def rank(*order: sa.ColumnElement[object]) -> sa.ColumnElement[int]:
        return sa.func.row_number().over(partition_by=part, order_by=list(order))

    ranked = sa.select(
        c.run_uuid,
        c.step,
        c.timestamp,
        c.value,
        c.is_nan,
        c.n,
        rank(c.step, c.timestamp, c.value).label("r_first"),
        rank(c.step.desc(), c.timestamp.desc(), c.value.desc()).label("r_last"),
        rank(c.is_nan, c.value, c.step, c.timestamp).label("r_min"),
        rank(c.is_nan, c.value.desc(), c.step, c.timestamp).label("r_max"),
    ).subquery("ranked")
    r = ranked.c
    query = (
        sa.select(r.run_uuid, r.step, r.timestamp, r.value, r.is_nan)
        .where(sa.or_(r.n <= max_points, r.r_first == 1, r.r_last == 1, r.r_min == 1, r.r_max == 1))
        .order_by(r.run_uuid, r.step, r.timestamp, r.value)
    )
    dialect = _dialect.dialect_name(conn)
    by_run: dict[str, list[Metric]] = {run_id: [] for run_id in ids}
    for run_uuid, step, timestamp, value, is_nan in conn.execute(query):
        by_run[run_uuid].append(
            Metric(
                metric_key,
                _dialect.load_float(value, bool(is_nan), dialect),
                int(timestamp),
                int(step),
                run_id=run_uuid,
            )
        )
    return [point for run_id in ids for point in by_run[run_id]]


def _check_runs_exist(conn: Connection, run_ids: list[str]) -> None:
    found = {row[0] for row in conn.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid.in_(run_ids)))}
    for run_id in run_ids:
        if run_id not in found:
            raise MltrailError(f"Run with id={run_id} not found", RESOURCE_DOES_NOT_EXIST)
