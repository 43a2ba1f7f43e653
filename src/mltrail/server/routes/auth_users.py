"""MLflow's auth API: users, and permissions on experiments and registered models (only with auth on).

Paths and shapes follow MLflow's ``basic-auth`` app, so its auth client
(``mlflow.server.get_app_client("basic-auth", tracking_uri)``) works unchanged. The route rules
(:mod:`mltrail.server.auth.rules`) let admins in, and MANAGE holders for a resource's permissions; where
MLflow allows "an admin or the user themself" the handler decides, with the caller from the request.
"""

from __future__ import annotations

from typing import Any

from mltrail import errors
from mltrail.entities.auth import (
    RESOURCE_EXPERIMENT,
    RESOURCE_REGISTERED_MODEL,
    RESOURCE_TYPES,
    USE,
    User,
    permission_level,
)
from mltrail.server.auth.identity import Caller, current_caller
from mltrail.server.auth.rules import denied
from mltrail.server.auth.service import AuthService, caller_for
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable
from mltrail.server.protocol import Field

table = EndpointTable()
_V3 = ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow")


def service_of(ctx: ServerContext) -> AuthService:
    """The auth service (these routes exist only when it is on)."""
    assert ctx.auth is not None
    return ctx.auth


def caller() -> Caller:
    """The signed-in caller (the rules guarantee one on these routes)."""
    found = current_caller()
    assert found is not None
    return found


def require_admin_or_self(username: str) -> Caller:
    """The caller, when they are an admin or ``username`` themself; else PERMISSION_DENIED."""
    me = caller()
    if not (me.is_admin or me.username == username):
        raise denied("Permission denied: only an admin or the user themself may do this.")
    return me


def _user_dict(user: User) -> dict[str, Any]:
    return {"user": user.to_dict()}


# --- users ---------------------------------------------------------------------------------------------------
@table.route("/users/create", "POST", Field("username", required=True), Field("password", required=True))
def create_user(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Create a user (admins)."""
    return _user_dict(service_of(ctx).store.create_user(params["username"], params["password"]))


@table.route("/users/get", "GET", Field("username", required=True))
def get_user(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """A user with their permissions (admins, or the user themself)."""
    require_admin_or_self(params["username"])
    return _user_dict(service_of(ctx).store.get_user(params["username"]))


@table.route("/users/list", "GET")
def list_users(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Every user (admins)."""
    return {"users": [u.to_dict() for u in service_of(ctx).store.list_users()]}


@table.route("/users/current", "GET")
def current_user(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """The signed-in user."""
    return {"user": caller().to_dict(), "is_basic_auth": True}


@table.route(
    "/users/update-password",
    "PATCH",
    Field("username", required=True),
    Field("password", required=True),
    Field("current_password"),
)
def update_password(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Set a user's password: an admin for anyone, a user for themself with their current password."""
    service, username = service_of(ctx), params["username"]
    me = require_admin_or_self(username)
    if me.username == username:
        current = params.get("current_password")
        if not current:
            raise errors.invalid("Current password is required when changing your own password.")
        if service.store.authenticate_user(username, current) is None:
            raise errors.invalid("Current password does not match.")
        if current == params["password"]:
            raise errors.invalid("New password must differ from the current password.")
    service.store.update_user_password(username, params["password"])
    service.user_changed(username)


@table.route("/users/update-admin", "PATCH", Field("username", required=True), Field("is_admin", "bool", required=True))
def update_admin(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Make a user an admin or not (admins; not themself, so there is always one left)."""
    service, username = service_of(ctx), params["username"]
    if username == caller().username and not params["is_admin"]:
        raise errors.invalid("Admins cannot remove their own admin rights. Ask another admin to do it.")
    service.store.update_user_admin(username, params["is_admin"])
    service.user_changed(username)


@table.route("/users/delete", "DELETE", Field("username", required=True))
def delete_user(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Delete a user with their permissions and tokens (admins; not themself)."""
    service, username = service_of(ctx), params["username"]
    if username == caller().username:
        raise errors.invalid("Users cannot delete their own account. Ask another admin to delete this user instead.")
    service.store.delete_user(username)
    service.user_changed(username)


# --- permissions on experiments and registered models ----------------------------------------------------------
def _experiment_exists(ctx: ServerContext, experiment_id: str) -> None:
    ctx.tracking_store.get_experiment(experiment_id)  # RESOURCE_DOES_NOT_EXIST for an unknown one


def _model_exists(ctx: ServerContext, name: str) -> None:
    ctx.registry_store.get_registered_model(name)


_EXP = (Field("experiment_id", required=True), Field("username", required=True))
_MODEL = (Field("name", required=True), Field("username", required=True))
_PERMISSION = Field("permission", required=True)


@table.route("/experiments/permissions/create", "POST", *_EXP, _PERMISSION)
def create_experiment_permission(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Give a user a permission on an experiment (MANAGE on it)."""
    service = service_of(ctx)
    _experiment_exists(ctx, params["experiment_id"])
    found = service.store.create_experiment_permission(
        params["experiment_id"], params["username"], params["permission"]
    )
    service.permissions.forget()
    return {"experiment_permission": found.to_dict()}


@table.route("/experiments/permissions/get", "GET", *_EXP)
def get_experiment_permission(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """A user's permission on an experiment (MANAGE on it)."""
    found = service_of(ctx).store.get_experiment_permission(params["experiment_id"], params["username"])
    return {"experiment_permission": found.to_dict()}


@table.route("/experiments/permissions/update", "PATCH", *_EXP, _PERMISSION)
def update_experiment_permission(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Change a user's permission on an experiment (MANAGE on it)."""
    service = service_of(ctx)
    service.store.get_experiment_permission(params["experiment_id"], params["username"])
    service.store.set_experiment_permission(params["experiment_id"], params["permission"], username=params["username"])
    service.permissions.forget()


@table.route("/experiments/permissions/delete", "DELETE", *_EXP)
def delete_experiment_permission(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Remove a user's permission on an experiment (MANAGE on it)."""
    service = service_of(ctx)
    service.store.delete_experiment_permission(params["experiment_id"], username=params["username"])
    service.permissions.forget()


@table.route("/registered-models/permissions/create", "POST", *_MODEL, _PERMISSION)
def create_model_permission(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Give a user a permission on a registered model (MANAGE on it)."""
    service = service_of(ctx)
    _model_exists(ctx, params["name"])
    found = service.store.create_registered_model_permission(params["name"], params["username"], params["permission"])
    service.permissions.forget()
    return {"registered_model_permission": found.to_dict()}


@table.route("/registered-models/permissions/get", "GET", *_MODEL)
def get_model_permission(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """A user's permission on a registered model (MANAGE on it)."""
    found = service_of(ctx).store.get_registered_model_permission(params["name"], params["username"])
    return {"registered_model_permission": found.to_dict()}


@table.route("/registered-models/permissions/update", "PATCH", *_MODEL, _PERMISSION)
def update_model_permission(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Change a user's permission on a registered model (MANAGE on it)."""
    service = service_of(ctx)
    service.store.get_registered_model_permission(params["name"], params["username"])
    service.store.set_registered_model_permission(params["name"], params["permission"], username=params["username"])
    service.permissions.forget()


@table.route("/registered-models/permissions/delete", "DELETE", *_MODEL)
def delete_model_permission(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Remove a user's permission on a registered model (MANAGE on it)."""
    service = service_of(ctx)
    service.store.delete_registered_model_permission(params["name"], username=params["username"])
    service.permissions.forget()


# --- MLflow 3's per-user grant API -----------------------------------------------------------------------------
_RESOURCE = (Field("resource_type", required=True), Field("resource_id", required=True))


def check_resource(ctx: ServerContext, resource_type: str, resource_id: str) -> None:
    """An existing experiment or registered model (INVALID_PARAMETER_VALUE for another resource type)."""
    if resource_type == RESOURCE_EXPERIMENT:
        _experiment_exists(ctx, resource_id)
    elif resource_type == RESOURCE_REGISTERED_MODEL:
        _model_exists(ctx, resource_id)
    else:
        raise errors.invalid(f"resource_type must be one of {', '.join(RESOURCE_TYPES)}, not {resource_type!r}.")


def set_grant(service: AuthService, params: dict[str, Any], *, username: str | None, group: str | None) -> None:
    """Create or replace a user's or a group's grant on ``params``' resource."""
    kind, ident, permission = params["resource_type"], params["resource_id"], params["permission"]
    if kind == RESOURCE_EXPERIMENT:
        service.store.set_experiment_permission(ident, permission, username=username, group=group)
    else:
        service.store.set_registered_model_permission(ident, permission, username=username, group=group)
    service.permissions.forget()


def delete_grant(service: AuthService, params: dict[str, Any], *, username: str | None, group: str | None) -> None:
    """Remove a user's or a group's grant on ``params``' resource."""
    kind, ident = params["resource_type"], params["resource_id"]
    if kind == RESOURCE_EXPERIMENT:
        service.store.delete_experiment_permission(ident, username=username, group=group)
    else:
        service.store.delete_registered_model_permission(ident, username=username, group=group)
    service.permissions.forget()


@table.route(
    "/users/permissions/grant", "POST", Field("username", required=True), *_RESOURCE, _PERMISSION, prefixes=_V3
)
def grant(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Give a user a permission on an experiment or a registered model (MANAGE on it)."""
    service = service_of(ctx)
    service.store.get_user(params["username"])
    check_resource(ctx, params["resource_type"], params["resource_id"])
    set_grant(service, params, username=params["username"], group=None)


@table.route("/users/permissions/revoke", "POST", Field("username", required=True), *_RESOURCE, prefixes=_V3)
def revoke(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Remove a user's permission on an experiment or a registered model (MANAGE on it)."""
    service = service_of(ctx)
    service.store.get_user(params["username"])
    check_resource(ctx, params["resource_type"], params["resource_id"])
    delete_grant(service, params, username=params["username"], group=None)


@table.route("/users/permissions/get", "GET", Field("username", required=True), *_RESOURCE, prefixes=_V3)
def effective(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """A user's effective permission on a resource, as a request of theirs would be checked.

    For admins, the user themself, and those who MANAGE the resource.
    """
    service = service_of(ctx)
    target = caller_for(service.store.get_user(params["username"]), "basic")
    kind, ident = params["resource_type"], params["resource_id"]
    if kind == RESOURCE_EXPERIMENT:
        held = service.permissions.experiment(target, ident)
    elif kind == RESOURCE_REGISTERED_MODEL:
        held = service.permissions.registered_model(target, ident)
    else:
        raise errors.invalid(f"resource_type must be one of {', '.join(RESOURCE_TYPES)}, not {kind!r}.")
    return {"allowed": permission_level(held) >= permission_level(USE), "permission": held}


def _permission_rows(service: AuthService, username: str) -> dict[str, Any]:
    user = service.store.get_user(username)
    rows = [
        {"resource_type": RESOURCE_EXPERIMENT, "resource_pattern": p.experiment_id, "permission": p.permission}
        for p in user.experiment_permissions
    ] + [
        {"resource_type": RESOURCE_REGISTERED_MODEL, "resource_pattern": p.name, "permission": p.permission}
        for p in user.registered_model_permissions
    ]
    for group_name in user.groups:
        group = service.store.get_group(group_name)
        rows += [
            {
                "resource_type": RESOURCE_EXPERIMENT,
                "resource_pattern": p.experiment_id,
                "permission": p.permission,
                "group": group_name,
            }
            for p in group.experiment_permissions
        ] + [
            {
                "resource_type": RESOURCE_REGISTERED_MODEL,
                "resource_pattern": p.name,
                "permission": p.permission,
                "group": group_name,
            }
            for p in group.registered_model_permissions
        ]
    return {"is_admin": user.is_admin, "permissions": rows}


@table.route("/users/permissions/list", "GET", Field("username", required=True), prefixes=_V3)
def list_permissions(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """A user's grants, their own and their groups' (admins, or the user themself)."""
    require_admin_or_self(params["username"])
    return _permission_rows(service_of(ctx), params["username"])


@table.route("/users/current/permissions", "GET", prefixes=_V3)
def current_permissions(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """The signed-in user's grants."""
    return _permission_rows(service_of(ctx), caller().username)
