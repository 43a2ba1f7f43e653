"""mltrail's auth API beyond MLflow's: groups, permissions by resource, personal access tokens, the audit log.

Mounted under ``/api/2.0/mltrail`` and ``/ajax-api/2.0/mltrail`` on a server with auth on; rules in
:mod:`mltrail.server.auth.rules` (groups and the audit log for admins, a resource's grants for its MANAGE
holders, tokens for their owners).
"""

from __future__ import annotations

import time
from typing import Any

from mltrail import errors
from mltrail.entities.auth import RESOURCE_EXPERIMENT
from mltrail.server.auth.rules import denied
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable
from mltrail.server.protocol import Field
from mltrail.server.routes.auth_users import caller, check_resource, delete_grant, service_of, set_grant

table = EndpointTable()
_PREFIXES = ("/api/2.0/mltrail", "/ajax-api/2.0/mltrail")
#: The longest token lifetime offered.
MAX_TOKEN_DAYS = 3650


# --- groups ----------------------------------------------------------------------------------------------------
@table.route("/groups/create", "POST", Field("name", required=True), prefixes=_PREFIXES)
def create_group(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Create a group (admins)."""
    return {"group": service_of(ctx).store.create_group(params["name"]).to_dict()}


@table.route("/groups/list", "GET", prefixes=_PREFIXES)
def list_groups(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Every group with its members (admins)."""
    return {"groups": [g.to_dict() for g in service_of(ctx).store.list_groups()]}


@table.route("/groups/get", "GET", Field("name", required=True), prefixes=_PREFIXES)
def get_group(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """A group with its members and permissions (admins)."""
    return {"group": service_of(ctx).store.get_group(params["name"]).to_dict()}


@table.route("/groups/delete", "DELETE", Field("name", required=True), prefixes=_PREFIXES)
def delete_group(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Delete a group with its memberships and permissions (admins)."""
    service = service_of(ctx)
    service.store.delete_group(params["name"])
    service.permissions.forget()


_MEMBER = (Field("group", required=True), Field("username", required=True))


@table.route("/groups/members/add", "POST", *_MEMBER, prefixes=_PREFIXES)
def add_member(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Add a user to a group (admins)."""
    service = service_of(ctx)
    service.store.add_group_member(params["group"], params["username"])
    service.permissions.forget()


@table.route("/groups/members/remove", "POST", *_MEMBER, prefixes=_PREFIXES)
def remove_member(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Remove a user from a group (admins)."""
    service = service_of(ctx)
    service.store.remove_group_member(params["group"], params["username"])
    service.permissions.forget()


# --- a resource's grants ---------------------------------------------------------------------------------------
_RESOURCE = (Field("resource_type", required=True), Field("resource_id", required=True))


def _grantee(params: dict[str, Any]) -> tuple[str | None, str | None]:
    username, group = params.get("username") or None, params.get("group") or None
    if (username is None) == (group is None):
        raise errors.invalid("Give exactly one of 'username' and 'group'.")
    return username, group


@table.route("/permissions/list", "GET", *_RESOURCE, prefixes=_PREFIXES)
def list_resource_permissions(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Every user's and group's grant on an experiment or a registered model (MANAGE on it)."""
    service, kind, ident = service_of(ctx), params["resource_type"], params["resource_id"]
    check_resource(ctx, kind, ident)
    if kind == RESOURCE_EXPERIMENT:
        grants = service.store.list_experiment_permissions(ident)
    else:
        grants = service.store.list_registered_model_permissions(ident)
    rows = [{"kind": k, "name": name, "permission": permission} for k, name, permission in grants]
    return {"permissions": rows, "default_permission": service.config.default_permission}


@table.route(
    "/permissions/set",
    "POST",
    *_RESOURCE,
    Field("permission", required=True),
    Field("username"),
    Field("group"),
    prefixes=_PREFIXES,
)
def set_resource_permission(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Create or replace a user's or a group's grant on a resource (MANAGE on it)."""
    username, group = _grantee(params)
    check_resource(ctx, params["resource_type"], params["resource_id"])
    set_grant(service_of(ctx), params, username=username, group=group)


@table.route("/permissions/delete", "POST", *_RESOURCE, Field("username"), Field("group"), prefixes=_PREFIXES)
def delete_resource_permission(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Remove a user's or a group's grant on a resource (MANAGE on it)."""
    username, group = _grantee(params)
    check_resource(ctx, params["resource_type"], params["resource_id"])
    delete_grant(service_of(ctx), params, username=username, group=group)


# --- personal access tokens ------------------------------------------------------------------------------------
@table.route(
    "/tokens/create", "POST", Field("name", required=True), Field("expires_in_days", "int"), prefixes=_PREFIXES
)
def create_token(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Create a personal access token for the caller; the secret is in this answer only."""
    days = params.get("expires_in_days")
    expires_at = None
    if days is not None:
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise errors.invalid(f"expires_in_days must be between 1 and {MAX_TOKEN_DAYS}.")
        expires_at = int((time.time() + days * 86400) * 1000)
    token, secret = service_of(ctx).store.create_token(caller().username, params["name"], expires_at=expires_at)
    return {"token": token.to_dict(), "secret": secret}


@table.route("/tokens/list", "GET", Field("username"), Field("all", "bool"), prefixes=_PREFIXES)
def list_tokens(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """The caller's tokens; an admin may ask for another user's (``username``) or everyone's (``all``)."""
    me = caller()
    username = params.get("username") or me.username
    if params.get("all"):
        username = None
    if username != me.username and not me.is_admin:
        raise denied("Permission denied: only an admin may list other users' tokens.")
    return {"tokens": [t.to_dict() for t in service_of(ctx).store.list_tokens(username)]}


@table.route("/tokens/revoke", "POST", Field("id", "int", required=True), prefixes=_PREFIXES)
def revoke_token(ctx: ServerContext, params: dict[str, Any]) -> None:
    """Revoke a token: its owner, or an admin. It stops working here at once, elsewhere within the cache time."""
    me, service = caller(), service_of(ctx)
    service.store.revoke_token(params["id"], username=None if me.is_admin else me.username)
    service.credentials.clear()


# --- audit log -------------------------------------------------------------------------------------------------
@table.route(
    "/audit/search",
    "GET",
    Field("username"),
    Field("since_ms", "int"),
    Field("until_ms", "int"),
    Field("max_results", "int"),
    Field("page_token"),
    prefixes=_PREFIXES,
)
def search_audit(ctx: ServerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Audit events, newest first (admins)."""
    service = service_of(ctx)
    service.audit.flush()  # what this process queued is part of the answer
    events, token = service.store.search_audit_events(
        username=params.get("username") or None,
        since_ms=params.get("since_ms"),
        until_ms=params.get("until_ms"),
        max_results=params.get("max_results") or 100,
        page_token=params.get("page_token") or None,
    )
    out: dict[str, Any] = {"events": [e.to_dict() for e in events]}
    if token:
        out["next_page_token"] = token
    return out
