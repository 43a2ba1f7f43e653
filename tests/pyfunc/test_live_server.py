"""log_model through a live mltrail server (http tracking URI, mlflow-artifacts proxy) and loading back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import mltrail
from mltrail import pyfunc
from mltrail.models import Model
from tests.server.live import live_server

FRAME = pd.DataFrame({"x": [1.0, 2.0]})


class Plus(pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input["x"] + 1


@pytest.fixture
def server_uri(clean_fluent_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with live_server(clean_fluent_state / "server") as url:
        monkeypatch.setenv("MLTRAIL_TRACKING_URI", url)
        mltrail.set_tracking_uri(url)
        yield url


def test_log_and_load_through_server(server_uri: str, tmp_path: Path) -> None:
    mltrail.set_experiment("models-live")
    with mltrail.start_run() as run:
        info = pyfunc.log_model(name="plus", python_model=Plus(), input_example=FRAME)
    logged = mltrail.Client().get_logged_model(info.model_id)
    assert logged.artifact_location.startswith("mlflow-artifacts:/")
    assert logged.status.value == "LOGGED_MODEL_READY"
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/plus"):
        assert list(pyfunc.load_model(uri).predict(FRAME)) == [2.0, 3.0]
    assert Model.load(info.model_uri).model_id == info.model_id
    registry = getattr(mltrail.Client(), "get_model_version_download_uri", None)
    if registry is not None and hasattr(mltrail, "register_model"):
        version = mltrail.register_model(info.model_uri, "PlusModel")
        assert list(pyfunc.load_model(f"models:/PlusModel/{version.version}").predict(FRAME)) == [2.0, 3.0]
        assert list(pyfunc.load_model("models:/PlusModel/latest").predict(FRAME)) == [2.0, 3.0]


def test_mlflow_client_loads_mltrail_logged_model(server_uri: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    with mltrail.start_run():
        info = pyfunc.log_model(name="plus", python_model=Plus())
    mlflow.set_tracking_uri(server_uri)
    assert list(mlflow.pyfunc.load_model(info.model_uri).predict(FRAME)) == [2.0, 3.0]


def test_mlflow_logged_model_loads_in_mltrail(server_uri: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(server_uri)

    class MPlus(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input["x"] * 3

    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="mplus", python_model=MPlus())
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/mplus"):
        assert list(pyfunc.load_model(uri).predict(FRAME)) == [3.0, 6.0]
