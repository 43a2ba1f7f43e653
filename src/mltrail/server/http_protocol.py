"""uvicorn's HTTP protocols, answering the requests uvicorn refuses itself with MLflow's JSON error body.

uvicorn answers a request its parser rejects (a URL over httptools' 65,535 bytes, a malformed request line, headers
h11 cannot buffer) with a plain-text ``400 Invalid HTTP request received.`` before the application sees it. Clients
of this server expect ``{"error_code": ..., "message": ...}`` on every error, so these subclasses send that shape
instead: 414 when the URL is what is too long, 400 otherwise. The application refuses URLs over
:data:`~mltrail.server.endpoints.MAX_URL_BYTES` with the same answer (in
:class:`~mltrail.server.endpoints.ExactPathRouter`), whichever parser read them.

Use ``uvicorn.Config(http=HTTP_PROTOCOL, h11_max_incomplete_event_size=H11_MAX_INCOMPLETE_EVENT_SIZE)``.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

from mltrail.server.endpoints import MAX_URL_BYTES, url_too_long_message
from mltrail.server.protocol import dumps

__all__ = ["H11_MAX_INCOMPLETE_EVENT_SIZE", "HTTP_PROTOCOL", "JsonErrorH11Protocol", "JsonErrorProtocol"]

#: h11 buffers a request line and headers up to this size (its default, 16 KiB, is below a long query string).
H11_MAX_INCOMPLETE_EVENT_SIZE = 1024 * 1024
#: The ``http`` setting for ``uvicorn.Config``: the import path of :data:`JsonErrorProtocol`.
HTTP_PROTOCOL = "mltrail.server.http_protocol:JsonErrorProtocol"


def _error_response(status: int, reason: bytes, message: str) -> bytes:
    code = "INVALID_PARAMETER_VALUE" if status == 414 else "BAD_REQUEST"
    body = dumps({"error_code": code, "message": message})
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n" % (status, reason)
    return head + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body


def _write_error(transport: asyncio.Transport, url_length: int, msg: str) -> None:
    if url_length > MAX_URL_BYTES:
        transport.write(_error_response(414, b"URI Too Long", url_too_long_message(url_length)))
    else:
        transport.write(_error_response(400, b"Bad Request", msg))
    transport.close()


class JsonErrorH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with JSON error bodies for requests h11 cannot parse."""

    def send_400_response(self, msg: str) -> None:
        """Answer a request h11 rejected (the connection closes)."""
        _write_error(self.transport, 0, msg)


JsonErrorProtocol: type[asyncio.Protocol]
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - without httptools uvicorn uses h11, and so do we
    JsonErrorProtocol = JsonErrorH11Protocol
else:

    class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with JSON error bodies (414 for a URL httptools finds too long)."""

        def send_400_response(self, msg: str) -> None:
            """Answer a request httptools rejected (the connection closes)."""
            _write_error(self.transport, len(self.url), msg)

    JsonErrorProtocol = JsonErrorHttpToolsProtocol
