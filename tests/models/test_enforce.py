"""Schema enforcement: conversions, failures and their messages, compared with MLflow's on the same inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mltrail.errors import MltrailError
from mltrail.models import infer_signature
from mltrail.models.enforce import validate_prediction_input
from mltrail.models.params import ParamSchema, ParamSpec, enforce_params
from mltrail.models.schema import ColSpec, Schema, TensorSpec

mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
mlflow_models = pytest.importorskip("mlflow.models")

COLUMNS = Schema([ColSpec("double", "x"), ColSpec("long", "n"), ColSpec("string", "s", required=False)])
TENSOR = Schema([TensorSpec(np.dtype("float32"), (-1, 2))])


def _mlflow_schema(schema: Schema) -> object:
    return mlflow_models.ModelSignature.from_dict({"inputs": schema.to_json()}).inputs


def _mlflow_error(data: object, schema: Schema) -> str:
    with pytest.raises(Exception) as info:
        mlflow_pyfunc._validate_prediction_input(data, None, _mlflow_schema(schema), None)
    return str(info.value.message)


def test_widening_conversions() -> None:
    frame = pd.DataFrame({"x": np.array([1, 2], dtype=np.int32), "n": np.array([1, 2], dtype=np.int16), "z": [0, 0]})
    data, _ = validate_prediction_input(frame, None, COLUMNS, None)
    assert list(data.columns) == ["x", "n"]  # extra column dropped, optional missing column skipped
    assert data["x"].dtype == np.float64 and data["n"].dtype == np.int64


def test_zero_one_int64_becomes_double() -> None:
    data, _ = validate_prediction_input(pd.DataFrame({"x": [0, 1], "n": [1, 2]}), None, COLUMNS, None)
    assert data["x"].dtype == np.float64


@pytest.mark.parametrize(
    "bad",
    [
        pd.DataFrame({"n": [1]}),
        pd.DataFrame({"x": [1.5], "n": [1.5]}),
        pd.DataFrame({"x": [5], "n": [1]}),
        pd.DataFrame({"x": [1.5, 2.5], "n": [1.0, np.nan]}),
    ],
    ids=["missing", "double-to-long", "int64-to-double", "nan-in-long"],
)
def test_column_failures_match_mlflow(bad: pd.DataFrame) -> None:
    with pytest.raises(MltrailError) as info:
        validate_prediction_input(bad, None, COLUMNS, None)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert info.value.details == {"error_class": "SCHEMA_ENFORCEMENT_FAILED"}
    assert info.value.message == _mlflow_error(bad, COLUMNS)


def test_missing_column_message() -> None:
    with pytest.raises(MltrailError) as info:
        validate_prediction_input(pd.DataFrame({"n": [1], "q": [2]}), None, COLUMNS, None)
    assert info.value.message.startswith("Failed to enforce schema of data '")
    assert info.value.message.endswith(
        "with schema '['x': double (required), 'n': long (required), 's': string (optional)]'. "
        "Error: Model is missing inputs ['x']. Note that there were extra inputs: ['q']."
    )


def test_type_failure_names_column_and_types() -> None:
    with pytest.raises(
        MltrailError, match=r"Incompatible input types for column n\. Can not safely convert float64 to int64"
    ):
        validate_prediction_input(pd.DataFrame({"x": [1.0], "n": [1.5]}), None, COLUMNS, None)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 3), dtype=np.float32), np.zeros((2, 2), dtype=np.float64), np.zeros((2,), dtype=np.float32)],
    ids=["shape", "dtype", "rank"],
)
def test_tensor_failures_match_mlflow(bad: np.ndarray) -> None:
    with pytest.raises(MltrailError) as info:
        validate_prediction_input(bad, None, TENSOR, None)
    assert info.value.message == _mlflow_error(bad, TENSOR)


def test_tensor_ok_and_dataframe_to_tensor() -> None:
    good = np.ones((3, 2), dtype=np.float32)
    assert validate_prediction_input(good, None, TENSOR, None)[0] is good
    converted, _ = validate_prediction_input(
        pd.DataFrame({"a": [1.0], "b": [2.0]}).astype("float32"), None, TENSOR, None
    )
    assert converted.shape == (1, 2)


def test_nested_types() -> None:
    schema = infer_signature([{"q": "hi", "opts": {"k": 1}, "tags": ["a"]}]).inputs
    ok, _ = validate_prediction_input({"q": "x", "opts": {"k": 2}, "tags": ["b", "c"]}, None, schema, None)
    assert ok["tags"][0] == ["b", "c"]
    with pytest.raises(MltrailError, match="Failed to enforce schema for key `k`"):
        validate_prediction_input({"q": "x", "opts": {"k": "no"}, "tags": ["b"]}, None, schema, None)


def test_params_defaults_widening_and_errors() -> None:
    schema = ParamSchema(
        [ParamSpec("k", "long", 1), ParamSpec("t", "double", 0.5), ParamSpec("s", "string", ["a"], (-1,))]
    )
    assert enforce_params(None, schema) == {"k": 1, "t": 0.5, "s": ["a"]}
    assert enforce_params({"t": 2, "unknown": 1}, schema) == {"k": 1, "t": 2.0, "s": ["a"]}
    with pytest.raises(MltrailError) as info:
        enforce_params({"k": "x"}, schema)
    assert info.value.message == (
        "Invalid parameters found: {('k', \"Failed to validate type and shape for 'k': long (default: 1), "
        "error: Can not safely convert `<class 'str'>` to `DataType.long` for value `x`\")}"
    )
    from mlflow.models.utils import _enforce_params_schema

    theirs = mlflow_models.ModelSignature.from_dict({"params": schema.to_json()}).params
    with pytest.raises(Exception) as mlflow_info:
        _enforce_params_schema({"k": "x"}, theirs)
    assert mlflow_info.value.message == info.value.message


def test_params_without_schema_are_dropped() -> None:
    assert enforce_params({"k": 1}, None) == {}
    assert enforce_params(None, None) is None
