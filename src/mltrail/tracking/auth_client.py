"""A client for the auth REST API of ``mltrail server --auth`` (users, groups, permissions, tokens, audit log).

It speaks the API that ``docs/auth.md`` lists: MLflow's user endpoints under ``/api/2.0/mlflow``, MLflow 3's
per-user grants under ``/api/3.0/mlflow`` and mltrail's groups, resource permissions, access tokens and audit
log under ``/api/2.0/mltrail``. Requests go through :class:`~mltrail.store.http.HttpClient`, so the caller signs
in the way every mltrail and MLflow client does: ``MLFLOW_TRACKING_USERNAME`` + ``MLFLOW_TRACKING_PASSWORD``
(HTTP Basic) or ``MLFLOW_TRACKING_TOKEN`` (a bearer token), with the same TLS settings, retries and errors.

Example::

    from mltrail.tracking.auth_client import AuthClient

    client = AuthClient("https://mltrail.example.com")
    client.create_user("bob", "a long passphrase")
    client.grant_permission("bob", "experiment", "12", "EDIT")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mltrail.entities.auth import (
    AccessToken,
    AuditEvent,
    ExperimentPermission,
    Group,
    RegisteredModelPermission,
    User,
)
from mltrail.errors import ENDPOINT_NOT_FOUND, UNAUTHENTICATED, MltrailError
from mltrail.store.http import HttpClient, drop_none

__all__ = ["AuthClient", "Grant", "ResourcePermission", "UserPermissions"]

MLFLOW_API = "/api/2.0/mlflow"
MLFLOW3_API = "/api/3.0/mlflow"
MLTRAIL_API = "/api/2.0/mltrail"


@dataclass(frozen=True, slots=True)
class Grant:
    """One grant on a resource: ``kind`` is ``"user"`` or ``"group"``, ``name`` the user's or group's name."""

    kind: str
    name: str
    permission: str

    def to_dict(self) -> dict[str, str]:
        """The wire shape of ``permissions/list``."""
        return {"kind": self.kind, "name": self.name, "permission": self.permission}


@dataclass(frozen=True, slots=True)
class ResourcePermission:
    """A permission a user holds on one resource (MLflow 3's ``resource_pattern`` is the experiment id or model name).

    ``group`` names the group the grant comes through; None for the user's own grant.
    """

    resource_type: str
    resource_pattern: str
    permission: str
    group: str | None = None

    def to_dict(self) -> dict[str, str]:
        """MLflow 3's wire shape, plus mltrail's ``group`` for a group's grant."""
        out = {
            "resource_type": self.resource_type,
            "resource_pattern": self.resource_pattern,
            "permission": self.permission,
        }
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True, slots=True)
class UserPermissions:
    """What ``users/permissions/list`` answers: whether the user is an admin, and their grants."""

    is_admin: bool
    permissions: tuple[ResourcePermission, ...]

    def to_dict(self) -> dict[str, Any]:
        """MLflow 3's wire shape."""
        return {"is_admin": self.is_admin, "permissions": [p.to_dict() for p in self.permissions]}


class AuthClient:
    """The auth API of one tracking server.

    Args:
        tracking_uri: the server root, e.g. ``http://127.0.0.1:5000``.
        http: an :class:`HttpClient` to use; by default a new one, which reads the credentials from the
            environment on its first request (so a new client picks up changed variables).

    Every method raises :class:`~mltrail.errors.MltrailError` with the server's error code: UNAUTHENTICATED
    (no or wrong credentials), PERMISSION_DENIED (not an admin, or no MANAGE on the resource),
    RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE; ENDPOINT_NOT_FOUND when the
    server runs without authentication.
    """

    def __init__(self, tracking_uri: str, http: HttpClient | None = None) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.http = http or HttpClient(self.tracking_uri)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        try:
            return self.http.call(method, path, drop_none(dict(body or {})), idempotent=method == "GET")
        except MltrailError as exc:
            if exc.error_code == ENDPOINT_NOT_FOUND:
                raise MltrailError(
                    f"The server at {self.tracking_uri} does not serve the auth API ({method} {path}): "
                    "is it running with `mltrail server --auth`?",
                    ENDPOINT_NOT_FOUND,
                ) from None
            if exc.error_code == UNAUTHENTICATED and not _has_credentials():
                raise MltrailError(
                    f"{exc.message.rstrip('.')}. Sign in with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, "
                    "or MLFLOW_TRACKING_TOKEN.",
                    UNAUTHENTICATED,
                ) from None
            raise

    # --- users -------------------------------------------------------------------------------------------
    def create_user(self, username: str, password: str) -> User:
        """Create a user with a password (admin only); make them an admin with :meth:`update_user_admin`."""
        return _user(
            self._call("POST", f"{MLFLOW_API}/users/create", {"username": username, "password": password})["user"]
        )

    def get_user(self, username: str) -> User:
        """A user with their direct permissions and groups (admin, or the user themself)."""
        return _user(self._call("GET", f"{MLFLOW_API}/users/get", {"username": username})["user"])

    def list_users(self) -> list[User]:
        """Every user (admin only)."""
        return [_user(u) for u in self._call("GET", f"{MLFLOW_API}/users/list").get("users", [])]

    def current_user(self) -> User:
        """The signed-in caller."""
        return _user(self._call("GET", f"{MLFLOW_API}/users/current")["user"])

    def update_user_password(self, username: str, password: str, current_password: str | None = None) -> None:
        """Set a user's password: an admin for anyone, a user for themself (with ``current_password``)."""
        body = {"username": username, "password": password, "current_password": current_password}
        self._call("PATCH", f"{MLFLOW_API}/users/update-password", body)

    def update_user_admin(self, username: str, is_admin: bool) -> None:
        """Make a user an admin or not (admin only)."""
        self._call("PATCH", f"{MLFLOW_API}/users/update-admin", {"username": username, "is_admin": is_admin})

    def delete_user(self, username: str) -> None:
        """Delete a user with their permissions, memberships and tokens (admin only, not themself)."""
        self._call("DELETE", f"{MLFLOW_API}/users/delete", {"username": username})

    # --- MLflow 3's per-user grants ----------------------------------------------------------------------
    def grant_permission(self, username: str, resource_type: str, resource_id: str, permission: str) -> None:
        """Give a user ``permission`` on an experiment (``resource_type="experiment"``, id) or a registered model
        (``"registered_model"``, name), replacing the one they had; needs MANAGE on the resource."""
        body = {
            "username": username,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "permission": permission,
        }
        self._call("POST", f"{MLFLOW3_API}/users/permissions/grant", body)

    def revoke_permission(self, username: str, resource_type: str, resource_id: str) -> None:
        """Remove a user's own grant on a resource; needs MANAGE on it."""
        body = {"username": username, "resource_type": resource_type, "resource_id": resource_id}
        self._call("POST", f"{MLFLOW3_API}/users/permissions/revoke", body)

    def get_permission(self, username: str, resource_type: str, resource_id: str) -> tuple[bool, str]:
        """``(allowed, permission)``: the user's effective permission on a resource and whether it allows reading."""
        body = {"username": username, "resource_type": resource_type, "resource_id": resource_id}
        data = self._call("GET", f"{MLFLOW3_API}/users/permissions/get", body)
        return bool(data.get("allowed")), str(data.get("permission", ""))

    def list_user_permissions(self, username: str) -> UserPermissions:
        """A user's grants, their own and their groups', and admin flag (admin, or the user themself)."""
        return _user_permissions(self._call("GET", f"{MLFLOW3_API}/users/permissions/list", {"username": username}))

    def current_user_permissions(self) -> UserPermissions:
        """The caller's own grants and admin flag."""
        return _user_permissions(self._call("GET", f"{MLFLOW3_API}/users/current/permissions"))

    # --- groups ------------------------------------------------------------------------------------------
    def create_group(self, name: str) -> Group:
        """Create an empty group (admin only)."""
        return _group(self._call("POST", f"{MLTRAIL_API}/groups/create", {"name": name})["group"])

    def get_group(self, name: str) -> Group:
        """A group with its members and permissions (admin only)."""
        return _group(self._call("GET", f"{MLTRAIL_API}/groups/get", {"name": name})["group"])

    def list_groups(self) -> list[Group]:
        """Every group with its members (admin only)."""
        return [_group(g) for g in self._call("GET", f"{MLTRAIL_API}/groups/list").get("groups", [])]

    def delete_group(self, name: str) -> None:
        """Delete a group with its memberships and permissions (admin only)."""
        self._call("DELETE", f"{MLTRAIL_API}/groups/delete", {"name": name})

    def add_group_member(self, group: str, username: str) -> None:
        """Add a user to a group (admin only)."""
        self._call("POST", f"{MLTRAIL_API}/groups/members/add", {"group": group, "username": username})

    def remove_group_member(self, group: str, username: str) -> None:
        """Remove a user from a group (admin only)."""
        self._call("POST", f"{MLTRAIL_API}/groups/members/remove", {"group": group, "username": username})

    # --- permissions on a resource (users and groups) ----------------------------------------------------
    def list_permissions(self, resource_type: str, resource_id: str) -> tuple[list[Grant], str | None]:
        """Every grant on a resource, and the server's default permission; needs MANAGE on it."""
        body = {"resource_type": resource_type, "resource_id": resource_id}
        data = self._call("GET", f"{MLTRAIL_API}/permissions/list", body)
        grants = [Grant(str(p["kind"]), str(p["name"]), str(p["permission"])) for p in data.get("permissions", [])]
        return grants, data.get("default_permission")

    def set_permission(
        self,
        resource_type: str,
        resource_id: str,
        permission: str,
        *,
        username: str | None = None,
        group: str | None = None,
    ) -> None:
        """Give a user or a group (exactly one) ``permission`` on a resource; needs MANAGE on it."""
        body = {
            "resource_type": resource_type,
            "resource_id": resource_id,
            "permission": permission,
            "username": username,
            "group": group,
        }
        self._call("POST", f"{MLTRAIL_API}/permissions/set", body)

    def delete_permission(
        self, resource_type: str, resource_id: str, *, username: str | None = None, group: str | None = None
    ) -> None:
        """Remove a user's or a group's grant on a resource; needs MANAGE on it."""
        body = {"resource_type": resource_type, "resource_id": resource_id, "username": username, "group": group}
        self._call("POST", f"{MLTRAIL_API}/permissions/delete", body)

    # --- access tokens -----------------------------------------------------------------------------------
    def create_token(self, name: str, expires_in_days: int | None = None) -> tuple[AccessToken, str]:
        """A personal access token of the caller: its record and its secret (``mlt_...``), shown only this once."""
        data = self._call("POST", f"{MLTRAIL_API}/tokens/create", {"name": name, "expires_in_days": expires_in_days})
        return _token(data["token"]), str(data["secret"])

    def list_tokens(self, username: str | None = None, all_users: bool = False) -> list[AccessToken]:
        """The caller's tokens; an admin may ask for another user's (``username``) or everyone's (``all_users``)."""
        body = {"username": username, "all": True if all_users else None}
        return [_token(t) for t in self._call("GET", f"{MLTRAIL_API}/tokens/list", body).get("tokens", [])]

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token (its owner or an admin)."""
        self._call("POST", f"{MLTRAIL_API}/tokens/revoke", {"id": token_id})

    # --- audit log ---------------------------------------------------------------------------------------
    def search_audit_events(
        self,
        username: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Audit events newest first (admin only), at most ``max_results`` (<= 1000), and the next page's token."""
        body = {
            "username": username,
            "since_ms": since_ms,
            "until_ms": until_ms,
            "max_results": max_results,
            "page_token": page_token,
        }
        data = self._call("GET", f"{MLTRAIL_API}/audit/search", body)
        return [_event(e) for e in data.get("events", [])], data.get("next_page_token") or None


# --- wire shapes -> entities (MLflow's server leaves out mltrail's extra fields: defaults fill them) ------
def _has_credentials() -> bool:
    names = ("MLTRAIL_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN", "MLTRAIL_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME")
    return any(os.environ.get(name) for name in names)


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _experiment_permission(data: Mapping[str, Any]) -> ExperimentPermission:
    return ExperimentPermission(
        str(data["experiment_id"]),
        str(data["permission"]),
        _optional_int(data.get("user_id")),
        _optional_int(data.get("group_id")),
    )


def _model_permission(data: Mapping[str, Any]) -> RegisteredModelPermission:
    return RegisteredModelPermission(
        str(data["name"]),
        str(data["permission"]),
        _optional_int(data.get("user_id")),
        _optional_int(data.get("group_id")),
    )


def _user(data: Mapping[str, Any]) -> User:
    return User(
        id=int(data.get("id") or 0),
        username=str(data["username"]),
        is_admin=bool(data.get("is_admin", False)),
        source=str(data.get("source") or "local"),
        created_at=int(data.get("created_at") or 0),
        experiment_permissions=tuple(_experiment_permission(p) for p in data.get("experiment_permissions") or ()),
        registered_model_permissions=tuple(
            _model_permission(p) for p in data.get("registered_model_permissions") or ()
        ),
        groups=tuple(str(g) for g in data.get("groups") or ()),
    )


def _group(data: Mapping[str, Any]) -> Group:
    return Group(
        id=int(data.get("id") or 0),
        name=str(data["name"]),
        members=tuple(str(m) for m in data.get("members") or ()),
        experiment_permissions=tuple(_experiment_permission(p) for p in data.get("experiment_permissions") or ()),
        registered_model_permissions=tuple(
            _model_permission(p) for p in data.get("registered_model_permissions") or ()
        ),
    )


def _token(data: Mapping[str, Any]) -> AccessToken:
    return AccessToken(
        id=int(data["id"]),
        username=str(data.get("username") or ""),
        name=str(data.get("name") or ""),
        created_at=int(data.get("created_at") or 0),
        expires_at=_optional_int(data.get("expires_at")),
        last_used_at=_optional_int(data.get("last_used_at")),
    )


def _event(data: Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(
        id=_optional_int(data.get("id")),
        timestamp=int(data.get("timestamp") or 0),
        username=data.get("username"),
        method=str(data.get("method") or ""),
        path=str(data.get("path") or ""),
        status=int(data.get("status") or 0),
        address=data.get("address"),
        action=str(data.get("action") or ""),
        target=str(data.get("target") or ""),
    )


def _user_permissions(data: Mapping[str, Any]) -> UserPermissions:
    permissions = tuple(
        ResourcePermission(
            str(p["resource_type"]),
            str(p["resource_pattern"]),
            str(p["permission"]),
            None if p.get("group") is None else str(p["group"]),
        )
        for p in data.get("permissions") or ()
    )
    return UserPermissions(bool(data.get("is_admin", False)), permissions)
