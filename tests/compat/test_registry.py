"""The model registry through the official mlflow client against an mltrail server (§1.3)."""

from __future__ import annotations

import json
import uuid

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

_SIGNATURE = ModelSignature(inputs=Schema([ColSpec("double", "x")]), outputs=Schema([ColSpec("double")]))
_REQUIREMENTS = ["pandas"]


class Scale(PythonModel):
    """``y = factor * x``."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        """Score each row."""
        return model_input["x"] * self.factor


def _name() -> str:
    return f"reg-{uuid.uuid4().hex[:10]}"


def test_log_model_with_registered_name_alias_and_load(experiment_id: str, client: mlflow.MlflowClient) -> None:
    name = _name()
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Scale(2.0),
            signature=_SIGNATURE,
            pip_requirements=_REQUIREMENTS,
            registered_model_name=name,
        )
    assert str(info.registered_model_version) == "1"
    mv = client.get_model_version(name, "1")
    assert mv.run_id == info.run_id and mv.status == "READY"
    tag = client.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert {"name": name, "version": 1} in json.loads(tag) or {"name": name, "version": "1"} in json.loads(tag)
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(loaded.predict(pd.DataFrame({"x": [1.0, 3.0]}))) == [2.0, 6.0]
    by_version = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert list(by_version.predict(pd.DataFrame({"x": [5.0]}))) == [10.0]
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "champion")


def test_register_model_from_logged_model_and_runs_uri(experiment_id: str, client: mlflow.MlflowClient) -> None:
    name = _name()
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="m", python_model=Scale(3.0), signature=_SIGNATURE, pip_requirements=_REQUIREMENTS
        )
    first = mlflow.register_model(info.model_uri, name)
    second = mlflow.register_model(f"runs:/{run.info.run_id}/m", name)
    assert (first.version, second.version) == ("1", "2")
    assert client.get_model_version(name, "2").run_id == run.info.run_id
    client.transition_model_version_stage(name, "2", "Staging")
    latest = client.get_latest_versions(name, stages=["Staging"])
    assert [v.version for v in latest] == ["2"]
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/Staging")
    assert list(loaded.predict(pd.DataFrame({"x": [1.0]}))) == [3.0]
    loaded_latest = mlflow.pyfunc.load_model(f"models:/{name}/latest")
    assert list(loaded_latest.predict(pd.DataFrame({"x": [2.0]}))) == [6.0]


def test_search_with_paging_tags_and_descriptions(client: mlflow.MlflowClient) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    for i in range(5):
        client.create_registered_model(f"{prefix}-{i}", tags={"i": str(i)}, description=f"model {i}")
        client.create_model_version(f"{prefix}-{i}", f"s3://bucket/{prefix}/{i}", tags={"v": "1"})
    first = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2)
    assert [m.name for m in first] == [f"{prefix}-0", f"{prefix}-1"] and first.token
    names = [m.name for m in first]
    token = first.token
    while token:
        page = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=token)
        names += [m.name for m in page]
        token = page.token
    assert names == [f"{prefix}-{i}" for i in range(5)]
    fluent = mlflow.search_registered_models(filter_string=f"name LIKE '{prefix}-%' AND tags.i = '3'")
    assert [m.name for m in fluent] == [f"{prefix}-3"] and fluent[0].description == "model 3"
    versions = client.search_model_versions(f"name = '{prefix}-4'")
    assert [(v.version, v.tags) for v in versions] == [("1", {"v": "1"})]
    client.update_registered_model(f"{prefix}-4", description="changed")
    client.update_model_version(f"{prefix}-4", "1", description="v1")
    client.set_model_version_tag(f"{prefix}-4", "1", "k", "x")
    client.rename_registered_model(f"{prefix}-4", f"{prefix}-renamed")
    mv = client.get_model_version(f"{prefix}-renamed", "1")
    assert mv.description == "v1" and mv.tags == {"v": "1", "k": "x"}
    assert client.get_registered_model(f"{prefix}-renamed").description == "changed"
    client.delete_model_version(f"{prefix}-renamed", "1")
    client.delete_registered_model(f"{prefix}-renamed")
    with pytest.raises(MlflowException, match="not found"):
        client.get_registered_model(f"{prefix}-renamed")


def test_errors_match_mlflow(client: mlflow.MlflowClient) -> None:
    name = _name()
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as exc:
        client.create_registered_model(name)
    assert exc.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.create_model_version(name, "s3://bucket/x")
    with pytest.raises(MlflowException, match="reserved"):
        client.set_registered_model_alias(name, "v1", "1")
    with pytest.raises(MlflowException) as missing:
        client.get_model_version(name, "7")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_copy_model_version(client: mlflow.MlflowClient) -> None:
    src, dst = _name(), _name()
    client.create_registered_model(src)
    client.create_model_version(src, "s3://bucket/copy")
    copied = client.copy_model_version(f"models:/{src}/1", dst)
    assert copied.name == dst and copied.version == "1"
    assert client.get_model_version_download_uri(dst, "1") == "s3://bucket/copy"
