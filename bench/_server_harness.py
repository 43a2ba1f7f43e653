"""Pieces of bench/tracking_server.py: start and stop a tracking server, measure its memory, talk HTTP to it.

Runs in the orchestrator (mltrail's venv). The HTTP client is :mod:`http.client` from the standard library,
so both servers are driven by exactly the same, cheap client code; bodies are encoded before timing starts.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import MLFLOW_PYTHON, MLTRAIL_PYTHON, REPO_DIR, WORKER_ENV

try:
    import orjson

    def jdumps(obj: Any) -> bytes:
        """Encode JSON (orjson when present: the client's share of each timing stays small)."""
        return orjson.dumps(obj)

    def jloads(data: bytes) -> Any:
        """Decode JSON."""
        return orjson.loads(data)

except ImportError:  # pragma: no cover

    def jdumps(obj: Any) -> bytes:
        """Encode JSON."""
        return json.dumps(obj, separators=(",", ":")).encode()

    def jloads(data: bytes) -> Any:
        """Decode JSON."""
        return json.loads(data)


API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
JSON_HEADERS = {"Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------ HTTP
class HttpError(RuntimeError):
    """A non-2xx answer (or a broken connection) from the server."""


class Http:
    """A tiny JSON client over :class:`http.client.HTTPConnection`.

    Args:
        port: the server's port on 127.0.0.1.
        keepalive: reuse one connection (True) or open a new connection for every request (False).
        timeout: socket timeout in seconds.
    """

    def __init__(self, port: int, keepalive: bool = True, timeout: float = 300.0) -> None:
        self.port = port
        self.keepalive = keepalive
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None or not self.keepalive:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout, blocksize=1 << 20)
        return self._conn

    def close(self) -> None:
        """Close the kept-alive connection, if any."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
        """Send one request and return the response body; raise :class:`HttpError` unless the status is 2xx."""
        reused = self._conn is not None and self.keepalive
        conn = self._connection()
        try:
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                if not reused:
                    raise
                # The server closed the idle kept-alive connection (uvicorn's keep-alive timeout) before this
                # request reached it: resend once on a new connection, as urllib3 and httpx do. Counted.
                self.reconnects += 1
                self.close()
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise HttpError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        finally:
            if not self.keepalive:
                conn.close()
        if resp.status >= 300:
            raise HttpError(f"{method} {path}: HTTP {resp.status}: {data[:300]!r}")
        return data

    def post(self, endpoint: str, body: bytes | dict[str, Any]) -> Any:
        """POST JSON to ``/api/2.0/mlflow/<endpoint>`` and decode the answer."""
        payload = body if isinstance(body, bytes) else jdumps(body)
        return jloads(self.raw("POST", f"{API}/{endpoint}", payload, JSON_HEADERS) or b"{}")

    def get(self, endpoint: str, query: str) -> Any:
        """GET ``/api/2.0/mlflow/<endpoint>?<query>`` and decode the answer."""
        return jloads(self.raw("GET", f"{API}/{endpoint}?{query}") or b"{}")


def create_experiment(client: Http, name: str) -> str:
    """A new experiment; returns its id."""
    return str(client.post("experiments/create", {"name": name})["experiment_id"])


def create_run(client: Http, experiment_id: str, name: str) -> str:
    """A new run; returns its id."""
    body = {"experiment_id": experiment_id, "start_time": int(time.time() * 1000), "run_name": name}
    return str(client.post("runs/create", body)["run"]["info"]["run_id"])


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------------------------------- memory
def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(p) for p in task.read_text().split()]
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (as found in /proc now)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_kb(pids: Sequence[int]) -> int:
    """The sum of VmRSS over ``pids`` in KiB (shared pages counted once per process, as ``ps`` does)."""
    return sum(_status_kb(p, "VmRSS") for p in pids)


def tree_hwm_kb(pids: Sequence[int]) -> dict[int, int]:
    """VmHWM (peak RSS so far) per pid, in KiB."""
    return {p: _status_kb(p, "VmHWM") for p in pids}


def tree_pss_kb(pids: Sequence[int]) -> int:
    """The sum of proportional set size over ``pids`` in KiB (shared pages split between processes)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError):
            pass
    return total


class RssSampler:
    """Samples the summed VmRSS of a process tree in a thread; ``peak_kb`` is the highest sum seen.

    VmHWM per process is read before and after too, so a spike shorter than the sampling period still shows
    (``hwm_growth_kb``: the summed growth of the per-process high-water marks).
    """

    def __init__(self, root_pid: int, period: float = 0.01) -> None:
        self.pids = process_tree(root_pid)
        self.period = period
        self.baseline_kb = tree_rss_kb(self.pids)
        self.peak_kb = self.baseline_kb
        self._hwm_before = tree_hwm_kb(self.pids)
        self.hwm_growth_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pids))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pids))
        after = tree_hwm_kb(self.pids)
        self.hwm_growth_kb = sum(max(0, after[p] - self._hwm_before.get(p, 0)) for p in self.pids)

    @property
    def growth_mb(self) -> float:
        """Peak sampled RSS minus the RSS before, in MiB."""
        return (self.peak_kb - self.baseline_kb) / 1024


# ----------------------------------------------------------------------------------------- servers
def mltrail_has_cli() -> bool:
    """Whether ``mltrail server`` exists with the flags this benchmark passes."""
    exe = MLTRAIL_PYTHON.parent / "mltrail"
    if not exe.exists():
        return False
    try:
        proc = subprocess.run([str(exe), "server", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and all(f in proc.stdout for f in ("--artifacts-destination", "--workers"))


def server_command(
    side: str, port: int, backend_uri: str, artifacts: str, workers: int | None, use_cli: bool
) -> list[str]:
    """The command line that starts ``side``'s server (``workers`` None: the side's default)."""
    if side == "mlflow":
        cmd = [str(MLFLOW_PYTHON.parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--backend-store-uri", backend_uri, "--artifacts-destination", artifacts]
        return cmd + (["--workers", str(workers)] if workers else [])
    if use_cli:
        cmd = [str(MLTRAIL_PYTHON.parent / "mltrail"), "server", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--backend-store-uri", backend_uri, "--artifacts-destination", artifacts]
        return cmd + (["--workers", str(workers)] if workers else [])
    kwargs = f"host='127.0.0.1', port={port}, backend_store_uri={backend_uri!r}, artifacts_destination={artifacts!r}"
    if workers:
        kwargs += f", workers={workers}"
    code = f"from mltrail.server.run import ServerSettings, serve; serve(ServerSettings({kwargs}))"
    return [str(MLTRAIL_PYTHON), "-c", code]


@dataclass
class Server:
    """One running tracking server (its own process group), started by :meth:`start`."""

    side: str
    port: int
    command: list[str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        side: str,
        backend_uri: str,
        artifacts: str,
        workers: int | None = 1,
        use_cli: bool = False,
        timeout: float = 120.0,
    ) -> Server:
        """Start the server and wait for ``/health`` to answer 200; time that as the start-up time."""
        port = free_port()
        cmd = server_command(side, port, backend_uri, artifacts, workers, use_cli)
        log = Path(tempfile.mkstemp(prefix=f"bench-{side}-server-", suffix=".log")[1])
        env = {**os.environ, **WORKER_ENV}
        env.pop("PYTHONPATH", None)
        start = time.perf_counter()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_DIR, start_new_session=True
            )
        server = cls(side, port, cmd, proc, log)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{side} server exited ({proc.returncode}):\n{server.log_tail()}")
            if time.perf_counter() - start > timeout:
                server.stop()
                raise RuntimeError(f"{side} server not healthy after {timeout:.0f}s:\n{server.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            time.sleep(0.02)
        server.startup_seconds = time.perf_counter() - start
        return server

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server printed."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The server's process tree."""
        return process_tree(self.proc.pid)

    def client(self, keepalive: bool = True) -> Http:
        """A client for this server."""
        return Http(self.port, keepalive=keepalive)

    def stop(self) -> None:
        """SIGTERM the server's process group (SIGKILL after 15 s) and remove its log."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)
            except ProcessLookupError:
                pass
        self.log_path.unlink(missing_ok=True)


# -------------------------------------------------------------------------------------- databases
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@dataclass
class Backend:
    """A fresh database for one server: a SQLite file in ``workdir`` or a PostgreSQL database of its own."""

    kind: str
    name: str
    workdir: Path

    @property
    def uri(self) -> str:
        """The backend store URI (the same form works for both packages)."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / (self.name + '.db')}"
        return f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    @property
    def artifacts(self) -> str:
        """This backend's artifact destination folder."""
        return str(self.workdir / (self.name + "-artifacts"))

    def create(self) -> Backend:
        """Create the (empty) database."""
        if self.kind == "postgres":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "{self.name}"')
        return self

    def analyze(self) -> None:
        """Refresh the planner statistics (PostgreSQL): the bench server runs with autovacuum off, so bulk-seeded
        tables would otherwise have none and both sides would get nested-loop plans no production server sees."""
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.uri, autocommit=True) as conn:
                conn.execute("ANALYZE")

    def drop(self) -> None:
        """Remove the database and the artifacts."""
        if self.kind == "postgres":
            try:
                _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            except Exception as exc:  # leave a note, never mask the benchmark's own error
                print(f"warning: could not drop database {self.name}: {exc}")
        else:
            for suffix in (".db", ".db-wal", ".db-shm"):
                (self.workdir / (self.name + suffix)).unlink(missing_ok=True)
        shutil.rmtree(self.artifacts, ignore_errors=True)
