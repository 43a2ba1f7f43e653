"""Schemas of model inputs and outputs, in MLflow's JSON format (``mlflow/types/schema.py``).

A :class:`Schema` is a list of :class:`ColSpec` (named or unnamed columns of a scalar
:class:`DataType`, an :class:`Array`, an :class:`Object`, a :class:`Map` or :class:`AnyType`) or a list of
:class:`TensorSpec` (numpy dtype and shape, ``-1`` for a variable dimension). The params a model accepts are
described by :class:`~mltrail.models.params.ParamSchema`.

numpy is imported only where a tensor dtype or a conversion needs it, so this module is cheap to import.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from typing import Any, TypeVar

from mltrail import errors

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "ColumnType",
    "DataType",
    "Map",
    "Object",
    "Property",
    "Schema",
    "TensorSpec",
    "column_type_dict",
    "parse_column_type",
    "type_from_dict",
]

_T = TypeVar("_T")

ARRAY_TYPE = "array"
OBJECT_TYPE = "object"
MAP_TYPE = "map"
ANY_TYPE = "any"
TENSOR_TYPE = "tensor"

_NUMPY_NAMES = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "str",
    "binary": "bytes",
    "datetime": "datetime64[ns]",
}


_NUMPY_DTYPES: dict[str, Any] = {}


class DataType(Enum):
    """MLflow's scalar column types; the member name is the wire name (``"double"``)."""

    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> Any:
        """The numpy dtype of this type (``float64`` for double, ``<U0`` for string, ...)."""
        dtype = _NUMPY_DTYPES.get(self.name)
        if dtype is None:  # built once per type: enforcement asks on every column of every request
            import numpy as np

            dtype = _NUMPY_DTYPES[self.name] = np.dtype(_NUMPY_NAMES[self.name])
        return dtype

    def to_pandas(self) -> Any:
        """The pandas dtype: the numpy dtype, except ``object`` for string and binary."""
        if self.name in ("string", "binary"):
            return object
        return self.to_numpy()

    def to_python(self) -> type:
        """The Python type (``int`` for integer and long, ``datetime.date`` for datetime)."""
        return _PYTHON_TYPES[self.name]

    @classmethod
    def check_type(cls, data_type: DataType, value: Any) -> bool:
        """Whether ``value``'s exact type is one of ``data_type``'s numpy, pandas or Python types."""
        import numpy as np

        types: list[Any] = [data_type.to_numpy().type, data_type.to_pandas(), data_type.to_python()]
        if data_type is DataType.datetime:
            types.extend([np.datetime64, dt.datetime])
        if data_type is DataType.binary:
            types.extend([bytearray, np.bytes_])
        if data_type is DataType.string:
            types.append(np.str_)
        return type(value) in types

    @classmethod
    def parse(cls, name: str | DataType) -> DataType:
        """The member named ``name``.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for an unknown type name.
        """
        if isinstance(name, DataType):
            return name
        try:
            return cls[name]
        except KeyError:
            raise errors.invalid(
                f"Unsupported type '{name}', expected instance of DataType, Array, Object, Map or AnyType, "
                f"or one of {[t.name for t in cls]}"
            ) from None


_PYTHON_TYPES: dict[str, type] = {
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": builtins.float,
    "double": builtins.float,
    "string": str,
    "binary": bytes,
    "datetime": dt.date,
}


class AnyType:
    """Any JSON-convertible value (``{"type": "any"}``)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"type": ANY_TYPE}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash(ANY_TYPE)

    def __repr__(self) -> str:
        return "Any"

    def _merge(self, other: ColumnType) -> ColumnType:
        if isinstance(other, (AnyType, DataType)):
            return other
        return other._merge(self)


class Property:
    """One property of an :class:`Object`: a name, a type and whether it is required."""

    def __init__(self, name: str, dtype: ColumnType | str, required: bool = True) -> None:
        if not isinstance(name, str):
            raise errors.invalid(f"Expected name to be a string, got type {type(name).__name__}")
        self.name = name
        self.dtype = parse_column_type(dtype)
        self.required = required

    def to_dict(self) -> dict[str, Any]:
        """``{name: {"type": ..., "required": ...}}``."""
        body = column_type_dict(self.dtype)
        body["required"] = self.required
        return {self.name: body}

    @classmethod
    def from_json_dict(cls, name: str, body: dict[str, Any]) -> Property:
        """Build from a name and ``{"type": ..., "required": ...}``."""
        if "type" not in body:
            raise errors.invalid(f"Missing keys in Property `{name}`. Expected to find key `type`")
        return cls(name, type_from_dict(body), body.get("required", True))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Property)
            and (self.name, self.required) == (other.name, other.required)
            and self.dtype == other.dtype
        )

    def __lt__(self, other: Property) -> bool:
        return self.name < other.name

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"

    def _merge(self, other: Property) -> Property:
        if self.name != other.name:
            raise errors.invalid(f"Can't merge properties with different names: {self.name} != {other.name}")
        return Property(self.name, _merge_types(self.dtype, other.dtype), self.required and other.required)


class Object:
    """A JSON object with named, typed properties (kept sorted by name, as MLflow does)."""

    def __init__(self, properties: Sequence[Property]) -> None:
        properties = list(properties)
        if not properties:
            raise errors.invalid("Creating Object with empty properties is not allowed.")
        names = [p.name for p in properties]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise errors.invalid(f"Found duplicated property names: `{', '.join(duplicates)}`")
        self.properties = sorted(properties)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "object", "properties": {...}}``."""
        props: dict[str, Any] = {}
        for prop in self.properties:
            props.update(prop.to_dict())
        return {"type": OBJECT_TYPE, "properties": props}

    @classmethod
    def from_json_dict(cls, body: dict[str, Any]) -> Object:
        """Build from the JSON form."""
        props = body.get("properties")
        if not isinstance(props, dict):
            raise errors.invalid("Expected properties to be a dictionary of Property JSON")
        return cls([Property.from_json_dict(name, value) for name, value in props.items()])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self.properties == other.properties

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self.properties)) + "}"

    def _merge(self, other: ColumnType) -> Object:
        if isinstance(other, AnyType):
            return Object([Property(p.name, p.dtype, required=False) for p in self.properties])
        if not isinstance(other, Object):
            raise errors.invalid(f"Can't merge object with non-object type: {type(other).__name__}")
        mine = {p.name: p for p in self.properties}
        theirs = {p.name: p for p in other.properties}
        merged = [mine[k]._merge(theirs[k]) for k in mine.keys() & theirs.keys()]
        merged += [Property(k, mine[k].dtype, required=False) for k in mine.keys() - theirs.keys()]
        merged += [Property(k, theirs[k].dtype, required=False) for k in theirs.keys() - mine.keys()]
        return Object(merged)


class Array:
    """A JSON array whose items all have one type."""

    def __init__(self, dtype: ColumnType | str) -> None:
        self.dtype = parse_column_type(dtype)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "array", "items": {...}}``."""
        return {"type": ARRAY_TYPE, "items": column_type_dict(self.dtype)}

    @classmethod
    def from_json_dict(cls, body: dict[str, Any]) -> Array:
        """Build from the JSON form."""
        items = body.get("items")
        if not isinstance(items, dict) or "type" not in items:
            raise errors.invalid("Missing keys in Array's items JSON. Expected to find key `type`")
        return cls(type_from_dict(items))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and self.dtype == other.dtype

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"

    def _merge(self, other: ColumnType) -> Array:
        if isinstance(other, AnyType) or self == other:
            return Array(self.dtype)
        if not isinstance(other, Array):
            raise errors.invalid(f"Can't merge array with non-array type: {type(other).__name__}")
        return Array(_merge_types(self.dtype, other.dtype))


class Map:
    """A JSON object with string keys and values of one type."""

    def __init__(self, value_type: ColumnType | str) -> None:
        self.value_type = parse_column_type(value_type)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "map", "values": {...}}``."""
        return {"type": MAP_TYPE, "values": column_type_dict(self.value_type)}

    @classmethod
    def from_json_dict(cls, body: dict[str, Any]) -> Map:
        """Build from the JSON form."""
        values = body.get("values")
        if not isinstance(values, dict) or "type" not in values:
            raise errors.invalid("Missing keys in Map's items JSON. Expected to find key `type`")
        return cls(type_from_dict(values))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and self.value_type == other.value_type

    def __repr__(self) -> str:
        return f"Map(str -> {self.value_type!r})"

    def _merge(self, other: ColumnType) -> Map:
        if isinstance(other, AnyType) or self == other:
            return Map(self.value_type)
        if not isinstance(other, Map):
            raise errors.invalid(f"Can't merge map with non-map type: {type(other).__name__}")
        return Map(_merge_types(self.value_type, other.value_type))


ColumnType = DataType | Array | Object | Map | AnyType


def parse_column_type(value: Any) -> ColumnType:
    """``value`` as a column type: a type object as it is, a type name (``"double"``, ``"any"``) as its type.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unknown name or another kind of value.
    """
    if isinstance(value, (DataType, Array, Object, Map, AnyType)):
        return value
    if isinstance(value, str):
        return AnyType() if value == ANY_TYPE else DataType.parse(value)
    raise errors.invalid(f"Expected a DataType, Array, Object, Map or AnyType, got {type(value).__name__}")


def column_type_dict(value: ColumnType) -> dict[str, Any]:
    """The JSON form of a column type (``{"type": "double"}``, ``{"type": "array", "items": ...}``, ...)."""
    return {"type": value.name} if isinstance(value, DataType) else value.to_dict()


def type_from_dict(body: dict[str, Any]) -> ColumnType:
    """The column type described by a JSON dict's ``type`` (and ``items``/``properties``/``values``).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unknown type.
    """
    kind = body["type"]
    if kind == ARRAY_TYPE:
        return Array.from_json_dict(body)
    if kind == OBJECT_TYPE:
        return Object.from_json_dict(body)
    if kind == MAP_TYPE:
        return Map.from_json_dict(body)
    if kind == ANY_TYPE:
        return AnyType()
    return DataType.parse(kind)


def _merge_types(left: ColumnType, right: ColumnType) -> ColumnType:
    if isinstance(left, DataType):
        if left == right or isinstance(right, AnyType):
            return left
        raise errors.invalid(f"Types are incompatible: {left!r} and {right!r}")
    return left._merge(right)


class ColSpec:
    """One column: a type, an optional name, and whether it is required.

    Args:
        type: a :class:`DataType` (or its name), :class:`Array`, :class:`Object`, :class:`Map` or :class:`AnyType`.
        name: the column name; None for a positional column.
        required: False lets the column be absent (or null) at predict time.
    """

    def __init__(self, type: ColumnType | str, name: str | None = None, required: bool = True) -> None:
        self.type = parse_column_type(type)
        self.name = name
        self.required = required

    def to_dict(self) -> dict[str, Any]:
        """``{"type": ..., "name": ..., "required": ...}`` in MLflow's key order."""
        body = column_type_dict(self.type)
        if self.name is not None:
            body["name"] = self.name
        body["required"] = self.required
        return body

    @classmethod
    def from_json_dict(cls, body: dict[str, Any]) -> ColSpec:
        """Build from the JSON form."""
        if "type" not in body:
            raise errors.invalid("Missing keys in ColSpec JSON. Expected to find key `type`")
        return cls(type_from_dict(body), body.get("name"), body.get("required", True))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ColSpec)
            and (self.name, self.required) == (other.name, other.required)
            and self.type == other.type
        )

    def __repr__(self) -> str:
        required = "required" if self.required else "optional"
        return f"{self.type!r} ({required})" if self.name is None else f"{self.name!r}: {self.type!r} ({required})"


class TensorSpec:
    """A tensor input or output: a numpy dtype and a shape (``-1`` marks a variable dimension).

    Args:
        type: a numpy dtype (or anything ``numpy.dtype`` accepts).
        shape: the shape, such as ``(-1, 4)``.
        name: the tensor's name, or None for a single unnamed tensor.
    """

    required = True

    def __init__(self, type: Any, shape: Sequence[int], name: str | None = None) -> None:
        import numpy as np

        dtype = np.dtype(type)
        if dtype.char in ("U", "S") and dtype.itemsize:
            raise errors.invalid(
                "MLflow does not support size information in flexible numpy data types. Use np.dtype("
                f'"{dtype.name.rstrip("0123456789")}") instead'
            )
        if not isinstance(shape, (tuple, list)) or not all(isinstance(d, int) for d in shape):
            raise errors.invalid(f"Expected shape to be a tuple of integers, got {shape!r}")
        self.type = dtype
        self.shape = tuple(shape)
        self.name = name

    def to_dict(self) -> dict[str, Any]:
        """``{"name"?, "type": "tensor", "tensor-spec": {"dtype", "shape"}}``."""
        spec = {"dtype": self.type.name, "shape": list(self.shape)}
        if self.name is None:
            return {"type": TENSOR_TYPE, "tensor-spec": spec}
        return {"name": self.name, "type": TENSOR_TYPE, "tensor-spec": spec}

    @classmethod
    def from_json_dict(cls, body: dict[str, Any]) -> TensorSpec:
        """Build from the JSON form."""
        spec = body.get("tensor-spec")
        if not isinstance(spec, dict) or not {"dtype", "shape"} <= spec.keys():
            raise errors.invalid("Missing keys in TensorSpec JSON. Expected to find keys `dtype` and `shape`")
        return cls(spec["dtype"], tuple(spec["shape"]), body.get("name"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self.name == other.name
            and self.type == other.type
            and self.shape == other.shape
        )

    def __repr__(self) -> str:
        info = f"Tensor({self.type.name!r}, {self.shape!r})"
        return info if self.name is None else f"{self.name!r}: {info}"


class Schema:
    """An ordered list of :class:`ColSpec` or of :class:`TensorSpec` (not both).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an empty list, mixed kinds, or mixed named/unnamed inputs.
    """

    def __init__(self, inputs: Sequence[ColSpec | TensorSpec]) -> None:
        inputs = list(inputs)
        if not inputs:
            raise errors.invalid("Creating Schema with empty inputs is not allowed.")
        named = [x.name is not None for x in inputs]
        if any(named) and not all(named):
            raise errors.invalid(
                "Creating Schema with a combination of named and unnamed inputs is not allowed. "
                f"Got input names {[x.name for x in inputs]}"
            )
        tensors = [isinstance(x, TensorSpec) for x in inputs]
        if any(tensors) and not all(tensors):
            raise errors.invalid(
                "Creating Schema with a combination of ColSpec and TensorSpec is not supported. "
                "Please choose one of ColSpec or TensorSpec"
            )
        if all(tensors) and len(inputs) > 1 and not all(named):
            raise errors.invalid(
                "Creating Schema with multiple unnamed TensorSpecs is not supported. "
                "Please provide names for each TensorSpec."
            )
        if not any(named) and any(not x.required for x in inputs):
            raise errors.invalid(
                "Creating Schema with unnamed optional inputs is not supported. "
                "Please name all inputs or make all inputs required."
            )
        self.inputs = inputs

    def __iter__(self) -> Iterator[ColSpec | TensorSpec]:
        return iter(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    def is_tensor_spec(self) -> bool:
        """Whether this schema lists tensors."""
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """Whether the inputs are named."""
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        """Names of the inputs, or their positions when unnamed."""
        return [x.name if x.name is not None else i for i, x in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        """Names (or positions) of the required inputs."""
        return [n for n, x in zip(self.input_names(), self.inputs, strict=True) if x.required]

    def optional_input_names(self) -> list[str | int]:
        """Names (or positions) of the optional inputs."""
        return [n for n, x in zip(self.input_names(), self.inputs, strict=True) if not x.required]

    def input_types(self) -> list[Any]:
        """The type of each input (a column type, or a numpy dtype for tensors)."""
        return [x.type for x in self.inputs]

    def input_dict(self) -> dict[str, ColSpec | TensorSpec]:
        """Named inputs by name."""
        return {x.name: x for x in self.inputs if x.name is not None}

    def numpy_types(self) -> list[Any]:
        """The numpy dtype of each input (``object`` for non-scalar columns)."""
        import numpy as np

        if self.is_tensor_spec():
            return [x.type for x in self.inputs]
        return [x.type.to_numpy() if isinstance(x.type, DataType) else np.dtype("object") for x in self.inputs]

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON-able list."""
        return [x.to_dict() for x in self.inputs]

    def to_json(self) -> str:
        """The JSON string stored in MLmodel signatures."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Parse :meth:`to_json` output."""
        return cls([_spec_from_dict(x) for x in json.loads(text)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return repr(self.inputs)

    def _memo(self, key: str, build: Callable[[Schema], _T]) -> _T:
        """``build(self)``, computed once per schema and reused (enforcement's per-schema work).

        The memo is tied to the current inputs: assigning or editing ``inputs`` (specs added, removed or
        replaced, or a spec's name or type changed) builds it again.
        """
        memo: dict[str, tuple[tuple[Any, ...], Any]] | None = self.__dict__.get("_memos")
        if memo is None:
            memo = self.__dict__["_memos"] = {}
        specs = tuple((x, x.name, x.type) for x in self.inputs)
        found = memo.get(key)
        if found is not None and found[0] == specs:  # tuple equality checks identity first: cheap
            return found[1]
        value = build(self)
        memo[key] = (specs, value)
        return value

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_memos", None)  # derived, rebuilt on use: keep pickles and copies of a schema plain
        return state


def _spec_from_dict(body: dict[str, Any]) -> ColSpec | TensorSpec:
    return TensorSpec.from_json_dict(body) if body.get("type") == TENSOR_TYPE else ColSpec.from_json_dict(body)
