"""The scoring server under abuse: oversized and slow requests against ``mltrail models serve`` (a real subprocess
with small limits), over raw sockets where a well-behaved client would not do what an attacker does."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mltrail.serving.run import ScoringSettings
from tests.server.live import free_port
from tests.serving.live import live_scoring_server

MAX_BODY_MB = 1
BODY_TIMEOUT = 1.5
HEADER_TIMEOUT = 1.0
SLACK = 4.0  # seconds a cut-off may come late on a busy machine (timers, the linger after the answer)
MIB = 1024 * 1024
JSON_POST = b"POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"


class Server:
    """A ``mltrail models serve`` process on a loopback port."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def connect(self) -> socket.socket:
        """A raw connection to the server (10 s socket timeout, so a test can never hang)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def memory_kib(self, field: str = "VmRSS") -> int:
        """The server process's resident memory (``VmRSS``) or its peak (``VmHWM``), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} for the server process")


@pytest.fixture(scope="module")
def server(pyfunc_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The Scale model served with a 1 MiB body limit, a 1.5 s body timeout and a 1 s header timeout."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "stderr.txt"
    args = ["-m", str(pyfunc_model_dir), "-p", str(port), "--max-body-mb", str(MAX_BODY_MB)]
    args += ["--body-timeout", str(BODY_TIMEOUT), "--header-timeout", str(HEADER_TIMEOUT)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mltrail.cli.main", "models", "serve", *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    served = Server(proc, port)
    try:
        _wait_until_up(served, log)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(server: Server, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"mltrail models serve exited: {log.read_text()}")
        try:
            if httpx.get(server.url + "/ping", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("mltrail models serve did not start")


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the one response the server sends before closing the connection.

    A reset after the response (the client was still sending when the server closed) is not an error here.
    """
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    assert data, "the connection ended without a response"
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body[: int(headers.get("content-length", len(body)))]


def send_until_refused(sock: socket.socket, chunks: Iterator[bytes]) -> int:
    """Send ``chunks`` until the server answers (data to read) or stops reading; returns the bytes sent."""
    sent = 0
    for chunk in chunks:
        if select.select([sock], [], [], 0)[0]:
            break
        try:
            sock.sendall(chunk)
        except OSError:  # reset, broken pipe, or our 10 s timeout: the server stopped reading
            break
        sent += len(chunk)
    return sent


def trickle_until_cut_off(sock: socket.socket, piece: bytes, every: float, limit: float) -> float:
    """Send ``piece`` every ``every`` seconds until the server answers or closes; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if select.select([sock], [], [], every)[0]:
            return time.monotonic() - start
        try:
            sock.sendall(piece)
        except OSError:
            return time.monotonic() - start
    raise AssertionError(f"the server still listened after {limit} s")


def chunked(size: int, total: int) -> Iterator[bytes]:
    """A chunked-encoding body of ``total`` bytes in chunks of ``size`` (the final empty chunk included)."""
    chunk = b"%x\r\n" % size + b"x" * size + b"\r\n"
    for _ in range(total // size):
        yield chunk
    yield b"0\r\n\r\n"


def assert_error(body: bytes, error_code: str, *words: str) -> None:
    payload = json.loads(body)
    assert payload["error_code"] == error_code
    assert all(word in payload["message"] for word in words), payload["message"]


def test_content_length_over_the_limit_is_refused_before_the_body_is_read(server: Server) -> None:
    with server.connect() as sock:
        # Expect: 100-continue: a client that waits for the go-ahead gets the 413 instead, and sends nothing
        sock.sendall(JSON_POST + b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (200 * MIB))
        status, headers, body = read_response(sock)
    assert status == 413
    assert headers["connection"] == "close" and headers["content-type"] == "application/json"
    assert_error(body, "RESOURCE_EXHAUSTED", "1 MiB", "--max-body-mb")


def test_chunked_body_over_the_limit_is_413_and_not_read_to_its_end(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(JSON_POST + b"Transfer-Encoding: chunked\r\n\r\n")
        sent = send_until_refused(sock, chunked(64 * 1024, 64 * MIB))
        status, _, body = read_response(sock)
    assert status == 413
    assert_error(body, "RESOURCE_EXHAUSTED", "1 MiB")
    assert sent < 32 * MIB, "the server read far past its limit"


def test_httpx_client_gets_the_413_for_a_big_upload(server: Server) -> None:
    """A client that sends its whole body before reading still gets the answer (the server lingers, no reset)."""
    response = httpx.post(
        server.url + "/invocations", content=b"x" * (3 * MIB), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error_code"] == "RESOURCE_EXHAUSTED"


def test_memory_stays_bounded_while_clients_send_oversized_bodies(server: Server) -> None:
    """Four clients at once, each offering 48 MiB: the server's peak memory grows by far less than that."""
    peak_before = server.memory_kib("VmHWM")
    sent: list[int] = []

    def abuse() -> None:
        with server.connect() as sock:
            sock.sendall(JSON_POST + b"Transfer-Encoding: chunked\r\n\r\n")
            sent.append(send_until_refused(sock, chunked(256 * 1024, 48 * MIB)))
            assert read_response(sock)[0] == 413

    _run_threads([abuse] * 4, timeout=60)
    assert len(sent) == 4
    growth_mib = (server.memory_kib("VmHWM") - peak_before) / 1024
    assert growth_mib < 48, f"peak memory grew by {growth_mib:.0f} MiB"
    assert sum(sent) < 4 * 32 * MIB


def test_slow_headers_are_cut_off_with_408(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\n")
        took = trickle_until_cut_off(sock, b"X-Slow: 1\r\n", every=0.2, limit=HEADER_TIMEOUT + SLACK)
        status, _, body = read_response(sock)
    assert HEADER_TIMEOUT * 0.9 <= took <= HEADER_TIMEOUT + SLACK
    assert status == 408
    assert_error(body, "DEADLINE_EXCEEDED", "headers")


def test_idle_connection_is_closed_after_the_header_timeout(server: Server) -> None:
    with server.connect() as sock:
        start = time.monotonic()
        assert sock.recv(1024) == b""  # closed without a response: nothing was asked
        assert HEADER_TIMEOUT * 0.9 <= time.monotonic() - start <= HEADER_TIMEOUT + SLACK


def test_oversized_header_block_is_431(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\n" + b"X-Big: " + b"b" * 100_000 + b"\r\n")
        status, _, body = read_response(sock)
    assert status == 431
    assert_error(body, "RESOURCE_EXHAUSTED", "Headers")


def test_slow_body_is_cut_off_with_408(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(JSON_POST + b"Content-Length: 1000\r\n\r\n{")
        took = trickle_until_cut_off(sock, b" ", every=0.2, limit=BODY_TIMEOUT + SLACK)
        status, headers, body = read_response(sock)
    assert BODY_TIMEOUT * 0.9 <= took <= BODY_TIMEOUT + SLACK
    assert status == 408 and headers["connection"] == "close"
    assert_error(body, "DEADLINE_EXCEEDED", "body", "--body-timeout")


def test_idle_time_between_requests_does_not_count_against_the_headers(server: Server) -> None:
    """On a keep-alive connection the header timer starts with the next request, not after the last response."""
    with server.connect() as sock:
        for _ in range(2):
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = b""
            while not reply.endswith(b"\r\n\r\n\n"):  # /ping's body is one newline
                chunk = sock.recv(4096)
                assert chunk, "the server closed a keep-alive connection"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200")
            time.sleep(HEADER_TIMEOUT * 1.3)


def test_ping_stays_fast_while_clients_abuse_the_server(server: Server) -> None:
    stop = threading.Event()
    abusers = [_flood, _flood, _trickle_headers, _trickle_body]
    threads = [threading.Thread(target=abuser, args=(server, stop), daemon=True) for abuser in abusers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)  # let the abuse start
        latencies = _ping_latencies(server.url, seconds=2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    p95 = latencies[int(len(latencies) * 0.95)]
    assert p95 < 0.2, f"/ping p95 {p95 * 1000:.0f} ms under abuse ({len(latencies)} pings)"
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.5], [2.0]]}}
    response = httpx.post(server.url + "/invocations", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [{"y": 3.0}, {"y": 4.0}]}


def _ping_latencies(url: str, seconds: float) -> list[float]:
    latencies = []
    with httpx.Client(base_url=url, timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            assert client.get("/ping").status_code == 200
            latencies.append(time.perf_counter() - start)
            time.sleep(0.02)
    return sorted(latencies)


def _flood(server: Server, stop: threading.Event) -> None:
    """Chunked bodies far over the limit, as fast as the connection takes them, reconnecting after each 413."""
    chunk = b"40000\r\n" + b"x" * 0x40000 + b"\r\n"
    while not stop.is_set():
        with server.connect() as sock:
            try:
                sock.sendall(JSON_POST + b"Transfer-Encoding: chunked\r\n\r\n")
                while not stop.is_set():
                    sock.sendall(chunk)
            except OSError:
                pass


def _trickle_headers(server: Server, stop: threading.Event) -> None:
    _trickle(server, stop, b"POST /invocations HTTP/1.1\r\n", b"X-Slow: 1\r\n")


def _trickle_body(server: Server, stop: threading.Event) -> None:
    _trickle(server, stop, JSON_POST + b"Content-Length: 100000\r\n\r\n", b"x")


def _trickle(server: Server, stop: threading.Event, start: bytes, piece: bytes) -> None:
    while not stop.is_set():
        with server.connect() as sock:
            try:
                sock.sendall(start)
                while not stop.wait(0.05):
                    sock.sendall(piece)
            except OSError:
                pass


def _run_threads(targets: list[Callable[[], None]], timeout: float) -> None:
    """Run the targets concurrently; re-raise the first failure."""
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]


# The app's own paths, in process: the OpenAI chat route reads its body through Starlette, not the fast path.


@pytest.fixture(scope="module")
def chat_server(chat_model: Any) -> Iterator[str]:
    with live_scoring_server(chat_model, max_body_bytes=64 * 1024, body_timeout=BODY_TIMEOUT) as (url, _):
        yield url


def test_chat_route_refuses_a_body_over_the_limit(chat_server: str) -> None:
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 100_000}]}).encode()
    for path in ("/v1/chat/completions", "/invocations"):
        declared = httpx.post(chat_server + path, content=big, headers={"content-type": "application/json"})
        streamed = httpx.post(  # chunked: refused while Starlette reads the body, by the app's exception handler
            chat_server + path, content=iter([big[:50_000], big[50_000:]]), headers={"content-type": "application/json"}
        )
        for response in (declared, streamed):
            assert response.status_code == 413, (path, response.text)
            assert response.headers["connection"] == "close"
            assert_error(response.content, "RESOURCE_EXHAUSTED", "65536 bytes")
    small = {"messages": [{"role": "user", "content": "hello"}]}
    response = httpx.post(chat_server + "/v1/chat/completions", json=small, timeout=30)
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "hello"


def test_chat_route_cuts_off_a_slow_body(chat_server: str) -> None:
    port = int(chat_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        took = trickle_until_cut_off(sock, b" ", every=0.2, limit=BODY_TIMEOUT + SLACK)
        status, _, body = read_response(sock)
    assert BODY_TIMEOUT * 0.9 <= took <= BODY_TIMEOUT + SLACK
    assert status == 408
    assert_error(body, "DEADLINE_EXCEEDED", "body")


def test_settings_carry_the_limits_to_the_app_and_the_protocol() -> None:
    settings = ScoringSettings(model_uri="m", max_body_mb=0.5, body_timeout=7, header_timeout=3)
    options = settings.app_options()
    assert options.max_body_bytes == MIB // 2 and options.body_timeout == 7
    assert settings.header_limits().header_timeout == 3
