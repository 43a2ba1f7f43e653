"""Side endpoints: health, version, server-info and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from mltrail.server.context import ServerContext
from mltrail.server.openapi import openapi_document
from mltrail.server.protocol import dumps

#: The MLflow version this server is wire-compatible with; clients gate features on it (>= 3.4 for OTLP).
COMPATIBLE_MLFLOW_VERSION = "3.18.0"


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The side routes, bound to ``ctx``."""

    async def health(request: Request) -> Response:
        return PlainTextResponse("OK")

    async def version(request: Request) -> Response:
        return PlainTextResponse(COMPATIBLE_MLFLOW_VERSION)

    async def server_info(request: Request) -> Response:
        from mltrail import __version__

        info = {
            "store_type": "SqlStore",
            "artifact_serving_enabled": ctx.serve_artifacts,
            "multipart_uploads_enabled": ctx.serve_artifacts,
            "multipart_downloads_enabled": False,
            "workspaces_enabled": False,
            "artifacts_presigned_only": False,
            "server": "mltrail",
            "mltrail_version": __version__,
        }
        return Response(dumps(info), media_type="application/json")

    async def openapi(request: Request) -> Response:
        return Response(dumps(openapi_document(include_auth=ctx.auth is not None)), media_type="application/json")

    return [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/api/3.0/mlflow/server-info", server_info, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
