"""Datasets and their use as run inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mltrail.entities._wire import compact
from mltrail.entities.tags import InputTag

DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset's identity and description: ``digest`` identifies its content."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact(
            {
                "name": self.name,
                "digest": self.digest,
                "source_type": self.source_type,
                "source": self.source,
                "schema": self.schema,
                "profile": self.profile,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataset:
        """Build from the wire form."""
        return cls(
            name=data["name"],
            digest=data["digest"],
            source_type=data.get("source_type", ""),
            source=data.get("source", ""),
            schema=data.get("schema"),
            profile=data.get("profile"),
        )


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset used by a run, with input tags such as its context (``training``, ``eval``)."""

    dataset: Dataset
    tags: tuple[InputTag, ...] = field(default_factory=tuple)

    @property
    def context(self) -> str | None:
        """The ``mlflow.data.context`` tag, if any."""
        return next((t.value for t in self.tags if t.key == DATASET_CONTEXT_TAG), None)

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact({"tags": [t.to_dict() for t in self.tags], "dataset": self.dataset.to_dict()})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetInput:
        """Build from the wire form."""
        return cls(
            dataset=Dataset.from_dict(data["dataset"]),
            tags=tuple(InputTag.from_dict(t) for t in data.get("tags", [])),
        )


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """One dataset as used in an experiment, as ``search-datasets`` returns it."""

    experiment_id: str
    name: str
    digest: str
    context: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact(
            {"experiment_id": self.experiment_id, "name": self.name, "digest": self.digest, "context": self.context}
        )
