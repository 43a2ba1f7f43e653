"""Hostile and malformed input gets a 4xx with MLflow's error body, never a 500 or a database's error text.

int64 overflow and NUL characters are checked on a live server over SQLite and over PostgreSQL (whose text
cannot hold NUL and whose BIGINT overflows differently), and through the stores directly (the Python client's
path). Parse-level limits (JSON nesting, filter size, body size, URL length, ``null`` bodies) are checked on
SQLite only: they are refused before any store is reached.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mltrail.entities import Metric, Param, RunTag, ViewType
from mltrail.errors import MltrailError
from mltrail.server.run import ServerSettings, build_app
from mltrail.store.registry.sql.store import SqlRegistryStore
from mltrail.store.tracking.sql.store import SqlTrackingStore
from tests.server.live import live_server
from tests.store.conftest import PG_ADMIN_URI, _server_database

API = "/api/2.0/mlflow"
EXT = "/api/2.0/mltrail"
TOO_BIG = 2**63
TOO_SMALL = -(2**63) - 1
_SQL_WORDS = ("SELECT", "INSERT", "UPDATE ", "[SQL", "sqlite3", "psycopg", "pymysql", "OperationalError", "DataError")


def assert_refused(response: httpx.Response, status: int = 400, code: str = "INVALID_PARAMETER_VALUE") -> str:
    """The response is ``status`` with MLflow's error body and no SQL in it; returns the message."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error_code"] == code, body
    message: str = body["message"]
    assert not any(word in message for word in _SQL_WORDS), message
    return message


def _token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this module: SQLite, then PostgreSQL (skipped when unreachable, unless required)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('bad-input') / 'store.db'}"
    else:
        yield from _server_database(PG_ADMIN_URI, "postgresql")


@pytest.fixture(scope="module")
def server(backend_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server on the module's database."""
    with live_server(tmp_path_factory.mktemp("bad-input-server"), backend_store_uri=backend_uri) as url:
        yield url


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def world(server: str) -> dict[str, str]:
    """An experiment, a run with one metric point, a registered model with one version."""
    with httpx.Client(base_url=server, timeout=60) as client:

        def ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            assert response.status_code == 200, response.text
            return response.json()

        experiment_id = ok(f"{API}/experiments/create", {"name": "bad-input"})["experiment_id"]
        run_id = ok(f"{API}/runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
        ok(f"{API}/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0})
        ok(f"{API}/registered-models/create", {"name": "bad-input-model"})
        ok(f"{API}/model-versions/create", {"name": "bad-input-model", "source": f"runs:/{run_id}/m", "run_id": run_id})
    return {"experiment_id": experiment_id, "run_id": run_id, "model": "bad-input-model"}


# ------------------------------------------------------------------------------------------ int64 overflow
def _fill(value: Any, world: dict[str, str]) -> Any:
    """``value`` with the placeholders ``RUN``, ``EXP`` and ``MODEL`` replaced by the world's ids."""
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return {"RUN": world["run_id"], "EXP": world["experiment_id"], "MODEL": world["model"]}.get(value, value)


_POINT = {"run_id": "RUN", "key": "m", "value": 1, "timestamp": 1}
_INT64_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("step", "runs/log-metric", {**_POINT, "step": TOO_BIG}),
    ("step", "runs/log-metric", {**_POINT, "step": TOO_SMALL}),
    ("timestamp", "runs/log-metric", {**_POINT, "timestamp": TOO_BIG}),
    ("timestamp", "runs/log-metric", {**_POINT, "timestamp": str(TOO_BIG)}),
    ("metrics[0].step", "runs/log-batch", {"run_id": "RUN", "metrics": [{**_POINT, "step": TOO_BIG}]}),
    ("start_time", "runs/create", {"experiment_id": "EXP", "start_time": TOO_BIG}),
    ("start_time", "runs/create", {"experiment_id": "EXP", "start_time": 1e19}),
    ("end_time", "runs/update", {"run_id": "RUN", "end_time": TOO_BIG}),
    ("max_results", "runs/search", {"experiment_ids": ["EXP"], "max_results": TOO_BIG}),
    ("max_results", "experiments/search", {"max_results": TOO_SMALL}),
]


@pytest.mark.parametrize(("field", "path", "body"), _INT64_BODIES, ids=[f"{p}:{f}" for f, p, _ in _INT64_BODIES])
def test_int64_overflow_in_a_body_is_refused_at_parse(
    http: httpx.Client, world: dict[str, str], field: str, path: str, body: dict[str, Any]
) -> None:
    message = assert_refused(http.post(f"{API}/{path}", json=_fill(body, world)))
    assert f"for parameter '{field}' supplied" in message
    assert "64-bit integer" in message


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"{API}/metrics/get-history", {"run_id": "RUN", "metric_key": "m", "max_results": str(TOO_BIG)}),
        (f"{API}/registered-models/search", {"max_results": str(TOO_BIG)}),
        (f"{API}/model-versions/search", {"max_results": str(TOO_SMALL)}),
        (f"{EXT}/runs/list-deleted", {"older_than_ms": str(TOO_BIG)}),
        (f"{EXT}/experiments/list-deleted", {"older_than_ms": str(TOO_SMALL)}),
        (f"{EXT}/metrics/get-history-downsampled", {"run_ids": "RUN", "metric_key": "m", "start_step": str(TOO_BIG)}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_int64_overflow_in_a_query_is_refused_at_parse(
    http: httpx.Client, world: dict[str, str], path: str, query: dict[str, str]
) -> None:
    assert "64-bit integer" in assert_refused(http.get(path, params=_fill(query, world)))


def test_int64_bounds_are_accepted_and_read_back(http: httpx.Client, world: dict[str, str]) -> None:
    run = http.post(f"{API}/runs/create", json={"experiment_id": world["experiment_id"], "start_time": 2**63 - 1})
    assert run.status_code == 200, run.text
    run_id = run.json()["run"]["info"]["run_id"]
    for step in (2**63 - 1, -(2**63)):
        logged = http.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "key": "edge", "value": 1, "timestamp": 2**63 - 1, "step": step},
        )
        assert logged.status_code == 200, logged.text
    history = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "edge"}).json()
    assert sorted(m["step"] for m in history["metrics"]) == [-(2**63), 2**63 - 1]
    assert {m["timestamp"] for m in history["metrics"]} == {2**63 - 1}


def test_negative_older_than_is_refused(http: httpx.Client) -> None:
    message = assert_refused(http.get(f"{EXT}/runs/list-deleted", params={"older_than_ms": "-1"}))
    assert "older_than_ms" in message


def test_a_version_beyond_int64_is_refused(http: httpx.Client, world: dict[str, str]) -> None:
    query = {"name": world["model"], "version": str(TOO_BIG)}
    assert "64-bit integer" in assert_refused(http.get(f"{API}/model-versions/get", params=query))


@pytest.mark.parametrize("offset", [TOO_BIG, 2**63 - 1, -1])
@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("POST", "runs/search", {"experiment_ids": ["EXP"]}),
        ("POST", "experiments/search", {}),
        ("GET", "registered-models/search", {}),
        ("GET", "model-versions/search", {}),
        ("GET", "metrics/get-history", {"run_id": "RUN", "metric_key": "m"}),
        ("POST", "logged-models/search", {"experiment_ids": ["EXP"]}),
    ],
)
def test_a_forged_page_token_offset_is_refused(
    http: httpx.Client, world: dict[str, str], offset: int, method: str, path: str, fields: dict[str, Any]
) -> None:
    fields = {**_fill(fields, world), "page_token": _token(offset)}
    response = http.request(method, f"{API}/{path}", **({"params": fields} if method == "GET" else {"json": fields}))
    assert "Invalid page token" in assert_refused(response)


# ------------------------------------------------------------------------------------------- NUL characters
_NUL_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("name", "experiments/create", {"name": "a\x00b"}),
    ("artifact_location", "experiments/create", {"name": "nul-location", "artifact_location": "/tmp/a\x00b"}),
    ("tags[0].value", "experiments/create", {"name": "nul-tag", "tags": [{"key": "k", "value": "\x00"}]}),
    ("new_name", "experiments/update", {"experiment_id": "EXP", "new_name": "x\x00"}),
    ("value", "experiments/set-experiment-tag", {"experiment_id": "EXP", "key": "k", "value": "\x00"}),
    ("run_name", "runs/create", {"experiment_id": "EXP", "run_name": "r\x00"}),
    ("key", "runs/log-parameter", {"run_id": "RUN", "key": "k\x00", "value": "v"}),
    ("value", "runs/log-parameter", {"run_id": "RUN", "key": "k", "value": "v\x00"}),
    ("value", "runs/set-tag", {"run_id": "RUN", "key": "k", "value": "v\x00"}),
    ("key", "runs/log-metric", {**_POINT, "key": "m\x00"}),
    ("run_id", "runs/log-metric", {**_POINT, "run_id": "r\x00"}),
    ("params[0].value", "runs/log-batch", {"run_id": "RUN", "params": [{"key": "p", "value": "\x00"}]}),
    ("datasets[0].dataset.name", "runs/log-inputs", {"run_id": "RUN", "datasets": [{"dataset": {"name": "\x00"}}]}),
    ("filter", "runs/search", {"experiment_ids": ["EXP"], "filter": "params.a = 'x\x00'"}),
    ("order_by[0]", "runs/search", {"experiment_ids": ["EXP"], "order_by": ["params.\x00"]}),
    ("name", "registered-models/create", {"name": "m\x00"}),
    ("description", "registered-models/create", {"name": "nul-description", "description": "\x00"}),
    ("source", "model-versions/create", {"name": "MODEL", "source": "s3://b/\x00"}),
    ("x\\u0000", "experiments/create", {"name": "nul-unknown-key", "x\x00": 1}),
]


@pytest.mark.parametrize(("field", "path", "body"), _NUL_BODIES, ids=[f"{p}:{f!r}" for f, p, _ in _NUL_BODIES])
def test_nul_in_any_body_text_is_refused_at_parse(
    http: httpx.Client, world: dict[str, str], field: str, path: str, body: dict[str, Any]
) -> None:
    message = assert_refused(http.post(f"{API}/{path}", json=_fill(body, world)))
    assert f"for parameter '{field}' supplied" in message
    assert "NUL" in message


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"{API}/runs/get", {"run_id": "a\x00"}),
        (f"{API}/experiments/get-by-name", {"experiment_name": "a\x00"}),
        (f"{API}/runs/search", {"experiment_ids": ["1", "\x00"]}),
        (f"{API}/registered-models/search", {"filter": "name = '\x00'"}),
        (f"{API}/registered-models/get", {"name": "\x00"}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_nul_in_a_query_is_refused_at_parse(http: httpx.Client, path: str, query: dict[str, Any]) -> None:
    assert "NUL" in assert_refused(http.get(path, params=query))


def test_nul_in_a_path_parameter_is_refused(http: httpx.Client) -> None:
    assert "NUL" in assert_refused(http.get(f"{API}/logged-models/m-%00"))


def test_the_python_client_path_refuses_nul_and_int64_overflow(backend_uri: str, tmp_path: Path) -> None:
    """The stores check what the server's parser checks, so a client writing to PostgreSQL directly is told too."""
    store = SqlTrackingStore(backend_uri, str(tmp_path / "artifacts"))
    experiment_id = store.create_experiment("python-client-path")
    run_id = store.create_run(experiment_id, "me", 0, [], None).info.run_id
    attempts: list[Callable[[], object]] = [
        lambda: store.create_experiment("a\x00"),
        lambda: store.create_run(experiment_id, "me", TOO_BIG, [], None),
        lambda: store.create_run(experiment_id, "me\x00", 0, [], None),
        lambda: store.update_run_info(run_id, end_time=TOO_BIG),
        lambda: store.log_batch(run_id, [], [Param("p", "\x00")], []),
        lambda: store.log_batch(run_id, [], [], [RunTag("t", "\x00")]),
        lambda: store.log_batch(run_id, [Metric("m", 1.0, 1, TOO_BIG)], [], []),
        lambda: store.log_batch(run_id, [Metric("m", 1.0, TOO_BIG, 0)], [], []),
        lambda: store.log_batch(run_id, [Metric("m", 10**400, 1, 0)], [], []),
        lambda: store.search_runs([experiment_id], "params.a = '\x00'", ViewType.ALL, 10),
        lambda: store.search_runs([experiment_id], None, ViewType.ALL, 10, None, _token(TOO_BIG)),
        lambda: store.list_deleted_runs(older_than_ms=-(2**63)),
    ]
    registry = SqlRegistryStore(backend_uri)
    registry.create_registered_model("python-client-model")
    attempts += [
        lambda: registry.create_registered_model("m\x00"),
        lambda: registry.update_registered_model("python-client-model", "\x00"),
        lambda: registry.get_model_version("python-client-model", TOO_BIG),
    ]
    for attempt in attempts:
        with pytest.raises(MltrailError) as caught:
            attempt()
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE", caught.value
        assert not any(word in caught.value.message for word in _SQL_WORDS), caught.value.message


# ---------------------------------------------------------------------------------- parse-level limits (SQLite)
def _raw_json(client: httpx.Client, path: str, text: str) -> httpx.Response:
    return client.post(path, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("depth", [1000, 5000])
@pytest.mark.parametrize(
    ("path", "template"),
    [("experiments/create", '{"name": "deep", "tags": %s}'), ("model-versions/create", '{"name": "m", "source": %s}')],
)
def test_deeply_nested_json_is_refused(live_http: httpx.Client, depth: int, path: str, template: str) -> None:
    text = template % ("[" * depth + "]" * depth)
    assert "nested too deeply" in assert_refused(_raw_json(live_http, f"{API}/{path}", text))
    nested_objects = template % ('{"a":' * depth + "1" + "}" * depth)
    assert "nested too deeply" in assert_refused(_raw_json(live_http, f"{API}/{path}", nested_objects))


def test_shallow_nesting_is_not_mistaken_for_deep(live_http: httpx.Client) -> None:
    # Many brackets side by side (the cheap pre-check) but only three levels: parsed, then refused for its content.
    body = json.dumps({"name": "x", "tags": [{"key": f"k{i}", "value": [[1]]} for i in range(100)]})
    message = assert_refused(_raw_json(live_http, f"{API}/experiments/create", body))
    assert "nested" not in message


def test_an_over_long_filter_is_refused_before_sql(live_http: httpx.Client) -> None:
    filter_92k = "params.a = '" + "x" * 92 * 1024 + "'"
    message = assert_refused(live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": filter_92k}))
    assert "too long" in message and len(message) < 2000


def test_an_over_complex_filter_is_refused_before_sql(live_http: httpx.Client) -> None:
    many = " OR ".join(f"params.a = '{i}'" for i in range(1000))
    message = assert_refused(live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": many}))
    assert "more than 200 comparisons" in message and len(message) < 2000
    allowed = " OR ".join(f"params.a = '{i}'" for i in range(200))
    assert live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": allowed}).status_code == 200


def test_an_over_long_like_pattern_is_refused_before_sql(live_http: httpx.Client) -> None:
    pattern = "attributes.run_name LIKE '%" + "x" * 60_000 + "%'"
    message = assert_refused(live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": pattern}))
    assert "LIKE pattern" in message


def test_too_many_order_by_clauses_are_refused(live_http: httpx.Client) -> None:
    order_by = [f"params.p{i}" for i in range(100)]
    message = assert_refused(live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "order_by": order_by}))
    assert "order_by" in message


def test_a_chunked_body_over_the_limit_gets_413(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b" " * (1024 * 1024)

    with live_server(tmp_path, max_body_mb=1) as url, httpx.Client(base_url=url, timeout=60) as client:
        response = client.post(f"{API}/runs/search", content=chunks(), headers={"content-type": "application/json"})
        assert "exceeds" in assert_refused(response, 413, "RESOURCE_EXHAUSTED")
        # and the server goes on answering
        assert client.post(f"{API}/experiments/search", json={}).status_code == 200


def _raw_request(url: str, request_line: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("length", [70_000, 100_000])
def test_an_over_long_query_string_gets_json_414(live_url: str, length: int) -> None:
    """Over the app's limit and, at 100 kB, over httptools' own: both answer MLflow's JSON error, not text."""
    status, headers, body = _raw_request(
        live_url, b"GET " + API.encode() + b"/runs/get?run_id=" + b"1" * length + b" HTTP/1.1"
    )
    assert status == 414
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "URL is too long" in error["message"]


def test_the_app_refuses_an_over_long_url_whatever_parsed_it(tmp_path: Path) -> None:
    """Under h11 (or any server) the URL reaches the application, which answers the same JSON 414."""
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp_path / 'db.sqlite'}", artifacts_destination=str(tmp_path)
    )
    with TestClient(build_app(settings.resolved())) as client:
        # path (24 bytes) + query (65,527): over the limit, yet under the test client's own 64 KiB per component
        response = client.get(f"{API}/runs/get", params={"run_id": "1" * 65_520})
        assert "URL is too long" in assert_refused(response, 414)
        assert client.get(f"{API}/runs/get", params={"run_id": "1" * 60_000}).status_code == 400  # a bad id, not 414


def test_a_request_uvicorn_cannot_parse_gets_a_json_400(live_url: str) -> None:
    status, headers, body = _raw_request(live_url, b"GET /health HTTP/1.1\r\nBad Header Line")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error_code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("null", "must be a JSON object, not null"),
        ('"null"', "must be a JSON object, not null"),
        ("[]", "must be a JSON object, not an array"),
        ("3", "must be a JSON object, not a number"),
        ('{"name": null}', "Missing value for required parameter 'name'"),
        ('{"name": ""}', "Missing value for required parameter 'name'"),
        ('{"name": "x", "tags": [null]}', "Invalid value [null] for parameter 'tags'"),
        ('{"name": "x", "tags": [{"key": null}]}', "Missing value for required parameter 'tags[0].key'"),
    ],
)
def test_null_bodies_and_null_required_fields_are_refused(live_http: httpx.Client, body: str, expected: str) -> None:
    assert expected in assert_refused(_raw_json(live_http, f"{API}/experiments/create", body))


def test_a_null_body_is_refused_where_no_field_is_required(live_http: httpx.Client) -> None:
    assert "not null" in assert_refused(_raw_json(live_http, f"{API}/experiments/search", "null"))
    assert _raw_json(live_http, f"{API}/experiments/search", "").status_code == 200  # an empty body is {}
