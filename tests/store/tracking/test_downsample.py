"""Peak-preserving (M4) downsampled metric histories, on SQLite, PostgreSQL and MySQL/MariaDB (``tracking_store``)."""

from __future__ import annotations

import math
import random

from mltrail.entities import Metric
from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mltrail.store.tracking import downsample
from mltrail.store.tracking.base import TrackingStore
from tests.store.tracking.test_store_suite import expect


def _run_with(store: TrackingStore, values: list[float], first_step: int = 0) -> str:
    exp = store.create_experiment(f"ds-{random.random()}")
    run_id = store.create_run(exp, None, 1000, [], "ds").info.run_id
    points = [Metric("loss", v, 10_000 + i, first_step + i) for i, v in enumerate(values)]
    for k in range(0, len(points), 1000):
        store.log_batch(run_id, points[k : k + 1000], [], [])
    return run_id


def _noise(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [0.5 + 0.1 * math.sin(i / 30) + rng.uniform(-0.05, 0.05) for i in range(count)]


def _rows(points: list[Metric]) -> list[tuple[int, float, int]]:
    return [(p.step, p.value, p.timestamp) for p in points]


def test_spike_and_trough_survive_and_points_are_exact(tracking_store: TrackingStore) -> None:
    rng = random.Random(8)
    values = _noise(3000, 1)
    spike, trough = rng.randrange(1, 1500), rng.randrange(1500, 2999)
    values[spike], values[trough] = 50.0, -40.0
    run_a = _run_with(tracking_store, values)
    short = _run_with(tracking_store, _noise(40, 2), first_step=7)
    out = tracking_store.get_metric_history_downsampled([run_a, short], "loss", max_points=100)
    a = [p for p in out if p.run_id == run_a]
    b = [p for p in out if p.run_id == short]
    assert len(a) + len(b) == len(out)
    assert len(a) <= 100
    assert (spike, 50.0) in {(p.step, p.value) for p in a}
    assert (trough, -40.0) in {(p.step, p.value) for p in a}
    assert a[0].step == 0 and a[-1].step == 2999
    steps = [p.step for p in a]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    history = tracking_store.get_metric_history(run_a, "loss")
    assert set(_rows(a)) <= set(_rows(list(history)))
    assert _rows(a) == _rows(downsample.m4(list(history), 100))
    # A run with fewer points than asked for keeps all of them, independent of the other run.
    assert _rows(b) == _rows(list(tracking_store.get_metric_history(short, "loss")))
    assert all(p.key == "loss" for p in out)


def test_step_range_and_nan(tracking_store: TrackingStore) -> None:
    values = _noise(2000, 3)
    values[100] = 99.0  # outside the range asked for
    values[1200] = 77.0
    values[1300] = math.nan
    values[1301] = math.inf
    run_id = _run_with(tracking_store, values)
    out = tracking_store.get_metric_history_downsampled([run_id], "loss", max_points=40, start_step=1000, end_step=1499)
    steps = [p.step for p in out]
    assert steps[0] == 1000 and steps[-1] == 1499 and len(out) <= 40
    assert all(1000 <= s <= 1499 for s in steps)
    assert 100 not in steps and (1200, 77.0) in {(p.step, p.value) for p in out}
    assert (1301, math.inf) in {(p.step, p.value) for p in out}
    one_sided = tracking_store.get_metric_history_downsampled([run_id], "loss", max_points=40, start_step=1990)
    assert [p.step for p in one_sided] == list(range(1990, 2000))
    assert tracking_store.get_metric_history_downsampled([run_id], "other", max_points=40) == []


def test_validation(tracking_store: TrackingStore) -> None:
    run_id = _run_with(tracking_store, [1.0, 2.0])
    with expect(INVALID_PARAMETER_VALUE, "more than 100 run_ids"):
        tracking_store.get_metric_history_downsampled([run_id] * 101, "loss")
    for bad in (3, 5001, 0):
        with expect(INVALID_PARAMETER_VALUE, "max_points must be between 4 and 5000"):
            tracking_store.get_metric_history_downsampled([run_id], "loss", max_points=bad)
    with expect(INVALID_PARAMETER_VALUE, "end_step must be greater than start_step"):
        tracking_store.get_metric_history_downsampled([run_id], "loss", start_step=5, end_step=4)
    with expect(INVALID_PARAMETER_VALUE, "metric_key"):
        tracking_store.get_metric_history_downsampled([run_id], "")
    with expect(RESOURCE_DOES_NOT_EXIST, "not found"):
        tracking_store.get_metric_history_downsampled([run_id, "0" * 32], "loss")


def test_ties_and_nan_stretches_match_the_python_m4(tracking_store: TrackingStore) -> None:
    """Many equal values (a quantized series) and a bucket of NaN only: the SQL picks exactly what ``m4`` picks."""
    values = [float((i // 3) % 2) for i in range(1500)]
    values[700:760] = [math.nan] * 60
    values[900] = -1.0
    run_id = _run_with(tracking_store, values)
    out = tracking_store.get_metric_history_downsampled([run_id], "loss", max_points=64)
    history = list(tracking_store.get_metric_history(run_id, "loss"))
    expected = downsample.m4(history, 64)
    assert len(out) <= 64
    assert [(p.step, p.timestamp) for p in out] == [(p.step, p.timestamp) for p in expected]
    assert (900, -1.0) in {(p.step, p.value) for p in out}
    assert any(math.isnan(p.value) for p in out)
