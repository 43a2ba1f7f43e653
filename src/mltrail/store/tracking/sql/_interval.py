"""``get_metric_history_bulk_interval``'s sampling, MLflow 3.17's way, in one SQL statement.

Per run, the values of the key (within the optional step range), ordered by step, timestamp, value, NaN-ness,
are split by ``NTILE(max_results)`` into evenly sized buckets and the first row of each bucket is kept; the
run's last row is kept too, replacing the last sample when there are already ``max_results``. So a run returns
at most ``max_results`` points, always its first and last, and all of them when it has no more than that.
Sampling rows (not distinct steps) keeps the answer bounded when many values share a step.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail.entities import Metric
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.sql.tables import metrics


def sample_metric_history(
    conn: Connection,
    dialect: Dialect,
    run_ids: Sequence[str],
    metric_key: str,
    max_results: int,
    start_step: int | None,
    end_step: int | None,
) -> list[Metric]:
    """At most ``max_results`` evenly spaced points of ``metric_key`` per run, each with ``run_id`` set.

    Args:
        conn: an open connection.
        dialect: its dialect.
        run_ids: the runs, in the order their points are returned.
        metric_key: the metric.
        max_results: the most points per run (at least 1).
        start_step: first step of the range (inclusive), or None for the whole history.
        end_step: last step of the range (inclusive), or None.

    The caller checks that the runs exist; an unknown run has no points.
    """
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return []
    m = metrics
    order = (m.c.step, m.c.timestamp, m.c.value, m.c.is_nan)
    where = [m.c.run_uuid.in_(ids), m.c.key == metric_key]
    if start_step is not None and end_step is not None:
        where += [m.c.step >= start_step, m.c.step <= end_step]
    bucketed = (
        sa.select(
            m.c.run_uuid,
            *order,
            sa.func.ntile(max_results).over(partition_by=m.c.run_uuid, order_by=order).label("bucket"),
            sa.func.row_number()
            .over(partition_by=m.c.run_uuid, order_by=tuple(c.desc() for c in order))
            .label("from_end"),
        )
        .where(*where)
        .subquery()
    )
    b = bucketed.c
    ranked = sa.select(
        b.run_uuid,
        b.step,
        b.timestamp,
        b.value,
        b.is_nan,
        b.from_end,
        sa.func.row_number()
        .over(partition_by=(b.run_uuid, b.bucket), order_by=(b.step, b.timestamp, b.value, b.is_nan))
        .label("in_bucket"),
    ).subquery()
    r = ranked.c
    query = (
        sa.select(r.run_uuid, r.step, r.timestamp, r.value, r.is_nan, r.in_bucket)
        .where(sa.or_(r.in_bucket == 1, r.from_end == 1))
        .order_by(r.run_uuid, r.step, r.timestamp, r.value, r.is_nan)
    )
    by_run: dict[str, list[Metric]] = {run_id: [] for run_id in ids}
    last_of_run: dict[str, Metric] = {}
    for row in conn.execute(query):
        value = dialect.load_float(row.value, bool(row.is_nan))
        point = Metric(metric_key, value, int(row.timestamp), int(row.step), run_id=row.run_uuid)
        if row.in_bucket == 1:
            by_run[row.run_uuid].append(point)
        else:  # the run's last row, not the first of its bucket
            last_of_run[row.run_uuid] = point
    for run_id, last in last_of_run.items():
        points = by_run[run_id]
        if len(points) >= max_results:
            points[-1] = last
        else:
            points.append(last)
    return [point for run_id in ids for point in by_run[run_id]]
