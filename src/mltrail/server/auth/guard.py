"""Where routes meet their rules: authenticate the request, check, run, filter, record the audit event.

JSON endpoints call :func:`authenticate` before parsing the body and :func:`run_checked` (in the worker thread,
around the handler) after; every other route is wrapped whole by :func:`guard_route`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mltrail.entities.auth import AuditEvent
from mltrail.errors import UNAUTHENTICATED, MltrailError
from mltrail.server.auth.credentials import SESSION_COOKIE, parse_authorization
from mltrail.server.auth.identity import Caller, set_current_caller
from mltrail.server.auth.rules import Params, Rule, denied, rule_for
from mltrail.server.auth.service import AuthService, LoginLimited
from mltrail.server.protocol import dumps

#: How many further pages a filtered search reads to fill one answer before returning a short page.
_MAX_REFILLS = 10
#: Parameters worth naming in an audit event's target.
_TARGET_PARAMS = (
    "experiment_id",
    "run_id",
    "run_uuid",
    "name",
    "version",
    "model_id",
    "username",
    "group",
    "webhook_id",
    "resource_type",
    "resource_id",
    "artifact_path",
    "new_name",
    "id",
)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(request: Request) -> str | None:
    """The peer address of the request (proxies' forwarding headers are not trusted)."""
    return request.client.host if request.client else None


def auth_error_response(error: MltrailError, request: Request) -> Response:
    """MLflow's error JSON for a 401/403/429, with the headers that go with it.

    The Basic challenge is left out for the web UI's calls (``/ajax-api``, or a session cookie): a browser would
    answer it with its own password dialog instead of letting the sign-in page do the talking.
    """
    headers: dict[str, str] = {}
    if error.error_code == UNAUTHENTICATED:
        path = request.url.path
        from_ui = path.startswith(("/ajax-api/", "/auth/")) or SESSION_COOKIE in request.cookies
        if not from_ui:
            headers["WWW-Authenticate"] = 'Basic realm="mltrail"'
    if isinstance(error, LoginLimited):
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        dumps(error.to_dict()), status_code=error.http_status, media_type="application/json", headers=headers
    )


async def authenticate(service: AuthService, request: Request) -> Caller:
    """The caller of ``request`` (cached credentials answer without leaving the event loop).

    Raises:
        MltrailError: UNAUTHENTICATED without or with bad credentials; LoginLimited after too many failures.
    """
    credentials = parse_authorization(request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE))
    if credentials is None:
        raise MltrailError(
            "You are not authenticated. Sign in with a username and password or a token.", UNAUTHENTICATED
        )
    caller = service.credentials.get(credentials.cache_key())
    if caller is None:
        caller = await run_in_threadpool(service.authenticate, credentials, client_address(request))
    set_current_caller(caller)
    return caller


def _narrowed_to_nothing(before: Params, after: Params) -> bool:
    ids = after.get("experiment_ids")
    return ids == [] and bool(before.get("experiment_ids"))


def run_checked(
    service: AuthService,
    rule: Rule,
    caller: Caller,
    params: Params,
    call: Callable[[Params], Any],
) -> Any:
    """Check ``rule``, then run ``call(params)`` and apply the rule's filtering and follow-up.

    Runs in the worker thread with the handler, so the checks' database reads never block the event loop.
    A filtered search reads further pages (up to :data:`_MAX_REFILLS`) to fill ``max_results`` when it can.
    """
    assert rule.check is not None
    rule.check(service, caller, params)
    if rule.narrow is not None:
        narrowed = rule.narrow(service, caller, params)
        if _narrowed_to_nothing(params, narrowed):
            return None
        params = narrowed
    result = call(params)
    if rule.keep is not None and result and not caller.is_admin:
        result = _filtered(service, rule, caller, params, call, result)
    if rule.after is not None:
        rule.after(service, caller, params, result)
    return result


def _filtered(
    service: AuthService,
    rule: Rule,
    caller: Caller,
    params: Params,
    call: Callable[[Params], Any],
    result: dict[str, Any],
) -> dict[str, Any]:
    assert rule.keep is not None
    field, factory = rule.keep
    keep = factory(service, caller)
    items = [item for item in result.get(field) or [] if keep(item)]
    token = result.get("next_page_token")
    wanted = params.get("max_results")
    refills = 0
    while token and isinstance(wanted, int) and len(items) < wanted and refills < _MAX_REFILLS:
        more = call({**params, "page_token": token}) or {}
        items += [item for item in more.get(field) or [] if keep(item)]
        token = more.get("next_page_token")
        refills += 1
    out = {k: v for k, v in result.items() if k not in (field, "next_page_token")}
    if isinstance(wanted, int) and len(items) > wanted:
        items = items[:wanted]  # the surplus is lost from paging only when a refill overshot: rare and harmless
    if items:
        out[field] = items
    if token:
        out["next_page_token"] = token
    return out


def audit_event(request: Request, caller: Caller | None, status: int, action: str, params: Params | None) -> AuditEvent:
    """The audit record of a write."""
    target = ""
    if params:
        parts = [
            f"{name}={params[name]}"
            for name in _TARGET_PARAMS
            if isinstance(params.get(name), str | int) and params.get(name) != ""
        ]
        target = " ".join(parts)[:1000]
    return AuditEvent(
        timestamp=int(time.time() * 1000),
        username=caller.username if caller else None,
        method=request.method,
        path=request.url.path[:1000],
        status=status,
        address=client_address(request),
        action=action[:250],
        target=target,
    )


def record_write(
    service: AuthService, request: Request, caller: Caller | None, status: int, action: str, params: Params | None
) -> None:
    """Queue the audit event of a request when it is a write."""
    if request.method not in _READS:
        service.audit.record(audit_event(request, caller, status, action, params))


def guard_route(route: Route, service: AuthService) -> Route:
    """``route`` with authentication, its rule and the audit log around it.

    Raises:
        ValueError: when one of the route's methods has no rule (the server refuses to start: fail closed).
    """
    rules = {m: rule_for(route.path, m) for m in route.methods or ()}
    missing = sorted(m for m, r in rules.items() if r is None)
    if missing:
        raise ValueError(f"No auth rule for {', '.join(missing)} {route.path}")
    endpoint: Callable[[Request], Awaitable[Response]] = route.endpoint
    action = (getattr(endpoint, "__doc__", None) or route.path).strip().splitlines()[0]

    async def guarded(request: Request) -> Response:
        rule = rules.get(request.method)
        if rule is None or rule.public:
            return await endpoint(request)
        caller: Caller | None = None
        params: Params = {**request.query_params, **request.path_params}
        try:
            caller = await authenticate(service, request)
            await run_in_threadpool(run_checked, service, rule, caller, params, lambda p: None)
        except MltrailError as error:
            response = auth_error_response(error, request)
        else:
            response = await endpoint(request)
        record_write(service, request, caller, response.status_code, action, params)
        return response

    return Route(route.path, guarded, methods=[m for m in route.methods or () if m != "HEAD"], name=route.name)


__all__ = ["auth_error_response", "authenticate", "denied", "guard_route", "record_write", "run_checked"]
