"""MLflow's REST request parsing and response encoding, without protobuf.

A handler declares the fields it reads as :class:`Field` specs. :func:`parse_query` and :func:`parse_body` take
them from a GET query string or a JSON body with MLflow's rules: int64 as a number or a string, enums by name or
number, camelCase spellings, ``run_uuid`` as a fallback for ``run_id``, double-encoded JSON bodies, an empty body as
``{}``; and raise MLflow's messages for missing or mistyped values.

What no store can hold is refused here, once, before any handler runs: an integer outside int64, a NUL character
in any text (PostgreSQL text cannot hold one), JSON nested deeper than :data:`MAX_JSON_DEPTH`, and a body that is
not a JSON object (``null`` included).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.store.tracking.validation import INT64_MAX, INT64_MIN

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

#: Deepest JSON nesting a request body may have; MLflow's messages are at most a few levels deep.
MAX_JSON_DEPTH = 64
_INT_TEXT = re.compile(r"\s*[-+]?\d{1,20}\s*")
_MAX_SHOWN = 1000
_NUL_HINT = " Hint: text cannot contain NUL (\\u0000) characters."
_INT64_HINT = f" Hint: Value must be a 64-bit integer (between {INT64_MIN} and {INT64_MAX})."


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
    if len(shown) > _MAX_SHOWN:
        shown = shown[:_MAX_SHOWN] + "..."
    hint = hint if hint is not None else f" Hint: Value was of type '{type(value).__name__}'."
    return errors.invalid(f"Invalid value {shown} for parameter '{name}' supplied:{hint}{_HELP}")


def _missing(name: str) -> MltrailError:
    return errors.invalid(f"Missing value for required parameter '{name}'.{_HELP}")


def missing_parameter(name: str) -> MltrailError:
    """MLflow's INVALID_PARAMETER_VALUE for a required request parameter left out (for handlers that check it)."""
    return _missing(name)


def invalid_request(message: str) -> MltrailError:
    """INVALID_PARAMETER_VALUE with MLflow's pointer to the API docs after ``message``, as its schema checks say it."""
    return errors.invalid(message + _HELP)


_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def check_int64(value: int, path: str) -> int:
    """Return ``value`` if it fits in int64, else raise MLflow's invalid-value error for ``path``.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for a value outside [-2^63, 2^63 - 1].
    """
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise _invalid(path, value, _INT64_HINT)


def check_text(value: str, path: str) -> str:
    """Return ``value`` unless it holds a NUL character, which no store can keep (PostgreSQL text cannot).

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` naming ``path``.
    """
    if "\x00" in value:
        raise _invalid(path, value, _NUL_HINT)
    return value


def _coerce_int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise _invalid(path, value)
    if isinstance(value, int):
        return check_int64(value, path)
    if isinstance(value, float) and value.is_integer():
        if abs(value) >= 2**63:  # a JSON integer below -2^63 arrives as a float rounded to -2^63: never round it
            raise _invalid(path, value, _INT64_HINT)
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return check_int64(int(value), path)
    raise _invalid(path, value)


def _coerce(field: Field, value: Any, path: str) -> Any:
    kind = field.kind
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(path, value)
        return value
    if kind == "int":
        return _coerce_int(value, path)
    if kind == "float":
        if isinstance(value, bool):
            raise _invalid(path, value)
        if isinstance(value, float):
            return value
        if isinstance(value, int):
            try:
                return float(value)
            except OverflowError:  # an integer beyond a double's range
                raise _invalid(path, value) from None
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
        raise errors.invalid(f"Invalid boolean value: {value}, must be 'true' or 'false'.")
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
                    raise errors.invalid(
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
    """Parse a GET query string (a multi-dict with ``getlist``) against ``fields``.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for a missing, mistyped or out-of-range value, or text with NUL.
    """
    data: dict[str, Any] = {}
    for field in fields:
        names = (field.name, _camel(field.name)) + (("run_uuid",) if field.name == "run_id" else ())
        for name in names:
            if name in query:
                if field.kind == "strings":
                    values = query.getlist(name)
                    for value in values:
                        check_text(value, field.name)
                    data[field.name] = values
                else:
                    data[field.name] = check_text(query.get(name), field.name)
                break
    return _parse_object(data, fields)


def parse_body(body: bytes, fields: Sequence[Field]) -> dict[str, Any]:
    """Parse a JSON request body against ``fields`` (an empty body is ``{}``).

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` as :func:`decode_json_body` does, or for a missing, mistyped or
            out-of-range field.
    """
    data = decode_json_body(body)
    return _parse_object(data, fields)


def decode_json_body(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body; a double-encoded string is decoded again; an empty body is ``{}``.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for malformed JSON, a body that is not an object (``null``
            included), nesting deeper than :data:`MAX_JSON_DEPTH`, or a NUL character in any string.
    """
    if not body or not body.strip():
        return {}
    try:
        data = loads(body)
        if isinstance(data, str):
            body = data.encode()
            data = loads(data)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: the stdlib fallback on deep JSON
        if isinstance(exc, RecursionError) or "depth limit" in str(exc):
            raise _too_deep() from None
        raise errors.invalid(f"Malformed JSON request body: {exc}") from None
    if not isinstance(data, dict):
        raise errors.invalid(f"The request body must be a JSON object, not {_json_type(data)}.")
    # Cheap guards first: nesting can only be deep with many brackets, and a NUL is always escaped in JSON.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _depth(data) > MAX_JSON_DEPTH:
        raise _too_deep()
    if b"\\u0000" in body:
        _reject_nul(data)
    return data


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a number"


def _too_deep() -> MltrailError:
    return errors.invalid(
        f"The request body is nested too deeply: at most {MAX_JSON_DEPTH} levels of JSON objects and arrays."
    )


def _depth(data: Any) -> int:
    """The nesting depth of decoded JSON (containers only), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _reject_nul(data: Any) -> None:
    """Raise for a string (key or value) in decoded JSON that holds a NUL character, naming its path."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            check_text(node, path or "body")
        elif isinstance(node, dict):
            for key, value in node.items():
                shown = key.replace("\x00", "\\u0000")
                child = f"{path}.{shown}" if path else shown
                check_text(key, child)
                stack.append((value, child))
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(node))


def check_json_content_type(content_type: str | None) -> None:
    """MLflow's rule: POST and PUT bodies must be ``application/json``."""
    if content_type is None:
        raise errors.invalid("Bad Request. Content-Type header is missing.")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise errors.invalid("Bad Request. Content-Type must be one of ['application/json'].")
