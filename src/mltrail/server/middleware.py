"""Pure-ASGI middleware: Host header check (DNS rebinding), request body limit, and opt-in CORS."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mltrail.server.protocol import dumps

_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1", "testserver")


async def _send_json(send: Send, status: int, payload: dict[str, str]) -> None:
    body = dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:5000
        return host_header.split("]")[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class HostCheckMiddleware:
    """Reject requests whose Host header is not allowed, defeating DNS-rebinding attacks on a local server.

    ``allowed_hosts=None`` accepts loopback names plus any host when the server listens on all interfaces
    (a shared server reached by many names should list them). Patterns may use ``*`` wildcards.
    ``/health`` answers any host: it holds no data, and load balancers and orchestrators probe it by address.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None) -> None:
        self.app = app
        self.patterns = [h.lower() for h in allowed_hosts] if allowed_hosts else None

    def _allowed(self, host: str) -> bool:
        name = _host_name(host.lower())
        if self.patterns is None:
            return name in _LOOPBACK_HOSTS
        return any(
            p == "*" or fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(host.lower(), p) for p in self.patterns
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/health":
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if not self._allowed(host):
                await _send_json(
                    send,
                    403,
                    {
                        "error_code": "PERMISSION_DENIED",
                        "message": f"Host header {host!r} is not allowed (see --allowed-hosts).",
                    },
                )
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Answer 413 for request bodies over ``max_body_bytes`` (streaming artifact uploads are exempt)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, exempt_prefixes: Sequence[str] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.exempt_prefixes = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        too_big = {"error_code": "RESOURCE_EXHAUSTED", "message": f"Request body exceeds {self.max_body_bytes} bytes."}
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _send_json(send, 413, too_big)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, too_big)


class _BodyTooLarge(Exception):
    pass


def cors_middleware(origins: Sequence[str]) -> Middleware:
    """Starlette's CORS middleware for the configured origins (off unless configured)."""
    from starlette.middleware.cors import CORSMiddleware

    return Middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["*"],
    )


_STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _without_port(authority: str, default_ports: tuple[str, ...]) -> str:
    """``authority`` without a trailing ``:port`` that is one of ``default_ports`` (IPv6 brackets kept)."""
    name, colon, port = authority.rpartition(":")
    if colon and port in default_ports and (name.endswith("]") or ":" not in name):
        return name
    return authority


def _origin_authority(origin: str) -> str | None:
    """``host[:port]`` of an ``Origin`` header, lower-cased, without the scheme's default port; None if opaque."""
    scheme, sep, authority = origin.strip().lower().partition("://")
    if not sep or not authority or "/" in authority or scheme not in _DEFAULT_PORTS:
        return None  # "null" (sandboxed frames, file: pages) and anything malformed
    return _without_port(authority, (_DEFAULT_PORTS[scheme],))


def _host_authority(host: str) -> str:
    """``host[:port]`` of a ``Host`` header, lower-cased, without a default port (80 or 443)."""
    return _without_port(host.strip().lower(), ("80", "443"))


class OriginCheckMiddleware:
    """Refuse cross-origin state-changing requests: no cross-site request forgery.

    A browser sends ``Origin`` with every ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` it makes for a page; a page
    on another site can make a user's browser send such requests to a server on their network (an artifact
    ``PUT`` needs no CORS preflight when its content type is plain, and neither does a JSON-looking ``text/plain``
    POST). Such a request is answered 403 unless its origin is the server's own (the ``Origin`` names the
    ``Host`` the request was sent to) or one of ``allowed_origins`` (``--cors-allowed-origins``). Requests
    without ``Origin`` (scripts, the mlflow client, curl) are not from a browser page and pass.
    """

    def __init__(self, app: ASGIApp, allowed_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.allowed = {o.strip().rstrip("/").lower() for o in allowed_origins}

    def _allowed(self, origin: str, host: str) -> bool:
        if "*" in self.allowed or origin.strip().rstrip("/").lower() in self.allowed:
            return True
        authority = _origin_authority(origin)
        return authority is not None and authority == _host_authority(host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _STATE_CHANGING_METHODS:
            origin = host = None
            for key, value in scope["headers"]:
                if key == b"origin":
                    origin = value.decode("latin-1")
                elif key == b"host":
                    host = value.decode("latin-1")
            if origin is not None and not self._allowed(origin, host or ""):
                message = (
                    f"Cross-origin request from {origin!r} refused: the server only accepts state-changing "
                    "requests from its own pages and the origins in --cors-allowed-origins."
                )
                await _send_json(send, 403, {"error_code": "PERMISSION_DENIED", "message": message})
                return
        await self.app(scope, receive, send)


_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"))


class SecurityHeadersMiddleware:
    """Add ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: SAMEORIGIN`` to every response.

    ``nosniff`` stops a browser from running an API answer or an artifact as HTML or script because its bytes
    look like it; ``SAMEORIGIN`` keeps other sites from framing the UI (clickjacking). A header the response
    already sets is left as it is.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {key.lower() for key, _ in headers}
                headers.extend(item for item in _SECURITY_HEADERS if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
