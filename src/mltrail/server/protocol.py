"""MLflow's REST request parsing and response encoding, without protobuf.

A handler declares the fields it reads as :class:`Field` specs. :func:`parse_request` takes them from a GET query
string or a JSON body with MLflow's rules: int64 as a number or a string, enums by name or number, camelCase
spellings, ``run_uuid`` as a fallback for ``run_id``, double-encoded JSON bodies, an empty body as ``{}``; and
raises MLflow's messages for missing or mistyped values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError

try:  # orjson is several times faster; the server extra installs it
    import orjson

    def dumps(obj: Any) -> bytes:
        """Serialise to JSON bytes."""
        return orjson.dumps(obj)

    def loads(data: bytes | str) -> Any:
        """Parse JSON."""
        return orjson.loads(data)

except ImportError:  # pragma: no cover - exercised only without the server extra

    def dumps(obj: Any) -> bytes:
        """Serialise to JSON bytes."""
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()

    def loads(data: bytes | str) -> Any:
        """Parse JSON."""
        return json.loads(data)


FieldKind = Literal["string", "int", "float", "bool", "enum", "strings", "objects", "object", "any"]

_HELP = " See the API docs for more information about request parameters."


@dataclass(frozen=True, slots=True)
class Field:
    """One request field: its name, its kind, and whether it is required.

    ``objects`` is a list of JSON objects whose own fields are checked by ``item_fields`` (e.g. log-batch's
    ``metrics[i].timestamp``); ``strings`` a repeated string (repeated keys in a query string).
    """

    name: str
    kind: FieldKind = "string"
    required: bool = False
    item_fields: tuple[Field, ...] = ()


@lru_cache(maxsize=512)
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _invalid(name: str, value: Any, hint: str | None = None) -> MltrailError:
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    hint = hint if hint is not None else f" Hint: Value was of type '{type(value).__name__}'."
    return MltrailError(f"Invalid value {shown} for parameter '{name}' supplied:{hint}{_HELP}", INVALID_PARAMETER_VALUE)


def _missing(name: str) -> MltrailError:
    return MltrailError(f"Missing value for required parameter '{name}'.{_HELP}", INVALID_PARAMETER_VALUE)


_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def _coerce(field: Field, value: Any, path: str) -> Any:
    kind = field.kind
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(path, value)
        return value
    if kind == "int":
        if isinstance(value, bool):
            raise _invalid(path, value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise _invalid(path, value)
    if kind == "float":
        if isinstance(value, bool):
            raise _invalid(path, value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            special = _SPECIAL_FLOATS.get(value.strip().lower())
            if special is not None:
                return special
            try:
                return float(value)
            except ValueError:
                pass
        raise _invalid(path, value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise MltrailError(f"Invalid boolean value: {value}, must be 'true' or 'false'.", INVALID_PARAMETER_VALUE)
    if kind == "enum":
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return value
        raise _invalid(path, value)
    if kind == "strings":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid(path, value)
        return value
    if kind == "objects":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _invalid(path, value)
        if field.item_fields:
            return [_parse_object(item, field.item_fields, f"{path}[{i}].") for i, item in enumerate(value)]
        return value
    if kind == "object":
        if not isinstance(value, dict):
            raise _invalid(path, value)
        return value
    return value


def _parse_object(data: Mapping[str, Any], fields: Sequence[Field], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields:
        value = data.get(field.name)
        if value is None and "_" in field.name:
            camel = _camel(field.name)
            if camel in data:
                if field.name in data:
                    raise MltrailError.invalid_parameter_value(
                        f"Request specifies both '{field.name}' and '{camel}'; provide only one of them."
                    )
                value = data[camel]
        if value is None and field.name == "run_id":
            value = data.get("run_uuid")
        path = prefix + field.name
        if value is None or (value == "" and field.required):
            if field.required:
                raise _missing(path)
            continue
        out[field.name] = _coerce(field, value, path)
    return out


def parse_query(query: Any, fields: Sequence[Field]) -> dict[str, Any]:
    """Parse a GET query string (a multi-dict with ``getlist``) against ``fields``."""
    data: dict[str, Any] = {}
    for field in fields:
        names = (field.name, _camel(field.name)) + (("run_uuid",) if field.name == "run_id" else ())
        for name in names:
            if name in query:
                data[field.name] = query.getlist(name) if field.kind == "strings" else query.get(name)
                break
    return _parse_object(data, fields)


def parse_body(body: bytes, fields: Sequence[Field]) -> dict[str, Any]:
    """Parse a JSON request body against ``fields`` (an empty body is ``{}``)."""
    data = decode_json_body(body)
    return _parse_object(data, fields)


def decode_json_body(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body; a double-encoded string is decoded again; anything else is a 400."""
    if not body or not body.strip():
        return {}
    try:
        data = loads(body)
        if isinstance(data, str):
            data = loads(data)
    except (ValueError, TypeError) as exc:
        raise MltrailError(f"Malformed JSON request body: {exc}", INVALID_PARAMETER_VALUE) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MltrailError("The request body must be a JSON object.", INVALID_PARAMETER_VALUE)
    return data


def check_json_content_type(content_type: str | None) -> None:
    """MLflow's rule: POST and PUT bodies must be ``application/json``."""
    if content_type is None:
        raise MltrailError("Bad Request. Content-Type header is missing.", INVALID_PARAMETER_VALUE)
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise MltrailError("Bad Request. Content-Type must be one of ['application/json'].", INVALID_PARAMETER_VALUE)
