"""The column-schema fast path of enforcement returns exactly what the general path does, and only when it applies."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrail.errors import MltrailError
from mltrail.models import enforce
from mltrail.models.enforce import validate_prediction_input
from mltrail.models.schema import ColSpec, DataType, Schema

ALL_SCALARS = Schema(
    [
        ColSpec("double", "a"),
        ColSpec("long", "b"),
        ColSpec("string", "c"),
        ColSpec("boolean", "d"),
        ColSpec("float", "e"),
        ColSpec("integer", "f"),
        ColSpec("datetime", "g"),
        ColSpec("binary", "h"),
    ]
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1.5, 2.0],
            "b": np.array([1, 2], dtype=np.int64),
            "c": ["x", "y"],
            "d": [True, False],
            "e": np.array([1, 2], dtype=np.float32),
            "f": np.array([1, 2], dtype=np.int32),
            "g": pd.to_datetime(["2020-01-01", "2020-01-02"]).astype("datetime64[ns]"),
            "h": [b"a", b"b"],
        },
        index=[5, 7],
    )


def _general(data: Any, schema: Schema, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(enforce, "_conforming_frame", lambda *_: None)
        return enforce.enforce_schema(data, schema)


@pytest.mark.parametrize(
    ("frame", "schema", "fast"),
    [
        (_frame(), ALL_SCALARS, True),
        (_frame().astype({"c": object}), ALL_SCALARS, True),
        (_frame()[["b", "a", "c", "d", "e", "f", "g", "h"]], ALL_SCALARS, False),  # other order
        (_frame().assign(b=np.array([1, 2], dtype=np.int32)), ALL_SCALARS, False),  # a widening
        (_frame().assign(z=1), ALL_SCALARS, False),  # an extra column
        (pd.DataFrame(np.zeros((3, 2))), Schema([ColSpec("double"), ColSpec("double")]), True),
        (pd.DataFrame(np.zeros((0, 2)), columns=["p", "q"]), Schema([ColSpec("double"), ColSpec("double")]), True),
        (pd.DataFrame({"x": [1.0]}), Schema([ColSpec("double", "x"), ColSpec("double", "y", required=False)]), False),
    ],
)
def test_fast_path_equals_general_path(
    frame: pd.DataFrame, schema: Schema, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (enforce._conforming_frame(frame, schema) is not None) is fast
    result = enforce.enforce_schema(frame, schema)
    pd.testing.assert_frame_equal(result, _general(frame, schema, monkeypatch), check_column_type=True)
    assert result is not frame


def test_the_model_cannot_change_the_callers_frame() -> None:
    frame = _frame()
    data, _ = validate_prediction_input(frame, None, ALL_SCALARS, None)
    data["a"] = 0.0
    data.iloc[0, 1] = 99
    data["new"] = 1
    pd.testing.assert_frame_equal(frame, _frame())


def test_mismatches_still_fail_with_the_general_message() -> None:
    schema = Schema([ColSpec("long", "n")])
    with pytest.raises(MltrailError) as info:
        validate_prediction_input(pd.DataFrame({"n": [1.5]}), None, schema, None)
    assert "Incompatible input types for column n. Can not safely convert float64 to int64." in info.value.message


def test_the_plan_follows_changes_to_the_schema() -> None:
    schema = Schema([ColSpec("double", "x")])
    frame = pd.DataFrame({"x": [1.0]})
    assert enforce._conforming_frame(frame, schema) is not None
    schema.inputs.append(ColSpec("double", "y"))
    assert enforce._conforming_frame(frame, schema) is None
    schema.inputs = [ColSpec("double", "x")]
    assert enforce._conforming_frame(frame, schema) is not None
    schema.inputs[0].type = DataType.long
    assert enforce._conforming_frame(frame, schema) is None
    assert "_memos" not in pickle.loads(pickle.dumps(schema)).__dict__


DOUBLES = Schema([ColSpec("double", "x"), ColSpec("double", "y")])


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(np.zeros((2, 2)), columns=["x", "y"]),  # one float64 block
        pd.DataFrame({"x": [0.0, 0.0], "y": [0.0, 0.0]}),  # built column by column
        pd.DataFrame(np.zeros((2, 2)), columns=["x", "y"], index=[7, 3]),
    ],
)
def test_uniform_dtype_frames_take_the_fast_path(frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    result = enforce._conforming_frame(frame, DOUBLES)
    assert result is not None
    pd.testing.assert_frame_equal(result, _general(frame, DOUBLES, monkeypatch))
    for other in (frame.astype({"y": np.float32}), frame.astype(np.int64), frame.astype("Float64")):
        assert enforce._conforming_frame(other, DOUBLES) is None  # one column (or all) of another dtype


def test_labels_are_checked_again_for_another_index() -> None:
    index = pd.Index(["x", "y"])
    assert enforce._conforming_frame(pd.DataFrame(np.zeros((1, 2)), columns=index.view()), DOUBLES) is not None
    assert enforce._conforming_frame(pd.DataFrame(np.zeros((1, 2)), columns=index.view()), DOUBLES) is not None
    for labels in (["y", "x"], ["x", "z"]):
        assert enforce._conforming_frame(pd.DataFrame(np.zeros((1, 2)), columns=labels), DOUBLES) is None
    assert enforce._conforming_frame(pd.DataFrame(np.zeros((1, 2)), columns=["x", "y"]), DOUBLES) is not None


class _Seen:
    """A model that records the frame it got and hands it to ``inner`` (another model), if any."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.got: Any = None

    def predict(self, data: Any) -> Any:
        self.got = data
        return self.inner.predict(data) if self.inner is not None else [0] * len(data)


def _pyfunc(model: Any, schema: Schema) -> Any:
    from mltrail.models.model import Model
    from mltrail.models.signature import ModelSignature
    from mltrail.pyfunc.loader import PyFuncModel

    return PyFuncModel(Model(signature=ModelSignature(inputs=schema)), model)


def test_a_handed_over_frame_reaches_the_model_itself_and_only_the_first_model() -> None:
    inner, frame = _Seen(), pd.DataFrame(np.zeros((1, 2)), columns=["x", "y"])
    outer = _Seen(_pyfunc(inner, DOUBLES))
    model = _pyfunc(outer, DOUBLES)
    assert enforce.call_with_own_input(model.predict, frame) == [0]
    assert outer.got is frame  # nobody else holds it: no copy
    assert inner.got is not frame  # passed on by the model: the usual copy
    pd.testing.assert_frame_equal(inner.got, frame)
    model.predict(frame)
    assert outer.got is not frame  # a caller's own frame: always a copy
    enforce.call_with_own_input(model.predict, frame.copy())
    assert outer.got is not frame
