"""The resolvers of ``POST /graphql``: each one is the REST endpoint it mirrors, called with its own rule.

A root field takes its ``input`` as the REST endpoint's parameters (camelCase names, as MLflow's REST parser
accepts them too), parses them with that endpoint's field specs, and calls the endpoint's handler, with the
endpoint's auth rule around it when auth is on (:func:`call_rest`): the same store calls, the same validation and
messages, the same permission checks, search narrowing and result filtering as the REST route, and the same wire
dicts (``to_dict()`` shapes), which :func:`resolve_field` reads for every nested field.

Where a wire dict leaves a field out, the field reads as MLflow's protobuf default does on MLflow's server: ``""``
for text, ``"0"`` for an int64, ``false``, ``[]`` for a list, an empty object for a message; ``apiError`` and
enums stay null. Metric values are MLflow's too: NaN is null, an infinity is the largest double (what MLflow's
store keeps for it) since GraphQL's ``Float`` holds neither.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, wraps
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
)

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.auth.guard import run_checked
from mltrail.server.auth.identity import Caller
from mltrail.server.auth.rules import rule_for
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import Endpoint
from mltrail.server.protocol import dumps, parse_body

logger = logging.getLogger("mltrail.server.graphql")

#: The REST mount whose rules the resolvers apply (``/ajax-api`` shares them).
REST_PREFIX = "/api/2.0/mlflow"
#: What MLflow's store keeps for an infinite metric value, and so what its GraphQL answers.
_DOUBLE_MAX = sys.float_info.max
_WIRE_FLOATS = {"NaN": None, "Infinity": _DOUBLE_MAX, "-Infinity": -_DOUBLE_MAX}
#: MLflow's scalar for int64 fields: a string in answers, a number or a string in inputs.
LONG_STRING = "LongString"


@dataclass
class GraphQLContext:
    """One operation's context: the server, the signed-in caller (None with auth off), per-request caches."""

    server: ServerContext
    caller: Caller | None
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)


@cache
def _endpoints() -> dict[tuple[str, str], Endpoint]:
    from mltrail.server.routes import all_endpoints  # the routes import the server's modules; resolve lazily

    return {(e.path, m): e for e in all_endpoints() for m in e.methods}


def call_rest(context: GraphQLContext, path: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The answer of REST endpoint ``method path`` to ``params``, as that route gives it (``{}`` for nothing).

    Raises:
        MltrailError: the endpoint's own errors (bad or missing parameters, not found), or PERMISSION_DENIED from
            its rule; with auth on and no caller, or no rule for the endpoint, UNAUTHENTICATED/PERMISSION_DENIED.
    """
    endpoint = _endpoints()[(path, method)]
    parsed = parse_body(dumps(params), endpoint.fields)  # MLflow's parameter rules, exactly as REST applies them
    server = context.server

    def handler(p: dict[str, Any]) -> dict[str, Any] | None:
        return endpoint.handler(server, p)

    auth = server.auth
    if auth is None:
        return handler(parsed) or {}
    rule = rule_for(REST_PREFIX + path, method)
    if rule is None:  # fail closed, as the app does for a route without a rule
        raise MltrailError(f"No auth rule for {method} {REST_PREFIX}{path}", errors.PERMISSION_DENIED)
    if rule.public:
        return handler(parsed) or {}
    if context.caller is None:
        raise MltrailError("You are not authenticated.", errors.UNAUTHENTICATED)
    return run_checked(auth, rule, context.caller, parsed, handler) or {}


Resolver = Callable[..., Any]


def _guarded(resolve: Resolver) -> Resolver:
    """Let MLflow's errors through with their message; log anything else and report it as REST does."""

    @wraps(resolve)
    def wrapper(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        try:
            return resolve(source, info, **args)
        except MltrailError:
            raise
        except Exception as exc:
            logger.exception("Unhandled error in GraphQL field %s", info.field_name)
            raise MltrailError(f"Internal error: {type(exc).__name__}: {exc}") from None

    return wrapper


def _rest(path: str, method: str) -> Resolver:
    """A root field answered by REST endpoint ``method path`` with the field's ``input``."""

    @_guarded
    def resolve(source: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> dict[str, Any]:
        return call_rest(info.context, path, method, {snake_case(k): v for k, v in (input or {}).items()})

    resolve.__name__ = resolve.__qualname__ = f"resolve_{path.strip('/').replace('/', '_').replace('-', '_')}"
    return resolve


# --- root fields -------------------------------------------------------------------------------------------
get_experiment = _rest("/experiments/get", "GET")
get_run = _rest("/runs/get", "GET")
search_runs = _rest("/runs/search", "POST")
list_artifacts = _rest("/artifacts/list", "GET")
get_metric_history_bulk_interval = _rest("/metrics/get-history-bulk-interval", "GET")
search_datasets = _rest("/experiments/search-datasets", "POST")
search_model_versions = _rest("/model-versions/search", "GET")


def echo(source: Any, info: GraphQLResolveInfo, inputString: str | None = None) -> dict[str, Any]:
    """MLflow's ``test`` field: echoes its input."""
    return {"output": inputString}


def nothing(source: Any, info: GraphQLResolveInfo, **args: Any) -> None:
    """MLflow's ``testMutation``: null (its resolver never runs on MLflow's server)."""
    return None


# --- nested fields -----------------------------------------------------------------------------------------
@_guarded
def run_experiment(source: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any] | None:
    """A run's experiment, as ``experiments/get`` gives it (read once per request and experiment)."""
    experiment_id = (source.get("info") or {}).get("experiment_id")
    if not experiment_id:
        return None
    context: GraphQLContext = info.context
    if experiment_id not in context.experiments:
        answer = call_rest(context, "/experiments/get", "GET", {"experiment_id": experiment_id})
        context.experiments[experiment_id] = answer.get("experiment") or {}
    return context.experiments[experiment_id]


@_guarded
def run_model_versions(source: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """The model versions registered from a run, as ``model-versions/search`` gives them (to this caller)."""
    run_id = (source.get("info") or {}).get("run_id")
    if not run_id:
        return []
    answer = call_rest(info.context, "/model-versions/search", "GET", {"filter": f"run_id='{run_id}'"})
    return answer.get("model_versions") or []


def metric_value(source: dict[str, Any], info: GraphQLResolveInfo) -> float | None:
    """A metric's value as MLflow's GraphQL gives it: NaN as null, an infinity as the largest double."""
    value = source.get("value")
    if isinstance(value, str):
        return _WIRE_FLOATS.get(value)
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return math.copysign(_DOUBLE_MAX, value)
    return value


def workspace(source: dict[str, Any], info: GraphQLResolveInfo) -> str:
    """MLflow without workspaces puts every experiment in ``default``; so does mltrail."""
    return source.get("workspace") or "default"


# --- every other field -------------------------------------------------------------------------------------
_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


@cache
def snake_case(name: str) -> str:
    """``experimentId`` -> ``experiment_id``: the wire dict's key of a GraphQL field."""
    return _CAMEL_HUMP.sub("_", name).lower()


def _default(output_type: GraphQLOutputType) -> Any:
    """What MLflow's server answers for a field its protobuf message leaves unset."""
    if isinstance(output_type, GraphQLNonNull):
        output_type = output_type.of_type
    if isinstance(output_type, GraphQLList):
        return []
    if isinstance(output_type, GraphQLObjectType):
        return None if output_type.name == "ApiError" else {}
    if isinstance(output_type, GraphQLScalarType):
        return _SCALAR_DEFAULTS.get(output_type.name)
    return None  # enums


_SCALAR_DEFAULTS: dict[str, Any] = {"String": "", LONG_STRING: "0", "Int": 0, "Float": 0.0, "Boolean": False}


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """The default resolver: the wire dict's snake_case key (int64 as a string), or MLflow's default if unset."""
    value = source.get(snake_case(info.field_name)) if isinstance(source, dict) else None
    if value is None:
        return _default(info.return_type)
    if getattr(info.return_type, "name", None) == LONG_STRING and not isinstance(value, str):
        return str(value)
    return value
