"""Asynchronous logging: batching within MLflow's limits, ordering, error surfacing, retries, and exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

import mltrail
from mltrail.entities import Metric, Param, RunStatus, RunTag
from mltrail.errors import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE, MltrailError
from mltrail.store.tracking.base import TrackingStore
from mltrail.store.uris import get_tracking_store
from mltrail.tracking import async_logging
from mltrail.tracking.async_logging import AsyncLogger, _Op, build_batches, split_batch


def _m(i: int, key: str = "m") -> Metric:
    return Metric(key, float(i), 1000 + i, i)


# ------------------------------------------------------------------------------------------ batching
def test_build_batches_respects_limits_and_order() -> None:
    ops = [_Op("r", [_m(i) for i in range(2500)], [Param(f"p{i}", "v") for i in range(250)], [])]
    batches = build_batches(ops)
    for batch in batches:
        assert len(batch.metrics) <= 1000 and len(batch.params) <= 100 and batch.size <= 1000
    assert [m.step for b in batches for m in b.metrics] == list(range(2500))
    assert [p.key for b in batches for p in b.params.values()] == [f"p{i}" for i in range(250)]


def test_build_batches_coalesces_many_small_ops() -> None:
    ops = [_Op("r", [_m(i)], [], []) for i in range(1500)]
    ops.append(_Op("r", [], [Param("a", "1")], [RunTag("t", "1")]))
    batches = build_batches(ops)
    assert [len(b.metrics) for b in batches] == [1000, 500]
    assert batches[-1].params and batches[-1].tags


def test_build_batches_dedupes_params_and_tags() -> None:
    ops = [
        _Op("r", [], [Param("a", "1")], [RunTag("t", "1")]),
        _Op("r", [], [Param("a", "1")], [RunTag("t", "2")]),
        _Op("r", [], [Param("a", "2")], []),
    ]
    batches = build_batches(ops)
    assert len(batches) == 2  # the conflicting value goes to its own batch
    assert list(batches[0].params.values()) == [Param("a", "1")]
    assert list(batches[0].tags.values()) == [RunTag("t", "2")]
    assert list(batches[1].params.values()) == [Param("a", "2")]


def test_split_batch() -> None:
    chunks = split_batch([_m(i) for i in range(1001)], [], [RunTag(f"t{i}", "v") for i in range(150)])
    assert [(len(m), len(p), len(t)) for m, p, t in chunks] == [(1000, 0, 0), (1, 0, 100), (0, 0, 50)]


# ------------------------------------------------------------------------------------ with the store
@pytest.fixture
def store(tracking_uri: str) -> TrackingStore:
    return get_tracking_store(tracking_uri)


@pytest.fixture
def run_id(store: TrackingStore) -> str:
    return store.create_run("0", "me", 0, [], "r").info.run_id


class Counting:
    """The real store's log_batch, counting calls and optionally failing the first ``fail`` ones."""

    def __init__(self, store: TrackingStore, fail: int = 0, code: str = TEMPORARILY_UNAVAILABLE) -> None:
        self.store = store
        self.calls: list[tuple[int, int, int]] = []
        self.fail = fail
        self.code = code
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> None:
        self.gate.wait()
        self.calls.append((len(metrics), len(params), len(tags)))
        if self.fail:
            self.fail -= 1
            raise MltrailError("briefly away", self.code)
        self.store.log_batch(run_id, metrics=metrics, params=params, tags=tags)


def test_queued_items_are_coalesced(store: TrackingStore, run_id: str) -> None:
    writer = Counting(store)
    writer.gate.clear()  # hold the first call so everything else queues up behind it
    logger = AsyncLogger(writer)
    ops = [logger.submit(run_id, [_m(i)]) for i in range(3000)]
    ops.append(logger.submit(run_id, params=[Param("p", "1")], tags=[RunTag("t", "x")]))
    writer.gate.set()
    logger.flush(run_id)
    assert all(op.done() for op in ops)
    assert len(writer.calls) <= 5
    assert all(m <= 1000 and p <= 100 and t <= 100 for m, p, t in writer.calls)
    history = store.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(3000))
    run = store.get_run(run_id)
    assert run.data.params == {"p": "1"} and run.data.tags["t"] == "x"


def test_transient_errors_are_retried(store: TrackingStore, run_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(async_logging, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    writer = Counting(store, fail=2)
    logger = AsyncLogger(writer)
    logger.submit(run_id, [_m(1)]).wait(timeout=10)
    assert len(writer.calls) == 3
    assert [m.value for m in store.get_metric_history(run_id, "m")] == [1.0]


def test_persistent_transient_error_surfaces(
    store: TrackingStore, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(async_logging, "RETRY_DELAYS", (0.01,))
    logger = AsyncLogger(Counting(store, fail=10))
    logger.submit(run_id, [_m(1)])
    with pytest.raises(MltrailError) as e:
        logger.flush(run_id)
    assert e.value.error_code == TEMPORARILY_UNAVAILABLE
    logger.flush(run_id)  # reported once


def test_one_bad_call_fails_alone(store: TrackingStore, run_id: str) -> None:
    store.log_batch(run_id, params=[Param("alpha", "1")])
    writer = Counting(store)
    writer.gate.clear()
    logger = AsyncLogger(writer)
    good = logger.submit(run_id, [_m(1)], [Param("beta", "2")])
    bad = logger.submit(run_id, params=[Param("alpha", "999")])
    also_good = logger.submit(run_id, tags=[RunTag("t", "v")])
    writer.gate.set()
    good.wait(timeout=10)
    also_good.wait(timeout=10)
    with pytest.raises(MltrailError) as e:
        bad.wait(timeout=10)
    assert e.value.error_code == INVALID_PARAMETER_VALUE
    logger.flush(run_id)  # already reported through wait(): not raised again
    run = store.get_run(run_id)
    assert run.data.params == {"alpha": "1", "beta": "2"}
    assert run.data.tags["t"] == "v" and run.data.metrics == {"m": 1.0}


def test_unobserved_error_is_raised_by_flush(store: TrackingStore, run_id: str) -> None:
    logger = AsyncLogger(Counting(store))
    logger.submit(run_id, [Metric("bad key!", 1.0, 1, 0)])
    with pytest.raises(MltrailError):
        logger.flush()
    logger.flush()


# ------------------------------------------------------------------------------------------ fluent
def test_fluent_async_logging_round_trip(tracking_uri: str) -> None:
    with mltrail.start_run() as run:
        ops = [mltrail.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=False) for i in range(200)]
        ops.append(mltrail.log_params({"lr": 0.1}, synchronous=False))
        ops.append(mltrail.set_tags({"phase": "train"}, synchronous=False))
        ops.append(mltrail.log_param("depth", 3, synchronous=False))
        ops.append(mltrail.set_tag("k", "v", synchronous=False))
        assert all(op is not None for op in ops)
    # end_run flushed everything before ending the run
    got = mltrail.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED
    assert got.data.params == {"lr": "0.1", "depth": "3"}
    assert got.data.tags["phase"] == "train" and got.data.tags["k"] == "v"
    history = mltrail.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(200))


def test_env_enables_async_logging(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    with mltrail.start_run() as run:
        ops = mltrail.log_metric("x", 1.0)
        assert isinstance(ops, mltrail.RunOperations)
        ops.wait()
        assert mltrail.log_metric("y", 2.0, synchronous=True) is None
    assert mltrail.get_run(run.info.run_id).data.metrics == {"x": 1.0, "y": 2.0}


def test_end_run_raises_async_errors_but_ends_the_run(tracking_uri: str) -> None:
    run = mltrail.start_run()
    mltrail.log_param("p", "1")
    mltrail.log_param("p", "2", synchronous=False)  # conflicting value: fails in the background
    with pytest.raises(MltrailError) as e:
        mltrail.end_run()
    assert "p" in e.value.message
    assert mltrail.active_run() is None
    assert mltrail.get_run(run.info.run_id).info.status == RunStatus.FINISHED


def test_sync_call_waits_for_queued_items(tracking_uri: str) -> None:
    with mltrail.start_run() as run:
        mltrail.set_tag("t", "queued", synchronous=False)
        mltrail.set_tag("t", "sync", synchronous=True)
    assert mltrail.get_run(run.info.run_id).data.tags["t"] == "sync"


SCRIPT = """
import sys
import mltrail

mltrail.set_tracking_uri(sys.argv[1])
run = mltrail.start_run()
print(run.info.run_id, flush=True)
for i in range(5000):
    mltrail.log_metric("loss", i * 0.5, step=i, synchronous=False)
mltrail.log_params({f"p{i}": i for i in range(150)}, synchronous=False)
mltrail.set_tag("done", "yes", synchronous=False)
{tail}
"""


@pytest.mark.parametrize(("tail", "status"), [("", RunStatus.FINISHED), ("raise SystemExit(0)", RunStatus.FINISHED)])
def test_child_process_loses_nothing_on_exit(tracking_uri: str, tmp_path: Path, tail: str, status: RunStatus) -> None:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(SCRIPT.replace("{tail}", tail)))
    done = subprocess.run([sys.executable, str(script), tracking_uri], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[0]
    client = mltrail.MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == status and run.info.end_time is not None
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(5000))
    assert len(run.data.params) == 150 and run.data.tags["done"] == "yes"


def test_child_process_uncaught_exception_fails_run(tracking_uri: str, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(SCRIPT.replace("{tail}", "raise RuntimeError('boom')")))
    done = subprocess.run([sys.executable, str(script), tracking_uri], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "boom" in done.stderr
    client = mltrail.MlflowClient(tracking_uri)
    run = client.get_run(done.stdout.split()[0])
    assert run.info.status == RunStatus.FAILED
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 5000
