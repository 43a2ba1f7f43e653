"""Metric points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mltrail.entities._wire import compact


@dataclass(frozen=True, slots=True)
class Metric:
    """One point of a metric's history.

    ``value`` may be NaN or +/-Inf. ``timestamp`` is milliseconds since the epoch. ``run_id`` is set when the
    point comes back from a store (history and bulk queries); it may be None when logging.
    """

    key: str
    value: float
    timestamp: int
    step: int = 0
    dataset_name: str | None = None
    dataset_digest: str | None = None
    model_id: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form; NaN and infinities are sent as the strings JSON cannot carry as numbers."""
        return compact(
            {
                "key": self.key,
                "value": wire_float(self.value),
                "timestamp": self.timestamp,
                "step": self.step,
                "dataset_name": self.dataset_name,
                "dataset_digest": self.dataset_digest,
                "model_id": self.model_id,
                "run_id": self.run_id,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        """Build from the wire form (int64 fields may arrive as strings)."""
        return cls(
            key=data["key"],
            value=float(data["value"]),
            timestamp=int(data.get("timestamp", 0)),
            step=int(data.get("step", 0)),
            dataset_name=data.get("dataset_name"),
            dataset_digest=data.get("dataset_digest"),
            model_id=data.get("model_id"),
            run_id=data.get("run_id"),
        )


def wire_float(value: float) -> float | str:
    """A float as MLflow's JSON carries it: NaN and infinities as strings, other values as numbers."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
