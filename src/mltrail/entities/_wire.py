"""Helpers that build MLflow's JSON wire shapes: snake_case names, empty fields left out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Drop fields that protobuf JSON would omit: None, empty lists and empty dicts (but keep 0 and "")."""
    return {k: v for k, v in fields.items() if v is not None and v != [] and v != {}}


def key_values(mapping: Mapping[str, str]) -> list[dict[str, str]]:
    """A ``{key: value}`` mapping as MLflow's repeated ``{"key": k, "value": v}`` messages."""
    return [{"key": k, "value": v} for k, v in mapping.items()]


def opt_int(value: Any) -> int | None:
    """An int64 wire field (a number or a string) as an int, keeping None."""
    return None if value is None else int(value)
