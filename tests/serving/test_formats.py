"""Request parsing of /invocations: content types, JSON shapes, signature casts, tensors (no server needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mltrail.errors import BAD_REQUEST, INVALID_PARAMETER_VALUE, MltrailError
from mltrail.serving.encode import predictions_to_json
from mltrail.serving.formats import parse_body, parse_content_type, parse_json_body
from mltrail.serving.schema import parse_signature_dict

COLUMNS = parse_signature_dict(
    {
        "inputs": json.dumps(
            [
                {"type": "double", "name": "x", "required": True},
                {"type": "long", "name": "n", "required": True},
                {"type": "string", "name": "s", "required": False},
            ]
        ),
        "params": json.dumps([{"name": "k", "default": 2, "shape": None, "type": "long"}]),
    }
)
TENSOR = parse_signature_dict(
    {"inputs": json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}])}
)


@pytest.mark.parametrize(
    ("header", "mime"),
    [
        ("application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("text/csv", "text/csv"),
        ("application/vnd.apache.parquet", "application/vnd.apache.parquet"),
    ],
)
def test_served_content_types(header: str, mime: str) -> None:
    assert parse_content_type(header) == (mime, None)


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("application/json; format=pandas-split", "Unrecognized content type parameters: format"),
        ("application/json; charset=latin-1", "only supports UTF-8"),
        ("text/plain", "only supports the following content types"),
        (None, "only supports the following content types"),
    ],
)
def test_unserved_content_types(header: str | None, fragment: str) -> None:
    mime, reason = parse_content_type(header)
    assert mime is None and reason is not None and fragment in reason


def test_dataframe_split_is_cast_to_the_signature() -> None:
    parsed = parse_json_body(b'{"dataframe_split": {"columns": ["x", "n"], "data": [[1, 2], [3, 4]]}}', COLUMNS)
    assert list(parsed.data.dtypes.astype(str)) == ["float64", "int64"]
    assert parsed.params is None and not parsed.unified_llm and parsed.is_frame


def test_dataframe_records_with_params() -> None:
    parsed = parse_json_body(b'{"dataframe_records": [{"x": 1, "n": 2}], "params": {"k": 5}}', COLUMNS)
    assert parsed.data.to_dict("records") == [{"x": 1.0, "n": 2}]
    assert parsed.params == {"k": 5}


def test_csv_uses_signature_dtypes() -> None:
    parsed = parse_body(b"x,n,s\n1,2,a\n", "text/csv", COLUMNS)
    assert parsed.data["x"].dtype == np.float64 and parsed.data["n"].dtype == np.int64


def test_parquet_round_trip() -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "n": [1, 2]})
    parsed = parse_body(frame.to_parquet(), "application/vnd.apache.parquet", COLUMNS)
    pd.testing.assert_frame_equal(parsed.data, frame)


def test_instances_rows_become_columns() -> None:
    parsed = parse_json_body(b'{"instances": [{"x": 1, "n": 2}, {"x": 3, "n": 4}]}', COLUMNS)
    assert parsed.data["x"].dtype == np.float64 and parsed.data["x"].tolist() == [1.0, 3.0]


def test_inputs_tensor_gets_the_spec_dtype() -> None:
    parsed = parse_json_body(b'{"inputs": [[1, 2, 3], [4, 5, 6]]}', TENSOR)
    assert parsed.data.dtype == np.float32 and parsed.data.shape == (2, 3)


def test_inputs_columnar() -> None:
    parsed = parse_json_body(b'{"inputs": {"x": [1, 2], "n": [3, 4]}}', COLUMNS)
    assert parsed.data["x"].dtype == np.float64 and parsed.data["n"].dtype == np.int64


def test_unified_llm_input_splits_params_by_param_schema() -> None:
    parsed = parse_json_body(b'{"messages": [{"role": "user", "content": "hi"}], "k": 3, "temperature": 0.1}', COLUMNS)
    assert parsed.unified_llm
    assert parsed.params == {"k": 3}
    assert parsed.data == {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.1}


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (b"{not json", BAD_REQUEST, "Invalid input. Ensure that input is a valid JSON formatted string"),
        (b"[1, 2]", BAD_REQUEST, "exactly one of the input fields"),
        (b'"text"', BAD_REQUEST, "Received unexpected input type"),
        (b'{"data": [[1]]}', BAD_REQUEST, "Received dictionary with input fields: ['data']"),
        (b'{"inputs": [1], "instances": [1]}', BAD_REQUEST, "exactly one of the input fields"),
        (b'{"dataframe_split": [[1, 2]]}', BAD_REQUEST, "Dataframe split format must be a dictionary. Got list"),
        (b'{"dataframe_split": {"rows": []}}', BAD_REQUEST, "must have 'data' field"),
        (b'{"dataframe_records": {"x": 1}}', BAD_REQUEST, "must be a list of records. Got dictionary"),
        (b'{"dataframe_records": [{"x": "abc", "n": 1}]}', BAD_REQUEST, "convert column x to type 'float64'"),
        (b'{"dataframe_records": [{"x": 1}], "params": [1]}', INVALID_PARAMETER_VALUE, "'params' must be"),
    ],
)
def test_bad_json_bodies(body: bytes, code: str, fragment: str) -> None:
    with pytest.raises(MltrailError) as info:
        parse_json_body(body, COLUMNS)
    assert info.value.error_code == code
    assert fragment in info.value.message
    assert info.value.details["sqlstate"] == "KAM00"


def test_bad_csv() -> None:
    with pytest.raises(MltrailError, match="Failed to parse input as a Pandas DataFrame"):
        parse_body(b"x,n\n1.0,abc\n", "text/csv", COLUMNS)


def test_long_bad_json_is_not_echoed_in_full() -> None:
    with pytest.raises(MltrailError) as info:
        parse_json_body(b"{" + b"x" * 100_000, COLUMNS)
    assert len(info.value.message) < 2000


def test_encoding_of_predictions() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert json.loads(predictions_to_json(frame)) == {"predictions": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}
    assert json.loads(predictions_to_json(np.array([[1.5], [2.5]]))) == {"predictions": [[1.5], [2.5]]}
    assert json.loads(predictions_to_json(pd.Series([1, 2], name="y"))) == {"predictions": [{"y": 1}, {"y": 2}]}
    assert json.loads(predictions_to_json({"k": np.int64(3)}, unwrapped=True)) == {"k": 3}
    assert json.loads(predictions_to_json(np.array([b"ab"], dtype=object))) == {"predictions": ["YWI=\n"]}
    assert json.loads(predictions_to_json(np.arange(6).reshape(2, 3)[:, ::2])) == {"predictions": [[0, 2], [3, 5]]}
