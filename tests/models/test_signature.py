"""Signature inference and JSON, checked against MLflow's own ``infer_signature`` on the same data."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from mltrail.errors import MltrailError
from mltrail.models import ModelSignature, infer_signature
from mltrail.models.params import ParamSchema, ParamSpec
from mltrail.models.schema import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    Property,
    Schema,
    TensorSpec,
)

mlflow_models = pytest.importorskip("mlflow.models")

EXAMPLES = [
    pd.DataFrame({"x": [1.0, 2.0], "n": [1, 2], "s": ["a", "b"], "b": [True, False]}),
    pd.DataFrame({"x": [1.0, None]}),
    pd.DataFrame({"f": np.array([1, 2], dtype=np.float32), "i": np.array([1, 2], dtype=np.int32)}),
    pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-02"])}),
    pd.DataFrame({"arr": [[1, 2], [3]], "obj": [{"a": 1}, {"a": 2, "b": "x"}]}),
    pd.Series([1.5, 2.5], name="y"),
    np.zeros((3, 4), dtype=np.float32),
    np.array(["a", "bb"]),
    {"a": np.zeros((2, 3)), "b": np.ones((2,), dtype=np.int64)},
    {"q": "hello", "k": 3, "nested": {"x": [1, 2]}, "none": None},
    [{"a": 1, "b": "x"}, {"a": 2}],
    [{"messages": [{"role": "user", "content": "hi"}]}],
    ["one", "two"],
    "a sentence",
    3.5,
    [],
    [[1, 2], [3, 4]],
]


@pytest.mark.parametrize("example", EXAMPLES, ids=range(len(EXAMPLES)))
def test_inputs_match_mlflow(example: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = infer_signature(example).to_dict()
        theirs = mlflow_models.infer_signature(example).to_dict()
    assert ours == theirs


def test_params_and_output_match_mlflow() -> None:
    params = {"k": 2, "temp": 0.5, "name": "x", "flag": True, "stops": ["a", "b"], "when": dt.datetime(2024, 1, 2)}
    data = pd.DataFrame({"x": [1.0]})
    ours = infer_signature(data, np.array([1, 2]), params).to_dict()
    theirs = mlflow_models.infer_signature(data, np.array([1, 2]), params).to_dict()
    assert ours == theirs
    assert json.loads(ours["params"])[0] == {"name": "k", "default": 2, "shape": None, "type": "long"}


def test_round_trip_all_types() -> None:
    inputs = Schema(
        [
            ColSpec(DataType.double, "x"),
            ColSpec(Array(DataType.string), "tags", required=False),
            ColSpec(Object([Property("a", DataType.long), Property("b", Map(AnyType()), required=False)]), "o"),
            ColSpec(Map(DataType.double), "m"),
            ColSpec(AnyType(), "any"),
        ]
    )
    outputs = Schema([TensorSpec(np.dtype("float32"), (-1, 3), "t")])
    params = ParamSchema([ParamSpec("k", DataType.long, 5), ParamSpec("stops", "string", ["x"], (-1,))])
    signature = ModelSignature(inputs, outputs, params)
    as_dict = signature.to_dict()
    assert all(isinstance(v, str) for v in as_dict.values())
    assert ModelSignature.from_dict(as_dict) == signature
    theirs = mlflow_models.ModelSignature.from_dict(as_dict)
    assert theirs.to_dict() == as_dict


def test_reprs_match_mlflow() -> None:
    data = pd.DataFrame({"x": [1.0], "s": ["a"]})
    assert repr(infer_signature(data).inputs) == repr(mlflow_models.infer_signature(data).inputs)


def test_bad_inputs() -> None:
    with pytest.raises(MltrailError, match="same type"):
        infer_signature([1, "a"])
    with pytest.raises(MltrailError, match="empty inputs"):
        Schema([])
    with pytest.raises(MltrailError, match="combination of named and unnamed"):
        Schema([ColSpec("double", "a"), ColSpec("double")])
    with pytest.raises(MltrailError, match="Failed to validate type and shape"):
        ParamSpec("k", DataType.long, "a string")
    with pytest.raises(MltrailError, match="Duplicated parameters"):
        ParamSchema([ParamSpec("k", "long", 1), ParamSpec("k", "long", 2)])
    with pytest.raises(MltrailError, match="Unsupported type 'decimal'"):
        ColSpec("decimal")
