"""MLflow 3.x logged models through the official client: ``pyfunc.log_model`` into mltrail and back."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.data
import pandas as pd
import pytest
import yaml
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

#: Given explicitly: mlflow-skinny infers signatures only with scipy installed, which the client does not require.
_SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("double", "x"), ColSpec("double", "z")]),
    outputs=Schema([ColSpec("double")]),
)
#: Skip pip requirement inference (it imports the model in a subprocess, seconds per call); the list is the point.
_REQUIREMENTS = ["pandas"]


class AffineModel(PythonModel):
    """``y = scale * x + offset`` per row; small, deterministic and picklable."""

    def __init__(self, scale: float, offset: float) -> None:
        self.scale = scale
        self.offset = offset

    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        """Score each row."""
        return model_input["x"] * self.scale + self.offset


@pytest.fixture
def example() -> pd.DataFrame:
    """An input example: two float columns."""
    return pd.DataFrame({"x": [1.0, 2.0, 3.5], "z": [0.0, 0.0, 1.0]})


def test_log_model_and_load_back(experiment_id: str, client: mlflow.MlflowClient, example: pd.DataFrame) -> None:
    """``pyfunc.log_model`` creates a READY logged model linked to the run; it loads back and predicts the same."""
    model = AffineModel(2.0, 0.5)
    with mlflow.start_run() as run:
        mlflow.log_param("scale", 2.0)
        info = mlflow.pyfunc.log_model(
            name="affine",
            python_model=model,
            input_example=example,
            signature=_SIGNATURE,
            pip_requirements=_REQUIREMENTS,
            params={"variant": "a"},
            tags={"kind": "toy"},
        )
    run_id = run.info.run_id
    assert info.model_id.startswith("m-")
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.run_id == run_id
    assert info.signature == _SIGNATURE

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    expected = model.predict(None, example)
    pd.testing.assert_series_equal(pd.Series(loaded.predict(example)), expected, check_names=False)
    assert loaded.metadata.model_id == info.model_id
    assert loaded.metadata.run_id == run_id
    assert loaded.metadata.get_input_schema() == _SIGNATURE.inputs
    saved_example = loaded.input_example
    pd.testing.assert_frame_equal(saved_example, example)
    with pytest.raises(mlflow.exceptions.MlflowException, match="z"):
        loaded.predict(example[["x"]])  # the signature is enforced on the loaded model

    logged = mlflow.get_logged_model(info.model_id)
    assert logged.name == "affine"
    assert logged.experiment_id == experiment_id
    assert logged.source_run_id == run_id
    assert str(logged.status) == "READY"
    assert logged.params == {"variant": "a", "scale": "2.0"}  # the client adds the run's params
    assert logged.tags["kind"] == "toy"
    assert logged.artifact_location == f"mlflow-artifacts:/{experiment_id}/models/{info.model_id}/artifacts"

    outputs = client.get_run(run_id).outputs
    assert [o.model_id for o in outputs.model_outputs] == [info.model_id]

    files = {f.path for f in client.list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "python_model.pkl", "input_example.json", "requirements.txt"} <= files


def test_load_model_from_runs_uri(experiment_id: str, example: pd.DataFrame) -> None:
    """``runs:/<run_id>/<name>`` falls back to the logged-model search when the run has no such artifact."""
    model = AffineModel(-1.0, 10.0)
    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(name="from-run", python_model=model, pip_requirements=_REQUIREMENTS)
        # A second model of another name in the same run must not be picked.
        mlflow.pyfunc.log_model(name="decoy", python_model=AffineModel(0.0, 0.0), pip_requirements=_REQUIREMENTS)
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/from-run")
    assert list(loaded.predict(example)) == [9.0, 8.0, 6.5]


def test_search_logged_models_and_model_metrics(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """``search_logged_models`` filters on name, metrics and params; metrics logged with ``model_id`` attach."""
    accuracies = {"small": 0.71, "medium": 0.82, "large": 0.93}
    model_ids: dict[str, str] = {}
    with mlflow.start_run() as run:
        # Models first: log_model copies the run's metrics at its step onto each new model (MLflow 3.x client).
        for name in accuracies:
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=AffineModel(1.0, 0.0),
                pip_requirements=_REQUIREMENTS,
                params={"size": name},
            )
            model_ids[name] = info.model_id
        for name, accuracy in accuracies.items():
            mlflow.log_metric("accuracy", accuracy, model_id=model_ids[name])

    large = mlflow.get_logged_model(model_ids["large"])
    assert [(m.key, m.value, m.run_id) for m in large.metrics] == [("accuracy", 0.93, run.info.run_id)]

    everything = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert {m.model_id for m in everything} == set(model_ids.values())

    by_name = mlflow.search_logged_models(
        experiment_ids=[experiment_id], filter_string="name = 'medium'", output_format="list"
    )
    assert [m.model_id for m in by_name] == [model_ids["medium"]]

    good = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string="metrics.accuracy > 0.8",
        order_by=[{"field_name": "metrics.accuracy", "ascending": False}],
        output_format="list",
    )
    assert [m.name for m in good] == ["large", "medium"]

    by_param = mlflow.search_logged_models(
        experiment_ids=[experiment_id], filter_string="params.size = 'small'", output_format="list"
    )
    assert [m.model_id for m in by_param] == [model_ids["small"]]

    frame = mlflow.search_logged_models(experiment_ids=[experiment_id], order_by=[{"field_name": "name"}])
    assert list(frame["name"]) == ["large", "medium", "small"]

    page = client.search_logged_models(experiment_ids=[experiment_id], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_logged_models(experiment_ids=[experiment_id], max_results=2, page_token=page.token)
    assert len(rest) == 1 and not rest.token
    assert {m.model_id for m in [*page, *rest]} == set(model_ids.values())


def test_logged_model_tags_and_deletion(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Tags set and deleted on a logged model; a deleted model is gone from search and ``get``."""
    model = mlflow.initialize_logged_model(name="bare", experiment_id=experiment_id)
    assert str(model.status) == "PENDING"
    mlflow.set_logged_model_tags(model.model_id, {"stage": "candidate", "owner": "compat"})
    client.delete_logged_model_tag(model.model_id, "owner")
    finalized = mlflow.finalize_logged_model(model.model_id, "READY")
    assert str(finalized.status) == "READY"
    fetched = mlflow.get_logged_model(model.model_id)
    assert fetched.tags["stage"] == "candidate"
    assert "owner" not in fetched.tags
    assert fetched.tags["mlflow.source.type"] == "LOCAL"  # context tags the client adds on creation

    client.delete_logged_model(model.model_id)
    remaining = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert model.model_id not in {m.model_id for m in remaining}
    with pytest.raises(mlflow.exceptions.MlflowException) as info:
        mlflow.get_logged_model(model.model_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_model_metrics_per_dataset_and_model_inputs(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Metrics logged with a model and a dataset; search orders by a metric on one dataset; runs record models."""
    validation = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="validation")
    holdout = mlflow.data.from_pandas(pd.DataFrame({"x": [3.0]}), name="holdout")
    scores = {"a": (0.6, 0.9), "b": (0.8, 0.1), "c": (0.7, 0.5)}  # (validation, holdout)
    ids: dict[str, str] = {}
    with mlflow.start_run():
        for name in scores:
            ids[name] = mlflow.pyfunc.log_model(
                name=name, python_model=AffineModel(1.0, 0.0), pip_requirements=_REQUIREMENTS
            ).model_id
        for name, (on_validation, on_holdout) in scores.items():
            mlflow.log_metric("f1", on_validation, model_id=ids[name], dataset=validation)
            mlflow.log_metric("f1", on_holdout, model_id=ids[name], dataset=holdout)

    metrics = mlflow.get_logged_model(ids["a"]).metrics
    assert {(m.dataset_name, m.dataset_digest, m.value) for m in metrics} == {
        ("validation", validation.digest, 0.6),
        ("holdout", holdout.digest, 0.9),
    }

    def order_on(dataset: mlflow.data.dataset.Dataset) -> list[str]:
        models = mlflow.search_logged_models(
            experiment_ids=[experiment_id],
            order_by=[{"field_name": "metrics.f1", "ascending": False, "dataset_name": dataset.name}],
            output_format="list",
        )
        return [m.name for m in models]

    assert order_on(validation) == ["b", "c", "a"]
    assert order_on(holdout) == ["a", "c", "b"]
    on_holdout = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string="metrics.f1 > 0.4",
        datasets=[{"dataset_name": "holdout", "dataset_digest": holdout.digest}],
        output_format="list",
    )
    assert {m.name for m in on_holdout} == {"a", "c"}

    # A later run that consumes model "b" records it as a model input.
    with mlflow.start_run() as consumer:
        client.log_inputs(consumer.info.run_id, models=[mlflow.entities.LoggedModelInput(ids["b"])])
    model_inputs = client.get_run(consumer.info.run_id).inputs.model_inputs
    assert [m.model_id for m in model_inputs] == [ids["b"]]


def test_download_model_artifacts_by_model_uri(experiment_id: str, tmp_path: Path) -> None:
    """``models:/<model_id>`` resolves to the logged model's artifacts through the artifact proxy."""
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="dl", python_model=AffineModel(3.0, 0.0), pip_requirements=_REQUIREMENTS)
    local = mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri, dst_path=str(tmp_path))
    mlmodel = yaml.safe_load(Path(local, "MLmodel").read_text(encoding="utf-8"))
    assert mlmodel["model_id"] == info.model_id
    assert "python_function" in mlmodel["flavors"]
    artifact_location = mlflow.get_logged_model(info.model_id).artifact_location
    reloaded = mlflow.pyfunc.load_model(artifact_location)
    assert list(reloaded.predict(pd.DataFrame({"x": [1.0], "z": [0.0]}))) == [3.0]
