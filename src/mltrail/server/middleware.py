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
        if scope["type"] == "http":
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
