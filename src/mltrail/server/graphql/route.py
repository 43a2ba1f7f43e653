"""``POST /graphql``: MLflow's GraphQL endpoint, request and answer shaped as MLflow 3.17.2 shapes them.

The body is ``{"query": ..., "variables": {...}, "operationName": ...}`` with ``Content-Type: application/json``;
the answer is ``200 {"data": ..., "errors": [message, ...] | null}`` with the errors as plain messages, as MLflow
sends them, for syntax errors, validation errors, the query-size limits (:mod:`mltrail.server.graphql.limits`) and
failing fields alike. A body that is not a request at all (malformed JSON, no ``query``, wrong content type) gets
MLflow's REST error (400 ``INVALID_PARAMETER_VALUE``) where MLflow answers the content type so and the rest with a
500.

Batching: a JSON list of such requests (at most :data:`~mltrail.server.graphql.limits.MAX_BATCH`, sharing one
root-field budget) is answered with the list of their answers. MLflow 3.17.2 answers a list with a 500.

With auth on the route needs a signed-in caller (its rule in :mod:`mltrail.server.auth.rules`), and every field
applies the rule of the REST endpoint it mirrors (:func:`~mltrail.server.graphql.resolvers.call_rest`); a field
the caller may not read is null with a PERMISSION_DENIED message (MLflow leaves it null without a word). GraphQL
here only reads, so no audit event is written.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, execute_sync, parse, validate
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.auth.guard import auth_error_response, authenticate, run_checked
from mltrail.server.auth.identity import Caller
from mltrail.server.auth.rules import rule_for
from mltrail.server.context import ServerContext
from mltrail.server.graphql import limits
from mltrail.server.graphql.resolvers import GraphQLContext, resolve_field
from mltrail.server.graphql.schema import schema
from mltrail.server.protocol import check_json_content_type, dumps, loads

PATH = "/graphql"
_JSON = "application/json"

Answer = dict[str, Any]


def _answer(data: Any, messages: list[str] | None) -> Answer:
    return {"data": data, "errors": messages or None}


def _operations(body: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The operations of a request body, and whether it was a batch.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a body that is no GraphQL request, or a batch over the limits.
    """
    try:
        data = loads(body) if body.strip() else {}
    except (ValueError, TypeError, RecursionError) as exc:
        raise errors.invalid(f"Malformed JSON request body: {exc}") from None
    batched = isinstance(data, list)
    if batched:
        try:
            limits.check_batch_size(len(data))
        except limits.QueryTooLarge as exc:
            raise errors.invalid(str(exc)) from None
    operations = data if batched else [data]
    for i, op in enumerate(operations):
        where = f"[{i}]" if batched else ""
        if not isinstance(op, dict):
            raise errors.invalid("The request body must be a JSON object (or a list of them for a batch).")
        query = op.get("query")
        if not isinstance(query, str) or not query.strip():
            raise errors.invalid(f"Missing value for required parameter '{where}query'.")
        if not isinstance(op.get("variables"), dict | None):
            raise errors.invalid(f"Invalid value for parameter '{where}variables': it must be a JSON object.")
        if not isinstance(op.get("operationName"), str | None):
            raise errors.invalid(f"Invalid value for parameter '{where}operationName': it must be a string.")
    return operations, batched


def _prepare(op: dict[str, Any]) -> tuple[Any, int] | Answer:
    """The parsed document of an operation and its root-field count, or the answer refusing it."""
    try:
        document = parse(op["query"], max_tokens=limits.MAX_TOKENS)
    except GraphQLError as error:
        return _answer(None, [error.message])
    except RecursionError:  # nesting so deep the parser cannot follow it: far past the depth limit
        return _answer(None, [f"Query exceeds maximum depth of {limits.MAX_DEPTH}"])
    try:
        info = limits.check(document)
    except limits.QueryTooLarge as exc:
        return _answer(None, [str(exc)])
    return document, info.root_fields


def execute(ctx: ServerContext, caller: Caller | None, operations: list[dict[str, Any]], batched: bool) -> list[Answer]:
    """Run the operations (in the worker thread: the resolvers call the stores) and return their answers.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when a batch's operations hold more root fields than one query may.
    """
    prepared = [_prepare(op) for op in operations]
    if batched:
        try:
            limits.check_batch([p[1] for p in prepared if isinstance(p, tuple)])
        except limits.QueryTooLarge as exc:
            raise errors.invalid(str(exc)) from None
    the_schema = schema()
    context = GraphQLContext(ctx, caller)
    answers: list[Answer] = []
    for op, ready in zip(operations, prepared, strict=True):
        if not isinstance(ready, tuple):
            answers.append(ready)
            continue
        document = ready[0]
        invalid = validate(the_schema, document)
        if invalid:
            answers.append(_answer(None, [error.message for error in invalid]))
            continue
        result = execute_sync(
            the_schema,
            document,
            context_value=context,
            variable_values=op.get("variables"),
            operation_name=op.get("operationName"),
            field_resolver=resolve_field,
        )
        answers.append(_answer(result.data, [error.message for error in result.errors or ()]))
    return answers


def _error(error: MltrailError) -> Response:
    return Response(dumps(error.to_dict()), status_code=error.http_status, media_type=_JSON)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The ``/graphql`` route, bound to ``ctx``.

    Raises:
        ValueError: with auth on and no rule for the route (the server refuses to start: fail closed).
    """
    auth = ctx.auth
    rule = rule_for(PATH, "POST") if auth is not None else None
    if auth is not None and (rule is None or rule_for(PATH, "GET") is None):
        raise ValueError(f"No auth rule for {'POST' if rule is None else 'GET'} {PATH}")

    async def graphql(request: Request) -> Response:
        """Answer GraphQL queries (MLflow's schema)."""
        if request.method != "POST":  # MLflow declares GET too (and fails on it); the web UI's page is not here
            message = f"Method {request.method} not allowed for {PATH}: send the query with POST."
            body = dumps({"error_code": "BAD_REQUEST", "message": message})
            return Response(body, status_code=405, media_type=_JSON, headers={"Allow": "POST"})
        caller: Caller | None = None
        if auth is not None and rule is not None and not rule.public:
            try:
                caller = await authenticate(auth, request)
            except MltrailError as error:
                return auth_error_response(error, request)
        body = await request.body()  # outside the try: BodyLimitMiddleware answers 413 for a body over the limit
        try:
            check_json_content_type(request.headers.get("content-type"))
            operations, batched = _operations(body)
            if auth is not None and rule is not None and caller is not None:
                answers = await run_in_threadpool(
                    run_checked, auth, rule, caller, {}, lambda _: execute(ctx, caller, operations, batched)
                )
            else:
                answers = await run_in_threadpool(execute, ctx, None, operations, batched)
        except MltrailError as error:
            return _error(error)
        return Response(dumps(answers if batched else answers[0]), media_type=_JSON)

    return [Route(PATH, graphql, methods=["GET", "POST"])]
