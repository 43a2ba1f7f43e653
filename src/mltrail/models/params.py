"""Inference params: :class:`ParamSpec` and :class:`ParamSchema` (MLflow's JSON format), and their validation.

A :class:`ParamSchema` lists the params a model accepts at predict time, each with a type (a scalar
:class:`~mltrail.models.schema.DataType` or an :class:`~mltrail.models.schema.Object`), a default and an
optional ``(-1,)`` shape. At predict time (:func:`enforce_params`) unknown keys are dropped, missing ones take
their defaults, int -> long/float/double and long/float -> double widen, and anything else fails.

numpy is imported when a value is first validated, and pandas only for a param of Object type, so this module
is as cheap to import as :mod:`mltrail.models.schema`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from copy import deepcopy
from typing import Any

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.models.schema import OBJECT_TYPE, DataType, Object, column_type_dict, parse_column_type

__all__ = ["ParamSchema", "ParamSpec", "enforce_params", "validate_param_value"]

_logger = logging.getLogger(__name__)

_PARAM_WIDENING: dict[DataType, tuple[DataType, ...]] = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}


class ParamSpec:
    """One inference param: name, type, default, and shape (None for a scalar, ``(-1,)`` for a list).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the default does not match the type and shape.
    """

    def __init__(
        self, name: str, dtype: DataType | Object | str, default: Any, shape: Sequence[int] | None = None
    ) -> None:
        self.name = name
        parsed = parse_column_type(dtype)
        if not isinstance(parsed, (DataType, Object)):
            raise errors.invalid(f"Unsupported type '{dtype!r}' for param '{name}': expected a DataType or an Object")
        self.dtype: DataType | Object = parsed
        self.shape = tuple(shape) if shape is not None else None
        if self.shape is not None and self.shape != (-1,):
            raise errors.invalid(
                "Shape must be None for scalar or dictionary value, or (-1,) for 1D array value "
                f"for ParamSpec {self!r}), received {self.shape}"
            )
        if self.dtype is DataType.binary:
            raise errors.invalid(f"Binary type is not supported for parameters, ParamSpec '{name}' has dtype 'binary'")
        self.default = default
        self.default = validate_param_value(repr(self), default, self.dtype, self.shape)

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "default", "shape", "type"...}`` as MLflow writes it."""
        default = self.default
        if self.dtype is DataType.datetime and default is not None:
            default = [v.isoformat() for v in default] if self.shape else default.isoformat()
        body: dict[str, Any] = {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape else None,
        }
        body.update(column_type_dict(self.dtype))
        return body

    @classmethod
    def from_json_dict(cls, body: dict[str, Any]) -> ParamSpec:
        """Build from the JSON form (``type`` or the older ``dtype`` key)."""
        kind = body.get("type") or body.get("dtype")
        if "name" not in body or kind is None or "default" not in body:
            raise errors.invalid(
                "Missing keys in ParamSpec JSON. Expected to find keys `name`, `type`(or `dtype`) and `default`. "
                f"Received keys: {list(body)}"
            )
        dtype = Object.from_json_dict(body) if kind == OBJECT_TYPE else DataType.parse(kind)
        return cls(str(body["name"]), dtype, body["default"], body.get("shape"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and (self.name, self.dtype, self.default, self.shape) == (
            other.name,
            other.dtype,
            other.default,
            other.shape,
        )

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {self.dtype!r} (default: {self.default}){shape}"


class ParamSchema:
    """The params a model accepts at predict time.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for duplicated names.
    """

    def __init__(self, params: Sequence[ParamSpec]) -> None:
        params = list(params)
        names = [p.name for p in params]
        duplicates = [n for i, n in enumerate(names) if n in names[:i]]
        if duplicates:
            raise errors.invalid(f"Duplicated parameters found in schema: {duplicates}")
        self.params = params

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON-able list."""
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        """The JSON string stored in MLmodel signatures."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        """Parse :meth:`to_json` output."""
        return cls([ParamSpec.from_json_dict(x) for x in json.loads(text)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params

    def __repr__(self) -> str:
        return repr(self.params)


def _param_scalar(value: Any, dtype: DataType) -> Any:
    import numpy as np

    if value is None:
        return None
    if dtype is DataType.datetime:
        try:
            converted = np.datetime64(value).item()
        except ValueError as exc:
            raise errors.invalid(f"Failed to convert value `{value}` from type `{type(value)}` to `{dtype}`") from exc
        if isinstance(converted, int) or not isinstance(converted, (dt.date, dt.datetime)):
            raise errors.invalid(
                f"Failed to convert value to `{dtype}`. It must be convertible to datetime.date/datetime, got `{value}`"
            )
        return converted
    if not np.isscalar(value):
        raise errors.invalid(f"Value must be a scalar for type `{dtype}`, got `{value}`")
    if DataType.check_type(dtype, value) or (
        dtype in _PARAM_WIDENING and any(DataType.check_type(t, value) for t in _PARAM_WIDENING[dtype])
    ):
        try:
            return dtype.to_python()(value)
        except ValueError as exc:
            raise errors.invalid(f"Failed to convert value `{value}` from type `{type(value)}` to `{dtype}`") from exc
    raise errors.invalid(f"Can not safely convert `{type(value)}` to `{dtype}` for value `{value}`")


def validate_param_value(spec: str, value: Any, dtype: DataType | Object, shape: tuple[int, ...] | None) -> Any:
    """Check one param value against its type and shape; return the converted value.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE "Failed to validate type and shape for <spec>, error: ...".
    """
    import numpy as np

    if shape == (-1,) and not (isinstance(value, (list, np.ndarray)) and np.array(value).ndim == 1):
        raise errors.invalid(
            f"Value must be a 1D array with shape (-1,) for param {spec}, received {type(value).__name__} "
            f"with ndim {np.array(value).ndim}"
        )
    try:
        if isinstance(dtype, Object):
            from mltrail.models.coerce import enforce_type  # pandas: loaded only for an Object param

            enforce_type(deepcopy(value), dtype)
            return value
        if shape is None:
            return _param_scalar(value, dtype)
        return [_param_scalar(v, dtype) for v in value]
    except MltrailError as exc:
        raise errors.invalid(f"Failed to validate type and shape for {spec}, error: {exc.message}") from None


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
        raise errors.invalid(f"Parameters must be a dictionary. Got type '{type(params).__name__}'.")
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
        raise errors.invalid(f"Invalid parameters found: {invalid!r}")
    return result
