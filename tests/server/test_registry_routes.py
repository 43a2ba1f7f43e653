"""The registry endpoints on a live server: wire shapes, GET queries, DELETE bodies, errors, source checks."""

from __future__ import annotations

import time

import httpx
import pytest

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"


def _ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    return str(body["message"])


def _name() -> str:
    return f"m-{time.time_ns()}"


def _run(live_http: httpx.Client) -> dict:
    exp = _ok(live_http.post(f"{API}/experiments/create", json={"name": f"e-{time.time_ns()}"}))["experiment_id"]
    return _ok(live_http.post(f"{API}/runs/create", json={"experiment_id": exp}))["run"]["info"]


def test_registered_model_shapes_and_errors(live_http: httpx.Client) -> None:
    name = _name()
    created = _ok(
        live_http.post(f"{API}/registered-models/create", json={"name": name, "tags": [{"key": "a", "value": "b"}]})
    )
    model = created["registered_model"]
    assert model["name"] == name and model["tags"] == [{"key": "a", "value": "b"}]
    assert isinstance(model["creation_timestamp"], int)
    assert "latest_versions" not in model  # empty fields are left out
    _error(live_http.post(f"{API}/registered-models/create", json={"name": name}), 400, "RESOURCE_ALREADY_EXISTS")
    _error(live_http.get(f"{API}/registered-models/get", params={"name": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(live_http.post(f"{API}/registered-models/create", json={}), 400, "INVALID_PARAMETER_VALUE")
    got = _ok(live_http.get(f"{AJAX}/registered-models/get", params={"name": name}))["registered_model"]
    assert got["name"] == name
    patched = _ok(live_http.patch(f"{API}/registered-models/update", json={"name": name, "description": "d"}))
    assert patched["registered_model"]["description"] == "d"
    assert (
        _ok(live_http.request("DELETE", f"{API}/registered-models/delete-tag", json={"name": name, "key": "a"})) == {}
    )
    assert _ok(live_http.request("DELETE", f"{API}/registered-models/delete", json={"name": name})) == {}
    _error(live_http.get(f"{API}/registered-models/get", params={"name": name}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_versions_aliases_stages_and_search(live_http: httpx.Client) -> None:
    name = _name()
    _ok(live_http.post(f"{API}/registered-models/create", json={"name": name}))
    for i in range(3):
        mv = _ok(live_http.post(f"{API}/model-versions/create", json={"name": name, "source": f"s3://b/{i}"}))
        assert mv["model_version"]["version"] == str(i + 1)
        assert mv["model_version"]["status"] == "READY" and mv["model_version"]["current_stage"] == "None"
    _ok(live_http.post(f"{API}/registered-models/alias", json={"name": name, "alias": "champion", "version": "2"}))
    by_alias = _ok(live_http.get(f"{API}/registered-models/alias", params={"name": name, "alias": "champion"}))
    assert by_alias["model_version"]["version"] == "2" and by_alias["model_version"]["aliases"] == ["champion"]
    msg = _error(
        live_http.post(f"{API}/registered-models/alias", json={"name": name, "alias": "latest", "version": "1"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "reserved" in msg
    staged = _ok(
        live_http.post(
            f"{API}/model-versions/transition-stage",
            json={"name": name, "version": "3", "stage": "production", "archive_existing_versions": True},
        )
    )
    assert staged["model_version"]["current_stage"] == "Production"
    latest = _ok(
        live_http.post(f"{API}/registered-models/get-latest-versions", json={"name": name, "stages": ["Production"]})
    )
    assert [v["version"] for v in latest["model_versions"]] == ["3"]
    latest_get = _ok(live_http.get(f"{API}/registered-models/get-latest-versions", params={"name": name}))
    assert len(latest_get["model_versions"]) == 2
    uri = _ok(live_http.get(f"{API}/model-versions/get-download-uri", params={"name": name, "version": "1"}))
    assert uri == {"artifact_uri": "s3://b/0"}
    page = _ok(
        live_http.get(
            f"{API}/model-versions/search",
            params=[("filter", f"name = '{name}'"), ("max_results", "2"), ("order_by", "version_number ASC")],
        )
    )
    assert [v["version"] for v in page["model_versions"]] == ["1", "2"] and page["next_page_token"]
    found = _ok(live_http.get(f"{API}/registered-models/search", params={"filter": f"name = '{name}'"}))
    assert [m["name"] for m in found["registered_models"]] == [name]
    assert found["registered_models"][0]["aliases"] == [{"alias": "champion", "version": "2"}]
    assert _ok(live_http.get(f"{API}/registered-models/search", params={"filter": "name = 'none-such'"})) == {}
    _error(
        live_http.get(f"{API}/registered-models/search", params={"max_results": "1001"}), 400, "INVALID_PARAMETER_VALUE"
    )
    _ok(live_http.request("DELETE", f"{API}/registered-models/alias", json={"name": name, "alias": "champion"}))
    _ok(live_http.request("DELETE", f"{API}/model-versions/delete", json={"name": name, "version": "1"}))
    _error(
        live_http.get(f"{API}/model-versions/get", params={"name": name, "version": "1"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


@pytest.mark.parametrize(
    "source",
    [
        "mlflow-artifacts://host:5000/../../../../etc",
        "http://host:5000/api/2.0/mlflow-artifacts/artifacts/../../../../",
        "https://host/api/2.0/mlflow-artifacts/artifacts/../../x",
        "s3:/my_bucket/models/path/../../other/path",
        "file://path/to/../../../../some/where",
        "mlflow-artifacts://host:5000/..%2f..%2f..%2f..%2f",
        "mlflow-artifacts://host:5000/%252e%252e%252f%252e%252e",
        "http://host:5000/api/2.0/mlflow-artifacts/artifacts%00",
        "/models/artifacts/../../../",
        "/etc/passwd",
        "runs:/someotherrun/model",
    ],
)
def test_source_validation_rejects_traversal_and_foreign_sources(live_http: httpx.Client, source: str) -> None:
    name = _name()
    _ok(live_http.post(f"{API}/registered-models/create", json={"name": name}))
    run = _run(live_http)
    body = {"name": name, "source": source, "run_id": run["run_id"]}
    message = _error(live_http.post(f"{API}/model-versions/create", json=body), 400, "INVALID_PARAMETER_VALUE")
    assert "Invalid model version source" in message


def test_source_validation_accepts_the_runs_own_artifacts(live_http: httpx.Client) -> None:
    name = _name()
    _ok(live_http.post(f"{API}/registered-models/create", json={"name": name}))
    run = _run(live_http)
    for source in (f"runs:/{run['run_id']}/model", f"{run['artifact_uri']}/model"):
        body = {"name": name, "source": source, "run_id": run["run_id"]}
        _ok(live_http.post(f"{API}/model-versions/create", json=body))
    other = _run(live_http)
    body = {"name": name, "source": f"{run['artifact_uri']}/model", "run_id": other["run_id"]}
    _error(live_http.post(f"{API}/model-versions/create", json=body), 400, "INVALID_PARAMETER_VALUE")


def test_get_artifact_streams_a_version_file(live_http: httpx.Client) -> None:
    run = _run(live_http)
    relative = run["artifact_uri"][len("mlflow-artifacts:/") :]
    put = live_http.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/model/MLmodel", content=b"flavors: {}\n")
    assert put.status_code == 200
    name = _name()
    _ok(live_http.post(f"{API}/registered-models/create", json={"name": name}))
    body = {"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}
    _ok(live_http.post(f"{API}/model-versions/create", json=body))
    got = live_http.get(f"{API}/model-versions/get-artifact", params={"name": name, "version": "1", "path": "MLmodel"})
    assert got.status_code == 200 and got.content == b"flavors: {}\n"
    missing = live_http.get(f"{API}/model-versions/get-artifact", params={"name": name, "version": "1", "path": "nope"})
    assert missing.status_code == 404
    bad = live_http.get(f"{API}/model-versions/get-artifact", params={"name": name, "version": "1", "path": "../x"})
    assert bad.status_code == 400
