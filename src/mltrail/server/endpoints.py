"""The endpoint table: each REST endpoint is a path, methods, request fields and a plain handler function.

Handlers are synchronous functions ``(ctx, params) -> dict | None`` that call the stores; the app runs them in
a worker thread and turns their result or :class:`MltrailError` into MLflow's JSON response. Keeping them plain
functions makes them easy to test and lets :mod:`mltrail.server.openapi` describe every endpoint from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mltrail.server.protocol import Field

if TYPE_CHECKING:
    from mltrail.server.context import ServerContext

Handler = Callable[["ServerContext", dict[str, Any]], "dict[str, Any] | None"]


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
