"""Enumerations shared by the entities: run status, view type, lifecycle stage, logged model status."""

from __future__ import annotations

from enum import Enum

from mltrail import errors


class _NamedEnum(str, Enum):
    """A string enum whose wire form is its name, parsed case-insensitively from names or MLflow's numbers."""

    @classmethod
    def parse(cls, value: object) -> _NamedEnum:
        """Parse a name (any case), an enum member, or MLflow's proto number."""
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            numbers = getattr(cls, "_numbers", {})
            if value in numbers:
                return cls(numbers[value])
        if isinstance(value, str):
            for member in cls:
                if member.value.upper() == value.upper():
                    return member
            if value.isdigit():
                return cls.parse(int(value))
        allowed = ", ".join(m.value for m in cls)
        raise errors.invalid(f"Invalid value {value!r} for {cls.__name__}; expected one of {allowed}")

    def __str__(self) -> str:
        return self.value


class RunStatus(_NamedEnum):
    """The status of a run, as MLflow names it."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminated(self) -> bool:
        """Whether the run has ended (FINISHED, FAILED or KILLED)."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


RunStatus._numbers = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}  # type: ignore[attr-defined]


class ViewType(_NamedEnum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    def includes(self, lifecycle_stage: str) -> bool:
        """Whether an entity in ``lifecycle_stage`` is visible under this view."""
        if self is ViewType.ALL:
            return True
        return (lifecycle_stage == LifecycleStage.ACTIVE) == (self is ViewType.ACTIVE_ONLY)

    @property
    def stages(self) -> tuple[str, ...]:
        """The lifecycle stages this view includes."""
        return {
            ViewType.ACTIVE_ONLY: (LifecycleStage.ACTIVE,),
            ViewType.DELETED_ONLY: (LifecycleStage.DELETED,),
            ViewType.ALL: (LifecycleStage.ACTIVE, LifecycleStage.DELETED),
        }[self]


ViewType._numbers = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}  # type: ignore[attr-defined]


class LifecycleStage:
    """The two lifecycle stages of experiments, runs and logged models."""

    ACTIVE = "active"
    DELETED = "deleted"


class LoggedModelStatus(_NamedEnum):
    """The status of a logged model (MLflow 3.x)."""

    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"


LoggedModelStatus._numbers = {1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY", 3: "LOGGED_MODEL_UPLOAD_FAILED"}  # type: ignore[attr-defined]
