"""Users, groups, access tokens, permissions and audit events of a server with authentication on.

Wire shapes follow MLflow's auth app (``mlflow.server.auth.entities``) where it has the entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Permission names, weakest first. MLflow's model: READ < USE < EDIT < MANAGE; NO_PERMISSIONS denies.
NO_PERMISSIONS = "NO_PERMISSIONS"
READ = "READ"
USE = "USE"
EDIT = "EDIT"
MANAGE = "MANAGE"
PERMISSION_LEVELS: dict[str, int] = {NO_PERMISSIONS: 0, READ: 1, USE: 2, EDIT: 3, MANAGE: 4}

#: Resource types of the unified grant API (``users/permissions/grant``), as MLflow names them.
RESOURCE_EXPERIMENT = "experiment"
RESOURCE_REGISTERED_MODEL = "registered_model"
RESOURCE_TYPES = (RESOURCE_EXPERIMENT, RESOURCE_REGISTERED_MODEL)


def permission_level(name: str) -> int:
    """The rank of a permission name (``KeyError`` for an unknown one: validate with :func:`is_permission`)."""
    return PERMISSION_LEVELS[name]


def is_permission(name: object) -> bool:
    """Whether ``name`` is one of MLflow's permission names."""
    return isinstance(name, str) and name in PERMISSION_LEVELS


def can_read(name: str) -> bool:
    """READ or stronger."""
    return PERMISSION_LEVELS[name] >= PERMISSION_LEVELS[READ]


def can_update(name: str) -> bool:
    """EDIT or stronger (write runs, metrics, tags, artifacts, versions)."""
    return PERMISSION_LEVELS[name] >= PERMISSION_LEVELS[EDIT]


def can_manage(name: str) -> bool:
    """MANAGE: delete, rename and grant permissions on the resource."""
    return PERMISSION_LEVELS[name] >= PERMISSION_LEVELS[MANAGE]


def _grant_dict(resource: dict[str, Any], permission: str, user_id: int | None, group_id: int | None) -> dict[str, Any]:
    """A grant's wire shape: the resource's key, the permission, and whose it is."""
    out = {**resource, "permission": permission}
    if user_id is not None:
        out["user_id"] = user_id
    if group_id is not None:
        out["group_id"] = group_id
    return out


@dataclass(frozen=True, slots=True)
class ExperimentPermission:
    """A user's (or a group's) permission on one experiment (exactly one of ``user_id``/``group_id`` is set)."""

    experiment_id: str
    permission: str
    user_id: int | None = None
    group_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's wire shape (``group_id`` added only for a group's grant)."""
        return _grant_dict({"experiment_id": self.experiment_id}, self.permission, self.user_id, self.group_id)


@dataclass(frozen=True, slots=True)
class RegisteredModelPermission:
    """A user's (or a group's) permission on one registered model, by name."""

    name: str
    permission: str
    user_id: int | None = None
    group_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's wire shape (``group_id`` added only for a group's grant)."""
        return _grant_dict({"name": self.name}, self.permission, self.user_id, self.group_id)


@dataclass(frozen=True, slots=True)
class User:
    """A user. ``password_hash`` never leaves the server (the wire shape leaves it out).

    ``source`` is ``"local"`` for a user with a password, ``"oidc"`` for one created by single sign-on.
    """

    id: int
    username: str
    is_admin: bool = False
    password_hash: str | None = None
    source: str = "local"
    created_at: int = 0
    experiment_permissions: tuple[ExperimentPermission, ...] = ()
    registered_model_permissions: tuple[RegisteredModelPermission, ...] = ()
    groups: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """MLflow's ``user`` shape plus mltrail's ``source``, ``created_at`` and ``groups``."""
        return {
            "id": self.id,
            "username": self.username,
            "is_admin": self.is_admin,
            "source": self.source,
            "created_at": self.created_at,
            "experiment_permissions": [p.to_dict() for p in self.experiment_permissions],
            "registered_model_permissions": [p.to_dict() for p in self.registered_model_permissions],
            "groups": list(self.groups),
        }


@dataclass(frozen=True, slots=True)
class Group:
    """A named set of users; a permission given to a group applies to each member."""

    id: int
    name: str
    members: tuple[str, ...] = ()
    experiment_permissions: tuple[ExperimentPermission, ...] = ()
    registered_model_permissions: tuple[RegisteredModelPermission, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The wire shape."""
        return {
            "id": self.id,
            "name": self.name,
            "members": list(self.members),
            "experiment_permissions": [p.to_dict() for p in self.experiment_permissions],
            "registered_model_permissions": [p.to_dict() for p in self.registered_model_permissions],
        }


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A personal access token's record; the secret itself is shown once, at creation, and stored hashed."""

    id: int
    username: str
    name: str
    created_at: int
    expires_at: int | None = None
    last_used_at: int | None = None
    kind: str = "token"  # "token" (personal access token) or "session" (a web UI sign-in)

    def to_dict(self) -> dict[str, Any]:
        """The wire shape (never the secret)."""
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
        }


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One write through the server: who did what, when, from where, and how it ended."""

    timestamp: int  # milliseconds since the epoch
    username: str | None
    method: str
    path: str
    status: int
    address: str | None = None
    action: str = ""  # the endpoint's summary, e.g. "Log a metric"
    target: str = ""  # the ids the request named, e.g. "run_id=ab12"
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire shape."""
        return {
            "id": self.id,
            "timestamp": self.timestamp,
            "username": self.username,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "address": self.address,
            "action": self.action,
            "target": self.target,
        }
