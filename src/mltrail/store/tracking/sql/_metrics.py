"""Writing metric points: the history table plus the per-key summary in ``latest_metrics``.

Two strategies, picked by :attr:`Dialect.merges_metrics_in_one_statement`:

- :func:`write_metrics_one_statement` (PostgreSQL): one statement checks that the run is active, inserts the new
  points (skipping exact repeats) and merges each key's summary in SQL with ``INSERT ... ON CONFLICT DO UPDATE``.
  Row locks taken by the upsert serialize writers of the same key, so no run lock is needed, and in autocommit
  mode the whole call is one round trip.
- :func:`write_metrics` (SQLite, MySQL/MariaDB, and batches with params, tags or model metrics): callers hold
  the run's write lock (``SELECT ... FOR UPDATE`` on its row, or SQLite's single writer), so the read-merge-write
  below never races another writer of the same run. Per batch this costs a constant number of statements: read
  the summaries of the batch's keys, (rarely) look up possibly repeated points, insert the new points in one
  executemany, and upsert the merged summaries in another.

Both keep MLflow's rules: the latest point of a key is the greatest by (step, timestamp, stored value), NaN
stored as 0 with ``is_nan``; an exactly repeated point (key, step, timestamp, value) is skipped and not counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail.entities import Metric, PagedList
from mltrail.search.paging import encode_page_token
from mltrail.store.sql.dialect import POSTGRESQL, Dialect
from mltrail.store.tracking.sql.tables import latest_metrics, logged_model_metrics, metrics

_LOOKUP_CHUNK = 300

#: A stored point: (key, step, timestamp, stored value, is_nan).
Point = tuple[str, int, int, float, bool]


@dataclass
class _Summary:
    """The latest point of one key and min/max/sum/count of its non-NaN values."""

    step: int
    timestamp: int
    value: float
    is_nan: bool
    min_value: float | None = None
    max_value: float | None = None
    sum_value: float | None = None
    count: int = 0

    def latest_tuple(self) -> tuple[int, int, float]:
        return (self.step, self.timestamp, self.value)

    def add(self, point: Point, real_value: float) -> None:
        """Fold one new point in (``real_value`` is the logged float, NaN and infinities included)."""
        _key, step, timestamp, stored, is_nan = point
        if (step, timestamp, stored) > self.latest_tuple():
            self.step, self.timestamp, self.value, self.is_nan = step, timestamp, stored, is_nan
        if not is_nan:
            self.min_value = real_value if self.min_value is None else min(self.min_value, real_value)
            self.max_value = real_value if self.max_value is None else max(self.max_value, real_value)
            self.sum_value = real_value if self.sum_value is None else self.sum_value + real_value
            self.count += 1


def stored_points(batch: Sequence[Metric], dialect: Dialect) -> dict[Point, float]:
    """The distinct points of a batch as stored, mapped to their logged values (first occurrence wins)."""
    points: dict[Point, float] = {}
    store_float = dialect.store_float
    for metric in batch:
        value = float(metric.value)
        stored, is_nan = store_float(value)
        point = (metric.key, int(metric.step), int(metric.timestamp), stored, is_nan)
        points.setdefault(point, value)
    return points


def write_metrics(conn: Connection, dialect: Dialect, run_id: str, batch: Sequence[Metric]) -> None:
    """Append a batch of validated points to a run's history and update its summaries.

    Exactly repeated points (same key, step, timestamp and value) are skipped, as in MLflow.

    Args:
        conn: a connection inside the write transaction that holds the run's lock.
        dialect: the database's dialect.
        run_id: the run.
        batch: validated metrics.
    """
    if not batch:
        return
    points = stored_points(batch, dialect)
    keys = sorted({p[0] for p in points})
    summaries = _read_summaries(conn, run_id, keys)
    existing = {k for k in summaries}

    maybe_repeated = [p for p in points if p[0] in summaries and (p[1], p[2], p[3]) <= summaries[p[0]].latest_tuple()]
    if maybe_repeated:
        for point in _existing_points(conn, run_id, maybe_repeated):
            points.pop(point, None)
    if not points:
        return

    _insert_points(conn, [(run_id, k, s, t, v, n) for (k, s, t, v, n) in points])
    for point, real_value in points.items():
        summary = summaries.get(point[0])
        if summary is None:
            summary = summaries[point[0]] = _Summary(point[1], point[2], point[3], point[4])
        summary.add(point, real_value)

    touched = {p[0] for p in points}
    rows = [_summary_row(run_id, key, summaries[key], dialect) for key in sorted(touched)]
    new_rows = [r for r in rows if r["key"] not in existing]
    old_rows = [r for r in rows if r["key"] in existing]
    if new_rows:
        conn.execute(latest_metrics.insert(), new_rows)
    if old_rows:
        _update_summaries(conn, old_rows)


def batch_summaries(points: dict[Point, float]) -> list[tuple[str, int, int, float, bool, float | None, float | None]]:
    """Per key, sorted by key: the batch's latest point and the min/max of its non-NaN values.

    Returns:
        ``(key, step, timestamp, stored value, is_nan, min, max)`` tuples. Merging these into a stored summary
        is idempotent, so they can be computed before knowing which points repeat stored ones.
    """
    latest: dict[str, Point] = {}
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}
    for point, real_value in points.items():
        key = point[0]
        best = latest.get(key)
        if best is None or point[1:4] > best[1:4]:
            latest[key] = point
        if not point[4]:
            lows[key] = min(lows.get(key, real_value), real_value)
            highs[key] = max(highs.get(key, real_value), real_value)
    return [(k, *latest[k][1:], lows.get(k), highs.get(k)) for k in sorted(latest)]


#: The summary merge of an ``INSERT INTO latest_metrics AS lm ...``: the latest point wins by (step, timestamp,
#: value); min, max, sum and count fold the new points in. All SET expressions read the row's old values.
_MERGE_SUMMARY = """ON CONFLICT (run_uuid, key) DO UPDATE SET
    value = CASE WHEN (EXCLUDED.step, EXCLUDED."timestamp", EXCLUDED.value) > (lm.step, lm."timestamp", lm.value)
        THEN EXCLUDED.value ELSE lm.value END,
    "timestamp" = CASE WHEN (EXCLUDED.step, EXCLUDED."timestamp", EXCLUDED.value)
        > (lm.step, lm."timestamp", lm.value) THEN EXCLUDED."timestamp" ELSE lm."timestamp" END,
    step = CASE WHEN (EXCLUDED.step, EXCLUDED."timestamp", EXCLUDED.value) > (lm.step, lm."timestamp", lm.value)
        THEN EXCLUDED.step ELSE lm.step END,
    is_nan = CASE WHEN (EXCLUDED.step, EXCLUDED."timestamp", EXCLUDED.value) > (lm.step, lm."timestamp", lm.value)
        THEN EXCLUDED.is_nan ELSE lm.is_nan END,
    min_value = CASE WHEN lm.min_value IS NULL OR EXCLUDED.min_value < lm.min_value
        THEN EXCLUDED.min_value ELSE lm.min_value END,
    max_value = CASE WHEN lm.max_value IS NULL OR EXCLUDED.max_value > lm.max_value
        THEN EXCLUDED.max_value ELSE lm.max_value END,
    sum_value = CASE WHEN lm.sum_value IS NULL THEN EXCLUDED.sum_value
        WHEN EXCLUDED.sum_value IS NULL THEN lm.sum_value ELSE lm.sum_value + EXCLUDED.sum_value END,
    count_value = lm.count_value + EXCLUDED.count_value"""

#: PostgreSQL: check the run, insert the new points, merge the summaries; one statement, one round trip.
#: ``ins`` returns only the points actually inserted, so exact repeats add nothing to sum and count; latest,
#: min and max come from :func:`batch_summaries` (idempotent). All SET expressions read the row's old values.
_ONE_STATEMENT_WRITE = f"""
WITH run AS (
    SELECT lifecycle_stage FROM runs WHERE run_uuid = %(run_id)s
), active AS (
    SELECT 1 FROM run WHERE lifecycle_stage = 'active'
), ins AS (
    INSERT INTO metrics (run_uuid, key, step, "timestamp", value, is_nan)
    SELECT %(run_id)s, p.key, p.step, p.ts, p.value, p.is_nan
    FROM unnest(%(p_key)s::text[], %(p_step)s::bigint[], %(p_ts)s::bigint[], %(p_value)s::float8[],
                %(p_nan)s::boolean[]) WITH ORDINALITY AS p(key, step, ts, value, is_nan, n)
    WHERE EXISTS (SELECT 1 FROM active)
    ORDER BY p.n
    ON CONFLICT DO NOTHING
    RETURNING key, value, is_nan
), added AS (
    SELECT key, count(*) AS n, sum(value) AS total FROM ins WHERE NOT is_nan GROUP BY key
), merged AS (
    INSERT INTO latest_metrics AS lm
        (run_uuid, key, value, "timestamp", step, is_nan, min_value, max_value, sum_value, count_value)
    SELECT %(run_id)s, s.key, s.value, s.ts, s.step, s.is_nan, s.low, s.high, a.total, coalesce(a.n, 0)
    FROM unnest(%(s_key)s::text[], %(s_step)s::bigint[], %(s_ts)s::bigint[], %(s_value)s::float8[],
                %(s_nan)s::boolean[], %(s_low)s::float8[], %(s_high)s::float8[])
        AS s(key, step, ts, value, is_nan, low, high)
    LEFT JOIN added a ON a.key = s.key
    WHERE EXISTS (SELECT 1 FROM active)
    ORDER BY s.key
    {_MERGE_SUMMARY}
)
SELECT lifecycle_stage FROM run
"""

#: PostgreSQL, a single point: the same as :data:`_ONE_STATEMENT_WRITE` with scalar parameters (cheaper to run
#: than unnesting arrays). The summary is merged only when the point was new: an exact repeat is already in it.
_ONE_POINT_WRITE = f"""
WITH run AS (
    SELECT lifecycle_stage FROM runs WHERE run_uuid = %(run_id)s
), ins AS (
    INSERT INTO metrics (run_uuid, key, step, "timestamp", value, is_nan)
    SELECT %(run_id)s, %(key)s, %(step)s, %(ts)s, %(value)s, %(nan)s FROM run WHERE lifecycle_stage = 'active'
    ON CONFLICT DO NOTHING
    RETURNING 1
), merged AS (
    INSERT INTO latest_metrics AS lm
        (run_uuid, key, value, "timestamp", step, is_nan, min_value, max_value, sum_value, count_value)
    SELECT %(run_id)s, %(key)s, %(value)s, %(ts)s, %(step)s, %(nan)s, %(real)s::float8, %(real)s::float8,
        %(real)s::float8, %(count)s FROM ins
    {_MERGE_SUMMARY}
)
SELECT lifecycle_stage FROM run
"""


def one_point_statement(run_id: str, metric: Metric) -> tuple[str, dict[str, object]]:
    """SQL and parameters that write one validated point (PostgreSQL; no ``model_id``) in one statement.

    Same rules and result row as :func:`write_metrics_one_statement`: the run's lifecycle stage, nothing written
    unless it is ``active``, no row for an unknown run.
    """
    (key, step, timestamp, stored, is_nan), _logged = next(iter(stored_points([metric], POSTGRESQL).items()))
    real = None if is_nan else stored
    params = {"run_id": run_id, "key": key, "step": step, "ts": timestamp, "value": stored, "nan": is_nan}
    params.update(real=real, count=0 if is_nan else 1)
    return _ONE_POINT_WRITE, params


def write_metrics_one_statement(conn: Connection, dialect: Dialect, run_id: str, batch: Sequence[Metric]) -> str | None:
    """Write a batch of validated points to a run in one statement, if the run is active.

    Exactly repeated points are skipped, as in MLflow. Needs no run lock: the summary merge happens in the
    upsert, under the summary row's lock. Safe in autocommit mode (the statement is atomic by itself).

    Args:
        conn: a connection (autocommit or inside a transaction).
        dialect: a dialect that :attr:`~Dialect.merges_metrics_in_one_statement`.
        run_id: the run.
        batch: validated metrics (none naming a ``model_id``).

    Returns:
        The run's lifecycle stage (nothing was written unless it is ``active``), or None for an unknown run.
    """
    points = sorted(stored_points(batch, dialect).items())
    summaries = batch_summaries(dict(points))
    params: dict[str, object] = {"run_id": run_id}
    for prefix, rows, names in (
        ("p", [p for p, _ in points], ("key", "step", "ts", "value", "nan")),
        ("s", summaries, ("key", "step", "ts", "value", "nan", "low", "high")),
    ):
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        params.update({f"{prefix}_{name}": list(column) for name, column in zip(names, columns, strict=True)})
    row = conn.exec_driver_sql(_ONE_STATEMENT_WRITE, params).first()
    return None if row is None else str(row[0])


def _insert_points(conn: Connection, rows: list[tuple[str, str, int, int, float, bool]]) -> None:
    """One executemany straight through the driver: SQLAlchemy's per-row bind processing is skipped."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c.name) for c in metrics.columns)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {quote(metrics.name)} ({columns}) VALUES ({', '.join([mark] * len(metrics.columns))})"
    conn.exec_driver_sql(sql, rows)


def _summary_row(run_id: str, key: str, s: _Summary, dialect: Dialect) -> dict[str, object]:
    total = s.sum_value
    if total is not None and math.isnan(total):
        total = None
    return {
        "run_uuid": run_id,
        "key": key,
        "value": s.value,
        "timestamp": s.timestamp,
        "step": s.step,
        "is_nan": s.is_nan,
        "min_value": dialect.clamp(s.min_value),
        "max_value": dialect.clamp(s.max_value),
        "sum_value": dialect.clamp(total),
        "count_value": s.count,
    }


_SUMMARY_COLUMNS = ("value", "timestamp", "step", "is_nan", "min_value", "max_value", "sum_value", "count_value")
# Built once: constructing SQLAlchemy expressions costs more than running them on the hot logging path.
_UPDATE_SUMMARY = (
    latest_metrics.update()
    .where(latest_metrics.c.run_uuid == sa.bindparam("b_run"), latest_metrics.c.key == sa.bindparam("b_key"))
    .values({c: sa.bindparam(f"b_{c}") for c in _SUMMARY_COLUMNS})
)
_READ_SUMMARIES = sa.select(
    latest_metrics.c.key,
    latest_metrics.c.step,
    latest_metrics.c.timestamp,
    latest_metrics.c.value,
    latest_metrics.c.is_nan,
    latest_metrics.c.min_value,
    latest_metrics.c.max_value,
    latest_metrics.c.sum_value,
    latest_metrics.c.count_value,
).where(
    latest_metrics.c.run_uuid == sa.bindparam("run_id"),
    latest_metrics.c.key.in_(sa.bindparam("keys", expanding=True)),
)


def _update_summaries(conn: Connection, rows: list[dict[str, object]]) -> None:
    conn.execute(
        _UPDATE_SUMMARY,
        [{"b_run": r["run_uuid"], **{f"b_{k}": v for k, v in r.items() if k != "run_uuid"}} for r in rows],
    )


def _read_summaries(conn: Connection, run_id: str, keys: Sequence[str]) -> dict[str, _Summary]:
    result: dict[str, _Summary] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        rows = conn.execute(_READ_SUMMARIES, {"run_id": run_id, "keys": list(chunk)})
        for r in rows:
            result[r.key] = _Summary(
                int(r.step),
                int(r.timestamp),
                float(r.value),
                bool(r.is_nan),
                r.min_value,
                r.max_value,
                r.sum_value,
                int(r.count_value),
            )
    return result


def _existing_points(conn: Connection, run_id: str, candidates: Sequence[Point]) -> Iterable[Point]:
    t = metrics
    for start in range(0, len(candidates), _LOOKUP_CHUNK):
        chunk = candidates[start : start + _LOOKUP_CHUNK]
        wanted = set(chunk)
        steps = [p[1] for p in chunk]
        rows = conn.execute(
            sa.select(t.c.key, t.c.step, t.c.timestamp, t.c.value, t.c.is_nan).where(
                t.c.run_uuid == run_id,
                t.c.key.in_(sorted({p[0] for p in chunk})),
                t.c.step.between(min(steps), max(steps)),
                t.c.timestamp.in_(sorted({p[2] for p in chunk})),
            )
        )
        for r in rows:
            point = (r.key, int(r.step), int(r.timestamp), float(r.value), bool(r.is_nan))
            if point in wanted:
                yield point


def history(
    conn: Connection, dialect: Dialect, run_id: str, key: str, max_results: int | None, offset: int
) -> PagedList[Metric]:
    """Every point of a run's metric, ordered by step then timestamp; a page of ``max_results`` when given."""
    m = metrics
    query = (
        sa.select(m.c.step, m.c.timestamp, m.c.value, m.c.is_nan)
        .where(m.c.run_uuid == run_id, m.c.key == key)
        .order_by(m.c.step, m.c.timestamp, m.c.value, m.c.is_nan)
    )
    if max_results is not None:
        query = query.limit(max_results + 1)
    if offset:
        query = query.offset(offset)
    rows = conn.execute(query).all()
    token = None
    if max_results is not None and len(rows) > max_results:
        rows, token = rows[:max_results], encode_page_token(offset + max_results)
    return PagedList(history_points(rows, key, run_id, dialect), token)


def history_points(rows: Sequence[Any], key: str, run_id: str, dialect: Dialect) -> list[Metric]:
    """Metrics from ``(step, timestamp, value, is_nan)`` rows of one key's history (the hot loop of history reads).

    Rows are unpacked positionally and only NaN (and MySQL's clamped infinities) go through
    :meth:`Dialect.load_float`: a 100,000-point history is built in tens of milliseconds.
    """
    special = dialect.clamps_infinities
    load = dialect.load_float
    nan = math.nan
    return [
        Metric(
            key,
            nan if is_nan else (load(value, False) if special else value),
            timestamp,
            step,
            None,
            None,
            None,
            run_id,
        )
        for step, timestamp, value, is_nan in rows
    ]


def write_model_metrics(
    conn: Connection, dialect: Dialect, run_id: str, experiment_id: int, batch: Sequence[Metric]
) -> None:
    """Record the points that name a ``model_id`` against that logged model (repeats are skipped)."""
    rows: dict[tuple[str, str, int, int], dict[str, object]] = {}
    for m in batch:
        if m.model_id is None:
            continue
        stored, is_nan = dialect.store_float(float(m.value))
        rows[(m.model_id, m.key, int(m.timestamp), int(m.step))] = {
            "model_id": m.model_id,
            "metric_name": m.key,
            "metric_timestamp_ms": int(m.timestamp),
            "metric_step": int(m.step),
            "metric_value": None if is_nan else stored,
            "experiment_id": experiment_id,
            "run_id": run_id,
            "dataset_name": m.dataset_name,
            "dataset_digest": m.dataset_digest,
        }
    dialect.insert_ignore(conn, logged_model_metrics, list(rows.values()), "metric_value")
