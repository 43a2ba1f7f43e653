"""MLflow's REST API on a live mltrail server: request parsing, response shapes, errors and statuses."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.server.live import live_server

API = "/api/2.0/mlflow"


def _ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _new_run(live_http: httpx.Client, name: str | None = None) -> str:
    experiment_id = _ok(live_http.post(f"{API}/experiments/create", json={"name": name or f"exp-{time.time_ns()}"}))[
        "experiment_id"
    ]
    run = _ok(
        live_http.post(f"{API}/runs/create", json={"experiment_id": experiment_id, "start_time": "1700000000000"})
    )
    return run["run"]["info"]["run_id"]


def test_experiment_lifecycle_and_shapes(live_http: httpx.Client) -> None:
    created = _ok(
        live_http.post(f"{API}/experiments/create", json={"name": "shapes", "tags": [{"key": "team", "value": "cv"}]})
    )
    experiment_id = created["experiment_id"]
    assert isinstance(experiment_id, str)
    got = _ok(live_http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))["experiment"]
    assert got["name"] == "shapes"
    assert got["lifecycle_stage"] == "active"
    assert got["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert {"key": "team", "value": "cv"} in got["tags"]
    assert isinstance(got["creation_time"], int)

    by_name = _ok(live_http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "shapes"}))
    assert by_name["experiment"]["experiment_id"] == experiment_id

    duplicate = live_http.post(f"{API}/experiments/create", json={"name": "shapes"})
    assert duplicate.status_code == 400
    assert duplicate.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    _ok(live_http.post(f"{API}/experiments/update", json={"experiment_id": experiment_id, "new_name": "shapes2"}))
    _ok(live_http.post(f"{API}/experiments/delete", json={"experiment_id": experiment_id}))
    deleted = _ok(live_http.post(f"{API}/experiments/search", json={"view_type": "DELETED_ONLY"}))
    assert [e["name"] for e in deleted["experiments"]] == ["shapes2"]
    _ok(live_http.post(f"{API}/experiments/restore", json={"experiment_id": experiment_id}))
    active = _ok(live_http.post(f"{API}/experiments/search", json={"view_type": 1, "filter": "name = 'shapes2'"}))
    assert [e["experiment_id"] for e in active["experiments"]] == [experiment_id]


def test_unknown_experiment_name_is_404(live_http: httpx.Client) -> None:
    response = live_http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Could not find experiment with name 'nope'",
    }


def test_run_logging_round_trip(live_http: httpx.Client) -> None:
    run_id = _new_run(live_http)
    _ok(
        live_http.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "run_uuid": run_id, "key": "loss", "value": 1.5, "timestamp": 5, "step": 2},
        )
    )
    _ok(live_http.post(f"{API}/runs/log-parameter", json={"run_uuid": run_id, "key": "alpha", "value": "0.1"}))
    _ok(live_http.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "team", "value": "x"}))
    _ok(
        live_http.post(
            f"{API}/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [{"key": "acc", "value": "NaN", "timestamp": "7", "step": "1"}],
                "params": [{"key": "beta", "value": "2"}],
                "tags": [{"key": "mlflow.runName", "value": "renamed"}],
            },
        )
    )
    run = _ok(live_http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert run["info"]["run_id"] == run["info"]["run_uuid"] == run_id
    assert run["info"]["run_name"] == "renamed"
    assert run["info"]["status"] == "RUNNING"
    assert run["info"]["start_time"] == 1700000000000
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"] == {"key": "loss", "value": 1.5, "timestamp": 5, "step": 2}
    assert metrics["acc"]["value"] == "NaN"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params == {"alpha": "0.1", "beta": "2"}
    assert run["inputs"] == {} and run["outputs"] == {}

    updated = _ok(live_http.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 99}))
    assert updated["run_info"]["status"] == "FINISHED"
    assert updated["run_info"]["end_time"] == 99

    history = _ok(live_http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}))
    assert history["metrics"] == [{"key": "loss", "value": 1.5, "timestamp": 5, "step": 2}]


def test_param_change_is_rejected_with_mlflow_message(live_http: httpx.Client) -> None:
    run_id = _new_run(live_http)
    _ok(live_http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "a"}))
    response = live_http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "b"})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in body["message"]


def test_search_runs_with_filter_order_and_pages(live_http: httpx.Client) -> None:
    experiment_id = _ok(live_http.post(f"{API}/experiments/create", json={"name": "searchable"}))["experiment_id"]
    for i in range(5):
        run_id = _ok(live_http.post(f"{API}/runs/create", json={"experiment_id": experiment_id}))["run"]["info"][
            "run_id"
        ]
        _ok(
            live_http.post(
                f"{API}/runs/log-batch",
                json={"run_id": run_id, "metrics": [{"key": "m", "value": i, "timestamp": 1}], "params": []},
            )
        )
    body = {"experiment_ids": [experiment_id], "filter": "metrics.m >= 1", "order_by": ["metrics.m DESC"]}
    first = _ok(live_http.post(f"{API}/runs/search", json={**body, "max_results": 3}))
    assert [r["data"]["metrics"][0]["value"] for r in first["runs"]] == [4, 3, 2]
    assert "next_page_token" in first
    second = _ok(
        live_http.post(f"{API}/runs/search", json={**body, "max_results": 3, "page_token": first["next_page_token"]})
    )
    assert [r["data"]["metrics"][0]["value"] for r in second["runs"]] == [1]
    assert "next_page_token" not in second
    empty = _ok(
        live_http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id], "filter": "metrics.m > 100"})
    )
    assert empty == {}


def test_bad_page_token_and_max_results(live_http: httpx.Client) -> None:
    garbage = live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "page_token": "garbage!"})
    assert garbage.status_code == 400
    assert garbage.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    too_many = live_http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "max_results": 50001})
    assert too_many.status_code == 400


def test_unknown_run_is_404_with_mlflow_message(live_http: httpx.Client) -> None:
    response = live_http.get(f"{API}/runs/get", params={"run_id": "0123456789abcdef0123456789abcdef"})
    assert response.status_code == 404
    body = response.json()
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert body["message"] == "Run with id=0123456789abcdef0123456789abcdef not found"


def test_request_validation_messages(live_http: httpx.Client) -> None:
    missing = live_http.post(f"{API}/runs/log-metric", json={"key": "k", "value": 1, "timestamp": 1})
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("Missing value for required parameter 'run_id'.")
    wrong_type = live_http.post(f"{API}/runs/log-metric", json={"run_id": 31, "key": "k", "value": 1, "timestamp": 1})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["message"] == (
        "Invalid value 31 for parameter 'run_id' supplied: Hint: Value was of type 'int'. "
        "See the API docs for more information about request parameters."
    )
    batch = live_http.post(f"{API}/runs/log-batch", json={"run_id": "abc", "metrics": [{"key": "k", "value": 1}]})
    assert batch.status_code == 400
    assert "Missing value for required parameter 'metrics[0].timestamp'" in batch.json()["message"]


def test_post_requires_json_content_type(live_http: httpx.Client) -> None:
    response = live_http.post(
        f"{API}/experiments/create", content=b'{"name": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Bad Request. Content-Type must be one of ['application/json'].",
    }


def test_malformed_json_is_a_400_not_a_500(live_http: httpx.Client) -> None:
    response = live_http.post(
        f"{API}/experiments/create", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_double_encoded_body_and_camel_case(live_http: httpx.Client) -> None:
    import json

    response = live_http.post(
        f"{API}/experiments/create",
        content=json.dumps(json.dumps({"name": "double-encoded"})).encode(),
        headers={"Content-Type": "application/json"},
    )
    experiment_id = _ok(response)["experiment_id"]
    got = _ok(live_http.get(f"{API}/experiments/get", params={"experimentId": experiment_id}))
    assert got["experiment"]["name"] == "double-encoded"


def test_ajax_prefix_and_get_history_bulk_interval(live_http: httpx.Client) -> None:
    run_id = _new_run(live_http)
    metrics = [{"key": "x", "value": float(s), "timestamp": 1, "step": s} for s in range(10)]
    _ok(live_http.post("/ajax-api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": metrics}))
    sampled = _ok(
        live_http.get(
            "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
            params={"run_ids": [run_id], "metric_key": "x", "max_results": 5},
        )
    )
    assert [m["step"] for m in sampled["metrics"]] == [0, 2, 4, 6, 9]  # at most max_results, first and last kept
    assert all(m["run_id"] == run_id for m in sampled["metrics"])
    one_sided = live_http.get(
        f"{API}/metrics/get-history-bulk-interval", params={"run_ids": [run_id], "metric_key": "x", "start_step": 1}
    )
    assert one_sided.status_code == 400


def test_unknown_endpoint_is_json_404(live_http: httpx.Client) -> None:
    response = live_http.get(f"{API}/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_wrong_method_is_json_405_and_plain_paths_dispatch_as_starlette(
    live_http: httpx.Client, tmp_path: Path
) -> None:
    response = live_http.get(f"{API}/runs/log-metric")
    assert response.status_code == 405 and response.json()["error_code"] == "BAD_REQUEST"
    assert live_http.delete(f"{API}/experiments/create").status_code == 405

    from starlette.routing import Match

    from mltrail.server.run import ServerSettings, build_app

    settings = ServerSettings(backend_store_uri=f"sqlite:///{tmp_path}/d.db", artifacts_destination=str(tmp_path))
    router = build_app(settings.resolved()).router
    exact = router._exact  # type: ignore[attr-defined]
    assert ("/api/2.0/mlflow/runs/log-metric", "POST") in exact and ("/health", "GET") in exact
    for (path, method), route in exact.items():  # the dictionary picks what Starlette's scan would pick
        scope = {"type": "http", "path": path, "method": method, "root_path": "", "path_params": {}}
        first = next(r for r in router.routes if r.matches(scope)[0] is Match.FULL)
        assert first is route, (path, method)


def test_side_endpoints(live_http: httpx.Client) -> None:
    assert live_http.get("/health").text == "OK"
    assert live_http.get("/version").text.startswith("3.")
    info = _ok(live_http.get("/api/3.0/mlflow/server-info"))
    assert info["artifact_serving_enabled"] is True
    spec = _ok(live_http.get("/openapi.json"))
    assert "/api/2.0/mlflow/runs/log-batch" in spec["paths"]
    assert "post" in spec["paths"]["/api/2.0/mlflow/runs/log-batch"]


def test_host_header_check_blocks_rebinding(live_http: httpx.Client) -> None:
    response = live_http.get("/version", headers={"Host": "evil.example.com"})
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"
    assert live_http.get("/version", headers={"Host": "localhost:5000"}).status_code == 200


def test_no_cors_headers_by_default(live_http: httpx.Client) -> None:
    response = live_http.get("/health", headers={"Origin": "http://other.example"})
    assert "access-control-allow-origin" not in response.headers


def test_oversize_json_body_is_413(tmp_path: Path) -> None:
    with live_server(tmp_path, max_body_mb=1) as url, httpx.Client(base_url=url) as client:
        big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        response = client.post(f"{API}/experiments/create", content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413


def test_cors_when_configured(tmp_path: Path) -> None:
    with live_server(tmp_path, cors_origins=["http://ui.example"]) as url, httpx.Client(base_url=url) as client:
        response = client.get("/health", headers={"Origin": "http://ui.example"})
        assert response.headers["access-control-allow-origin"] == "http://ui.example"


def test_logged_models_endpoints(live_http: httpx.Client) -> None:
    run_id = _new_run(live_http)
    run = _ok(live_http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    experiment_id = run["info"]["experiment_id"]
    created = _ok(
        live_http.post(
            f"{API}/logged-models",
            json={
                "experiment_id": experiment_id,
                "name": "model",
                "source_run_id": run_id,
                "params": [{"key": "a", "value": "1"}],
            },
        )
    )["model"]
    model_id = created["info"]["model_id"]
    assert model_id.startswith("m-")
    assert created["info"]["status"] == "LOGGED_MODEL_PENDING"
    assert created["info"]["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
    _ok(live_http.post(f"{API}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}))
    finalized = _ok(
        live_http.patch(f"{API}/logged-models/{model_id}", json={"model_id": model_id, "status": "LOGGED_MODEL_READY"})
    )
    assert finalized["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    _ok(live_http.patch(f"{API}/logged-models/{model_id}/tags", json={"tags": [{"key": "k", "value": "v"}]}))
    found = _ok(
        live_http.post(
            f"{API}/logged-models/search", json={"experiment_ids": [experiment_id], "filter": "name = 'model'"}
        )
    )
    assert [m["info"]["model_id"] for m in found["models"]] == [model_id]
    assert {"key": "k", "value": "v"} in found["models"][0]["info"]["tags"]
    _ok(live_http.delete(f"{API}/logged-models/{model_id}/tags/k"))
    got = _ok(live_http.get(f"{API}/logged-models/{model_id}"))["model"]
    assert "tags" not in got["info"] or all(t["key"] != "k" for t in got["info"]["tags"])
    outputs = _ok(live_http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]["outputs"]
    assert outputs == {"model_outputs": [{"model_id": model_id, "step": 0}]}
    missing = live_http.get(f"{API}/logged-models/m-00000000000000000000000000000000")
    assert missing.status_code == 404
