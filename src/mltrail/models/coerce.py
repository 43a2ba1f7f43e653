"""One column or one value converted to a schema type, with MLflow's conversion rules (``mlflow/models/utils.py``).

Columns: an exact dtype passes; ``object`` -> string; integers widen to a larger integer, and to double when
they fit in 6 bytes; float32 -> double; int64 columns of only 0/1 may become float/double; any datetime64
precision -> datetime. Everything else (double -> long, double -> float, ...) is refused with
"Incompatible input types for column X. Can not safely convert A to B." Values of nested types (:class:`Array`,
:class:`Object`, :class:`Map`) are checked item by item. Used by schema enforcement (:mod:`mltrail.models.enforce`)
and by param validation (:mod:`mltrail.models.params`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mltrail import errors
from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.models.schema import AnyType, Array, DataType, Map, Object

__all__ = ["enforce_column", "enforce_type"]


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
            raise errors.invalid(
                "Please ensure that the input data of datetime column only contains timezone-naive datetime "
                f"objects. Error: {exc}"
            ) from exc
    if t is DataType.datetime and values.dtype == object:
        try:
            return values.astype(np.dtype("datetime64[ns]"), errors="raise")
        except (ValueError, TypeError) as exc:
            raise errors.invalid(f"Failed to convert column {name} from type {values.dtype} to {t!r}.") from exc
    if t is DataType.boolean and values.dtype == object:
        return values  # keeps None as None rather than False
    if not isinstance(values.dtype, np.dtype):  # pandas extension dtypes such as StringDtype
        raise errors.invalid(
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
    raise errors.invalid(
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
            raise errors.invalid(f"Expected data to be scalar, got {type(data).__name__}")
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
    raise errors.invalid(f"Invalid data type: {data_type!r}")


def _enforce_array(data: Any, arr: Array, required: bool) -> Any:
    if (not required or isinstance(arr.dtype, AnyType)) and (
        data is None or (isinstance(data, (list, np.ndarray)) and len(data) == 0)
    ):
        return data
    if not isinstance(data, (list, np.ndarray)):
        raise errors.invalid(f"Expected data to be list or numpy array, got {type(data).__name__}")
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
        raise errors.invalid(
            f"Failed to enforce schema of '{data}' with type '{obj!r}'. "
            f"Expected data to be dictionary, got {type(data).__name__}"
        )
    props = {p.name: p for p in obj.properties}
    missing = {k for k, p in props.items() if p.required} - data.keys()
    if missing:
        raise errors.invalid(f"Missing required properties: {missing}")
    invalid = data.keys() - props.keys()
    if invalid:
        raise errors.invalid(f"Invalid properties not defined in the schema found: {invalid}")
    out = dict(data)
    for key, value in data.items():
        try:
            out[key] = enforce_type(value, props[key].dtype, props[key].required)
        except MltrailError as exc:
            expected = props[key].to_dict()[key]["type"]
            raise errors.invalid(
                f"Failed to enforce schema for key `{key}`. Expected type {expected}, "
                f"received type {type(value).__name__}"
            ) from exc
    return out


def _enforce_map(data: Any, map_type: Map, required: bool) -> Any:
    if (not required or isinstance(map_type.value_type, AnyType)) and (data is None or data == {}):
        return data
    if not isinstance(data, dict):
        raise errors.invalid(f"Expected data to be a dict, got {type(data).__name__}")
    if not all(isinstance(k, str) for k in data):
        raise errors.invalid("Expected all keys in the map type data are string type.")
    return {k: enforce_type(v, map_type.value_type, required) for k, v in data.items()}
