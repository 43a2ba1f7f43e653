"""Adaptive batching: combined predict calls under concurrency give the unbatched answers; errors stay isolated."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from mltrail.serving.batching import batch_key, split_rows
from tests.serving.conftest import FEATURES, training_frame
from tests.serving.live import live_scoring_server


def test_split_rows_by_kind() -> None:
    counts = [1, 2]
    frame = pd.DataFrame({"y": [1, 2, 3]})
    assert [part["y"].tolist() for part in split_rows(frame, counts)] == [[1], [2, 3]]  # type: ignore[union-attr]
    assert [p.tolist() for p in split_rows(np.array([1, 2, 3]), counts)] == [[1], [2, 3]]  # type: ignore[union-attr]
    assert split_rows([1, 2, 3], counts) == [[1], [2, 3]]
    assert [p["y"] for p in split_rows({"y": [1, 2, 3]}, counts)] == [[1], [2, 3]]  # type: ignore[union-attr,index]
    assert split_rows(np.array([1, 2]), counts) is None  # not one row per input row
    assert split_rows(5, counts) is None
    assert split_rows(np.float64(1.0), counts) is None


def test_batch_key_separates_columns_dtypes_and_params() -> None:
    a = pd.DataFrame({"x": [1.0]})
    assert batch_key(a, None) == batch_key(pd.DataFrame({"x": [2.0]}), None)
    assert batch_key(a, None) != batch_key(pd.DataFrame({"x": [1]}), None)
    assert batch_key(a, {"k": 1}) != batch_key(a, {"k": 2})
    assert batch_key(a, None) != batch_key(pd.DataFrame({"z": [1.0]}), None)


def _post_all(url: str, bodies: list[dict[str, Any]], workers: int = 16) -> list[httpx.Response]:
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda body: client.post("/invocations", json=body), bodies))


def test_concurrent_requests_are_combined_and_equal_unbatched(sklearn_model: Any) -> None:
    frames = [training_frame(1 + i % 3, seed=i) for i in range(96)]
    bodies = [{"dataframe_split": f.to_dict(orient="split")} for f in frames]
    with live_scoring_server(sklearn_model) as (url, _):
        unbatched = [r.json() for r in _post_all(url, bodies)]
    with live_scoring_server(sklearn_model, enable_batching=True, max_batch_size=32, max_batch_wait_ms=5) as (
        url,
        scoring,
    ):
        responses = _post_all(url, bodies)
        stats = scoring.batcher.stats  # type: ignore[union-attr]
    assert [r.status_code for r in responses] == [200] * len(bodies)
    assert [r.json() for r in responses] == unbatched
    expected = [{"predictions": np.asarray(sklearn_model.predict(f)).tolist()} for f in frames]
    assert unbatched == expected
    assert stats.requests == len(bodies)
    assert stats.largest > 1 and stats.calls < len(bodies)  # requests really were combined


def test_a_bad_request_fails_alone(pyfunc_model: Any) -> None:
    good = [{"dataframe_split": {"columns": ["x"], "data": [[float(i)], [float(i + 1)]]}} for i in range(40)]
    bad = {"dataframe_split": {"columns": ["x"], "data": [[-5.0]]}}
    bodies = [*good[:20], bad, *good[20:], bad]
    with live_scoring_server(pyfunc_model, enable_batching=True, max_batch_size=64, max_batch_wait_ms=10) as (
        url,
        scoring,
    ):
        responses = _post_all(url, bodies)
        stats = scoring.batcher.stats  # type: ignore[union-attr]
    for body, response in zip(bodies, responses, strict=True):
        x = [row[0] for row in body["dataframe_split"]["data"]]
        if x[0] < 0:
            assert response.status_code == 400
            assert "negative x is not allowed" in response.json()["message"]
        else:
            assert response.status_code == 200, response.text
            assert response.json() == {"predictions": [{"y": v * 2} for v in x]}
    assert stats.largest > 1


def test_params_and_non_frame_inputs_bypass_or_group(pyfunc_model: Any) -> None:
    bodies = [{"dataframe_split": {"columns": ["x"], "data": [[1.0]]}, "params": {"k": k}} for k in (1, 2, 3, 4) * 8]
    with live_scoring_server(pyfunc_model, enable_batching=True) as (url, _):
        responses = _post_all(url, bodies)
        inputs = httpx.post(f"{url}/invocations", json={"inputs": {"x": [3.0]}})
    assert [r.json()["predictions"][0]["y"] for r in responses] == [float(b["params"]["k"]) for b in bodies]
    assert inputs.status_code == 200 and inputs.json() == {"predictions": [{"y": 6.0}]}


def test_batch_size_bounds_rows(sklearn_model: Any) -> None:
    big = training_frame(50, seed=1)
    with live_scoring_server(sklearn_model, enable_batching=True, max_batch_size=8) as (url, scoring):
        response = httpx.post(f"{url}/invocations", json={"dataframe_split": big.to_dict(orient="split")})
        assert response.status_code == 200
        assert scoring.batcher.stats.requests == 0  # type: ignore[union-attr]  # too big to combine: ran alone
    assert json.loads(response.text)["predictions"] == np.asarray(sklearn_model.predict(big[FEATURES])).tolist()


@pytest.mark.parametrize("wait_ms", [0, 600_000])
def test_lone_client_is_not_delayed(sklearn_model: Any, wait_ms: float) -> None:
    # With a 10-minute batch wait, a lone request that waited for stragglers would run into the client's timeout.
    body = {"dataframe_split": training_frame(1).to_dict(orient="split")}
    options = {"enable_batching": True, "max_batch_wait_ms": wait_ms}
    with (
        live_scoring_server(sklearn_model, **options) as (url, scoring),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        for _ in range(11):
            assert client.post("/invocations", json=body).status_code == 200
        assert scoring.batcher is not None and scoring.batcher.stats.largest == 1
