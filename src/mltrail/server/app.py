"""The ASGI application of ``mltrail server``: MLflow's REST API, the artifact proxy, health and OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mltrail.errors import ENDPOINT_NOT_FOUND, INTERNAL_ERROR, MltrailError
from mltrail.server.auth.guard import auth_error_response, authenticate, guard_route, record_write, run_checked
from mltrail.server.auth.oidc import OidcConfig, oidc_routes, sso_description
from mltrail.server.auth.rules import rule_for
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import Endpoint, ExactPathRouter
from mltrail.server.graphql import routes as graphql_routes
from mltrail.server.middleware import (
    BodyLimitMiddleware,
    HostCheckMiddleware,
    OriginCheckMiddleware,
    SecurityHeadersMiddleware,
    cors_middleware,
)
from mltrail.server.protocol import Field, check_json_content_type, check_text, dumps, parse_body, parse_query
from mltrail.server.routes import all_endpoints, artifacts, auth_session, meta, registry, ui

logger = logging.getLogger("mltrail.server")

JSON = "application/json"
_EMPTY = b"{}"


def json_response(payload: dict[str, Any] | None, status: int = 200) -> Response:
    """A JSON response with MLflow's shape (``{}`` for an empty message)."""
    body = dumps(payload) if payload else _EMPTY
    return Response(body, status_code=status, media_type=JSON)


def error_response(error: MltrailError) -> Response:
    """MLflow's error body with the status its code maps to."""
    return Response(dumps(error.to_dict()), status_code=error.http_status, media_type=JSON)


def _parse_params(request: Request, body: bytes, fields: list[Field], path_params: tuple[str, ...]) -> dict[str, Any]:
    """The request's parameters: the query of a GET (or a body-less DELETE), else the JSON body; path values too."""
    if request.method == "GET":
        params = parse_query(request.query_params, fields)
    else:
        if request.method in ("POST", "PUT"):
            check_json_content_type(request.headers.get("content-type"))
        if not body and request.method == "DELETE":
            params = parse_query(request.query_params, fields)
        else:
            params = parse_body(body, fields)
    if path_params:
        params.update({k: check_text(request.path_params[k], k) for k in path_params})
    return params


def _endpoint_route(endpoint: Endpoint, prefix: str, ctx: ServerContext) -> Route:
    handler, path_params = endpoint.handler, endpoint.path_params
    fields = [f for f in endpoint.fields if f.name not in path_params]
    auth = ctx.auth
    rules = {m: rule_for(prefix + endpoint.path, m) for m in endpoint.methods} if auth is not None else {}
    missing = sorted(m for m, r in rules.items() if r is None)
    if missing:  # fail closed: a server with auth on does not start with a route nobody decided about
        raise ValueError(f"No auth rule for {', '.join(missing)} {prefix}{endpoint.path}")

    def call_handler(params: dict[str, Any]) -> dict[str, Any] | None:
        return handler(ctx, params)

    async def call(request: Request) -> Response:
        rule = rules.get(request.method)
        caller = None
        if auth is not None and rule is not None and not rule.public:
            try:
                caller = await authenticate(auth, request)
            except MltrailError as error:
                record_write(auth, request, None, error.http_status, endpoint.summary, None)
                return auth_error_response(error, request)
        # Read outside the try: a body over the limit raises from BodyLimitMiddleware's receive wrapper, and that
        # middleware answers 413 only if the exception reaches it (the catch-all below would make it a 500).
        body = b"" if request.method == "GET" else await request.body()
        params: dict[str, Any] | None = None
        try:
            params = _parse_params(request, body, fields, path_params)
            if caller is not None and rule is not None:
                result = await run_in_threadpool(run_checked, auth, rule, caller, params, call_handler)
            else:
                result = await run_in_threadpool(handler, ctx, params)
            response = json_response(result)
        except MltrailError as error:
            response = error_response(error)
        except Exception as exc:  # an internal failure: log it, answer MLflow's INTERNAL_ERROR
            logger.exception("Unhandled error in %s %s", request.method, request.url.path)
            response = error_response(MltrailError(f"Internal error: {type(exc).__name__}: {exc}", INTERNAL_ERROR))
        if auth is not None:
            record_write(auth, request, caller, response.status_code, endpoint.summary, params)
        return response

    return Route(prefix + endpoint.path, call, methods=list(endpoint.methods), name=None)


def endpoint_routes(endpoints: Sequence[Endpoint], ctx: ServerContext) -> list[BaseRoute]:
    """Starlette routes for every endpoint under each of its prefixes."""
    return [_endpoint_route(e, prefix, ctx) for e in endpoints for prefix in e.prefixes]


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(MltrailError(f"No endpoint {request.method} {request.url.path}", ENDPOINT_NOT_FOUND))


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    allow = (getattr(exc, "headers", None) or {}).get("Allow")
    return Response(
        dumps({"error_code": "BAD_REQUEST", "message": f"Method {request.method} not allowed for {request.url.path}"}),
        status_code=405,
        media_type=JSON,
        headers={"Allow": allow} if allow else None,
    )


def create_app(
    ctx: ServerContext,
    allowed_hosts: Sequence[str] | None = None,
    cors_origins: Sequence[str] | None = None,
    max_body_bytes: int = 64 * 1024 * 1024,
) -> Starlette:
    """Build the server application.

    Args:
        ctx: the stores and artifact settings.
        allowed_hosts: Host header values accepted (DNS-rebinding protection); ``None`` allows loopback names
            and the bound address only, ``["*"]`` allows all.
        cors_origins: origins allowed by CORS; none by default.
        max_body_bytes: largest JSON request body; bigger ones get 413. Artifact uploads stream and are exempt.
    """

    file_routes: list[BaseRoute] = [*meta.routes(ctx), *artifacts.routes(ctx), *registry.routes(ctx)]
    routes: list[BaseRoute]
    if ctx.auth is None:
        routes = [*auth_session.routes_without_auth(), *file_routes, *endpoint_routes(all_endpoints(), ctx)]
    else:
        oidc = OidcConfig.from_mapping(ctx.auth.config.oidc) if ctx.auth.config.oidc is not None else None
        routes = [
            *auth_session.routes(ctx.auth, sso_description(oidc) if oidc else None),
            *(oidc_routes(ctx.auth, oidc) if oidc else ()),
            *(guard_route(r, ctx.auth) if isinstance(r, Route) else r for r in file_routes),
            *endpoint_routes(all_endpoints(include_auth=True), ctx),
        ]
    routes += graphql_routes(ctx)  # POST /graphql: authenticates itself and applies each field's REST rule
    routes += ui.routes()  # last: the web UI's catch-all (never API paths; public: it holds no data)
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(HostCheckMiddleware, allowed_hosts=allowed_hosts),
        Middleware(OriginCheckMiddleware, allowed_origins=list(cors_origins or ())),
        Middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes, exempt_prefixes=artifacts.STREAMING_PREFIXES),
    ]
    if cors_origins:
        middleware.append(cors_middleware(cors_origins))
    app = Starlette(middleware=middleware, exception_handlers={404: _not_found, 405: _method_not_allowed})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(ctx.start_background_work)
        try:
            yield
        finally:
            await run_in_threadpool(ctx.stop_background_work)

    # Starlette's routing with a dictionary in front for plain paths (the router runs the lifespan too).
    app.router = ExactPathRouter(routes, lifespan=lifespan)
    app.state.ctx = ctx
    return app
