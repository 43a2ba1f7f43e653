"""A real scoring server for a loaded model on a free loopback port, run by uvicorn in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from mltrail.serving.app import AppOptions, ScoringApp, create_app
from tests.server.live import free_port


@contextmanager
def live_scoring_server(model: Any, **options: Any) -> Iterator[tuple[str, ScoringApp]]:
    """Serve ``model`` for the block; yields the base URL and the app's handlers (for batch statistics)."""
    port = free_port()
    app = create_app(model, AppOptions(**options))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the scoring server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app.state.scoring
    finally:
        server.should_exit = True
        thread.join(timeout=10)
