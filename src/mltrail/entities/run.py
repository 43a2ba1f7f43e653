"""Runs: info, data, inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mltrail.entities._wire import compact, key_values, opt_int
from mltrail.entities.dataset import DatasetInput
from mltrail.entities.enums import LifecycleStage, RunStatus
from mltrail.entities.metric import Metric, wire_float


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run's attributes: identity, status, times and where its artifacts live."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``run_uuid`` repeats ``run_id`` as MLflow sends it)."""
        return compact(
            {
                "run_id": self.run_id,
                "run_uuid": self.run_id,
                "run_name": self.run_name,
                "experiment_id": self.experiment_id,
                "user_id": self.user_id,
                "status": self.status.value,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "artifact_uri": self.artifact_uri,
                "lifecycle_stage": self.lifecycle_stage,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunInfo:
        """Build from the wire form."""
        return cls(
            run_id=data.get("run_id") or data["run_uuid"],
            experiment_id=str(data.get("experiment_id", "")),
            run_name=data.get("run_name", ""),
            user_id=data.get("user_id", ""),
            status=RunStatus.parse(data.get("status", "RUNNING")),  # type: ignore[arg-type]
            start_time=opt_int(data.get("start_time")),
            end_time=opt_int(data.get("end_time")),
            artifact_uri=data.get("artifact_uri", ""),
            lifecycle_stage=data.get("lifecycle_stage", LifecycleStage.ACTIVE),
        )


@dataclass(frozen=True, slots=True)
class RunData:
    """A run's latest metric values, params and tags.

    ``metrics``, ``params`` and ``tags`` map key to value, as in MLflow; ``metric_objects`` keeps the latest
    point of each metric with its step and timestamp.
    """

    metric_objects: tuple[Metric, ...] = ()
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric, by key."""
        return {m.key: m.value for m in self.metric_objects}

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {}
        if self.metric_objects:  # a run's latest values carry no dataset, model or run id on the wire
            out["metrics"] = [
                {"key": m.key, "value": wire_float(m.value), "timestamp": m.timestamp, "step": m.step}
                for m in self.metric_objects
            ]
        if self.params:
            out["params"] = key_values(self.params)
        if self.tags:
            out["tags"] = key_values(self.tags)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunData:
        """Build from the wire form."""
        return cls(
            metric_objects=tuple(Metric.from_dict(m) for m in data.get("metrics", [])),
            params={p["key"]: p.get("value", "") for p in data.get("params", [])},
            tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
        )


@dataclass(frozen=True, slots=True)
class LoggedModelInput:
    """A logged model used as an input of a run."""

    model_id: str

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {"model_id": self.model_id}


@dataclass(frozen=True, slots=True)
class LoggedModelOutput:
    """A logged model produced by a run, at a step."""

    model_id: str
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {"model_id": self.model_id, "step": self.step}


@dataclass(frozen=True, slots=True)
class RunInputs:
    """What a run consumed: datasets and logged models."""

    dataset_inputs: tuple[DatasetInput, ...] = ()
    model_inputs: tuple[LoggedModelInput, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact(
            {
                "dataset_inputs": [d.to_dict() for d in self.dataset_inputs],
                "model_inputs": [m.to_dict() for m in self.model_inputs],
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunInputs:
        """Build from the wire form."""
        return cls(
            dataset_inputs=tuple(DatasetInput.from_dict(d) for d in data.get("dataset_inputs", [])),
            model_inputs=tuple(LoggedModelInput(m["model_id"]) for m in data.get("model_inputs", [])),
        )


@dataclass(frozen=True, slots=True)
class RunOutputs:
    """What a run produced: logged models."""

    model_outputs: tuple[LoggedModelOutput, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact({"model_outputs": [m.to_dict() for m in self.model_outputs]})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunOutputs:
        """Build from the wire form."""
        return cls(
            model_outputs=tuple(
                LoggedModelOutput(m["model_id"], int(m.get("step", 0))) for m in data.get("model_outputs", [])
            )
        )


@dataclass(frozen=True, slots=True)
class Run:
    """A run: its info, its data, and its inputs and outputs."""

    info: RunInfo
    data: RunData = field(default_factory=RunData)
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dict(self) -> dict[str, Any]:
        """The wire form; ``inputs`` and ``outputs`` are sent even when empty, as MLflow does."""
        return {
            "info": self.info.to_dict(),
            "data": self.data.to_dict(),
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Build from the wire form."""
        return cls(
            info=RunInfo.from_dict(data["info"]),
            data=RunData.from_dict(data.get("data", {})),
            inputs=RunInputs.from_dict(data.get("inputs", {})),
            outputs=RunOutputs.from_dict(data.get("outputs", {})),
        )
