"""Request bodies of ``/invocations`` -> model input, with MLflow's rules and messages.

- ``text/csv`` and ``application/vnd.apache.parquet``: a pandas DataFrame (CSV dtypes from the signature).
- ``application/json``: an object with exactly one of ``dataframe_split``, ``dataframe_records`` (a DataFrame,
  cast to the signature's column types), ``instances`` or ``inputs`` (numpy tensors, or dicts of them), and an
  optional ``params`` object; or a unified LLM body (``messages``, ``prompt`` or ``input``) whose keys named in
  the param schema become params and the rest the data, answered without the ``predictions`` wrapper.

Everything here raises :class:`~mltrail.errors.MltrailError` (HTTP 400) with MLflow's wording for bad input.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from mltrail.errors import INVALID_PARAMETER_VALUE
from mltrail.serving.errors import (
    REQUIRED_INPUT_FORMAT,
    SCORING_PROTOCOL_CHANGE_INFO,
    invalid_input,
    serving_error,
    shorten,
)
from mltrail.serving.schema import InputSpec, ServingSchema

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET)

DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
SUPPORTED_FORMATS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS_KEY = "params"
LLM_KEYS = ("messages", "prompt", "input")

try:  # orjson parses several times faster than json; both give the same Python objects.
    import orjson as _orjson

    _json_loads = _orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (_orjson.JSONDecodeError, UnicodeDecodeError, ValueError)
except ImportError:  # pragma: no cover - orjson is part of the server extra
    import json as _json

    _json_loads = _json.loads
    _JSON_ERRORS = (ValueError, UnicodeDecodeError)


@dataclass
class ParsedInput:
    """A request turned into model input.

    Attributes:
        data: what ``predict`` receives (DataFrame, ndarray, dict, list...).
        params: the ``params`` object, or None.
        unified_llm: the body was a unified LLM input: answer without the ``predictions`` wrapper.
    """

    data: Any
    params: dict[str, Any] | None = None
    unified_llm: bool = False

    @property
    def is_frame(self) -> bool:
        """Whether ``data`` is a pandas DataFrame (the only kind that adaptive batching combines)."""
        kind = type(self.data)
        return kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas")


# ------------------------------------------------------------------------------------------ content type
def parse_content_type(content_type: str | None) -> tuple[str | None, str | None]:
    """Split a Content-Type header: ``(mime type, None)`` when it is served, ``(None, reason)`` for a 415."""
    parts = [part.strip() for part in (content_type or "").split(";")]
    mime, pairs = parts[0].lower(), [p for p in parts[1:] if p]
    params = {key.strip().lower(): value.strip().strip('"') for key, _, value in (p.partition("=") for p in pairs)}
    if params.get("charset", "utf-8").lower() != "utf-8":
        return None, "The scoring server only supports UTF-8"
    if unexpected := sorted(set(params) - {"charset"}):
        return None, f"Unrecognized content type parameters: {', '.join(unexpected)}. {SCORING_PROTOCOL_CHANGE_INFO}"
    if mime not in CONTENT_TYPES:
        return None, (
            f"This predictor only supports the following content types: Types: {list(CONTENT_TYPES)}. "
            f"Got '{content_type or ''}'."
        )
    return mime, None


def parse_body(body: bytes, mime: str, schema: ServingSchema) -> ParsedInput:
    """Parse a request body of a served content type."""
    if mime == CONTENT_TYPE_JSON:
        return parse_json_body(body, schema)
    if mime == CONTENT_TYPE_CSV:
        return ParsedInput(parse_csv(body, schema))
    return ParsedInput(parse_parquet(body))


# ------------------------------------------------------------------------------------------------ CSV
def parse_csv(body: bytes | str, schema: ServingSchema) -> Any:
    """A CSV body (``DataFrame.to_csv`` output) as a DataFrame, with column dtypes from the signature."""
    import pandas as pd

    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid_input(f"Ensure that input is a valid UTF-8 encoded string. Error: '{exc!r}'") from exc
    else:
        text = body
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=schema.csv_dtypes() or None)
    except Exception as exc:
        raise serving_error(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas "
            f"DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '{exc}'",
            stack_trace=True,
        ) from exc
    return cast_frame(frame, schema, skip_scalars=True)


def parse_parquet(body: bytes) -> Any:
    """A Parquet body (``DataFrame.to_parquet`` output) as a DataFrame."""
    import pandas as pd

    try:
        return pd.read_parquet(io.BytesIO(body))
    except Exception as exc:
        raise serving_error(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid Parquet Pandas "
            f"DataFrame produced using the `pandas.DataFrame.to_parquet()` method. Error: '{exc}'",
            stack_trace=True,
        ) from exc


# ----------------------------------------------------------------------------------------------- JSON
def decode_json(body: bytes | str) -> dict[str, Any]:
    """Decode a JSON body that must be an object."""
    try:
        decoded = _json_loads(body)
    except _JSON_ERRORS as exc:
        shown = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        raise invalid_input(
            f"Ensure that input is a valid JSON formatted string. Error: '{exc!r}'\nInput: \n{shorten(shown)}\n"
        ) from exc
    if isinstance(decoded, dict):
        return decoded
    if isinstance(decoded, list):
        raise invalid_input(f"{REQUIRED_INPUT_FORMAT}. Received a list.")
    raise invalid_input(f"{REQUIRED_INPUT_FORMAT}. Received unexpected input type '{type(decoded)}'.")


def parse_json_body(body: bytes | str | dict[str, Any], schema: ServingSchema) -> ParsedInput:
    """Parse an ``application/json`` body into model input, params and the unified-LLM flag."""
    decoded = body if isinstance(body, dict) else decode_json(body)
    if any(key in decoded for key in LLM_KEYS):
        data = {k: v for k, v in decoded.items() if k not in schema.param_names}
        params = {k: v for k, v in decoded.items() if k in schema.param_names}
        return ParsedInput(data, params or None, unified_llm=True)
    params = decoded.get(PARAMS_KEY)
    if params is not None and not isinstance(params, dict):
        raise serving_error(
            f"'params' must be a JSON object mapping parameter names to values, got {type(params).__name__}.",
            INVALID_PARAMETER_VALUE,
        )
    format_keys = [key for key in SUPPORTED_FORMATS if key in decoded]
    if schema.from_type_hint:
        if INPUTS not in decoded:
            raise serving_error(
                "Request payload must be a dictionary with 'inputs' key when the model contains a valid type hint. "
                f"Found keys in payload: {sorted(decoded)}.",
                INVALID_PARAMETER_VALUE,
            )
        return ParsedInput(decoded[INPUTS], params)
    if len(format_keys) != 1:
        received = [key for key in decoded if key != PARAMS_KEY]
        if not format_keys and schema.llm_field is not None:
            raise serving_error(_missing_llm_field(schema.llm_field, received))
        raise serving_error(
            f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: {received}. "
            f"{SCORING_PROTOCOL_CHANGE_INFO}"
        )
    key = format_keys[0]
    payload = decoded[key]
    if key == DF_SPLIT:
        data = frame_from_split(payload, schema)
    elif key == DF_RECORDS:
        data = frame_from_records(payload, schema)
    elif key == INSTANCES:
        data = parse_instances(payload, schema)
    else:
        data = parse_inputs(payload, schema)
    return ParsedInput(data, params)


def _missing_llm_field(name: str, received: list[str]) -> str:
    """The error for a language model's request without its ``messages`` / ``prompt`` field."""
    if name == "messages":
        what, example = "chat model", '{"messages": [{"role": "user", "content": "Hello"}]}'
        shape = 'a list of {"role": ..., "content": ...} objects'
    else:
        what, example, shape = "completions model", '{"prompt": "Hello"}', "the text to complete"
    return (
        f"This {what} expects a '{name}' field ({shape}), e.g. {example}; the request has none. "
        f"Received dictionary with input fields: {received}. "
        f"(Rows in one of {list(SUPPORTED_FORMATS)} are accepted too.)"
    )


# ----------------------------------------------------------------------------------------- DataFrames
def frame_from_split(payload: Any, schema: ServingSchema) -> Any:
    """``{"columns": [...], "data": [[...]], "index": [...]}`` -> DataFrame cast to the signature."""
    import pandas as pd

    if not isinstance(payload, dict):
        kind = "list" if isinstance(payload, list) else f"type {type(payload)}"
        raise invalid_input(f"Dataframe split format must be a dictionary. Got {kind}.")
    keys = set(payload)
    if "data" not in keys or keys - {"columns", "data", "index"}:
        raise invalid_input(
            "Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. "
            f"Got {sorted(keys)}."
        )
    fast = _numeric_frame(payload, schema)
    if fast is not None:
        return fast
    try:
        frame = pd.DataFrame(data=payload["data"], columns=payload.get("columns"), index=payload.get("index"))
    except Exception as exc:
        raise invalid_input(
            f"Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '{exc}'"
        ) from exc
    return cast_frame(frame, schema)


_NUMERIC_KINDS = {"float64", "float32", "int64", "int32"}


def _numeric_frame(payload: dict[str, Any], schema: ServingSchema) -> Any:
    """Fast path: every column of a ``split`` payload has the same numeric type in the signature.

    One 2-D numpy conversion instead of pandas' row-wise inference and per-column casts. Returns None (use the
    general path, which also words the errors) when the payload does not fit: other types, an index, ragged
    rows, values that do not convert exactly (e.g. 1.5 for a long column, strings, nulls for integers).
    """
    columns = payload.get("columns")
    data = payload["data"]
    if not schema.has_names or "index" in payload or not isinstance(columns, list) or not isinstance(data, list):
        return None
    try:
        dtype = schema.shared_scalar_dtype(columns)
    except TypeError:  # an unhashable column label: the general path words the error
        return None
    if dtype not in _NUMERIC_KINDS or not data:
        return None
    import numpy as np
    import pandas as pd

    try:
        array = np.array(data, dtype=dtype if dtype.startswith("float") else None)
    except (ValueError, TypeError):
        return None
    if array.ndim != 2 or array.shape[1] != len(columns) or array.dtype.kind not in "fiu":
        return None
    if array.dtype != np.dtype(dtype):
        converted = array.astype(dtype)
        if not np.array_equal(converted, array):
            return None
        array = converted
    return pd.DataFrame(array, columns=schema.column_index(columns), copy=False)


def frame_from_records(payload: Any, schema: ServingSchema) -> Any:
    """``[{"col": value, ...}, ...]`` -> DataFrame cast to the signature."""
    import pandas as pd

    if not isinstance(payload, list):
        kind = "dictionary" if isinstance(payload, dict) else f"type {type(payload)}"
        raise invalid_input(f"Dataframe records format must be a list of records. Got {kind}.")
    try:
        frame = pd.DataFrame(data=payload)
    except Exception as exc:
        raise invalid_input(
            "Provided dataframe_records field is not a valid dataframe representation in 'records' format. "
            f"Error: '{exc}'"
        ) from exc
    return cast_frame(frame, schema)


def _columns_to_cast(frame: Any, schema: ServingSchema) -> list[tuple[Any, InputSpec]]:
    if schema.has_names:
        return [(spec.name, spec) for spec in schema.inputs if spec.name in frame.columns]
    if schema.is_tensor and len(schema.inputs) == 1:
        return [(col, schema.inputs[0]) for col in frame.columns]
    return list(zip(frame.columns, schema.inputs, strict=False))


def cast_frame(frame: Any, schema: ServingSchema, skip_scalars: bool = False) -> Any:
    """Cast a DataFrame's columns to the signature's types (MLflow's ``cast_df_types_according_to_schema``).

    Scalar columns get their numpy dtype, binary columns are base64-decoded, datetime columns parsed; array,
    object, map and any columns are left to predict-time enforcement. A failure names the column and the type.
    """
    if not schema.has_schema or (frame.empty and not len(frame.columns)):
        return frame
    import numpy as np
    import pandas as pd

    current = dict(frame.dtypes.items())
    for column, spec in _columns_to_cast(frame, schema):
        dtype = spec.numpy_dtype
        if dtype is None or (skip_scalars and spec.type not in ("binary", "datetime")):
            continue
        if dtype not in ("object", "datetime64[ns]") and current.get(column) == dtype and spec.type != "binary":
            continue  # already the right dtype
        series = frame[column]
        try:
            if spec.type == "binary":
                frame[column] = series.map(lambda x: base64.decodebytes(bytes(x, "utf8")) if isinstance(x, str) else x)
            elif spec.type == "datetime":
                frame[column] = pd.to_datetime(series)
            elif spec.type == "tensor" and len(series) and isinstance(series.iloc[0], list):
                continue  # a multidimensional column: enforcement converts it
            elif dtype == "object":
                if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
                    frame[column] = series.astype(object)
            elif series.dtype != np.dtype(dtype):
                frame[column] = series.astype(dtype)
        except Exception as exc:
            raise invalid_input(
                "Data is not compatible with model signature. "
                f"Failed to convert column {column} to type '{np.dtype(dtype) if dtype != 'object' else 'object'}'. "
                f"Error: '{exc!r}'"
            ) from exc
    return frame


# -------------------------------------------------------------------------------------------- tensors
def _convert(value: Any, spec: InputSpec | None) -> Any:
    """One input value -> numpy (MLflow's ``convert_data_type``)."""
    import numpy as np

    try:
        if spec is None:
            return np.array(value)
        if spec.type == "tensor":
            return np.array(value, dtype=spec.tensor_dtype)
        if spec.is_scalar:
            dtype = np.dtype(spec.numpy_dtype) if spec.type not in ("binary", "datetime") else None
            if isinstance(value, (list, np.ndarray)):
                return np.array(value, dtype)
            return np.array([value], dtype)[0]
        if spec.type == "array":
            return np.array(value)
        return value  # object, map, any: enforcement checks them
    except Exception as exc:
        raise invalid_input(f"Failed to convert data `{shorten(repr(value), 200)}` to type `{spec}`: {exc}") from exc


def _length_check(data: dict[str, Any], schema: ServingSchema) -> None:
    import numpy as np

    sized = {k: v for k, v in data.items() if isinstance(v, (list, np.ndarray))}
    if schema.has_names:
        specs = schema.by_name()
        cols = [c for c in sized if c in specs and specs[c].required and specs[c].type != "array"]
    else:
        cols = list(sized)
    if cols and any(len(sized[c]) != len(sized[cols[0]]) for c in cols[1:]):
        raise invalid_input("The length of values for each input/column name are not the same")


def _cast_inputs(data: Any, schema: ServingSchema) -> Any:
    import numpy as np

    specs = schema.by_name() if schema.has_names else {}
    if schema.has_schema:
        if len(specs) == 1 and isinstance(data, list) and not any(isinstance(x, dict) for x in data):
            data = {next(iter(specs)): data}  # one named input given as a bare list
        elif not schema.has_names and not (isinstance(data, list) or np.isscalar(data)):
            raise invalid_input(
                "Failed to parse input data. This model contains an un-named model signature which expects a single "
                f"n-dimensional array or a single value as input, however, an input of type {type(data)} was found."
            )
    if isinstance(data, dict):
        return {col: _convert(value, specs.get(col)) for col, value in data.items()}
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        return [{col: _convert(v, specs.get(col)) for col, v in row.items()} for row in data]
    return _convert(data, schema.inputs[0] if schema.has_schema else None)


def parse_instances(payload: Any, schema: ServingSchema) -> Any:
    """TF-serving ``instances``: rows of dicts become columns of arrays; anything else a tensor."""
    import numpy as np

    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        specs = schema.by_name() if schema.has_names else {}
        columns: dict[str, list[Any]] = {}
        for row in payload:
            if not isinstance(row, dict):
                raise invalid_input("Every item of 'instances' must be an object when the first one is.")
            for col, value in row.items():
                columns.setdefault(col, []).append(_convert(value, specs.get(col)))
        data: Any = {col: np.array(values) for col, values in columns.items()}
    else:
        data = _cast_inputs(payload, schema)
    if isinstance(data, dict):
        _length_check(data, schema)
    return data


def parse_inputs(payload: Any, schema: ServingSchema) -> Any:
    """TF-serving ``inputs``: columnar (a dict of arrays) or one tensor."""
    return _cast_inputs(payload, schema)
