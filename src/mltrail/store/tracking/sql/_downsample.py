"""The M4 downsampling of metric histories in one SQL statement (window functions: SQLite >= 3.25, PostgreSQL,
MariaDB/MySQL 8), so only the kept points leave the database.

Per run, the points of the key (within the optional step range) are split into ``max_points // 4`` buckets of
equal step width between the run's first and last step; each bucket keeps its first, last, min-value and
max-value point. Runs with at most ``max_points`` points keep them all. Same selection as
:func:`mltrail.store.tracking.downsample.m4`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail.entities import Metric
from mltrail.store.sql.dialect import POSTGRESQL, Dialect
from mltrail.store.tracking.downsample import bucket_count
from mltrail.store.tracking.sql import _runs
from mltrail.store.tracking.sql.tables import metrics, runs


def downsampled_history(
    conn: Connection,
    dialect: Dialect,
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
    runs_q = (
        sa.select(
            m.c.run_uuid.label("run"),
            sa.func.min(m.c.step).label("lo"),
            sa.func.max(m.c.step).label("hi"),
            sa.func.count().label("n"),
        )
        .where(*where)
        .group_by(m.c.run_uuid)
        .subquery("per_run")
    )
    pr = runs_q.c
    bucket = ((m.c.step - pr.lo) * bucket_count(max_points)) // (pr.hi - pr.lo + 1)
    number = sa.case((m.c.is_nan, sa.null()), else_=m.c.value)
    agg = (
        sa.select(
            m.c.run_uuid.label("run"),
            bucket.label("bk"),
            sa.func.max(pr.n).label("n"),
            sa.func.min(m.c.step).label("s_first"),
            sa.func.max(m.c.step).label("s_last"),
            sa.func.min(number).label("vmin"),
            sa.func.max(number).label("vmax"),
        )
        .join_from(m, runs_q, pr.run == m.c.run_uuid)
        .where(*where)
        .group_by(m.c.run_uuid, bucket)
        .subquery("agg")
    )
    a = agg.c
    # Candidates: every point that can be its bucket's first, last, min or max (ties included), found by one
    # index range scan per bucket; ranking them below picks the same points as ranking the whole bucket.
    bucketed = (
        sa.select(m.c.run_uuid, m.c.step, m.c.timestamp, m.c.value, m.c.is_nan, a.n, a.bk.label("bucket"))
        .join_from(
            agg,
            m,
            sa.and_(
                m.c.run_uuid == a.run,
                m.c.key == metric_key,
                m.c.step >= a.s_first,
                m.c.step <= a.s_last,
            ),
        )
        .where(
            sa.or_(
                a.n <= max_points,
                m.c.step == a.s_first,
                m.c.step == a.s_last,
                m.c.value == a.vmin,
                m.c.value == a.vmax,
                a.vmin.is_(None),
            )
        )
        .subquery("bucketed")
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
    by_run: dict[str, list[Metric]] = {run_id: [] for run_id in ids}
    for run_uuid, step, timestamp, value, is_nan in _execute(conn, query, dialect):
        by_run[run_uuid].append(
            Metric(
                metric_key,
                dialect.load_float(value, bool(is_nan)),
                int(timestamp),
                int(step),
                run_id=run_uuid,
            )
        )
    return [point for run_id in ids for point in by_run[run_id]]


def _execute(conn: Connection, query: sa.Select[Any], dialect: Dialect) -> list[Row[Any]]:
    if dialect is not POSTGRESQL:
        return list(conn.execute(query))
    # The planner cannot estimate the per-bucket joins, so its cost estimate is huge and PostgreSQL JIT-compiles
    # the statement: ~0.5 s of compiling for a ~1.3 s query over 1,000,000 points. Off for this statement only.
    conn.execute(sa.text("SET jit = off"))
    try:
        return list(conn.execute(query))
    finally:
        conn.execute(sa.text("RESET jit"))


def _check_runs_exist(conn: Connection, run_ids: list[str]) -> None:
    found = {row[0] for row in conn.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid.in_(run_ids)))}
    for run_id in run_ids:
        if run_id not in found:
            raise _runs.not_found(run_id)
