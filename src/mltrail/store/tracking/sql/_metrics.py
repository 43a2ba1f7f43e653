"""Writing metric points: the history table plus the per-key summary in ``latest_metrics``.

Callers hold the run's write lock (``SELECT ... FOR UPDATE`` on its row, or SQLite's single writer), so the
read-merge-write below never races another writer of the same run. Per batch this costs a constant number of
statements: read the summaries of the batch's keys, (rarely) look up possibly repeated points, insert the
new points in one executemany, and upsert the merged summaries in another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail.entities import Metric
from mltrail.store.tracking.sql import _dialect
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


def stored_points(batch: Sequence[Metric], dialect: str) -> dict[Point, float]:
    """The distinct points of a batch as stored, mapped to their logged values (first occurrence wins)."""
    points: dict[Point, float] = {}
    for metric in batch:
        value = float(metric.value)
        stored, is_nan = _dialect.store_float(value, dialect)
        point = (metric.key, int(metric.step), int(metric.timestamp), stored, is_nan)
        points.setdefault(point, value)
    return points


def write_metrics(conn: Connection, run_id: str, batch: Sequence[Metric], dialect: str) -> None:
    """Append a batch of validated points to a run's history and update its summaries.

    Exactly repeated points (same key, step, timestamp and value) are skipped, as in MLflow.

    Args:
        conn: a connection inside the write transaction that holds the run's lock.
        run_id: the run.
        batch: validated metrics.
        dialect: the backend name from :func:`_dialect.dialect_name`.
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


def _insert_points(conn: Connection, rows: list[tuple[str, str, int, int, float, bool]]) -> None:
    """One executemany straight through the driver: SQLAlchemy's per-row bind processing is skipped."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c.name) for c in metrics.columns)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {quote(metrics.name)} ({columns}) VALUES ({', '.join([mark] * len(metrics.columns))})"
    conn.exec_driver_sql(sql, rows)


def _summary_row(run_id: str, key: str, s: _Summary, dialect: str) -> dict[str, object]:
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
        "min_value": _dialect.clamp_for_dialect(s.min_value, dialect),
        "max_value": _dialect.clamp_for_dialect(s.max_value, dialect),
        "sum_value": _dialect.clamp_for_dialect(total, dialect),
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


def write_model_metrics(
    conn: Connection, run_id: str, experiment_id: int, batch: Sequence[Metric], dialect: str
) -> None:
    """Record the points that name a ``model_id`` against that logged model (repeats are skipped)."""
    rows: dict[tuple[str, str, int, int], dict[str, object]] = {}
    for m in batch:
        if m.model_id is None:
            continue
        stored, is_nan = _dialect.store_float(float(m.value), dialect)
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
    _dialect.insert_ignore(conn, logged_model_metrics, list(rows.values()), "metric_value")
