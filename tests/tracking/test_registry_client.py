"""The registry half of the client and the fluent ``register_model`` on a local SQLite store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import MltrailError
from mltrail.tracking._registry_client import get_registry_uri, set_registry_uri
from mltrail.tracking.client import MltrailClient


@pytest.fixture
def client(clean_fluent_state: Path) -> MltrailClient:
    mltrail.set_tracking_uri(f"sqlite:///{clean_fluent_state / 'reg.db'}")
    return MltrailClient()


def test_register_runs_uri_with_mlmodel_and_aliases(client: MltrailClient, tmp_path: Path) -> None:
    with mltrail.start_run() as run:
        model_dir = tmp_path / "model"
        model_dir.mkdir()
        (model_dir / "MLmodel").write_text("flavors: {}\n")
        mltrail.log_artifacts(str(model_dir), "model")
    mv = mltrail.register_model(f"runs:/{run.info.run_id}/model", "fraud", tags={"k": "v"})
    assert (mv.name, mv.version, mv.run_id, mv.tags) == ("fraud", "1", run.info.run_id, {"k": "v"})
    download = client.get_model_version_download_uri("fraud", "1")
    assert os.path.exists(os.path.join(download, "MLmodel"))
    client.set_registered_model_alias("fraud", "champion", 1)
    assert client.get_model_version_by_alias("fraud", "champion").version == "1"
    assert [v.version for v in client.get_latest_versions("fraud")] == ["1"]
    copy = client.copy_model_version("models:/fraud@champion", "fraud-prod")
    assert copy.name == "fraud-prod" and client.get_model_version_download_uri("fraud-prod", 1) == download
    assert [m.name for m in mltrail.search_registered_models()] == ["fraud", "fraud-prod"]
    assert len(mltrail.search_model_versions(filter_string="name = 'fraud'")) == 1


def test_register_logged_model_uri(client: MltrailClient) -> None:
    with mltrail.start_run() as run:
        exp_id = run.info.experiment_id
    logged = client.create_logged_model(exp_id, "m", run.info.run_id)
    mv = mltrail.register_model(f"models:/{logged.model_id}", "lm")
    assert mv.model_id == logged.model_id and mv.run_id == run.info.run_id
    assert client.get_model_version_download_uri("lm", "1") == logged.artifact_location
    second = mltrail.register_model(f"runs:/{run.info.run_id}/m", "lm")
    assert second.version == "2" and second.model_id == logged.model_id
    with pytest.raises(MltrailError, match="Unable to find a logged_model"):
        mltrail.register_model(f"runs:/{run.info.run_id}/nothing", "lm")


def test_registry_uri_defaults_to_tracking_uri(client: MltrailClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_registry_uri() == mltrail.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:///elsewhere.db")
    assert get_registry_uri() == "sqlite:///elsewhere.db"
    set_registry_uri("sqlite:///mine.db")
    try:
        assert MltrailClient().registry_uri == "sqlite:///mine.db"
        assert mltrail.get_registry_uri() == "sqlite:///mine.db"
    finally:
        set_registry_uri(None)
