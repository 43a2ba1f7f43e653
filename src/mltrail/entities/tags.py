"""Key/value entities: params, run tags, experiment tags and input tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

_KV = TypeVar("_KV", bound="_KeyValue")


@dataclass(frozen=True, slots=True)
class _KeyValue:
    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        """The wire form ``{"key": ..., "value": ...}``."""
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls: type[_KV], data: dict[str, Any]) -> _KV:
        """Build from the wire form; a missing value reads as ""."""
        return cls(key=data["key"], value=data.get("value", ""))


@dataclass(frozen=True, slots=True)
class Param(_KeyValue):
    """A run parameter: immutable once logged."""


@dataclass(frozen=True, slots=True)
class RunTag(_KeyValue):
    """A tag on a run; ``mlflow.*`` keys are system tags."""


@dataclass(frozen=True, slots=True)
class ExperimentTag(_KeyValue):
    """A tag on an experiment."""


@dataclass(frozen=True, slots=True)
class InputTag(_KeyValue):
    """A tag on a dataset input, such as ``mlflow.data.context``."""


@dataclass(frozen=True, slots=True)
class LoggedModelTag(_KeyValue):
    """A tag on a logged model."""


@dataclass(frozen=True, slots=True)
class LoggedModelParameter(_KeyValue):
    """A parameter of a logged model."""
