"""The per-request fast paths of the scoring app: small requests scored on the event loop while the model is fast,
and ``POST /invocations`` answered without the framework's routing, with the same answers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware
from starlette.testclient import TestClient

from mltrail.serving.app import create_app
from mltrail.serving.inline import VOLUNTARY_SWITCHES, InlineGate, Stopwatch
from tests.serving.live import live_scoring_server


class Switchable:
    """Answers ``[1]`` after ``delay`` seconds."""

    def __init__(self) -> None:
        self.delay = 0.0

    def predict(self, data: Any, params: Any = None) -> Any:
        if self.delay:
            time.sleep(self.delay)
        return [1]


def _settle(gate: InlineGate) -> None:
    """Account many cheap requests, as a fast model gives on a quiet machine (real ones may cost more on a busy
    CI machine: the gate's own arithmetic is tested deterministically below)."""
    for _ in range(40):
        gate.record(0.0001, inline=False)
    assert gate.allows()


def test_fast_model_runs_inline_and_a_slow_one_goes_back_to_threads() -> None:
    model = Switchable()
    with live_scoring_server(model, timeout=0.5) as (url, scoring), httpx.Client(base_url=url) as client:
        assert not scoring.inline.allows()  # unknown yet: the first request runs in a thread
        for _ in range(5):
            response = client.post("/invocations", json={"inputs": [1]})
            assert response.status_code == 200 and response.json() == {"predictions": [1]}
        assert scoring.inline.count >= 5  # the requests were measured
        _settle(scoring.inline)

        model.delay = 0.8  # scored on the loop (it was fast): not interrupted, answered when done
        response = client.post("/invocations", json={"inputs": [1]})
        assert response.status_code == 200
        assert not scoring.inline.allows()

        response = client.post("/invocations", json={"inputs": [1]})  # back in a thread: the timeout applies
        assert response.status_code == 504
        assert response.json()["error_code"] == "DEADLINE_EXCEEDED"


def test_errors_are_the_same_inline() -> None:
    model = Switchable()
    with live_scoring_server(model) as (url, scoring), httpx.Client(base_url=url) as client:
        threaded = [client.post("/invocations", json={"nope": 1}) for _ in range(3)]
        _settle(scoring.inline)
        inline = client.post("/invocations", json={"nope": 1})
    assert threaded[0].status_code == inline.status_code == 400
    assert threaded[0].json() == inline.json()


def test_gate_keeps_a_spiky_model_in_threads() -> None:
    gate = InlineGate(budget=0.002, spike=0.008, spike_every=100)
    assert not gate.allows()
    gate.record(0.5, inline=False)  # a slow first call (warming up) in a thread: no stall counted
    for _ in range(30):
        gate.record(0.001, inline=False)
    assert gate.allows()
    gate.record(0.5, inline=True)  # one slow request on the loop: back to threads at once
    assert not gate.allows()
    for _ in range(40):
        gate.record(0.001, inline=False)
    assert gate.cost < 0.002
    assert not gate.allows()  # the average is low again, but at most one spike per 100 small requests
    for _ in range(30):
        gate.record(0.001, inline=False)
    assert gate.allows()


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_stopwatch_counts_waiting_at_wall_time_and_running_at_cpu_time() -> None:
    watch = Stopwatch()
    time.sleep(0.05)  # the thread gives up the CPU: the model waited, which stalls the loop all the same
    assert watch.cost() >= 0.05

    never_switched = Stopwatch(switches=lambda: 0)  # as if the thread had only been preempted
    time.sleep(0.05)
    assert never_switched.cost() < 0.02  # CPU time: sleeping uses none

    watch = Stopwatch()
    _spin(0.02)
    assert watch.cost() >= 0.02  # CPU time (wall time if something made the thread wait)


@pytest.mark.skipif(VOLUNTARY_SWITCHES is None, reason="no per-thread context switch counter here")
def test_voluntary_switch_counter_moves_on_sleep() -> None:
    assert VOLUNTARY_SWITCHES is not None
    before = VOLUNTARY_SWITCHES()
    time.sleep(0.01)
    assert VOLUNTARY_SWITCHES() > before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"inputs": [1, 2]}'),
        ("application/json", b'{"nope": 1}'),
        ("application/json", b"{not json"),
        ("text/csv", b"a,b\n1,2\n"),
        ("application/xml", b"<x/>"),
        ("application/json; charset=latin-1", b"{}"),
    ],
)
def test_direct_invocations_answer_like_the_framework_route(content_type: str, body: bytes) -> None:
    direct = create_app(Switchable())
    routed = create_app(Switchable())
    routed.add_middleware(GZipMiddleware, minimum_size=10**9)  # any middleware sends requests through Starlette
    answers = []
    for app in (direct, routed):
        with TestClient(app) as client:
            response = client.post("/invocations", content=body, headers={"content-type": content_type})
            answers.append((response.status_code, response.headers.get("content-type"), response.content))
    assert answers[0] == answers[1]


class Meddler:
    """A PythonModel-like model that changes its input in place and reports the columns it was given."""

    def predict(self, data: Any, params: Any = None) -> Any:
        seen = [list(data.columns), data.columns.name, str(data.columns.dtype)]
        data["extra"] = 1.0
        data.columns.name = "changed"
        data.iloc[0, 0] = -1.0
        return [seen]


@pytest.mark.parametrize("batching", [False, True])
def test_a_model_that_changes_its_input_cannot_touch_the_next_request(batching: bool) -> None:
    from mltrail.models.model import Model
    from mltrail.models.schema import ColSpec, Schema
    from mltrail.models.signature import ModelSignature
    from mltrail.pyfunc.loader import PyFuncModel

    schema = Schema([ColSpec("double", "a"), ColSpec("double", "b")])
    model = PyFuncModel(Model(signature=ModelSignature(inputs=schema)), Meddler())
    body = {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0]]}}
    with (
        live_scoring_server(model, enable_batching=batching) as (url, _),
        httpx.Client(base_url=url) as client,
    ):
        answers = [client.post("/invocations", json=body).json() for _ in range(6)]
    assert answers == [{"predictions": [[["a", "b"], None, "str"]]}] * 6
