"""REST routers, one module per domain, and the one list of JSON endpoints that the app and the OpenAPI document
both read (:func:`all_endpoints`)."""

from __future__ import annotations

from mltrail.server.endpoints import Endpoint
from mltrail.server.routes import logged_models, mltrail_ext, registry, tracking

__all__ = ["all_endpoints"]


def all_endpoints() -> list[Endpoint]:
    """Every JSON endpoint of the server, in declaration order."""
    return [
        *tracking.table.endpoints,
        *logged_models.table.endpoints,
        *mltrail_ext.table.endpoints,
        *registry.table.endpoints,
    ]
