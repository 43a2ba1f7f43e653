"""Logged models (MLflow 3.x): a model as a first-class entity with its own id and artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mltrail.entities._wire import compact, key_values
from mltrail.entities.enums import LifecycleStage, LoggedModelStatus
from mltrail.entities.metric import Metric


@dataclass(frozen=True, slots=True)
class ModelRegistration:
    """A registry version made from a logged model."""

    name: str
    version: str

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {"name": self.name, "version": self.version}


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A logged model: ``model_id`` is ``m-<32 hex>``; artifacts live under ``artifact_location``."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    creator_id: str | None = None
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    registrations: tuple[ModelRegistration, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The wire form ``{"info": ..., "data": ...}``."""
        info = compact(
            {
                "model_id": self.model_id,
                "experiment_id": self.experiment_id,
                "name": self.name,
                "creation_timestamp_ms": self.creation_timestamp,
                "last_updated_timestamp_ms": self.last_updated_timestamp,
                "artifact_uri": self.artifact_location,
                "status": self.status.value,
                "creator_id": self.creator_id,
                "model_type": self.model_type,
                "source_run_id": self.source_run_id,
                "status_message": self.status_message,
                "tags": key_values(self.tags),
                "registrations": [r.to_dict() for r in self.registrations],
                # not in MLflow's proto (clients ignore unknown fields); sent only for deleted models
                "lifecycle_stage": None if self.lifecycle_stage == LifecycleStage.ACTIVE else self.lifecycle_stage,
            }
        )
        data = compact({"params": key_values(self.params), "metrics": [m.to_dict() for m in self.metrics]})
        return {"info": info, "data": data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoggedModel:
        """Build from the wire form."""
        info, body = data.get("info", {}), data.get("data", {})
        return cls(
            model_id=info["model_id"],
            experiment_id=str(info.get("experiment_id", "")),
            name=info.get("name", ""),
            artifact_location=info.get("artifact_uri", ""),
            creation_timestamp=int(info.get("creation_timestamp_ms", 0)),
            last_updated_timestamp=int(info.get("last_updated_timestamp_ms", 0)),
            status=LoggedModelStatus.parse(info.get("status", LoggedModelStatus.PENDING.value)),  # type: ignore[arg-type]
            model_type=info.get("model_type"),
            source_run_id=info.get("source_run_id"),
            status_message=info.get("status_message"),
            creator_id=info.get("creator_id"),
            lifecycle_stage=info.get("lifecycle_stage", LifecycleStage.ACTIVE),
            tags={t["key"]: t.get("value", "") for t in info.get("tags", [])},
            params={p["key"]: p.get("value", "") for p in body.get("params", [])},
            metrics=tuple(Metric.from_dict(m) for m in body.get("metrics", [])),
            registrations=tuple(ModelRegistration(r["name"], str(r["version"])) for r in info.get("registrations", [])),
        )
