"""Experiments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mltrail.entities._wire import compact, key_values, opt_int
from mltrail.entities.enums import LifecycleStage

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named group of runs with an artifact location. ``tags`` maps key to value."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact(
            {
                "experiment_id": self.experiment_id,
                "name": self.name,
                "artifact_location": self.artifact_location,
                "lifecycle_stage": self.lifecycle_stage,
                "last_update_time": self.last_update_time,
                "creation_time": self.creation_time,
                "tags": key_values(self.tags),
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        """Build from the wire form."""
        return cls(
            experiment_id=str(data["experiment_id"]),
            name=data.get("name", ""),
            artifact_location=data.get("artifact_location", ""),
            lifecycle_stage=data.get("lifecycle_stage", LifecycleStage.ACTIVE),
            tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
            creation_time=opt_int(data.get("creation_time")),
            last_update_time=opt_int(data.get("last_update_time")),
        )
