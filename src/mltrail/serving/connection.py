"""Connection limits of the scoring server: a deadline and a size for the header block, and a lingering close.

uvicorn waits for a request's headers as long as the client likes (its keep-alive timeout only runs between
requests), and httptools keeps every header byte it is sent, so one client trickling headers, or sending megabytes
of them, would hold a connection and its memory for good. :class:`GuardedHTTPProtocol`, what ``mltrail models
serve`` runs, closes such connections (:class:`~mltrail.serving.limits.HeaderLimits`). The body is limited by the app
(:mod:`mltrail.serving.limits`), which answers with ``Connection: close`` when it refuses one.

Closing a socket with unread data makes the kernel send a reset, which can destroy a response still on its way (the
client sees "connection reset" instead of the 413 that explains it). So when the server closes a connection whose
client may still be sending (a refused body or header block), :class:`LingeringTransport` first sends the response
and a FIN, then reads and drops what the client still sends until it closes too, for at most
:data:`LINGER_SECONDS` (what nginx's ``lingering_close`` and Go's ``net/http`` do).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from mltrail.errors import DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED
from mltrail.serving.encode import dumps
from mltrail.serving.errors import serving_error
from mltrail.serving.limits import HeaderLimits
from mltrail.serving.protocol import CoalescingHTTPProtocol, CoalescingTransport

LINGER_SECONDS = 1.0


class LingeringTransport(CoalescingTransport):
    """A :class:`CoalescingTransport` whose :meth:`close` lingers while the client may still be sending.

    Args:
        transport: the connection's transport.
        loop: its event loop.
        may_be_sending: whether the client may still be sending, asked on :meth:`close`.
    """

    __slots__ = ("_linger", "_may_be_sending")

    def __init__(
        self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, may_be_sending: Callable[[], bool]
    ) -> None:
        super().__init__(transport, loop)
        self._may_be_sending = may_be_sending
        self._linger: asyncio.TimerHandle | None = None

    @property
    def lingering(self) -> bool:
        """Whether the response is out and what the client still sends is being dropped."""
        return self._linger is not None

    def is_closing(self) -> bool:
        """True once :meth:`close` was called, lingering or not."""
        return self._linger is not None or self._transport.is_closing()

    def close(self) -> None:
        """Send what is held, then close; linger first when the client may still be sending."""
        self.flush()
        transport = self._transport
        if self._linger is not None or transport.is_closing():
            return
        if not (self._may_be_sending() and transport.can_write_eof()):
            transport.close()
            return
        transport.write_eof()  # after the response: the client reads it, then the end of the stream
        transport.resume_reading()  # drain what the client still sends, so that closing sends no reset
        self._linger = self._loop.call_later(LINGER_SECONDS, transport.close)

    def abort_linger(self) -> None:
        """Stop the linger timer (the connection is gone)."""
        if self._linger is not None:
            self._linger.cancel()


def _raw_response(status: bytes, error_code: str, message: str) -> bytes:
    """A complete ``Connection: close`` response with MLflow's serving error body, written by the protocol itself."""
    body = dumps(serving_error(message, error_code).to_dict())
    head = f"content-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    return b"HTTP/1.1 " + status + b"\r\n" + head.encode() + body


class GuardedHTTPProtocol(CoalescingHTTPProtocol):
    """:class:`CoalescingHTTPProtocol` that closes connections whose header block is too slow or too big.

    A timer runs from a new connection, and on a reused one from the first byte after the previous response (while
    it is idle, uvicorn's keep-alive timeout applies), until uvicorn has parsed the request's headers, which it
    marks by starting a new request cycle. Closes go through a :class:`LingeringTransport`. Pass :meth:`factory` as
    ``uvicorn.Config(http=...)``.

    Args:
        limits: the header limits (the remaining arguments are uvicorn's).
    """

    def __init__(self, *args: Any, limits: HeaderLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_cycle: Any = None  # uvicorn's request cycle when the timer started; a new one: headers complete
        self._head_bytes = 0
        self._refused_head = False
        self._closer: LingeringTransport | None = None  # self.transport, typed

    @classmethod
    def factory(cls, limits: HeaderLimits) -> Any:
        """What to pass as ``uvicorn.Config(http=...)``: this protocol with ``limits`` (picklable, for workers)."""
        return functools.partial(cls, limits=limits)

    def wrap_transport(self, transport: asyncio.BaseTransport) -> CoalescingTransport:
        """A :class:`LingeringTransport` over the connection."""
        self._closer = LingeringTransport(transport, self.loop, self._client_may_be_sending)  # type: ignore[arg-type]
        return self._closer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        """Set the connection up and start waiting for the first request's headers."""
        super().connection_made(transport)
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; stop the header timer once a request's headers are complete, refuse an oversized block."""
        if self._closer is not None and self._closer.lingering:
            return  # the answer is out: drop the rest
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._start_head_timer()
        super().data_received(data)
        if self._head_timer is None:
            return
        if self.cycle is not self._head_cycle or self.transport.is_closing():
            self._stop_head_timer()
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.header_limits.max_header_bytes:
            size = self.header_limits.max_header_bytes
            self._refuse(b"431 Request Header Fields Too Large", RESOURCE_EXHAUSTED, f"Headers exceed {size} bytes.")

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the timers and let uvicorn clean up."""
        self._stop_head_timer()
        if self._closer is not None:
            self._closer.abort_linger()
        super().connection_lost(exc)

    def _client_may_be_sending(self) -> bool:
        """Whether closing now could leave unread data: a refused header block, or a body not read to its end."""
        cycle = self.cycle
        return self._refused_head or (cycle is not None and cycle.more_body and not cycle.disconnected)

    def _start_head_timer(self) -> None:
        self._head_cycle = self.cycle
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_limits.header_timeout, self._head_timeout)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        """The headers did not come in time: 408 if part of a request did, else just close (an idle connection)."""
        self._head_timer = None
        if self.cycle is not self._head_cycle or self.transport.is_closing():
            return
        if not self._head_bytes:
            self.transport.close()
            return
        timeout = f"{self.header_limits.header_timeout:g}"
        self._refuse(
            b"408 Request Timeout", DEADLINE_EXCEEDED, f"The request headers did not arrive within {timeout} s."
        )

    def _refuse(self, status: bytes, error_code: str, message: str) -> None:
        self._stop_head_timer()
        self._refused_head = True
        self.transport.write(_raw_response(status, error_code, message))
        self.transport.close()
