"""Predictions -> JSON bytes, as MLflow's scoring server writes them.

DataFrames become a list of records, Series a list of one-key records, numpy arrays nested lists, numpy
scalars Python numbers, bytes base64 text, timestamps ISO strings. The normal response is
``{"predictions": ...}``; a unified LLM request gets the bare predictions. orjson (the server extra) encodes
numpy arrays natively; NaN is written as ``null`` (valid JSON), where MLflow writes a bare ``NaN``.
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is part of the server extra
    _orjson = None  # type: ignore[assignment]

_OPTIONS = (_orjson.OPT_SERIALIZE_NUMPY | _orjson.OPT_NON_STR_KEYS) if _orjson is not None else 0


def jsonable(data: Any) -> Any:
    """Turn pandas containers into plain lists/dicts (records orientation); other values are returned as is."""
    kind = type(data)
    module = kind.__module__
    if module.startswith("pandas"):
        if kind.__name__ == "DataFrame":
            return data.to_dict(orient="records")
        if kind.__name__ == "Series":
            return data.to_frame().to_dict(orient="records")
    if module == "numpy" and kind.__name__ == "ndarray":
        return data if data.dtype != object else [_default(x) if _needs_default(x) else x for x in data.tolist()]
    return data


def _needs_default(value: Any) -> bool:
    return not isinstance(value, (str, int, float, bool, type(None), list, dict))


def _default(value: Any) -> Any:
    """Fallback for values neither json nor orjson encode natively (MLflow's ``NumpyEncoder``)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.encodebytes(bytes(value)).decode("ascii")
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    kind = type(value)
    module = kind.__module__
    if module == "numpy":
        if kind.__name__ == "ndarray":
            return [_default(x) if _needs_default(x) else x for x in value.tolist()]
        if hasattr(value, "item"):
            item = value.item()
            return _default(item) if isinstance(item, (bytes, datetime.date)) else item
    if module.startswith("pandas"):
        if kind.__name__ in ("DataFrame", "Series"):
            return jsonable(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if kind.__name__ in ("NAType", "NaTType"):
            return None
    if hasattr(value, "model_dump"):  # pydantic models (chat responses)
        return value.model_dump()
    if hasattr(value, "to_dict"):  # dataclass-like response objects of LLM flavors
        return value.to_dict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def dumps(payload: Any) -> bytes:
    """Encode ``payload`` to JSON bytes."""
    if _orjson is not None:
        try:
            return _orjson.dumps(payload, default=_default, option=_OPTIONS)
        except TypeError:
            pass  # e.g. integers beyond 64 bits: the standard library handles them
    return json.dumps(payload, default=_default).encode()


def predictions_to_json(predictions: Any, unwrapped: bool = False) -> bytes:
    """The ``/invocations`` response body: ``{"predictions": ...}``, or the bare predictions when ``unwrapped``."""
    body = jsonable(predictions)
    return dumps(body if unwrapped else {"predictions": body})
