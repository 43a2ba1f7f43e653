"""Schema enforcement at predict time, with MLflow's conversion rules (``mlflow/models/utils.py``).

Columns: an exact dtype passes; ``object`` -> string; integers widen to a larger integer, and to double when
they fit in 6 bytes; float32 -> double; int64 columns of only 0/1 may become float/double; any datetime64
precision -> datetime. Everything else (double -> long, double -> float, ...) is refused with
"Incompatible input types for column X. Can not safely convert A to B." Required named columns must be
present; extra columns are dropped. Tensors must match the shape (``-1`` is free) and the dtype exactly.
Params: unknown keys are dropped, missing ones take their defaults, int -> long/float/double and
long/float -> double widen, anything else fails.

Every failure in the data is reported as MLflow does: "Failed to enforce schema of data '<data>' with schema
'<schema>'. Error: <reason>", error code INVALID_PARAMETER_VALUE, ``error_class`` SCHEMA_ENFORCEMENT_FAILED.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.models.schema import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    Schema,
    TensorSpec,
)

_logger = logging.getLogger(__name__)

_PARAM_WIDENING: dict[DataType, tuple[DataType, ...]] = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}


def _fail(message: str) -> MltrailError:
    return MltrailError(message, INVALID_PARAMETER_VALUE)


# ------------------------------------------------------------------------------------------------ columns
def enforce_column(name: Any, values: pd.Series, t: DataType) -> pd.Series:
    """Convert one column to ``t`` when MLflow allows it.

    Raises:
        MltrailError: "Incompatible input types for column ..." when the conversion could change values.
    """
    if values.dtype == object and t not in (DataType.binary, DataType.string):
        values = values.infer_objects()
    if t is DataType.string and (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return values
    if t is DataType.binary and (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return values
    numpy_type = t.to_numpy()
    if values.dtype == numpy_type or (t.to_pandas() is not object and values.dtype == t.to_pandas()):
        return values
    if t is DataType.binary and values.dtype.kind == "S":
        return values
    if t is DataType.datetime and values.dtype.kind == "M":
        try:
            return values.astype(np.dtype("datetime64[ns]"))
        except TypeError as exc:
            raise _fail(
                "Please ensure that the input data of datetime column only contains timezone-naive datetime "
                f"objects. Error: {exc}"
            ) from exc
    if t is DataType.datetime and values.dtype == object:
        try:
            return values.astype(np.dtype("datetime64[ns]"), errors="raise")
        except (ValueError, TypeError) as exc:
            raise _fail(f"Failed to convert column {name} from type {values.dtype} to {t!r}.") from exc
    if t is DataType.boolean and values.dtype == object:
        return values  # keeps None as None rather than False
    if not isinstance(values.dtype, np.dtype):  # pandas extension dtypes such as StringDtype
        raise _fail(
            f"Incompatible input types for column {name}. Can not safely convert {values.dtype} to {numpy_type}."
        )
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == numpy_type.kind:
        widening = size <= numpy_type.itemsize
    elif kind == "u" and numpy_type.kind == "i":
        widening = size < numpy_type.itemsize
    elif kind in ("i", "u") and numpy_type == np.float64:
        widening = size <= 6
    else:
        widening = False
    if widening:
        return values.astype(numpy_type, errors="raise")
    if values.dtype == np.int64 and numpy_type in (np.float32, np.float64) and values.isin([0, 1]).all():
        return values.astype(numpy_type, errors="raise")
    hint = ""
    if values.dtype == np.float64 and numpy_type.kind in ("i", "u") and values.hasnans:
        non_null = values.dropna()
        if (non_null == non_null.round()).all():
            hint = (
                " Hint: the type mismatch is likely caused by missing values. Integer columns in python can not "
                "represent missing values and are therefore encoded as floats. The best way to avoid this problem "
                "is to infer the model schema based on a realistic data sample (training dataset) that includes "
                "missing values. Alternatively, you can declare integer columns as doubles (float64) whenever "
                "these columns may have missing values. See `Handling Integers With Missing Values "
                "<https://www.mlflow.org/docs/latest/models.html#handling-integers-with-missing-values>`_ for more "
                "details."
            )
    raise _fail(
        f"Incompatible input types for column {name}. Can not safely convert {values.dtype} to {numpy_type}.{hint}"
    )


def _is_none_or_nan(value: Any) -> bool:
    if isinstance(value, float):
        return bool(np.isnan(value))
    return value is None or value is pd.NA or value is pd.NaT


def enforce_type(data: Any, data_type: Any, required: bool = True) -> Any:
    """Check (and convert) one value against a column type (scalar, Array, Object, Map or Any).

    Raises:
        MltrailError: when the value does not fit the type.
    """
    if isinstance(data_type, AnyType):
        return data
    if isinstance(data_type, DataType):
        if not required and _is_none_or_nan(data):
            return None
        if not np.isscalar(data):
            raise _fail(f"Expected data to be scalar, got {type(data).__name__}")
        try:
            return enforce_column("", pd.Series([data]), data_type)[0]
        except MltrailError:
            raise MltrailError(
                f"Failed to enforce schema of data `{data}` with dtype `{data_type.name}`",
                INVALID_PARAMETER_VALUE,
                error_class="SCHEMA_ENFORCEMENT_FAILED",
            ) from None
    if isinstance(data_type, Array):
        return _enforce_array(data, data_type, required)
    if isinstance(data_type, Object):
        return _enforce_object(data, data_type, required)
    if isinstance(data_type, Map):
        return _enforce_map(data, data_type, required)
    raise _fail(f"Invalid data type: {data_type!r}")


def _enforce_array(data: Any, arr: Array, required: bool) -> Any:
    if (not required or isinstance(arr.dtype, AnyType)) and (
        data is None or (isinstance(data, (list, np.ndarray)) and len(data) == 0)
    ):
        return data
    if not isinstance(data, (list, np.ndarray)):
        raise _fail(f"Expected data to be list or numpy array, got {type(data).__name__}")
    if isinstance(arr.dtype, DataType):
        if len(data) == 0:
            return data
        enforced: Any = enforce_column("", pd.Series(list(data)), arr.dtype).to_numpy()
    else:
        enforced = [enforce_type(x, arr.dtype, required) for x in data]
    if isinstance(data, list) and isinstance(enforced, np.ndarray):
        return enforced.tolist()
    if isinstance(data, np.ndarray) and isinstance(enforced, list):
        return np.array(enforced)
    return enforced


def _enforce_object(data: Any, obj: Object, required: bool) -> Any:
    if not required and (data is None or data == {}):
        return data
    if not isinstance(data, dict):
        raise _fail(
            f"Failed to enforce schema of '{data}' with type '{obj!r}'. "
            f"Expected data to be dictionary, got {type(data).__name__}"
        )
    props = {p.name: p for p in obj.properties}
    missing = {k for k, p in props.items() if p.required} - data.keys()
    if missing:
        raise _fail(f"Missing required properties: {missing}")
    invalid = data.keys() - props.keys()
    if invalid:
        raise _fail(f"Invalid properties not defined in the schema found: {invalid}")
    out = dict(data)
    for key, value in data.items():
        try:
            out[key] = enforce_type(value, props[key].dtype, props[key].required)
        except MltrailError as exc:
            expected = props[key].to_dict()[key]["type"]
            raise _fail(
                f"Failed to enforce schema for key `{key}`. Expected type {expected}, "
                f"received type {type(value).__name__}"
            ) from exc
    return out


def _enforce_map(data: Any, map_type: Map, required: bool) -> Any:
    if (not required or isinstance(map_type.value_type, AnyType)) and (data is None or data == {}):
        return data
    if not isinstance(data, dict):
        raise _fail(f"Expected data to be a dict, got {type(data).__name__}")
    if not all(isinstance(k, str) for k in data):
        raise _fail("Expected all keys in the map type data are string type.")
    return {k: enforce_type(v, map_type.value_type, required) for k, v in data.items()}


# ------------------------------------------------------------------------------------------------ tensors
def enforce_tensor_spec(values: Any, spec: TensorSpec) -> Any:
    """Check an array's shape (``-1`` matches anything) and dtype against ``spec``.

    Raises:
        MltrailError: "Shape of input ... does not match expected shape ..." or "dtype of input ...".
    """
    expected_shape, expected_type = spec.shape, spec.type
    actual_type = values.dtype if isinstance(values, np.ndarray) else values.data.dtype
    actual_shape = values.shape
    if len(expected_shape) == 1 and expected_shape[0] == -1 and expected_type == np.dtype("O"):
        return values
    if len(expected_shape) > 1 and -1 in expected_shape[1:] and len(actual_shape) == 1 and actual_type == np.dtype("O"):
        return values  # ragged
    if len(expected_shape) != len(actual_shape) or any(
        e not in (-1, a) for e, a in zip(expected_shape, actual_shape, strict=True)
    ):
        raise _fail(f"Shape of input {actual_shape} does not match expected shape {expected_shape}.")
    cleaned = np.dtype(actual_type.char) if actual_type.char in ("U", "S") else actual_type
    if cleaned != expected_type:
        raise _fail(f"dtype of input {actual_type} does not match expected dtype {expected_type}")
    return values


def _column_to_tensor(name: str | None, series: pd.Series, spec: TensorSpec) -> Any:
    label = f"input {name}" if name else "the unnamed input"
    if spec.shape[0] != -1 or -1 in spec.shape[1:]:
        raise _fail(
            "For pandas dataframe input, the first dimension of shape must be a variable dimension and other "
            f"dimensions must be fixed, but in model signature the shape of {label} is {spec.shape}."
        )
    first = series.iloc[0]
    if np.isscalar(first):
        if spec.shape in ((-1,), (-1, 1)):
            return enforce_tensor_spec(np.array(series, dtype=spec.type).reshape(spec.shape), spec)
        raise _fail(
            f"The input pandas dataframe column '{name}' contains scalar values, which requires the shape to be "
            f"(-1,) or (-1, 1), but got tensor spec shape of {spec.shape}."
        )
    if isinstance(first, (list, np.ndarray)):
        try:
            stacked = np.vstack(series.tolist()).reshape(spec.shape)
            if isinstance(first, list):
                stacked = stacked.astype(spec.type)
        except ValueError:
            stacked = None
        if stacked is None or len(stacked) != len(series):
            raise _fail(
                f"The value in the Input DataFrame column '{name}' could not be converted to the expected shape "
                f"of: '{spec.shape}'. Ensure that each of the input list elements are of uniform length and that "
                f"the data can be coerced to the tensor type '{spec.type}'"
            )
        return stacked
    raise _fail(
        "Because the model signature requires tensor spec input, the input pandas dataframe values should be "
        "either scalar value, python list containing scalar values or numpy array containing scalar values, "
        "other types are not supported."
    )


def _enforce_tensor_schema(data: Any, schema: Schema) -> Any:
    specs: list[TensorSpec] = schema.inputs  # type: ignore[assignment]
    if schema.has_input_names():
        if isinstance(data, dict):
            out = {}
            for spec in specs:
                value = data[spec.name]
                if not isinstance(value, np.ndarray):
                    raise _fail(
                        "This model contains a tensor-based model signature with input names, which suggests a "
                        "dictionary input mapping input name to a numpy array, but a dict with value type "
                        f"{type(value)} was found."
                    )
                out[spec.name] = enforce_tensor_spec(value, spec)
            return out
        if isinstance(data, pd.DataFrame):
            return {spec.name: _column_to_tensor(spec.name, data[spec.name], spec) for spec in specs}
        raise _fail(
            "This model contains a tensor-based model signature with input names, which suggests a dictionary "
            "input mapping input name to tensor, or a pandas DataFrame input containing columns mapping input "
            f"name to flattened list value from tensor, but an input of type {type(data)} was found."
        )
    spec = specs[0]
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise _fail("Input DataFrame is empty.")
        if len(data.columns) == 1:
            return _column_to_tensor(None, data[data.columns[0]], spec)
        if spec.shape != (-1, len(data.columns)):
            raise _fail(
                "This model contains a model signature with an unnamed input. Since the input data is a pandas "
                "DataFrame containing multiple columns, the input shape must be of the structure "
                f"(-1, number_of_dataframe_columns). Instead, the input DataFrame passed had {len(data.columns)} "
                f"columns and an input shape of {spec.shape} with all values within the DataFrame of scalar type. "
                "Please adjust the passed in DataFrame to match the expected structure"
            )
        return enforce_tensor_spec(data.to_numpy(), spec)
    if isinstance(data, np.ndarray) or hasattr(data, "tocsr"):
        return enforce_tensor_spec(data, spec)
    raise _fail(
        "This model contains a tensor-based model signature with no input names, which suggests a numpy array "
        f"input or a pandas dataframe input with proper column values, but an input of type {type(data)} was found."
    )


# ------------------------------------------------------------------------------------------------- schema
def _to_frame(data: Any, schema: Schema) -> pd.DataFrame:
    if isinstance(data, pd.Series):
        return pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        return data
    if np.isscalar(data):
        return pd.DataFrame([data])
    if isinstance(data, dict):
        nested = any(isinstance(c.type, (Array, Object)) for c in schema.inputs)
        scalars = all(
            np.isscalar(v) or v is None or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in data.values()
        )
        try:
            if nested or scalars:
                return pd.DataFrame([data])
            return pd.DataFrame(
                {k: v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v for k, v in data.items()}
            )
        except Exception as exc:
            raise _fail(
                "This model contains a column-based signature, which suggests a DataFrame input. There was an "
                f"error casting the input data to a DataFrame: {exc}"
            ) from exc
    if isinstance(data, (list, np.ndarray)):
        return pd.DataFrame(data)
    raise _fail(f"Expected input to be DataFrame. Found: {type(data).__name__}")


def _check_names(data: Any, schema: Schema) -> Any:
    required = schema.required_input_names()
    optional = set(schema.optional_input_names())
    if len(required) == 1 and isinstance(data, np.ndarray):
        return {required[0]: data}
    actual = (
        list(data.columns) if isinstance(data, pd.DataFrame) else list(data.keys()) if isinstance(data, dict) else []
    )
    missing = [c for c in required if c not in set(actual)]
    extra = [c for c in actual if c not in set(required) and c not in optional]
    if missing:
        message = f"Model is missing inputs {missing}."
        if extra:
            message += f" Note that there were extra inputs: {extra}."
        raise _fail(message)
    if extra:
        _logger.warning(
            "Found extra inputs in the model input that are not defined in the model signature: `%s`. "
            "These inputs will be ignored.",
            extra,
        )
    return data


def _enforce_columns(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    columns: dict[Any, Any] = {}
    if schema.has_input_names():
        pairs = [(c.name, c) for c in schema.inputs]
    else:
        pairs = list(zip(frame.columns[: len(schema.inputs)], schema.inputs, strict=False))
    for name, spec in pairs:
        if name not in frame:
            continue  # an optional column that is absent
        if isinstance(spec.type, DataType):
            columns[name] = enforce_column(name, frame[name], spec.type)
        else:
            columns[name] = pd.Series(
                [enforce_type(v, spec.type, spec.required) for v in frame[name]], index=frame.index, name=name
            )
    return pd.DataFrame(columns, index=frame.index)


# A column-schema fast path: the common request is a DataFrame whose columns are already exactly the schema's, with
# dtypes that need no conversion. Enforcement would check each column and rebuild an equal frame; a few
# whole-frame checks against a plan computed once per schema give the same result. Anything else (another
# column order, extra or missing columns, a dtype to convert, nested types) takes the general path, which also
# words the errors.
@dataclass(frozen=True)
class _FramePlan:
    names: list[Any] | None  # None for an unnamed schema (columns are matched by position)
    dtypes: tuple[np.dtype, ...]  # the dtype each column must already have
    text: tuple[bool, ...]  # string/binary columns: object and pandas string dtypes pass unchanged too
    uniform: np.dtype | None  # the dtype of every column, when they all share one (and none is text)
    # The values array of the last column Index found equal to ``names``. An Index never changes, and requests
    # to one model share one Index (see ``ServingSchema.column_index``), so most frames need no label compare.
    checked_labels: list[Any] = field(default_factory=list, compare=False)


def _frame_plan(schema: Schema) -> _FramePlan | None:
    specs = schema.inputs
    if not all(isinstance(spec, ColSpec) and isinstance(spec.type, DataType) for spec in specs):
        return None
    text = tuple(spec.type in (DataType.string, DataType.binary) for spec in specs)
    dtypes = tuple(
        np.dtype(object) if is_text else spec.type.to_numpy() for spec, is_text in zip(specs, text, strict=True)
    )
    uniform = dtypes[0] if dtypes and not any(text) and len(set(dtypes)) == 1 else None
    if not schema.has_input_names():
        return _FramePlan(None, dtypes, text, uniform)
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        return None
    return _FramePlan(names, dtypes, text, uniform)


_COPY_ON_WRITE_ALWAYS = int(pd.__version__.split(".")[0]) >= 3


def _isolated(frame: pd.DataFrame) -> pd.DataFrame:
    """A new frame over the same data that the model may change without touching the caller's frame."""
    if _COPY_ON_WRITE_ALWAYS or pd.get_option("mode.copy_on_write") is True:
        return frame.copy(deep=False)  # copy-on-write: shares the data until either side writes
    return frame.copy()


_R = TypeVar("_R")
_HANDED_OVER = threading.local()


def call_with_own_input(function: Callable[..., _R], data: Any, *args: Any, **kwargs: Any) -> _R:
    """``function(data, *args, **kwargs)``, telling enforcement that nothing else holds ``data``.

    For a caller that has just built ``data`` (the scoring server parsing a request): a DataFrame that already
    conforms to the schema is handed to the model as it is, instead of as a copy that keeps the caller's frame
    safe from the model. Only the first enforcement inside the call (that of the model called) takes it so;
    a model that passes its input on to another model gets the usual copy there.
    """
    _HANDED_OVER.frame = data
    try:
        return function(data, *args, **kwargs)
    finally:
        _HANDED_OVER.frame = None


def _take_handed_over(frame: pd.DataFrame) -> bool:
    if getattr(_HANDED_OVER, "frame", None) is frame:
        _HANDED_OVER.frame = None
        return True
    return False


def _same_labels(columns: pd.Index, plan: _FramePlan) -> bool:
    values = getattr(columns, "_data", None)
    checked = plan.checked_labels
    if values is not None and checked and checked[0] is values:
        return True
    if columns.tolist() != plan.names:
        return False
    if values is not None:
        checked[:] = [values]  # held, so its id cannot be reused by another array
    return True


def _same_dtypes(frame: pd.DataFrame, plan: _FramePlan) -> bool:
    try:
        blocks = frame._mgr.blocks  # one block of the one dtype: every column has it, without a per-column look
        if plan.uniform is not None and len(blocks) == 1 and blocks[0].dtype == plan.uniform:
            return True
        dtypes = frame._mgr.get_dtypes()  # pandas' own per-column dtypes, without building a Series
    except AttributeError:  # pragma: no cover - a pandas without them
        dtypes = frame.dtypes.to_numpy()
    for actual, expected, is_text in zip(dtypes, plan.dtypes, plan.text, strict=True):
        if isinstance(actual, np.dtype) and actual == expected:
            continue
        if is_text and isinstance(actual, pd.StringDtype):
            continue
        return False
    return True


def _conforming_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame | None:
    """``frame`` (isolated unless handed over) when it already is what column enforcement would return, else None."""
    plan = schema._memo("enforce.frame_plan", _frame_plan)
    if plan is None:
        return None
    columns = frame.columns
    if len(columns) != len(plan.dtypes) or columns.name is not None or isinstance(columns, pd.MultiIndex):
        return None
    if plan.names is None:
        if not columns.is_unique:
            return None
    elif not _same_labels(columns, plan):
        return None
    if not _same_dtypes(frame, plan):
        return None
    return frame if _take_handed_over(frame) else _isolated(frame)


def enforce_schema(data: Any, schema: Schema) -> Any:
    """Convert ``data`` to what the model expects under ``schema`` (a DataFrame, an array or a dict of arrays).

    Raises:
        MltrailError: with the reason (not yet wrapped; see :func:`validate_prediction_input`).
    """
    if isinstance(data, pd.DataFrame):
        conforming = _conforming_frame(data, schema)
        if conforming is not None:
            return conforming
    if not schema.is_tensor_spec():
        data = _to_frame(data, schema)
    elif isinstance(data, pd.Series):
        data = pd.DataFrame(data)
    if schema.has_input_names():
        data = _check_names(data, schema)
    elif not schema.is_tensor_spec() and len(data.columns) < len(schema.inputs):
        raise _fail(
            f"Model inference is missing inputs. The model signature declares {len(schema.inputs)} inputs  but the "
            f"provided value only has {len(data.columns)} inputs. Note: the inputs were not named in the signature "
            "so we can only verify their count."
        )
    if schema.is_tensor_spec():
        return _enforce_tensor_schema(data, schema)
    return _enforce_columns(data, schema)


# ------------------------------------------------------------------------------------------------- params
def _param_scalar(value: Any, dtype: DataType) -> Any:
    if value is None:
        return None
    if dtype is DataType.datetime:
        try:
            converted = np.datetime64(value).item()
        except ValueError as exc:
            raise _fail(f"Failed to convert value `{value}` from type `{type(value)}` to `{dtype}`") from exc
        if isinstance(converted, int) or not isinstance(converted, (dt.date, dt.datetime)):
            raise _fail(
                f"Failed to convert value to `{dtype}`. It must be convertible to datetime.date/datetime, got `{value}`"
            )
        return converted
    if not np.isscalar(value):
        raise _fail(f"Value must be a scalar for type `{dtype}`, got `{value}`")
    if DataType.check_type(dtype, value) or (
        dtype in _PARAM_WIDENING and any(DataType.check_type(t, value) for t in _PARAM_WIDENING[dtype])
    ):
        try:
            return dtype.to_python()(value)
        except ValueError as exc:
            raise _fail(f"Failed to convert value `{value}` from type `{type(value)}` to `{dtype}`") from exc
    raise _fail(f"Can not safely convert `{type(value)}` to `{dtype}` for value `{value}`")


def validate_param_value(spec: str, value: Any, dtype: DataType | Object, shape: tuple[int, ...] | None) -> Any:
    """Check one param value against its type and shape; return the converted value.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE "Failed to validate type and shape for <spec>, error: ...".
    """
    if shape == (-1,) and not (isinstance(value, (list, np.ndarray)) and np.array(value).ndim == 1):
        raise _fail(
            f"Value must be a 1D array with shape (-1,) for param {spec}, received {type(value).__name__} "
            f"with ndim {np.array(value).ndim}"
        )
    try:
        if isinstance(dtype, Object):
            enforce_type(deepcopy(value), dtype)
            return value
        if shape is None:
            return _param_scalar(value, dtype)
        return [_param_scalar(v, dtype) for v in value]
    except MltrailError as exc:
        raise _fail(f"Failed to validate type and shape for {spec}, error: {exc.message}") from None


def enforce_params(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any] | None:
    """Fill defaults, drop unknown params and check types against ``schema``.

    Returns:
        The params to pass to the model (``{}`` when the model declares none, so extra ones are ignored).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE listing the invalid params.
    """
    if schema is None:
        if params in (None, {}):
            return params
        _logger.warning(
            "`params` can only be specified at inference time if the model signature defines a params schema. "
            "This model does not define a params schema. Ignoring provided params: %s",
            list(params) if isinstance(params, dict) else params,
        )
        return {}
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise _fail(f"Parameters must be a dictionary. Got type '{type(params).__name__}'.")
    params = {str(k): v for k, v in params.items()}
    allowed = {p.name for p in schema.params}
    ignored = set(params) - allowed
    if ignored:
        _logger.warning(
            "Unrecognized params %s are ignored for inference. Supported params are: %s. "
            "To enable them, please add corresponding schema in ModelSignature.",
            sorted(ignored),
            allowed,
        )
    result: dict[str, Any] = {}
    invalid = set()
    for spec in schema.params:
        if spec.name in params:
            try:
                result[spec.name] = validate_param_value(repr(spec), params[spec.name], spec.dtype, spec.shape)
            except MltrailError as exc:
                invalid.add((spec.name, exc.message))
        else:
            result[spec.name] = spec.default
    if invalid:
        raise _fail(f"Invalid parameters found: {invalid!r}")
    return result


def validate_prediction_input(
    data: Any, params: dict[str, Any] | None, input_schema: Schema | None, params_schema: ParamSchema | None
) -> tuple[Any, dict[str, Any] | None]:
    """Enforce the input schema and the params schema before ``predict``.

    Returns:
        ``(data, params)`` converted for the model.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE, ``error_class`` SCHEMA_ENFORCEMENT_FAILED for data that does not
            fit: "Failed to enforce schema of data '<data>' with schema '<schema>'. Error: <reason>".
    """
    if input_schema is not None:
        try:
            data = enforce_schema(data, input_schema)
        except Exception as exc:  # any failure to convert is the caller's data not matching
            reason = exc.message if isinstance(exc, MltrailError) else str(exc)
            raise MltrailError(
                f"Failed to enforce schema of data '{data}' with schema '{input_schema}'. Error: {reason}",
                INVALID_PARAMETER_VALUE,
                error_class="SCHEMA_ENFORCEMENT_FAILED",
            ) from exc
    return data, enforce_params(params, params_schema)
