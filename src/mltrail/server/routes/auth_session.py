"""The web UI's sign-in: ``/auth/config``, ``/auth/login`` and ``/auth/logout`` (public routes).

A sign-in sets the ``mltrail_session`` cookie: HttpOnly (scripts cannot read it), SameSite=Lax (other sites'
pages do not send it with their requests) and Secure when the request came over TLS. State-changing requests
also pass :class:`~mltrail.server.middleware.OriginCheckMiddleware`, so a session cannot be ridden by a
cross-site form.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.auth.credentials import SESSION_COOKIE, Credentials
from mltrail.server.auth.guard import audit_event, auth_error_response, authenticate, client_address
from mltrail.server.auth.identity import Caller
from mltrail.server.auth.service import AuthService
from mltrail.server.protocol import decode_json_body, dumps

JSON = "application/json"


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type=JSON)


def is_secure(request: Request) -> bool:
    """Whether the request came over TLS (the cookie is then marked Secure)."""
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, secret: str, max_age_seconds: int) -> None:
    """Put a session secret in the ``mltrail_session`` cookie (HttpOnly, SameSite=Lax, Secure over TLS)."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def signed_in_response(service: AuthService, request: Request, caller: Caller, payload: dict[str, Any]) -> Response:
    """``payload`` as JSON with a new session cookie for ``caller`` (used by the password and SSO sign-ins)."""
    secret = service.start_session(caller.username)
    response = _json(payload)
    set_session_cookie(response, request, secret, int(service.config.session_hours * 3600))
    return response


def routes(service: AuthService, sso: dict[str, Any] | None = None) -> list[BaseRoute]:
    """The session routes for ``service``; ``sso`` describes single sign-on for ``/auth/config`` (None: off)."""

    async def config(request: Request) -> Response:
        """What the sign-in page offers, and who is signed in (if anyone)."""
        try:
            user: dict[str, object] | None = (await authenticate(service, request)).to_dict()
        except MltrailError:  # not signed in, or credentials that no longer work: the sign-in page's business
            user = None
        return _json(
            {
                "auth_enabled": True,
                "password_login": True,
                "sso": sso or {"enabled": False},
                "user": user,
            }
        )

    async def login(request: Request) -> Response:
        """Sign in with a username and password; answers the user and sets the session cookie."""
        address = client_address(request)
        body_name = ""
        try:
            body = decode_json_body(await request.body())
            username, password = body.get("username"), body.get("password")
            body_name = username[:255] if isinstance(username, str) else ""
            if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
                raise errors.invalid("Sign in needs a username and a password.")
            caller = await run_in_threadpool(service.authenticate, Credentials("basic", username, password), address)
            response = await run_in_threadpool(signed_in_response, service, request, caller, {"user": caller.to_dict()})
            status, who = 200, caller.username
        except MltrailError as error:
            response = (
                auth_error_response(error, request)
                if error.http_status in (401, 429)
                else _json(error.to_dict(), error.http_status)
            )
            status, who = error.http_status, None
        event = audit_event(request, None, status, "Sign in", {"username": body_name})
        service.audit.record(replace(event, username=who))
        return response

    async def logout(request: Request) -> Response:
        """Sign out: end the session and clear the cookie."""
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            await run_in_threadpool(service.end_session, secret)
        response = _json({})
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request))
        return response

    return [
        Route("/auth/config", config, methods=["GET"]),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
    ]


def routes_without_auth() -> list[BaseRoute]:
    """``/auth/config`` on a server without ``--auth``: the web UI then shows no sign-in at all."""

    async def config(request: Request) -> Response:
        """Authentication is off on this server."""
        return _json({"auth_enabled": False, "password_login": False, "sso": {"enabled": False}, "user": None})

    return [Route("/auth/config", config, methods=["GET"])]
