"""The endpoint table: each REST endpoint is a path, methods, request fields and a plain handler function.

Handlers are synchronous functions ``(ctx, params) -> dict | None`` that call the stores; the app runs them in
a worker thread and turns their result or :class:`MltrailError` into MLflow's JSON response. Keeping them plain
functions makes them easy to test and lets :mod:`mltrail.server.openapi` describe every endpoint from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Lifespan, Receive, Scope, Send

from mltrail.errors import INVALID_PARAMETER_VALUE
from mltrail.server.protocol import Field, dumps

if TYPE_CHECKING:
    from mltrail.server.context import ServerContext

Handler = Callable[["ServerContext", dict[str, Any]], "dict[str, Any] | None"]

#: The longest URL (path and query string) served, as httptools' parser allows: longer ones get a JSON 414.
MAX_URL_BYTES = 65535


def url_too_long_message(length: int) -> str:
    """The message for a URL over :data:`MAX_URL_BYTES`."""
    return (
        f"The request URL is too long ({length} bytes; at most {MAX_URL_BYTES}). "
        "Send large requests as a JSON body with POST."
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A REST endpoint mounted under one or more API prefixes.

    ``path`` may contain Starlette path parameters (``/logged-models/{model_id}``); their values are merged into
    ``params``. ``prefixes`` are the mount points, e.g. ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``.
    """

    path: str
    methods: tuple[str, ...]
    fields: tuple[Field, ...]
    handler: Handler
    summary: str
    prefixes: tuple[str, ...] = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
    path_params: tuple[str, ...] = field(default=())


class EndpointTable:
    """Collects endpoints declared with :meth:`route`."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        path: str,
        methods: tuple[str, ...] | str,
        *fields: Field,
        prefixes: tuple[str, ...] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare ``handler`` as the endpoint at ``path``; the first docstring line becomes its summary."""
        method_tuple = (methods,) if isinstance(methods, str) else methods
        path_params = tuple(p.strip("{}").split(":")[0] for p in path.split("/") if p.startswith("{"))

        def register(handler: Handler) -> Handler:
            summary = (handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else path
            kwargs: dict[str, Any] = {"path_params": path_params}
            if prefixes is not None:
                kwargs["prefixes"] = prefixes
            self.endpoints.append(Endpoint(path, method_tuple, fields, handler, summary, **kwargs))
            return handler

        return register


def page_response(items: list[dict[str, Any]], name: str, token: str | None) -> dict[str, Any]:
    """A paged response as MLflow sends it: the list under ``name`` (left out when empty) and ``next_page_token``."""
    out: dict[str, Any] = {name: items} if items else {}
    if token:
        out["next_page_token"] = token
    return out


def key_value_items(raw: list[dict[str, Any]] | None, cls: type) -> list[Any]:
    """Parsed ``[{"key", "value"}]`` request items as entities of ``cls`` (a missing value reads as "")."""
    return [cls(item["key"], item.get("value", "")) for item in raw or []]


class ExactPathRouter(Router):
    """Starlette's router with a dictionary in front for paths without parameters.

    Starlette tries its routes' patterns in turn: with ~170 routes that is ~0.15 ms before a call such as
    ``runs/log-metric`` is found, a tenth of the whole request. The dictionary maps (path, method) to the route
    Starlette's own scan picks first (worked out once, up front), so dispatch is unchanged; everything else
    (path parameters, 405s, redirects, 404s) still goes through the scan.
    """

    def __init__(self, routes: list[BaseRoute], lifespan: Lifespan[Any] | None = None) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self._exact: dict[tuple[str, str], Route] = {}
        for index, route in enumerate(self.routes):
            if not isinstance(route, Route) or route.param_convertors or not route.methods:
                continue
            for method in route.methods:
                key = (route.path, method)
                if key not in self._exact and not self._shadowed(self.routes[:index], route.path, method):
                    self._exact[key] = route

    @staticmethod
    def _shadowed(earlier: list[BaseRoute], path: str, method: str) -> bool:
        """Whether a route before this one fully matches ``method path`` (then it is Starlette's pick)."""
        scope: Scope = {"type": "http", "path": path, "method": method, "root_path": "", "path_params": {}}
        for route in earlier:
            if isinstance(route, Route):
                if route.path_regex.match(path) and (route.methods is None or method in route.methods):
                    return True
            elif route.matches(scope)[0] is Match.FULL:
                return True
        return False

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch a request: plain paths by dictionary, the rest as Starlette does; an over-long URL gets 414."""
        if scope["type"] == "http":
            url_length = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
            if url_length > MAX_URL_BYTES:  # parsers differ (h11 reads ~1 MiB, httptools 64 KiB): one answer
                error = {"error_code": INVALID_PARAMETER_VALUE, "message": url_too_long_message(url_length)}
                await Response(dumps(error), status_code=414, media_type="application/json")(scope, receive, send)
                return
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self._exact.get((scope["path"], scope["method"]))
            if route is not None:
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = {}
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)
