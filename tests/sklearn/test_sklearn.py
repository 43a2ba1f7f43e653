"""The sklearn flavor: formats, predict functions, interop with MLflow, and autolog."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mltrail
import mltrail.sklearn as msk
from mltrail import pyfunc
from mltrail.errors import MltrailError


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_iris(as_frame=True)
    return data.data, data.target.to_numpy()


@pytest.fixture(scope="module")
def classifier(iris: tuple[pd.DataFrame, np.ndarray]) -> object:
    X, y = iris
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle", "pickle"])
def test_formats_round_trip(tmp_path: Path, classifier: object, iris: tuple, fmt: str) -> None:
    X, _ = iris
    msk.save_model(classifier, tmp_path / "m", serialization_format=fmt, input_example=X.iloc[:3])
    meta = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    expected_file = "model.skops" if fmt == "skops" else "model.pkl"
    assert meta["flavors"]["sklearn"]["serialization_format"] == fmt
    assert meta["flavors"]["sklearn"]["pickled_model"] == expected_file
    assert meta["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    requirements = (tmp_path / "m" / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "numpy==" in requirements
    np.testing.assert_array_equal(msk.load_model(tmp_path / "m").predict(X), classifier.predict(X))
    np.testing.assert_array_equal(pyfunc.load_model(tmp_path / "m").predict(X), classifier.predict(X))


def test_default_is_skops_and_predict_proba(tmp_path: Path, classifier: object, iris: tuple) -> None:
    X, _ = iris
    msk.save_model(classifier, tmp_path / "m", pyfunc_predict_fn="predict_proba")
    assert (
        yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["sklearn"]["serialization_format"]
        == "skops"
    )
    np.testing.assert_allclose(pyfunc.load_model(tmp_path / "m").predict(X), classifier.predict_proba(X))
    with pytest.raises(MltrailError, match="pyfunc_predict_fn must be one of"):
        msk.save_model(classifier, tmp_path / "n", pyfunc_predict_fn="transform")
    with pytest.raises(MltrailError, match="Unrecognized serialization format"):
        msk.save_model(classifier, tmp_path / "o", serialization_format="json")


mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle"])
def test_mlflow_saved_sklearn_loads_in_mltrail(tmp_path: Path, classifier: object, iris: tuple, fmt: str) -> None:
    X, _ = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow_sklearn.save_model(classifier, str(tmp_path / "m"), serialization_format=fmt, input_example=X.iloc[:2])
    ours = pyfunc.load_model(tmp_path / "m")
    theirs = mlflow_pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert type(msk.load_model(tmp_path / "m")) is type(classifier)
    assert ours.metadata.signature.to_dict() == theirs.metadata.signature.to_dict()


@pytest.mark.parametrize("fmt", ["skops", "pickle"])
def test_mltrail_saved_sklearn_loads_in_mlflow(tmp_path: Path, classifier: object, iris: tuple, fmt: str) -> None:
    X, _ = iris
    msk.save_model(classifier, tmp_path / "m", serialization_format=fmt, input_example=X.iloc[:2])
    np.testing.assert_array_equal(mlflow_pyfunc.load_model(str(tmp_path / "m")).predict(X), classifier.predict(X))
    np.testing.assert_array_equal(mlflow_sklearn.load_model(str(tmp_path / "m")).predict(X), classifier.predict(X))


def test_log_model_and_load_by_uris(tracking_uri: str, classifier: object, iris: tuple) -> None:
    X, _ = iris
    with mltrail.start_run() as run:
        info = msk.log_model(classifier, name="clf", input_example=X.iloc[:2])
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/clf"):
        np.testing.assert_array_equal(msk.load_model(uri).predict(X), classifier.predict(X))


def test_autolog_classifier_inside_and_outside_runs(tracking_uri: str, iris: tuple) -> None:
    X, y = iris
    msk.autolog()
    try:
        with mltrail.start_run() as run:
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
        data = mltrail.get_run(run.info.run_id).data
        assert data.tags["estimator_name"] == "Pipeline"
        assert "logisticregression__max_iter" in data.params
        for key in (
            "training_accuracy_score",
            "training_f1_score",
            "training_precision_score",
            "training_recall_score",
            "training_log_loss",
            "training_roc_auc",
            "training_score",
        ):
            assert key in data.metrics, key
        outputs = mltrail.get_run(run.info.run_id).outputs.model_outputs
        assert len(outputs) == 1
        loaded = pyfunc.load_model(f"models:/{outputs[0].model_id}")
        assert loaded.metadata.signature is not None
        assert len(loaded.predict(X.iloc[:4])) == 4

        diabetes = load_diabetes(as_frame=True)
        LinearRegression().fit(diabetes.data, diabetes.target)  # no active run: one is started and ended
        last = mltrail.last_active_run()
        assert last is not None and last.info.run_id != run.info.run_id
        assert last.info.status == "FINISHED"
        metrics = mltrail.get_run(last.info.run_id).data.metrics
        for key in (
            "training_mean_squared_error",
            "training_root_mean_squared_error",
            "training_mean_absolute_error",
            "training_r2_score",
            "training_score",
        ):
            assert key in metrics, key
        assert np.isclose(metrics["training_root_mean_squared_error"] ** 2, metrics["training_mean_squared_error"])
    finally:
        msk.autolog(disable=True)
    assert not hasattr(LogisticRegression.fit, "__mltrail_autolog__")
