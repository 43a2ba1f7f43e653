"""The scoring server's HTTP protocol: a response's headers leave with its body in one write, and never late."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mltrail.serving.protocol import CoalescingTransport
from tests.serving.live import live_asgi_server

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n"


def _recv_until(sock: socket.socket, marker: bytes, buffer: bytes = b"") -> bytes:
    while marker not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before {marker!r}; got {buffer!r}")
        buffer += chunk
    return buffer


async def _transport_pair() -> tuple[asyncio.Transport, socket.socket, list[bytes]]:
    """A real loop transport over a socket pair, its peer, and the list of what each ``write`` call sent."""
    ours, peer = socket.socketpair()
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, ours)
    writes: list[bytes] = []
    real_write = transport.write

    def counting_write(data: Any) -> None:
        writes.append(bytes(data))
        real_write(data)

    transport.write = counting_write  # type: ignore[method-assign]
    peer.setblocking(False)
    return transport, peer, writes  # type: ignore[return-value]


async def _read(peer: socket.socket, size: int | None = None) -> bytes:
    """``size`` bytes from ``peer`` (everything until it closes when None), while the loop keeps running."""
    loop, received = asyncio.get_running_loop(), b""
    while size is None or len(received) < size:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 1 << 20), 10)
        if not chunk:
            break
        received += chunk
    return received


def test_headers_and_body_go_out_in_one_write() -> None:
    async def scenario() -> None:
        transport, peer, writes = await _transport_pair()
        wrapped = CoalescingTransport(transport)
        wrapped.write(HEAD)
        wrapped.write(b"{}")
        await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
        assert writes == [HEAD + b"{}"]
        assert await _read(peer, len(HEAD) + 2) == HEAD + b"{}"
        wrapped.close()
        peer.close()

    asyncio.run(scenario())


def test_held_headers_leave_on_the_next_loop_iteration_or_at_close() -> None:
    async def scenario() -> None:
        transport, peer, writes = await _transport_pair()
        wrapped = CoalescingTransport(transport)
        wrapped.write(HEAD)
        assert writes == []
        await asyncio.sleep(0)
        assert writes == [HEAD]
        wrapped.write(b"{}")  # a body chunk after the flush goes out on its own
        assert writes == [HEAD, b"{}"]
        wrapped.write(HEAD)
        wrapped.close()  # held bytes are sent before the connection closes
        assert writes == [HEAD, b"{}", HEAD]
        assert await _read(peer) == HEAD + b"{}" + HEAD
        peer.close()

    asyncio.run(scenario())


def test_interim_answers_and_other_writes_are_not_held() -> None:
    async def scenario() -> None:
        transport, peer, writes = await _transport_pair()
        wrapped = CoalescingTransport(transport)
        wrapped.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        wrapped.write(b"5\r\nhello\r\n")
        assert writes == [b"HTTP/1.1 100 Continue\r\n\r\n", b"5\r\nhello\r\n"]
        big = b"x" * (200 * 1024)
        wrapped.write(HEAD)
        wrapped.write(big)  # a large body is handed over with the headers, not copied into one buffer
        assert b"".join(writes[2:]) == HEAD + big
        assert wrapped.get_extra_info("peername") == transport.get_extra_info("peername")
        received = await _read(peer, len(writes[0]) + len(writes[1]) + len(HEAD) + len(big))
        assert received == b"HTTP/1.1 100 Continue\r\n\r\n5\r\nhello\r\n" + HEAD + big
        wrapped.close()
        peer.close()

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------- through uvicorn
class StreamApp:
    """``/stream`` sends its headers, then waits for :attr:`release` before the body; anything else echoes."""

    def __init__(self) -> None:
        self.release: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/stream":
            self.loop, self.release = asyncio.get_running_loop(), asyncio.Event()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await self.release.wait()
            await send({"type": "http.response.body", "body": b"late", "more_body": False})
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def stream_server() -> Iterator[tuple[int, StreamApp]]:
    app = StreamApp()
    with live_asgi_server(app) as port:
        yield port, app


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _post(body: bytes) -> bytes:
    return b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(body) + body


def test_streamed_headers_arrive_before_the_first_chunk(stream_server: tuple[int, StreamApp]) -> None:
    port, app = stream_server
    with _connect(port) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
        head = _recv_until(sock, b"\r\n\r\n")  # the body is held back until the headers are here
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"transfer-encoding: chunked" in head
        assert app.loop is not None and app.release is not None
        app.loop.call_soon_threadsafe(app.release.set)
        assert _recv_until(sock, b"0\r\n\r\n", head).endswith(b"\r\n\r\n4\r\nlate\r\n0\r\n\r\n")


def test_keep_alive_requests_and_100_continue(stream_server: tuple[int, StreamApp]) -> None:
    port, _ = stream_server
    with _connect(port) as sock:
        for index in range(50):
            payload = b"payload %d" % index
            sock.sendall(_post(payload))
            response = _recv_until(sock, payload)
            assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b"\r\n\r\n" + payload)
        sock.sendall(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n")
        assert _recv_until(sock, b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"body")
        assert _recv_until(sock, b"body").endswith(b"\r\n\r\nbody")
