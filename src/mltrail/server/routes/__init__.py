"""REST routers, one module per domain, and the one list of JSON endpoints that the app and the OpenAPI document
both read (:func:`all_endpoints`)."""

from __future__ import annotations

from mltrail.server.endpoints import Endpoint
from mltrail.server.routes import auth_admin, auth_users, logged_models, mltrail_ext, registry, tracking

__all__ = ["all_endpoints"]


def all_endpoints(include_auth: bool = False) -> list[Endpoint]:
    """Every JSON endpoint of the server, in declaration order; with ``include_auth`` the auth API's too.

    The auth API (users, permissions, groups, tokens, audit) exists only on a server with auth on.
    """
    endpoints = [
        *tracking.table.endpoints,
        *logged_models.table.endpoints,
        *mltrail_ext.table.endpoints,
        *registry.table.endpoints,
    ]
    if include_auth:
        endpoints += [*auth_users.table.endpoints, *auth_admin.table.endpoints]
    return endpoints
