"""Request limits of the scoring server: a largest body, and deadlines for the headers and the body to arrive.

:class:`HeaderLimits` are enforced by the HTTP protocol (:mod:`mltrail.serving.connection`), which sees a request
before the app does; :class:`BodyLimits` by the app, through this module.

A body over :attr:`BodyLimits.max_body_bytes` is refused with 413 before any of it is read when its Content-Length
says so (:func:`declared_too_large`), and as soon as the bytes read pass the limit when it is chunked or longer than
declared (:class:`LimitedReceive`): the app never holds more than the limit plus one read of the connection. A body
that has not fully arrived :attr:`BodyLimits.body_timeout` seconds after its request's headers is answered 408, so
a client that trickles its body cannot hold a request open. Reading a body is asynchronous: a slow client holds a
suspended task, never a worker thread.

Both answers are MLflow's serving error JSON (``RESOURCE_EXHAUSTED`` / ``DEADLINE_EXCEEDED``) with
``Connection: close``: the rest of the body is never read, so the connection cannot carry another request.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from mltrail.errors import DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED
from mltrail.serving.encode import dumps
from mltrail.serving.errors import serving_error

MIB = 1024 * 1024
DEFAULT_MAX_BODY_MB = 64
DEFAULT_BODY_TIMEOUT = 60.0
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """How big a request body may be and how long it may take to arrive.

    Attributes:
        max_body_bytes: largest body; a bigger one is answered 413 (the tracking server's default: 64 MiB).
        body_timeout: seconds from the end of the headers until the whole body must have arrived, else 408.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_MB * MIB
    body_timeout: float = DEFAULT_BODY_TIMEOUT


@dataclass(frozen=True)
class HeaderLimits:
    """How long a request's header block may take to arrive, and how big it may be.

    Attributes:
        header_timeout: seconds from a new connection, or from the first byte of a request on a reused one,
            until its headers are complete; then the connection is closed (answered 408 if part of a request came).
        max_header_bytes: largest request line plus headers; a bigger block is answered 431 and the connection closed.
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES


class BodyRejected(Exception):
    """A request body refused by :class:`BodyLimits`: :meth:`send` or :meth:`response` answers it.

    Args:
        status: 413 or 408.
        error_code: the MLflow error code in the body.
        message: the message for people.
    """

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = dumps(serving_error(message, error_code).to_dict())

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers: JSON, its length, and ``Connection: close`` (the body was not read to its end)."""
        return [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"connection", b"close"),
        ]

    async def send(self, send: Send) -> None:
        """Answer the request through a bare ASGI ``send``."""
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers()})
        await send({"type": "http.response.body", "body": self.body})

    def response(self) -> Response:
        """The answer as a Starlette response (for the app's exception handler)."""
        headers = {name.decode(): value.decode() for name, value in self.headers() if name != b"content-length"}
        return Response(self.body, status_code=self.status, headers=headers)


def too_large(limits: BodyLimits) -> BodyRejected:
    """413 for a body over ``limits.max_body_bytes``."""
    limit = limits.max_body_bytes
    size = f"{limit / MIB:g} MiB" if limit >= MIB else f"{limit} bytes"
    return BodyRejected(
        413,
        RESOURCE_EXHAUSTED,
        f"Request body exceeds the limit of {size} (mltrail models serve --max-body-mb).",
    )


def too_slow(limits: BodyLimits) -> BodyRejected:
    """408 for a body that did not arrive within ``limits.body_timeout`` seconds."""
    return BodyRejected(
        408,
        DEADLINE_EXCEEDED,
        f"The request body did not arrive within {limits.body_timeout:g} s (mltrail models serve --body-timeout).",
    )


def declared_too_large(scope: Scope, limits: BodyLimits) -> BodyRejected | None:
    """413 when the request's Content-Length is over the limit, else None (nothing of the body is read)."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return too_large(limits) if int(value) > limits.max_body_bytes else None
            except ValueError:  # the HTTP parser refuses these already
                return None
    return None


async def rejection_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler: a :class:`BodyRejected` raised while a route reads the body, answered."""
    assert isinstance(exc, BodyRejected)
    return exc.response()


if sys.version_info >= (3, 11):

    async def _receive_by(receive: Receive, deadline: float) -> Message:
        async with asyncio.timeout_at(deadline):
            return await receive()

else:  # pragma: no cover - Python 3.10

    async def _receive_by(receive: Receive, deadline: float) -> Message:
        return await asyncio.wait_for(receive(), max(0.0, deadline - asyncio.get_running_loop().time()))


class LimitedReceive:
    """An ASGI ``receive`` that raises :class:`BodyRejected` once the body passes the limit or its deadline.

    The deadline is :attr:`BodyLimits.body_timeout` seconds from construction (when the app is called, right after
    the headers). Once the body is complete, calls go straight to the wrapped ``receive`` (a streaming response
    waits on it for the client's disconnect).

    Args:
        receive: the server's ``receive``.
        limits: the limits to apply.
        now: the event loop's clock, read once.
    """

    __slots__ = ("_deadline", "_done", "_limits", "_receive", "_received")

    def __init__(self, receive: Receive, limits: BodyLimits, now: float) -> None:
        self._receive = receive
        self._limits = limits
        self._deadline = now + limits.body_timeout
        self._received = 0
        self._done = False

    async def __call__(self) -> Message:
        """The next message; raises :class:`BodyRejected` past the size limit or the deadline."""
        if self._done:
            return await self._receive()
        try:
            message = await _receive_by(self._receive, self._deadline)
        except (asyncio.TimeoutError, TimeoutError):
            raise too_slow(self._limits) from None
        if message["type"] != "http.request":
            self._done = True
            return message
        self._received += len(message.get("body", b""))
        if self._received > self._limits.max_body_bytes:
            self._done = True
            raise too_large(self._limits)
        if not message.get("more_body", False):
            self._done = True
        return message


ASGIHandler = Callable[[Scope, Receive, Send], Awaitable[None]]


async def call_with_limits(
    handler: ASGIHandler, scope: Scope, receive: Receive, send: Send, limits: BodyLimits
) -> None:
    """Run a bare ASGI ``handler`` on a :class:`LimitedReceive`, answering a :class:`BodyRejected` it raises.

    A body whose Content-Length is over the limit is answered 413 without calling ``handler``.
    """
    rejected = declared_too_large(scope, limits)
    if rejected is None:
        try:
            await handler(scope, LimitedReceive(receive, limits, asyncio.get_running_loop().time()), send)
            return
        except BodyRejected as exc:
            rejected = exc
    await rejected.send(send)
