"""A real mltrail server on a free loopback port: in a background thread, or as an ``mltrail server`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import uvicorn

from mltrail.server.run import ServerSettings, build_app, prepare, uvicorn_protocol_settings


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(tmp_path: Path, backend_store_uri: str | None = None, **settings: object) -> Iterator[str]:
    """Serve mltrail on a loopback port for the duration of the block; yields the base URL.

    ``settings`` are :class:`ServerSettings` fields; ``artifacts_destination`` defaults to ``tmp_path/artifacts``.
    """
    port = free_port()
    settings.setdefault("artifacts_destination", str(tmp_path / "artifacts"))
    config_settings = ServerSettings(
        host="127.0.0.1",
        port=port,
        backend_store_uri=backend_store_uri or f"sqlite:///{tmp_path / 'server.db'}",
        **settings,  # type: ignore[arg-type]
    ).resolved()
    prepare(config_settings)
    app = build_app(config_settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **uvicorn_protocol_settings()
    )
    server = uvicorn.Server(config)
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


#: The first admin of :func:`auth_live_server`.
ADMIN = ("admin", "admin-secret-passphrase")


def write_auth_config(path: Path, **settings: object) -> Path:
    """A TOML auth config at ``path`` with the test admin and short caches; ``settings`` add or override keys.

    A nested dict becomes a table (``oidc={...}`` -> ``[oidc]``).
    """
    values: dict[str, object] = {
        "admin_username": ADMIN[0],
        "admin_password": ADMIN[1],
        "credential_cache_seconds": 30,
        "permission_cache_seconds": 10,
        **settings,
    }

    def render(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, list | tuple):
            return "[" + ", ".join(render(v) for v in value) + "]"
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"{k} = {render(v)}" for k, v in values.items() if not isinstance(v, dict)]
    for key, table in values.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]", *(f"{k} = {render(v)}" for k, v in table.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def auth_live_server(tmp_path: Path, backend_store_uri: str | None = None, **auth_settings: object) -> Iterator[str]:
    """:func:`live_server` with ``--auth``: admin :data:`ADMIN`, settings from :func:`write_auth_config`."""
    config = write_auth_config(tmp_path / "auth.toml", **auth_settings)
    with live_server(tmp_path, backend_store_uri, auth=True, auth_config=str(config)) as url:
        yield url


class ServerProcess:
    """``mltrail server`` as a subprocess in its own process group (its workers included), for crash tests.

    Args:
        root: working directory; the server's output goes to ``root/server-<n>.log``.
        backend_store_uri: the database (default: ``sqlite:///root/db.sqlite``).
        workers: worker processes (``--workers``).
        port: the port (default: a free one); a restart keeps it.
        artifacts_destination: ``--artifacts-destination`` (default: ``root/artifacts``; ``s3://bucket/prefix`` too).
        extra_args: more ``mltrail server`` options, such as ``("--artifacts-presigned-downloads",)``.
    """

    def __init__(
        self,
        root: Path,
        backend_store_uri: str | None = None,
        workers: int = 1,
        port: int = 0,
        artifacts_destination: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.backend_store_uri = backend_store_uri or f"sqlite:///{root / 'db.sqlite'}"
        self.workers = workers
        self.port = port or free_port()
        self.artifacts_destination = artifacts_destination or str(root / "artifacts")
        self.extra_args = tuple(extra_args)
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs: list[Path] = []
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> str:
        """Start the server and wait until ``/health`` answers; return its base URL.

        Raises:
            RuntimeError: when it exits or does not answer within ``timeout`` seconds (with its output).
        """
        command = [sys.executable, "-c", "from mltrail.cli.main import main; main()", "server"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        command += [
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            self.artifacts_destination,
            *self.extra_args,
        ]
        log = self.root / f"server-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.root, stdout=out, stderr=subprocess.STDOUT, env=os.environ, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.kill()
                raise RuntimeError(f"server did not start: {log.read_text(errors='replace')}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server's whole process group (supervisor and workers) and wait for the supervisor."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self._wait_group_gone()

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM to the group), killing it if it does not exit within 20 s."""
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def _wait_group_gone(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def output(self) -> str:
        """Everything the server printed, across restarts."""
        return "".join(log.read_text(errors="replace") for log in self.logs if log.exists())


@contextmanager
def server_process(
    root: Path, backend_store_uri: str | None = None, workers: int = 1, **options: object
) -> Iterator[ServerProcess]:
    """A started :class:`ServerProcess` (``options``: its other arguments), stopped at the end of the block."""
    server = ServerProcess(root, backend_store_uri, workers, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()
