"""GET `logged-models/{id}/artifacts/files`: one file of a logged model, as MLflow's UI reads it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.server.live import live_server


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with live_server(tmp_path_factory.mktemp("logged-model-files")) as url, httpx.Client(base_url=url) as client:
        yield client


def test_logged_model_file_download_and_errors(http: httpx.Client) -> None:
    exp = http.post("/api/2.0/mlflow/experiments/create", json={"name": "lm-files"}).json()["experiment_id"]
    model = http.post("/api/2.0/mlflow/logged-models", json={"experiment_id": exp, "name": "m"}).json()["model"]
    model_id, location = model["info"]["model_id"], model["info"]["artifact_uri"]
    assert location.startswith("mlflow-artifacts:")
    relative = location.split(":", 1)[1].lstrip("/")
    body = b"flavors:\n  python_function:\n    loader_module: mltrail.pyfunc\n"
    put = http.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/MLmodel", content=body)
    assert put.status_code == 200, put.text

    for prefix in ("/ajax-api/2.0/mlflow", "/api/2.0/mlflow"):
        got = http.get(f"{prefix}/logged-models/{model_id}/artifacts/files", params={"artifact_file_path": "MLmodel"})
        assert got.status_code == 200, got.text
        assert got.content == body

    missing_param = http.get(f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files")
    assert missing_param.status_code == 400
    assert missing_param.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "artifact_file_path" in missing_param.json()["message"]

    escape = http.get(
        f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files", params={"artifact_file_path": "../x"}
    )
    assert escape.status_code == 400
    assert escape.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    no_file = http.get(
        f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files", params={"artifact_file_path": "nope.txt"}
    )
    assert no_file.status_code == 404
    assert no_file.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    unknown = http.get(
        "/ajax-api/2.0/mlflow/logged-models/m-00000000000000000000000000000000/artifacts/files",
        params={"artifact_file_path": "MLmodel"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
