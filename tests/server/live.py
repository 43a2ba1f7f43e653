"""A real mltrail server on a free loopback port, run by uvicorn in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from mltrail.server.run import ServerSettings, build_app, prepare


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(tmp_path: Path, backend_store_uri: str | None = None, **settings: object) -> Iterator[str]:
    """Serve mltrail on a loopback port for the duration of the block; yields the base URL."""
    port = free_port()
    config_settings = ServerSettings(
        host="127.0.0.1",
        port=port,
        backend_store_uri=backend_store_uri or f"sqlite:///{tmp_path / 'server.db'}",
        artifacts_destination=str(tmp_path / "artifacts"),
        **settings,  # type: ignore[arg-type]
    ).resolved()
    prepare(config_settings)
    app = build_app(config_settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
