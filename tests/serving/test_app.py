"""The scoring server over real HTTP with real models: every input format, params, LLM input, MLflow's errors."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.serving.conftest import FEATURES, training_frame
from tests.serving.live import live_scoring_server


@pytest.fixture(scope="module")
def sk_server(sklearn_model: Any) -> Any:
    with live_scoring_server(sklearn_model) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def scale_server(pyfunc_model: Any) -> Any:
    with live_scoring_server(pyfunc_model) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _expected(sklearn_model: Any, frame: pd.DataFrame) -> list[Any]:
    return np.asarray(sklearn_model.predict(frame)).tolist()


def test_health_and_version(sk_server: httpx.Client) -> None:
    for path in ("/ping", "/health"):
        response = sk_server.get(path)
        assert response.status_code == 200 and response.text == "\n"
    assert sk_server.get("/version").text.count(".") == 2


def test_every_dataframe_format_gives_the_model_output(sk_server: httpx.Client, sklearn_model: Any) -> None:
    frame = training_frame(5, seed=3)
    expected = {"predictions": _expected(sklearn_model, frame)}
    bodies = [
        {"dataframe_split": frame.to_dict(orient="split")},
        {"dataframe_split": {"columns": FEATURES, "data": frame.values.tolist()}},
        {"dataframe_records": frame.to_dict(orient="records")},
        {"instances": frame.to_dict(orient="records")},
        {"inputs": frame.to_dict(orient="list")},
    ]
    for body in bodies:
        response = sk_server.post("/invocations", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == expected, body
    csv = sk_server.post("/invocations", content=frame.to_csv(index=False), headers={"content-type": "text/csv"})
    assert csv.json() == expected
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    parquet = sk_server.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/vnd.apache.parquet"}
    )
    assert parquet.json() == expected
    utf8 = sk_server.post(
        "/invocations",
        content=httpx.Request("POST", "/", json=bodies[0]).content,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert utf8.json() == expected


def test_dataframe_output_and_params(scale_server: httpx.Client) -> None:
    body: dict[str, Any] = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}
    assert scale_server.post("/invocations", json=body).json() == {"predictions": [{"y": 2.0}, {"y": 4.0}]}
    body["params"] = {"k": 10}
    assert scale_server.post("/invocations", json=body).json() == {"predictions": [{"y": 10.0}, {"y": 20.0}]}


def test_unified_llm_input_is_answered_unwrapped(chat_model: Any) -> None:
    with live_scoring_server(chat_model) as (url, _):
        body = {"messages": [{"role": "user", "content": "hello there"}], "max_tokens": 5}
        response = httpx.post(f"{url}/invocations", json=body)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert "predictions" not in payload
        first = payload[0] if isinstance(payload, list) else payload
        assert first["choices"][0]["message"]["content"] == "hello"
        wrapped = httpx.post(f"{url}/invocations", json={"dataframe_records": [body]})
        assert "predictions" in wrapped.json()


@pytest.mark.parametrize(
    ("kwargs", "code", "fragment"),
    [
        (
            {"content": b"{oops", "headers": {"content-type": "application/json"}},
            "BAD_REQUEST",
            "Invalid input. Ensure that input is a valid JSON formatted string",
        ),
        ({"json": [[1.0, 2.0, 3.0]]}, "BAD_REQUEST", "Received a list"),
        (
            {"json": {"dataframe_split": {"columns": FEATURES, "data": [[1, 2, 3]]}, "inputs": [[1, 2, 3]]}},
            "BAD_REQUEST",
            "exactly one of the input fields",
        ),
        (
            {"json": {"columns": FEATURES, "data": [[1, 2, 3]]}},
            "BAD_REQUEST",
            "Received dictionary with input fields: ['columns', 'data']",
        ),
        (
            {"json": {"dataframe_records": [{"a": "one", "b": 2.0, "c": 3.0}]}},
            "BAD_REQUEST",
            "Failed to convert column a to type 'float64'",
        ),
    ],
)
def test_bad_inputs_get_mlflow_400s(sk_server: httpx.Client, kwargs: dict[str, Any], code: str, fragment: str) -> None:
    response = sk_server.post("/invocations", **kwargs)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error_code"] == code
    assert fragment in payload["message"]
    assert {"sqlstate", "error_class"} <= set(payload)


def test_missing_column_is_a_schema_error(sk_server: httpx.Client) -> None:
    response = sk_server.post("/invocations", json={"dataframe_records": [{"a": 1.0, "b": 2.0}]})
    assert response.status_code == 400
    payload = response.json()
    assert payload["error_code"] == "INVALID_PARAMETER_VALUE"
    assert payload["message"].startswith("Failed to predict data")
    assert "Failed to enforce schema" in payload["message"] and "c" in payload["message"]
    assert payload["error_class"] == "SCHEMA_ENFORCEMENT_FAILED" and payload["sqlstate"] == "KAM01"


def test_exception_in_model_is_bad_request_with_stack_trace(scale_server: httpx.Client) -> None:
    response = scale_server.post("/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[-1.0]]}})
    assert response.status_code == 400
    payload = response.json()
    assert payload["error_code"] == "BAD_REQUEST"
    assert payload["message"].startswith("Encountered an unexpected error while evaluating the model")
    assert "negative x is not allowed" in payload["message"]
    assert "Traceback" in payload["stack_trace"]


@pytest.mark.parametrize(
    ("content_type", "fragment"),
    [
        ("application/json; format=pandas-split", "Unrecognized content type parameters: format"),
        ("application/json; charset=latin-1", "only supports UTF-8"),
        ("application/xml", "only supports the following content types"),
    ],
)
def test_unsupported_content_types_are_415(sk_server: httpx.Client, content_type: str, fragment: str) -> None:
    response = sk_server.post("/invocations", content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/plain")
    assert fragment in response.text


def test_a_slow_prediction_times_out_with_504() -> None:
    class Slow:
        def predict(self, data: Any, params: Any = None) -> Any:
            time.sleep(1.0)
            return [1]

    with live_scoring_server(Slow(), timeout=0.2) as (url, _):
        response = httpx.post(f"{url}/invocations", json={"inputs": [1]})
    assert response.status_code == 504
    assert response.json()["error_code"] == "DEADLINE_EXCEEDED"


def test_large_request(sk_server: httpx.Client, sklearn_model: Any) -> None:
    frame = training_frame(10_000, seed=9)
    response = sk_server.post("/invocations", json={"dataframe_split": frame.to_dict(orient="split")})
    assert response.status_code == 200
    assert response.json()["predictions"] == _expected(sklearn_model, frame)
