"""Schema inference from example data, following MLflow's rules (``mlflow/types/utils.py``).

- DataFrame -> one ColSpec per column (required unless the column has nulls); Series -> one ColSpec.
- ndarray -> one unnamed TensorSpec with the first dimension variable (``-1``).
- dict of ndarrays -> named TensorSpecs; other dicts -> one ColSpec per key (Array/Object/scalar).
- list of dicts -> one ColSpec per key (optional when missing or None in some rows).
- list of scalars -> one unnamed ColSpec of the item type; ``[]`` -> one string column.
- a scalar (str, int, float, bool, bytes, datetime) -> one unnamed ColSpec.
"""

from __future__ import annotations

import datetime as dt
import warnings
from copy import deepcopy
from typing import Any

import numpy as np
import pandas as pd

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.models.params import ParamSchema, ParamSpec
from mltrail.models.schema import (
    AnyType,
    Array,
    ColSpec,
    ColumnType,
    DataType,
    Object,
    Property,
    Schema,
    TensorSpec,
)

MULTIPLE_TYPES_ERROR_MSG = (
    "Expected all values in the list to be of the same type. To specify a model signature with a list containing "
    "elements of multiple types, define the signature manually using the Array(AnyType()) type from "
    "mltrail.models.schema."
)

_SCALARS: dict[type, DataType] = {
    bool: DataType.boolean,
    np.bool_: DataType.boolean,
    int: DataType.long,
    np.int64: DataType.long,
    np.int32: DataType.integer,
    float: DataType.double,
    np.float64: DataType.double,
    np.float32: DataType.float,
    str: DataType.string,
    np.str_: DataType.string,
    bytes: DataType.binary,
    np.bytes_: DataType.binary,
    bytearray: DataType.binary,
}


def _is_none_or_nan(value: Any) -> bool:
    if isinstance(value, float):
        return bool(np.isnan(value))
    return value is None or value is pd.NA or value is pd.NaT


def clean_tensor_type(dtype: np.dtype) -> np.dtype:
    """Drop the size of flexible string/bytes dtypes (``<U5`` -> ``<U0``), as MLflow stores them."""
    if dtype.char in ("U", "S"):
        return np.dtype(dtype.char)
    return dtype


def tensor_shape(data: Any) -> tuple[int, ...]:
    """The shape of an array with the first (batch) dimension replaced by ``-1``."""
    shape = tuple(data.shape)
    return (-1, *shape[1:]) if shape else shape


def numpy_datatype(dtype: Any) -> DataType:
    """The DataType of a numpy (or pandas extension) dtype.

    Raises:
        MltrailError: for object dtypes and unsupported kinds.
    """
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in ("i", "u"):
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    elif kind == "f":
        if size <= 4:
            return DataType.float
        if size <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    raise errors.invalid(f"Unsupported numpy data type '{dtype}', kind '{kind}'")


def _scalar_type(data: Any) -> DataType:
    found = _SCALARS.get(type(data))
    if found is not None:
        return found
    if isinstance(data, (dt.date, dt.datetime, np.datetime64, pd.Timestamp)):
        return DataType.datetime
    if isinstance(data, np.generic):
        return numpy_datatype(data.dtype)
    raise errors.invalid(f"Data {data} is not one of the supported DataType: {[t.name for t in DataType]}")


def infer_datatype(data: Any) -> ColumnType | None:
    """The column type of one value: dict -> Object, list/array -> Array, None/empty -> Any, else a scalar.

    Returns None for an empty numpy array (undetermined).
    """
    if _is_none_or_nan(data) or (isinstance(data, (list, dict)) and not data):
        return AnyType()
    if isinstance(data, dict):
        props = []
        for key, value in data.items():
            dtype = infer_datatype(value)
            if dtype is None:
                raise errors.invalid("Dictionary value must not be an empty numpy array.")
            props.append(Property(str(key), dtype, required=not isinstance(dtype, AnyType)))
        return Object(props)
    if isinstance(data, (list, np.ndarray)):
        return _array_type(data)
    return _scalar_type(data)


def _array_type(data: Any) -> Array | None:
    result: Array | None = None
    for item in data:
        dtype = infer_datatype(item)
        if dtype is None:
            continue
        if result is None:
            result = Array(dtype)
        elif isinstance(result.dtype, DataType):
            if not isinstance(dtype, AnyType) and dtype != result.dtype:
                raise errors.invalid(MULTIPLE_TYPES_ERROR_MSG)
        else:
            try:
                result = Array(result.dtype._merge(dtype))  # type: ignore[arg-type]
            except MltrailError as exc:
                raise errors.invalid(MULTIPLE_TYPES_ERROR_MSG) from exc
    return result


def _colspec_type(data: Any) -> ColumnType:
    dtype = infer_datatype(data)
    if dtype is None:
        raise errors.invalid(f"Numpy array must include at least one non-empty item. Invalid input `{data}`.")
    return dtype


def _item_type(data: list[Any] | pd.Series) -> ColumnType:
    dtype = _colspec_type(list(data))
    return dtype.dtype if isinstance(dtype, Array) else dtype


def _pandas_column_type(col: pd.Series) -> ColumnType:
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind == "O":
        try:
            return _item_type(col.to_list())
        except MltrailError:
            if pd.api.types.is_string_dtype(col):
                return DataType.string
            raise
    if isinstance(col.dtype, pd.StringDtype):
        return DataType.string
    return numpy_datatype(col.dtype)


def _required(values: Any) -> bool:
    if isinstance(values, (list, pd.Series)):
        return not any(_is_none_or_nan(x) for x in values)
    return not _is_none_or_nan(values)


def infer_schema(data: Any) -> Schema:
    """The :class:`Schema` of example data (see the module docstring for the rules).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for data of an unsupported kind or mixed item types.
    """
    if isinstance(data, list) and not data:
        return Schema([ColSpec(DataType.string)])
    if isinstance(data, list) and all(isinstance(v, dict) for v in data):
        columns: dict[str, list[Any]] = {}
        for row in data:
            for key, value in row.items():
                columns.setdefault(key, []).append(value)
        schema = Schema(
            [
                ColSpec(_item_type(values), name, required=all(row.get(name) is not None for row in data))
                for name, values in columns.items()
            ]
        )
    elif isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            schema = Schema([TensorSpec(clean_tensor_type(v.dtype), tensor_shape(v), name) for name, v in data.items()])
        else:
            if any(not isinstance(k, str) for k in data):
                raise errors.invalid("The dictionary keys are not all strings.")
            schema = Schema([ColSpec(_colspec_type(v), name, required=_required(v)) for name, v in data.items()])
    elif isinstance(data, pd.Series):
        schema = Schema([ColSpec(_pandas_column_type(data), data.name, required=_required(data))])
    elif isinstance(data, pd.DataFrame):
        schema = Schema(
            [
                ColSpec(_pandas_column_type(data[c]), str(c) if not isinstance(c, str) else c, _required(data[c]))
                for c in data.columns
            ]
        )
    elif isinstance(data, np.ndarray):
        schema = Schema([TensorSpec(clean_tensor_type(data.dtype), tensor_shape(data))])
    elif hasattr(data, "tocsr") and hasattr(data, "data"):  # scipy sparse matrices
        schema = Schema([TensorSpec(clean_tensor_type(data.data.dtype), tensor_shape(data))])
    elif isinstance(data, list):
        schema = Schema([ColSpec(_item_type(data))])
    else:
        try:
            schema = Schema([ColSpec(_colspec_type(data))])
        except MltrailError as exc:
            raise errors.invalid(
                "Failed to infer schema. Expected one of the following types:\n- pandas.DataFrame\n"
                "- pandas.Series\n- numpy.ndarray\n- dictionary of (name -> numpy.ndarray)\n"
                "- scipy.sparse.csr_matrix\n- scipy.sparse.csc_matrix\n- DataType\n- List[DataType]\n"
                "- Dict[str, Union[DataType, List, Dict]]\n- List[Dict[str, Union[DataType, List, Dict]]]\n"
                f"but got '{data}'.\nError: {exc.message}"
            ) from exc
    if not schema.is_tensor_spec() and any(t in (DataType.integer, DataType.long) for t in schema.input_types()):
        warnings.warn(
            "Hint: Inferred schema contains integer column(s). Integer columns in Python cannot represent missing "
            "values. If your input data contains missing values at inference time, it will be encoded as floats "
            "and will cause a schema enforcement error. Declare such columns as doubles (float64) instead.",
            stacklevel=3,
        )
    return schema


def _param_type_and_shape(value: Any) -> tuple[DataType | Object, tuple[int, ...] | None]:
    if isinstance(value, (list, np.ndarray)):
        array = np.array(value)
        if array.ndim != 1:
            raise errors.invalid(f"Expected parameters to be 1D array or scalar, got {array.ndim}D array")
        if len(value) and all(isinstance(v, (dt.date, dt.datetime, np.datetime64)) for v in value):
            return DataType.datetime, (-1,)
        return numpy_datatype(array.dtype), (-1,)
    if isinstance(value, (dt.date, dt.datetime, np.datetime64)):
        return DataType.datetime, None
    if isinstance(value, dict):
        dtype = infer_datatype(value)
        if not isinstance(dtype, Object):
            raise errors.invalid(f"Cannot infer an object type from {value!r}")
        return dtype, None
    if np.isscalar(value):
        return numpy_datatype(np.array(value).dtype), None
    raise errors.invalid(f"Expected parameters to be 1D array or scalar, got {type(value).__name__}")


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """A :class:`ParamSchema` whose defaults are ``params``' values.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE listing the params whose type cannot be inferred.
    """
    if not isinstance(params, dict):
        raise errors.invalid(f"Expected parameters to be dict, got {type(params).__name__}")
    specs, invalid = [], []
    for name, value in params.items():
        try:
            dtype, shape = _param_type_and_shape(value)
            specs.append(ParamSpec(name, dtype, deepcopy(value), shape))
        except MltrailError as exc:
            invalid.append((name, value, exc.message))
    if invalid:
        raise errors.invalid(f"Failed to infer schema for parameters: {invalid}")
    return ParamSchema(specs)
