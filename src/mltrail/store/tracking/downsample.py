"""Peak-preserving downsampling of metric histories (M4): per step bucket, the first, last, min and max points.

Shared by every tracking store: :func:`validate` checks the request, :func:`m4` is the pure-Python algorithm
(the SQL store runs the same selection in one SQL statement, see ``sql/_downsample.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mltrail import errors
from mltrail.entities import Metric

#: Points per run when the caller does not say, and the most a caller may ask for.
DEFAULT_MAX_POINTS = 1000
MAX_POINTS_LIMIT = 5000
#: The fewest points a caller may ask for: one bucket's first, last, min and max.
MIN_POINTS = 4
#: Runs one request may name.
MAX_RUN_IDS = 100


def validate(
    run_ids: Sequence[str], metric_key: str, max_points: int, start_step: int | None, end_step: int | None
) -> None:
    """Raise ``INVALID_PARAMETER_VALUE`` for a request the downsampled history cannot answer."""
    if not metric_key:
        raise errors.invalid("Missing value for required parameter 'metric_key'.")
    if not run_ids:
        raise errors.invalid("Missing value for required parameter 'run_ids'.")
    if len(run_ids) > MAX_RUN_IDS:
        raise errors.invalid(
            f"GetMetricHistoryDownsampled request cannot specify more than {MAX_RUN_IDS} run_ids. "
            f"Received {len(run_ids)} run_ids."
        )
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, int)
        or not MIN_POINTS <= max_points <= MAX_POINTS_LIMIT
    ):
        raise errors.invalid(f"max_points must be between {MIN_POINTS} and {MAX_POINTS_LIMIT}. Received {max_points}.")
    if start_step is not None and end_step is not None and start_step > end_step:
        raise errors.invalid(
            f"end_step must be greater than start_step. Found start_step={start_step} and end_step={end_step}."
        )


def bucket_count(max_points: int) -> int:
    """Step buckets per run: each keeps at most four points, so a run never gets more than ``max_points``."""
    return max(1, max_points // 4)


def m4(points: Sequence[Metric], max_points: int) -> list[Metric]:
    """The M4 selection of one run's points, already ordered by (step, timestamp, value).

    A run with at most ``max_points`` points keeps them all; otherwise its step range is split into
    ``max_points // 4`` buckets and each keeps its first, last, min-value and max-value point (NaN points
    are never the min or max of a bucket that has a number). Ties go to the earliest point.
    """
    if len(points) <= max_points:
        return list(points)
    n = bucket_count(max_points)
    lo, hi = points[0].step, points[-1].step
    width = hi - lo + 1
    buckets: dict[int, list[int]] = {}
    for i, p in enumerate(points):
        buckets.setdefault((p.step - lo) * n // width, []).append(i)
    keep: set[int] = set()
    for idx in buckets.values():
        numbers = [i for i in idx if not math.isnan(points[i].value)] or idx
        keep.update((idx[0], idx[-1]))
        keep.add(min(numbers, key=lambda i: (_num(points[i].value), i)))
        keep.add(min(numbers, key=lambda i: (-_num(points[i].value), i)))
    return [points[i] for i in sorted(keep)]


def _num(value: float) -> float:
    return 0.0 if math.isnan(value) else value
