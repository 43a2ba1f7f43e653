"""A real scoring server for a loaded model on a free loopback port, run by uvicorn in a background thread
(with the HTTP protocol ``mltrail models serve`` uses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from mltrail.serving.app import AppOptions, ScoringApp, create_app
from mltrail.serving.protocol import CoalescingHTTPProtocol
from tests.server.live import free_port


@contextmanager
def live_asgi_server(app: Any) -> Iterator[int]:
    """Serve any ASGI ``app`` for the block, as ``mltrail models serve`` would; yields the port."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http=CoalescingHTTPProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def live_scoring_server(model: Any, **options: Any) -> Iterator[tuple[str, ScoringApp]]:
    """Serve ``model`` for the block; yields the base URL and the app's handlers (for batch statistics)."""
    app = create_app(model, AppOptions(**options))
    with live_asgi_server(app) as port:
        yield f"http://127.0.0.1:{port}", app.state.scoring


@contextmanager
def models_serve(
    args: list[str], port: int, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[str]:
    """``mltrail models serve <args>`` as a real subprocess (listening on ``port``) until its /ping answers;
    yields its URL, then stops it."""
    import httpx

    cmd = [sys.executable, "-m", "mltrail.cli.main", "models", "serve", *args]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, start_new_session=True, env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
            try:
                if httpx.get(f"{url}/ping").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mltrail models serve did not start")
            time.sleep(0.05)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
