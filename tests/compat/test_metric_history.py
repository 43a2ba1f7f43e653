"""A 100,000-point metric history logged and read back through the official client."""

from __future__ import annotations

import math
import random

import mlflow
import pytest
from mlflow.entities import Metric

POINTS = 100_000
CHUNK = 1000  # MLflow's log-batch limit for metrics
BASE_TS = 1_700_000_000_000


def _value(step: int) -> float:
    """A value whose float representation exercises the JSON round trip (not just small integers)."""
    return math.sin(step / 100.0) * 1e3 + step / 7.0


@pytest.mark.slow
def test_get_metric_history_100k_points(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """100 log-batch calls of 1000 points, written out of order; the history comes back complete and sorted."""
    run_id = client.create_run(experiment_id).info.run_id
    chunks = list(range(0, POINTS, CHUNK))
    random.Random(7).shuffle(chunks)  # insertion order is not the step order
    for start in chunks:
        metrics = [Metric("curve", _value(s), BASE_TS + s, s) for s in range(start, start + CHUNK)]
        client.log_batch(run_id, metrics=metrics, synchronous=True)
    client.log_metric(run_id, "short", 1.0, timestamp=BASE_TS, step=0)
    client.set_terminated(run_id)

    history = client.get_metric_history(run_id, "curve")  # the client pages through it 25,000 at a time
    assert len(history) == POINTS
    assert [m.step for m in history] == list(range(POINTS))
    assert [m.timestamp for m in history] == [BASE_TS + s for s in range(POINTS)]
    assert all(m.value == _value(m.step) for m in history)
    assert {m.key for m in history} == {"curve"}

    run = client.get_run(run_id)
    assert run.data.metrics["curve"] == _value(POINTS - 1)
    assert [m.value for m in client.get_metric_history(run_id, "short")] == [1.0]
    assert client.get_metric_history(run_id, "never-logged") == []
