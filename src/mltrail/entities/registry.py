"""Model registry entities: registered models, model versions, aliases, tags, stages and webhooks.

Fields and wire shapes follow MLflow's ``model_registry.proto``: ``version`` is a string on the wire and
numbered per model; ``current_stage`` is one of :data:`ALL_STAGES`; ``status`` a :class:`ModelVersionStatus`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mltrail import errors
from mltrail.entities._wire import compact, key_values, opt_int
from mltrail.entities.enums import _NamedEnum
from mltrail.entities.tags import _KeyValue

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
#: Every stage a version can be in, in MLflow's order.
ALL_STAGES: tuple[str, ...] = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
#: The stages ``archive_existing_versions`` applies to.
ACTIVE_STAGES: tuple[str, ...] = (STAGE_STAGING, STAGE_PRODUCTION)
_CANONICAL = {s.lower(): s for s in ALL_STAGES}

#: The registry tag that marks prompts; searches leave prompts out unless they ask for them.
IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"
#: The logged-model tag listing the versions registered from it (JSON ``[{"name", "version"}]``).
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def canonical_stage(stage: str) -> str:
    """The canonical spelling of a stage name (case-insensitive).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unknown stage.
    """
    found = _CANONICAL.get(str(stage).lower())
    if found is None:
        raise errors.invalid(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}.")
    return found


class ModelVersionStatus(_NamedEnum):
    """Where a version's registration stands (mltrail registers synchronously: always READY)."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


ModelVersionStatus._numbers = {1: "PENDING_REGISTRATION", 2: "FAILED_REGISTRATION", 3: "READY"}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RegisteredModelTag(_KeyValue):
    """A tag on a registered model."""


@dataclass(frozen=True, slots=True)
class ModelVersionTag(_KeyValue):
    """A tag on a model version."""


@dataclass(frozen=True, slots=True)
class RegisteredModelAlias:
    """A named pointer (``champion``) to one version of a registered model."""

    alias: str
    version: str

    def to_dict(self) -> dict[str, Any]:
        """The wire form ``{"alias": ..., "version": ...}``."""
        return {"alias": self.alias, "version": self.version}


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a registered model. ``tags`` maps key to value; ``aliases`` are the aliases naming it."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = STAGE_NONE
    source: str | None = None
    run_id: str | None = None
    status: ModelVersionStatus = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: tuple[str, ...] = ()
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form (MLflow's ``ModelVersion`` message)."""
        return compact(
            {
                "name": self.name,
                "version": self.version,
                "creation_timestamp": self.creation_timestamp,
                "last_updated_timestamp": self.last_updated_timestamp,
                "user_id": self.user_id,
                "current_stage": self.current_stage,
                "description": self.description,
                "source": self.source,
                "run_id": self.run_id,
                "status": self.status.value,
                "status_message": self.status_message or None,
                "tags": key_values(self.tags),
                "run_link": self.run_link,
                "aliases": list(self.aliases),
                "model_id": self.model_id,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        """Build from the wire form."""
        return cls(
            name=data.get("name", ""),
            version=str(data.get("version", "")),
            creation_timestamp=int(data.get("creation_timestamp", 0)),
            last_updated_timestamp=opt_int(data.get("last_updated_timestamp")),
            description=data.get("description"),
            user_id=data.get("user_id"),
            current_stage=data.get("current_stage", STAGE_NONE),
            source=data.get("source"),
            run_id=data.get("run_id") or None,
            status=ModelVersionStatus.parse(data.get("status", "READY")),  # type: ignore[arg-type]
            status_message=data.get("status_message"),
            tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
            run_link=data.get("run_link"),
            aliases=tuple(data.get("aliases", [])),
            model_id=data.get("model_id") or None,
        )


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model with versions. ``aliases`` maps alias to version; ``latest_versions`` has one per stage."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    latest_versions: tuple[ModelVersion, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    deployment_job_id: str | None = None

    @property
    def is_prompt(self) -> bool:
        """Whether this registered model is a prompt (its ``mlflow.prompt.is_prompt`` tag is ``true``)."""
        return self.tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"

    def to_dict(self) -> dict[str, Any]:
        """The wire form (MLflow's ``RegisteredModel`` message)."""
        return compact(
            {
                "name": self.name,
                "creation_timestamp": self.creation_timestamp,
                "last_updated_timestamp": self.last_updated_timestamp or None,
                "user_id": self.user_id,
                "description": self.description or None,
                "latest_versions": [v.to_dict() for v in self.latest_versions],
                "tags": key_values(self.tags),
                "aliases": [{"alias": a, "version": v} for a, v in self.aliases.items()],
                "deployment_job_id": self.deployment_job_id or None,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegisteredModel:
        """Build from the wire form."""
        return cls(
            name=data.get("name", ""),
            creation_timestamp=int(data.get("creation_timestamp", 0)),
            last_updated_timestamp=opt_int(data.get("last_updated_timestamp")),
            description=data.get("description"),
            user_id=data.get("user_id"),
            latest_versions=tuple(ModelVersion.from_dict(v) for v in data.get("latest_versions", [])),
            tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
            aliases={a["alias"]: str(a["version"]) for a in data.get("aliases", [])},
            deployment_job_id=data.get("deployment_job_id") or None,
        )


# --------------------------------------------------------------------------------------------- webhooks
class WebhookEvent:
    """The registry events webhooks can subscribe to (mltrail's names, ``<entity>.<action>``)."""

    MODEL_VERSION_CREATED = "model_version.created"
    MODEL_VERSION_ALIAS_SET = "model_version_alias.created"
    MODEL_VERSION_ALIAS_DELETED = "model_version_alias.deleted"
    MODEL_VERSION_STAGE_CHANGED = "model_version.stage_changed"
    MODEL_VERSION_TAG_SET = "model_version_tag.set"
    REGISTERED_MODEL_CREATED = "registered_model.created"
    REGISTERED_MODEL_TAG_SET = "registered_model_tag.set"

    ALL: tuple[str, ...] = (
        MODEL_VERSION_CREATED,
        MODEL_VERSION_ALIAS_SET,
        MODEL_VERSION_ALIAS_DELETED,
        MODEL_VERSION_STAGE_CHANGED,
        MODEL_VERSION_TAG_SET,
        REGISTERED_MODEL_CREATED,
        REGISTERED_MODEL_TAG_SET,
    )


@dataclass(frozen=True, slots=True)
class Webhook:
    """A URL that receives registry events, signed with a secret (which is never sent back)."""

    webhook_id: str
    name: str
    url: str
    events: tuple[str, ...]
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact(
            {
                "webhook_id": self.webhook_id,
                "name": self.name,
                "url": self.url,
                "events": list(self.events),
                "description": self.description,
                "status": "ACTIVE" if self.active else "DISABLED",
                "creation_timestamp": self.creation_timestamp,
                "last_updated_timestamp": self.last_updated_timestamp,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Webhook:
        """Build from the wire form."""
        return cls(
            webhook_id=data["webhook_id"],
            name=data.get("name", ""),
            url=data.get("url", ""),
            events=tuple(data.get("events", [])),
            creation_timestamp=int(data.get("creation_timestamp", 0)),
            last_updated_timestamp=int(data.get("last_updated_timestamp", 0)),
            description=data.get("description"),
            active=data.get("status", "ACTIVE") == "ACTIVE",
        )


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event sent (or being sent) to one webhook: its outcome after ``attempts`` tries."""

    delivery_id: str
    webhook_id: str
    event_id: str
    event: str
    status: str
    attempts: int
    creation_timestamp: int
    last_updated_timestamp: int
    response_code: int | None = None
    error: str | None = None
    payload: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return compact(
            {
                "delivery_id": self.delivery_id,
                "webhook_id": self.webhook_id,
                "event_id": self.event_id,
                "event": self.event,
                "status": self.status,
                "attempts": self.attempts,
                "creation_timestamp": self.creation_timestamp,
                "last_updated_timestamp": self.last_updated_timestamp,
                "response_code": self.response_code,
                "error": self.error,
                "payload": self.payload,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WebhookDelivery:
        """Build from the wire form."""
        return cls(
            delivery_id=data["delivery_id"],
            webhook_id=data.get("webhook_id", ""),
            event_id=data.get("event_id", ""),
            event=data.get("event", ""),
            status=data.get("status", ""),
            attempts=int(data.get("attempts", 0)),
            creation_timestamp=int(data.get("creation_timestamp", 0)),
            last_updated_timestamp=int(data.get("last_updated_timestamp", 0)),
            response_code=opt_int(data.get("response_code")),
            error=data.get("error"),
            payload=data.get("payload"),
        )
