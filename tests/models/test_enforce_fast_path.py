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
