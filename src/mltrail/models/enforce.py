"""Schema enforcement at predict time, with MLflow's rules (``mlflow/models/utils.py``).

Columns are converted by :func:`~mltrail.models.coerce.enforce_column` (MLflow's safe widenings only). Required
named columns must be present; extra columns are dropped. Tensors must match the shape (``-1`` is free) and the
dtype exactly. Params are checked by :func:`~mltrail.models.params.enforce_params`.

Every failure in the data is reported as MLflow does: "Failed to enforce schema of data '<data>' with schema
'<schema>'. Error: <reason>", error code INVALID_PARAMETER_VALUE, ``error_class`` SCHEMA_ENFORCEMENT_FAILED.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from mltrail import errors
from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.models.coerce import enforce_column, enforce_type
from mltrail.models.params import ParamSchema, enforce_params
from mltrail.models.schema import Array, ColSpec, DataType, Object, Schema, TensorSpec

__all__ = ["call_with_own_input", "enforce_schema", "enforce_tensor_spec", "validate_prediction_input"]

_logger = logging.getLogger(__name__)


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
        raise errors.invalid(f"Shape of input {actual_shape} does not match expected shape {expected_shape}.")
    cleaned = np.dtype(actual_type.char) if actual_type.char in ("U", "S") else actual_type
    if cleaned != expected_type:
        raise errors.invalid(f"dtype of input {actual_type} does not match expected dtype {expected_type}")
    return values


def _column_to_tensor(name: str | None, series: pd.Series, spec: TensorSpec) -> Any:
    label = f"input {name}" if name else "the unnamed input"
    if spec.shape[0] != -1 or -1 in spec.shape[1:]:
        raise errors.invalid(
            "For pandas dataframe input, the first dimension of shape must be a variable dimension and other "
            f"dimensions must be fixed, but in model signature the shape of {label} is {spec.shape}."
        )
    first = series.iloc[0]
    if np.isscalar(first):
        if spec.shape in ((-1,), (-1, 1)):
            return enforce_tensor_spec(np.array(series, dtype=spec.type).reshape(spec.shape), spec)
        raise errors.invalid(
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
            raise errors.invalid(
                f"The value in the Input DataFrame column '{name}' could not be converted to the expected shape "
                f"of: '{spec.shape}'. Ensure that each of the input list elements are of uniform length and that "
                f"the data can be coerced to the tensor type '{spec.type}'"
            )
        return stacked
    raise errors.invalid(
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
                    raise errors.invalid(
                        "This model contains a tensor-based model signature with input names, which suggests a "
                        "dictionary input mapping input name to a numpy array, but a dict with value type "
                        f"{type(value)} was found."
                    )
                out[spec.name] = enforce_tensor_spec(value, spec)
            return out
        if isinstance(data, pd.DataFrame):
            return {spec.name: _column_to_tensor(spec.name, data[spec.name], spec) for spec in specs}
        raise errors.invalid(
            "This model contains a tensor-based model signature with input names, which suggests a dictionary "
            "input mapping input name to tensor, or a pandas DataFrame input containing columns mapping input "
            f"name to flattened list value from tensor, but an input of type {type(data)} was found."
        )
    spec = specs[0]
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise errors.invalid("Input DataFrame is empty.")
        if len(data.columns) == 1:
            return _column_to_tensor(None, data[data.columns[0]], spec)
        if spec.shape != (-1, len(data.columns)):
            raise errors.invalid(
                "This model contains a model signature with an unnamed input. Since the input data is a pandas "
                "DataFrame containing multiple columns, the input shape must be of the structure "
                f"(-1, number_of_dataframe_columns). Instead, the input DataFrame passed had {len(data.columns)} "
                f"columns and an input shape of {spec.shape} with all values within the DataFrame of scalar type. "
                "Please adjust the passed in DataFrame to match the expected structure"
            )
        return enforce_tensor_spec(data.to_numpy(), spec)
    if isinstance(data, np.ndarray) or hasattr(data, "tocsr"):
        return enforce_tensor_spec(data, spec)
    raise errors.invalid(
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
            raise errors.invalid(
                "This model contains a column-based signature, which suggests a DataFrame input. There was an "
                f"error casting the input data to a DataFrame: {exc}"
            ) from exc
    if isinstance(data, (list, np.ndarray)):
        return pd.DataFrame(data)
    raise errors.invalid(f"Expected input to be DataFrame. Found: {type(data).__name__}")


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
        raise errors.invalid(message)
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
        raise errors.invalid(
            f"Model inference is missing inputs. The model signature declares {len(schema.inputs)} inputs  but the "
            f"provided value only has {len(data.columns)} inputs. Note: the inputs were not named in the signature "
            "so we can only verify their count."
        )
    if schema.is_tensor_spec():
        return _enforce_tensor_schema(data, schema)
    return _enforce_columns(data, schema)


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
