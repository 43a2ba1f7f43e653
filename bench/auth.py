"""Auth benchmark (issue 14): what signing in costs per request on mltrail, and both tools' auth apps side by side.

Part 1, the cost of auth on mltrail: ``runs/log-metric`` one call at a time over one kept-alive connection
(``http.client``, bodies encoded before timing) on two ``mltrail server`` processes started side by side, each on
a fresh SQLite file in a temp dir, one worker each: one without auth and one with ``--auth``. On the auth
server the same calls are made with HTTP Basic credentials (verified with argon2 once, then cached) and with a
bearer personal access token (``POST /api/2.0/mltrail/tokens/create``), as the admin and as a non-admin user
with an EDIT grant on the experiment (``POST /api/3.0/mlflow/users/permissions/grant``). The modes alternate
in rounds (the order rotating each round) so that load changes on a small machine hit all of them alike.
Reported: p50 / p95 / max per mode and what auth adds at p50, pooled and as the median of the per-round
differences. Target: < 0.2 ms added at p50. Also timed: the first request with a new password and with a new
token (the argon2 check / the token lookup) and the one after it.

Part 2, ``mltrail server --app-name basic-auth`` against ``mlflow server --app-name basic-auth`` (one worker
each, SQLite, each in its own temp dir as cwd: MLflow keeps its users in ``sqlite:///basic_auth.db`` there),
both getting their first admin from MLflow's ``MLFLOW_AUTH_ADMIN_USERNAME`` / ``MLFLOW_AUTH_ADMIN_PASSWORD``.
Through each server's own API as that admin: an experiment of ``--runs`` runs (5 params, 5 metrics, 1 tag
each; untimed), a second experiment for the latency runs, a non-admin user (``users/create``) and EDIT grants
on both experiments (``/api/3.0/mlflow/users/permissions/grant``). Timed, all as the non-admin user with
Basic auth: ``runs/log-metric`` p50 / p95 and ``runs/search`` (max_results 100, default order) p50, rounds
alternating between the servers. MLflow's default configuration verifies the password (scrypt) on every
request; MLflow 3.17 has an opt-in credential cache (``auth_cache_ttl_seconds``, off by default), so a third
server, ``mlflow server --app-name basic-auth`` with ``auth_cache_ttl_seconds = 30`` (mltrail's default
credential cache time) on the same two databases, is measured too, unless ``--no-mlflow-cache``. The seed
goes through that server when it runs (it is the same database).

Usage:
    bash bench/setup.sh                                   # once: bench/.venv-mlflow with mlflow[auth]==3.17.2
    .venv/bin/python bench/auth.py                        # ~2 min
    .venv/bin/python bench/auth.py --quick                # smoke run
    .venv/bin/python bench/auth.py --markdown --json-out /tmp/auth.json   # for RESULTS.md
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _common import (
    MLFLOW_PYTHON,
    MLTRAIL_PYTHON,
    WORKER_ENV,
    Side,
    fmt_seconds,
    machine_info,
    render_table,
)
from _server_harness import API, JSON_HEADERS, Http, HttpError, Server, free_port, jdumps, jloads

API3 = "/api/3.0/mlflow"
MLTRAIL_API = "/api/2.0/mltrail"
BASE_TS = 1_700_000_000_000
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-admin-passphrase-1"
EDITOR, EDITOR_PASSWORD = "bench-editor", "bench-editor-passphrase-2"
FLASK_SECRET = "bench-auth-flask-secret-key"
TARGET_ADDED_S = 0.2e-3
MLFLOW_CACHE_SECONDS = 30
#: Environment variables of either tool's auth that must not leak in from the caller's shell.
_AUTH_ENV = (
    "MLTRAIL_AUTH_ADMIN_USERNAME",
    "MLTRAIL_AUTH_ADMIN_PASSWORD",
    "MLTRAIL_AUTH_CONFIG",
    "MLFLOW_AUTH_ADMIN_USERNAME",
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "MLFLOW_AUTH_CONFIG_PATH",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


@dataclass(frozen=True)
class Sizes:
    """How much work each part does."""

    cost_requests: int  # part 1: timed log-metric calls per mode
    cost_warmup: int
    cost_rounds: int
    runs: int  # part 2: runs seeded for the search
    latency_requests: int  # part 2: timed log-metric calls per server
    latency_warmup: int
    latency_rounds: int
    search_reps: int

    @classmethod
    def for_args(cls, quick: bool) -> Sizes:
        """Full sizes, or the small ones of ``--quick``."""
        if quick:
            return cls(300, 30, 3, 50, 40, 5, 2, 5)
        return cls(3000, 200, 15, 300, 200, 10, 5, 15)


# ------------------------------------------------------------------------------------------------ HTTP
def basic(username: str, password: str) -> str:
    """An ``Authorization`` value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class AuthHttp(Http):
    """:class:`Http` that sends an ``Authorization`` header (or none) with every request."""

    def __init__(self, port: int, authorization: str | None, keepalive: bool = True) -> None:
        super().__init__(port, keepalive=keepalive)
        self.headers = dict(JSON_HEADERS)
        if authorization:
            self.headers["Authorization"] = authorization

    def post(self, endpoint: str, body: bytes | dict[str, Any], api: str = API) -> Any:
        """POST JSON to ``<api>/<endpoint>`` and decode the answer."""
        payload = body if isinstance(body, bytes) else jdumps(body)
        return jloads(self.raw("POST", f"{api}/{endpoint}", payload, self.headers) or b"{}")

    def timed_post(self, path: str, body: bytes) -> float:
        """POST ``body`` to ``path``; the seconds it took (raises on a non-2xx answer)."""
        start = time.perf_counter()
        self.raw("POST", path, body, self.headers)
        return time.perf_counter() - start


def status_of(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request on a new connection: its status and body (no exception for 4xx/5xx)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------- servers
def launch(name: str, cmd: list[str], port: int, env: dict[str, str], cwd: Path) -> Server:
    """Start ``cmd`` (its own process group, cwd ``cwd``) without waiting; see :func:`wait_healthy`."""
    full_env = {**os.environ, **WORKER_ENV}
    for key in ("PYTHONPATH", *_AUTH_ENV):
        full_env.pop(key, None)
    full_env.update(env)
    cwd.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.mkstemp(prefix=f"bench-auth-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=cwd, start_new_session=True
        )
    server = Server(name, port, cmd, proc, log)
    server.startup_seconds = time.perf_counter()  # the launch time until wait_healthy() replaces it
    return server


def wait_healthy(server: Server, timeout: float = 180.0) -> Server:
    """Wait for ``/health`` to answer 200; ``startup_seconds`` becomes the time since the launch."""
    launched = server.startup_seconds
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.side} server exited ({server.proc.returncode}):\n{server.log_tail()}")
        if time.perf_counter() - launched > timeout:
            raise RuntimeError(f"{server.side} server not healthy after {timeout:.0f}s:\n{server.log_tail()}")
        try:
            if status_of(server.port, "GET", "/health", b"", {})[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)
    server.startup_seconds = time.perf_counter() - launched
    return server


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_settled(servers: list[Server], max_wait: float = 60.0, busy: float = 0.05) -> dict[str, Any]:
    """Wait until the servers' process trees together use less than ``busy`` of a core over one second.

    ``mlflow server`` answers ``/health`` while the job-runner processes it starts (huey consumers) are still
    importing; timing then would measure MLflow against its own start-up. Returns the wait and the processes.
    """
    tick = os.sysconf("SC_CLK_TCK")
    start = time.perf_counter()
    used = 0.0
    while time.perf_counter() - start < max_wait:
        pids = [pid for server in servers for pid in server.pids()]
        before = _cpu_ticks(pids)
        time.sleep(1.0)
        used = (_cpu_ticks(pids) - before) / tick
        if used < busy:
            break
    return {
        "seconds": time.perf_counter() - start,
        "settled": used < busy,
        "processes": {server.side: len(server.pids()) for server in servers},
    }


def mltrail_command(port: int, workdir: Path, auth_flags: list[str]) -> list[str]:
    """``mltrail server`` on a SQLite file and an artifact folder in ``workdir``, one worker."""
    return [
        str(MLTRAIL_PYTHON.parent / "mltrail"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{workdir / 'mltrail.db'}",
        "--artifacts-destination", str(workdir / "artifacts"), "--workers", "1", *auth_flags,
    ]  # fmt: skip


def mlflow_command(port: int, workdir: Path) -> list[str]:
    """``mlflow server --app-name basic-auth`` on a SQLite file and an artifact folder in ``workdir``."""
    return [
        str(MLFLOW_PYTHON.parent / "mlflow"), "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
        "--port", str(port), "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "artifacts"), "--workers", "1",
    ]  # fmt: skip


@contextmanager
def servers_stopped(servers: list[Server]) -> Iterator[list[Server]]:
    """Stop every server in ``servers`` (also those appended inside the block) on the way out."""
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


# ------------------------------------------------------------------------------------------- helpers
def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, Any]:
    """p50, p95, max and count of a list of seconds."""
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 0.95),
        "max": max(samples),
        "n": len(samples),
        "over_10ms": sum(s > 0.01 for s in samples),
    }


def log_metric_bodies(run_id: str, count: int, start: int = 0) -> list[bytes]:
    """``count`` encoded log-metric bodies for ``run_id``, steps from ``start``."""
    return [
        jdumps({"run_id": run_id, "key": "latency", "value": i * 0.5, "timestamp": BASE_TS + i, "step": i})
        for i in range(start, start + count)
    ]


def create_experiment(client: AuthHttp, name: str) -> str:
    """A new experiment; its id."""
    return str(client.post("experiments/create", {"name": name})["experiment_id"])


def create_run(client: AuthHttp, experiment_id: str, name: str, start_time: int | None = None) -> str:
    """A new run; its id."""
    body = {"experiment_id": experiment_id, "start_time": start_time or int(time.time() * 1000), "run_name": name}
    return str(client.post("runs/create", body)["run"]["info"]["run_id"])


def create_user_with_edit(admin: AuthHttp, experiment_ids: list[str]) -> None:
    """The non-admin user, with EDIT on ``experiment_ids`` (MLflow 3's per-user grant API)."""
    admin.post("users/create", {"username": EDITOR, "password": EDITOR_PASSWORD})
    for experiment_id in experiment_ids:
        body = {"username": EDITOR, "resource_type": "experiment", "resource_id": experiment_id, "permission": "EDIT"}
        admin.post("users/permissions/grant", body, api=API3)


def rotated(names: list[str], round_index: int) -> list[str]:
    """``names`` rotated by ``round_index`` (each mode goes first in turn)."""
    k = round_index % len(names)
    return names[k:] + names[:k]


def interleaved(
    clients: dict[str, AuthHttp], path: str, bodies: dict[str, list[bytes]], warmup: int, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Warm up each client, then time ``path`` in ``rounds`` rounds alternating between the clients.

    Returns every sample per client and each round's p50 per client.
    """
    for name, client in clients.items():
        for body in bodies[name][:warmup]:
            client.timed_post(path, body)
    per_round = (len(next(iter(bodies.values()))) - warmup) // rounds
    samples: dict[str, list[float]] = {name: [] for name in clients}
    round_p50: dict[str, list[float]] = {name: [] for name in clients}
    for r in range(rounds):
        for name in rotated(list(clients), r):
            client = clients[name]
            chunk = bodies[name][warmup + r * per_round : warmup + (r + 1) * per_round]
            got = [client.timed_post(path, body) for body in chunk]
            samples[name] += got
            round_p50[name].append(statistics.median(got))
    return samples, round_p50


def load_average() -> float:
    """The 1-minute load average (0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


# -------------------------------------------------------------------------------------------- part 1
def part_cost(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """What auth adds to a log-metric call on mltrail: servers without and with ``--auth``, interleaved."""
    out: dict[str, Any] = {"load_before": load_average()}
    admin_env = {"MLTRAIL_AUTH_ADMIN_USERNAME": ADMIN, "MLTRAIL_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with servers_stopped([]) as servers:
        plain_port, auth_port = free_port(), free_port()
        plain = launch("mltrail", mltrail_command(plain_port, workdir / "p1-plain", []), plain_port, {},
                       workdir / "p1-plain")  # fmt: skip
        servers.append(plain)
        auth = launch("mltrail-auth", mltrail_command(auth_port, workdir / "p1-auth", ["--auth"]), auth_port,
                      admin_env, workdir / "p1-auth")  # fmt: skip
        servers.append(auth)
        wait_healthy(plain)
        wait_healthy(auth)
        out["settle"] = wait_settled(servers)
        out["commands"] = {"plain": shlex.join(plain.command), "auth": shlex.join(auth.command)}
        out["startup"] = {"plain": plain.startup_seconds, "auth": auth.startup_seconds}

        # Auth is really on: an anonymous call is refused.
        status, answer = status_of(auth_port, "POST", f"{API}/experiments/search", b"{}", JSON_HEADERS)
        out["anonymous_status"] = status
        if status != 401:
            raise RuntimeError(f"anonymous POST {API}/experiments/search on --auth: HTTP {status} {answer[:300]!r}")

        admin = AuthHttp(auth_port, basic(ADMIN, ADMIN_PASSWORD))
        first: dict[str, float] = {}
        start = time.perf_counter()
        experiment_id = create_experiment(admin, "auth-cost")
        first["first request after start-up (admin Basic: argon2 + experiments/create)"] = time.perf_counter() - start
        create_user_with_edit(admin, [experiment_id])
        admin_token = admin.post("tokens/create", {"name": "bench-admin"}, api=MLTRAIL_API)["secret"]
        editor = AuthHttp(auth_port, basic(EDITOR, EDITOR_PASSWORD))
        editor_token = editor.post("tokens/create", {"name": "bench-editor"}, api=MLTRAIL_API)["secret"]
        plain_setup = AuthHttp(plain_port, None)
        start = time.perf_counter()
        plain_experiment = create_experiment(plain_setup, "auth-cost")
        first["first request after start-up, server without auth (experiments/create)"] = time.perf_counter() - start

        modes: dict[str, AuthHttp] = {
            "no auth": AuthHttp(plain_port, None),
            "Basic, admin": AuthHttp(auth_port, basic(ADMIN, ADMIN_PASSWORD)),
            "Bearer token, admin": AuthHttp(auth_port, f"Bearer {admin_token}"),
            "Basic, editor (EDIT grant)": AuthHttp(auth_port, basic(EDITOR, EDITOR_PASSWORD)),
            "Bearer token, editor": AuthHttp(auth_port, f"Bearer {editor_token}"),
        }
        total = sizes.cost_warmup + sizes.cost_requests
        bodies: dict[str, list[bytes]] = {}
        for index, mode in enumerate(modes):
            setup = plain_setup if mode == "no auth" else admin
            exp = plain_experiment if mode == "no auth" else experiment_id
            run_id = create_run(setup, exp, f"mode-{index}")
            bodies[mode] = log_metric_bodies(run_id, total)
        out["first_calls"] = {
            mode: [client.timed_post(f"{API}/runs/log-metric", body) for body in bodies[mode][:3]]
            for mode, client in modes.items()
        }

        # A credential's first use (argon2 check / token lookup), then the cached second use.
        cold_user = "bench-cold"
        admin.post("users/create", {"username": cold_user, "password": EDITOR_PASSWORD})
        cold = AuthHttp(auth_port, basic(cold_user, EDITOR_PASSWORD))
        search = jdumps({"max_results": 1})
        first["new password: 1st request (experiments/search)"] = cold.timed_post(f"{API}/experiments/search", search)
        first["new password: 2nd request"] = cold.timed_post(f"{API}/experiments/search", search)
        cold_token = cold.post("tokens/create", {"name": "bench-cold"}, api=MLTRAIL_API)["secret"]
        cold_bearer = AuthHttp(auth_port, f"Bearer {cold_token}")
        first["new token: 1st request (experiments/search)"] = cold_bearer.timed_post(
            f"{API}/experiments/search", search
        )
        first["new token: 2nd request"] = cold_bearer.timed_post(f"{API}/experiments/search", search)
        out["first"] = first

        for client in (admin, editor, plain_setup, cold, cold_bearer):
            client.close()
        started = time.perf_counter()
        samples, round_p50 = interleaved(
            modes, f"{API}/runs/log-metric", {m: b[3:] for m, b in bodies.items()},
            sizes.cost_warmup - 3, sizes.cost_rounds,
        )  # fmt: skip
        out["timed_seconds"] = time.perf_counter() - started
        for client in modes.values():
            client.close()
        out["modes"] = {mode: summary(s) for mode, s in samples.items()}
        base = round_p50["no auth"]
        for mode, per_round in round_p50.items():
            entry = out["modes"][mode]
            entry["added_p50"] = entry["p50"] - out["modes"]["no auth"]["p50"]
            entry["added_p50_rounds"] = statistics.median(a - b for a, b in zip(per_round, base, strict=True))
            entry["round_p50"] = per_round
    out["load_after"] = load_average()
    return out


# -------------------------------------------------------------------------------------------- part 2
def seed_runs(admin: AuthHttp, experiment_id: str, runs: int) -> float:
    """``runs`` runs (5 params, 5 metrics, 1 tag each) through the REST API; the seconds it took."""
    start = time.perf_counter()
    for i in range(runs):
        run_id = create_run(admin, experiment_id, f"run-{i:04d}", start_time=BASE_TS + i * 1000)
        body = {
            "run_id": run_id,
            "params": [{"key": f"p{j}", "value": f"v{(i + j) % 7}"} for j in range(5)],
            "metrics": [
                {"key": f"m{j}", "value": ((i * 31 + j * 17) % 101) / 100, "timestamp": BASE_TS + i, "step": 0}
                for j in range(5)
            ],
            "tags": [{"key": "team", "value": f"t{i % 4}"}],
        }
        admin.post("runs/log-batch", body)
    return time.perf_counter() - start


def part_sides(sizes: Sizes, workdir: Path, mlflow_cache: bool) -> dict[str, Any]:
    """``--app-name basic-auth`` on both tools: log-metric and search as a non-admin user with EDIT."""
    out: dict[str, Any] = {"load_before": load_average()}
    env = {
        "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN,
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": FLASK_SECRET,
    }
    ours_dir, theirs_dir = workdir / "p2-mltrail", workdir / "p2-mlflow"
    with servers_stopped([]) as servers:
        ours_port, theirs_port = free_port(), free_port()
        theirs = launch("mlflow", mlflow_command(theirs_port, theirs_dir), theirs_port, env, theirs_dir)
        servers.append(theirs)
        ours = launch("mltrail", mltrail_command(ours_port, ours_dir, ["--app-name", "basic-auth"]), ours_port, env,
                      ours_dir)  # fmt: skip
        servers.append(ours)
        wait_healthy(ours)
        wait_healthy(theirs)
        targets = {"mltrail": ours, "mlflow": theirs}
        if mlflow_cache:
            # Same backend store, same user database (the default config's sqlite:///basic_auth.db in the cwd).
            ini = theirs_dir / "basic_auth_cached.ini"
            ini.write_text(
                "[mlflow]\ndefault_permission = READ\n"
                f"database_uri = sqlite:///{theirs_dir / 'basic_auth.db'}\n"
                f"admin_username = {ADMIN}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                f"auth_cache_ttl_seconds = {MLFLOW_CACHE_SECONDS}\n"
            )
            port = free_port()
            cached = launch("mlflow-cache", mlflow_command(port, theirs_dir), port,
                            {**env, "MLFLOW_AUTH_CONFIG_PATH": str(ini)}, theirs_dir)  # fmt: skip
            servers.append(cached)
            wait_healthy(cached)
            targets["mlflow-cache"] = cached
        out["settle"] = wait_settled(servers)
        out["commands"] = {name: shlex.join(s.command) for name, s in targets.items()}
        out["startup"] = {name: s.startup_seconds for name, s in targets.items()}

        seeds: dict[str, Any] = {}
        for side in ("mltrail", "mlflow"):
            seeder = targets["mlflow-cache" if side == "mlflow" and mlflow_cache else side]
            admin = AuthHttp(seeder.port, basic(ADMIN, ADMIN_PASSWORD))
            search_experiment = create_experiment(admin, "auth-search")
            latency_experiment = create_experiment(admin, "auth-latency")
            create_user_with_edit(admin, [search_experiment, latency_experiment])
            seconds = seed_runs(admin, search_experiment, sizes.runs)
            admin.close()
            seeds[side] = {
                "search_experiment": search_experiment,
                "latency_experiment": latency_experiment,
                "seed_seconds": seconds,
                "seeded_through": seeder.side,
            }
        seeds["mlflow-cache"] = seeds["mlflow"]
        out["seed"] = {k: v for k, v in seeds.items() if k in targets}

        editors = {name: AuthHttp(s.port, basic(EDITOR, EDITOR_PASSWORD)) for name, s in targets.items()}
        bodies = {}
        total = sizes.latency_warmup + sizes.latency_requests
        for name, client in editors.items():
            run_id = create_run(client, seeds[name]["latency_experiment"], f"latency-{name}")
            bodies[name] = log_metric_bodies(run_id, total)
        started = time.perf_counter()
        samples, _ = interleaved(editors, f"{API}/runs/log-metric", bodies, sizes.latency_warmup, sizes.latency_rounds)
        out["log_metric"] = {name: summary(s) for name, s in samples.items()}
        out["log_metric_seconds"] = time.perf_counter() - started

        search_bodies = {
            name: [jdumps({"experiment_ids": [seeds[name]["search_experiment"]], "max_results": 100})]
            * (3 + sizes.search_reps)
            for name in editors
        }
        samples, _ = interleaved(editors, f"{API}/runs/search", search_bodies, 3, sizes.search_reps)
        out["search"] = {name: summary(s) for name, s in samples.items()}
        names: dict[str, list[str]] = {}
        for name, client in editors.items():
            body = {"experiment_ids": [seeds[name]["search_experiment"]], "max_results": 100}
            runs = client.post("runs/search", body).get("runs", [])
            names[name] = [r["info"].get("run_name", "") for r in runs]
            client.close()
        out["search_counts"] = {name: len(n) for name, n in names.items()}
        out["search_same"] = all(n == names["mltrail"] for n in names.values())
        out["errors_in_logs"] = {name: _log_problems(s) for name, s in targets.items()}
    out["load_after"] = load_average()
    return out


def _log_problems(server: Server) -> list[str]:
    """Lines of the server's log that report a 5xx or a traceback."""
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:300] for line in lines if "Traceback" in line or '" 50' in line][:5]


# ---------------------------------------------------------------------------------------------- table
def _lat(entry: dict[str, Any]) -> str:
    return f"{fmt_seconds(entry['p50'])} / {fmt_seconds(entry['p95'])}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:+.3f} ms"


def _settle(settle: dict[str, Any]) -> str:
    procs = ", ".join(f"{k} {v}" for k, v in settle["processes"].items())
    state = "idle" if settle["settled"] else "NOT idle"
    return f"{state} (< 5% of a core) after {settle['seconds']:.0f} s more; processes per server: {procs}"


def cost_table(res: dict[str, Any], markdown: bool) -> tuple[str, list[str]]:
    """Part 1's table and notes."""
    rows = []
    for mode, m in res["modes"].items():
        if mode == "no auth":
            rows.append([mode, _lat(m), fmt_seconds(m["max"]), "", "", "", ""])
            continue
        met = max(m["added_p50"], m["added_p50_rounds"]) < TARGET_ADDED_S
        rows.append([
            mode, _lat(m), fmt_seconds(m["max"]), _ms(m["added_p50"]), _ms(m["added_p50_rounds"]),
            f"< {TARGET_ADDED_S * 1e3:g} ms", "yes" if met else "NO",
        ])  # fmt: skip
    headers = ["log-metric, keep-alive", "p50 / p95", "max", "added p50", "added p50 (rounds)", "target", "met"]
    n = res["modes"]["no auth"]["n"]
    notes = [
        f"{n} timed calls per mode after {res['sizes']['cost_warmup']} warm-up calls, in {res['sizes']['cost_rounds']} "
        f"rounds alternating between the modes ({res['timed_seconds']:.0f} s in all); 'added p50' = the mode's p50 "
        "minus no auth's; '(rounds)' = the median over rounds of the same difference within one round",
        "calls over 10 ms: " + ", ".join(f"{mode} {m['over_10ms']}" for mode, m in res["modes"].items()),
        "first 3 log-metric calls per mode (new connection, credentials already verified by the setup calls, "
        "except the tokens): "
        + "; ".join(f"{mode} {', '.join(fmt_seconds(s) for s in v)}" for mode, v in res["first_calls"].items()),
        "first use of a credential: " + "; ".join(f"{k} {fmt_seconds(v)}" for k, v in res["first"].items()),
        f"anonymous POST {API}/experiments/search on the --auth server: HTTP {res['anonymous_status']}",
        f"start-up to /health 200 (launched together): no auth {fmt_seconds(res['startup']['plain'])}, "
        f"--auth {fmt_seconds(res['startup']['auth'])}; then {_settle(res['settle'])}",
        f"1-minute load average: {res['load_before']:.2f} before, {res['load_after']:.2f} after",
        f"servers: `{res['commands']['plain']}`; `{res['commands']['auth']}` "
        "(env MLTRAIL_AUTH_ADMIN_USERNAME / MLTRAIL_AUTH_ADMIN_PASSWORD)",
    ]
    return render_table(headers, rows, markdown), notes


def sides_table(res: dict[str, Any], sizes: Sizes, markdown: bool) -> tuple[str, list[str]]:
    """Part 2's table and notes."""
    cached = "mlflow-cache" in res["log_metric"]
    headers = ["Basic auth, non-admin with EDIT", "mltrail", "MLflow", "MLflow/mltrail"]
    if cached:
        headers += [f"MLflow, cache {MLFLOW_CACHE_SECONDS} s", "MLflow cache/mltrail"]
    rows = []
    for key, label, fmt in (
        ("log_metric", f"log-metric p50 / p95 ({sizes.latency_requests} calls)", _lat),
        ("search", f"runs/search top 100 of {sizes.runs} runs, p50 ({sizes.search_reps} calls)",
         lambda e: fmt_seconds(e["p50"])),
    ):  # fmt: skip
        r = res[key]
        row = [label, fmt(r["mltrail"]), fmt(r["mlflow"]), f"{r['mlflow']['p50'] / r['mltrail']['p50']:.1f}x"]
        if cached:
            row += [fmt(r["mlflow-cache"]), f"{r['mlflow-cache']['p50'] / r['mltrail']['p50']:.1f}x"]
        rows.append(row)
    seed = res["seed"]
    notes = [
        f"rounds alternate between the servers; {sizes.latency_warmup} warm-up log-metric calls and 3 warm-up "
        f"searches each; log-metric max: "
        + ", ".join(f"{name} {fmt_seconds(m['max'])}" for name, m in res["log_metric"].items()),
        f"search: {', '.join(f'{k} {v}' for k, v in res['search_counts'].items())} runs returned; same runs in the "
        f"same order: {'yes' if res['search_same'] else 'NO'}",
        f"seeded as the admin through the REST API (untimed): mltrail {fmt_seconds(seed['mltrail']['seed_seconds'])}, "
        f"MLflow {fmt_seconds(seed['mlflow']['seed_seconds'])} (through {seed['mlflow']['seeded_through']})",
        "start-up to /health 200: "
        + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in res["startup"].items())
        + f" (mltrail and MLflow launched together); then {_settle(res['settle'])}",
        f"1-minute load average: {res['load_before']:.2f} before, {res['load_after']:.2f} after",
        *(f"server log of {k}: {v}" for k, v in res["errors_in_logs"].items() if v),
        *(f"{k}: `{v}`" for k, v in res["commands"].items()),
        "env for all: MLFLOW_AUTH_ADMIN_USERNAME, MLFLOW_AUTH_ADMIN_PASSWORD, MLFLOW_FLASK_SERVER_SECRET_KEY; "
        f"mlflow-cache also MLFLOW_AUTH_CONFIG_PATH (auth_cache_ttl_seconds = {MLFLOW_CACHE_SECONDS}); cwd: a temp "
        "dir per tool",
    ]
    return render_table(headers, rows, markdown), notes


# ----------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description="The cost of auth on mltrail, and mltrail's basic-auth app against MLflow's.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Usage:", 1)[1] if __doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--parts", default="1,2", help="1: auth cost on mltrail, 2: mltrail vs MLflow (default 1,2)")
    parser.add_argument("--requests", type=int, help="part 1: timed log-metric calls per mode (default 3000)")
    parser.add_argument("--runs", type=int, help="part 2: runs seeded for the search (default 300)")
    parser.add_argument("--no-mlflow-cache", action="store_true", help="part 2: skip MLflow with its auth cache on")
    parser.add_argument("--workdir", type=Path, help="where databases go (default: a temp dir, removed)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--json-out", type=Path, help="also write every raw result to this file")
    args = parser.parse_args(argv)
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not args.parts <= {"1", "2"}:
        parser.error("--parts takes 1, 2 or 1,2")
    return args


def _versions() -> str:
    out = []
    for name, python in (("mltrail", MLTRAIL_PYTHON), ("mlflow", MLFLOW_PYTHON)):
        code = f"from importlib.metadata import version as v; print(v({name!r}), v('uvicorn'))"
        proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
        version, uv = [*proc.stdout.split(), "?", "?"][:2]
        out.append(f"{name} {version} (uvicorn {uv})")
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for and print their tables."""
    args = parse_args(argv)
    Side("mltrail", MLTRAIL_PYTHON).check()
    if "2" in args.parts:
        Side("mlflow", MLFLOW_PYTHON).check()
        probe = subprocess.run([str(MLFLOW_PYTHON), "-c", "import flask_wtf"], capture_output=True, timeout=120)
        if probe.returncode != 0:
            raise SystemExit("MLflow's basic-auth app needs Flask-WTF: run bash bench/setup.sh (mlflow[auth])")
    sizes = Sizes.for_args(args.quick)
    overrides = {
        **({"cost_requests": args.requests} if args.requests else {}),
        **({"runs": args.runs} if args.runs else {}),
    }
    sizes = Sizes(**{**asdict(sizes), **overrides})
    info = machine_info()
    command = [sys.executable, "bench/auth.py", *(sys.argv[1:] if argv is None else argv)]
    header = [
        f"command: {shlex.join(command)}",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}; date: {info['date']}",
        f"versions: {_versions()}, Python {info['python']} (client: http.client, keep-alive)",
        f"sizes: {asdict(sizes)}",
    ]
    print("\n".join(header), flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mltrail-auth-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    raw: dict[str, Any] = {"header": header, "sizes": asdict(sizes)}
    bullet = "- " if args.markdown else "  "
    started = time.perf_counter()
    try:
        if "1" in args.parts:
            print("[1] mltrail: no auth vs --auth", file=sys.stderr, flush=True)
            res = part_cost(sizes, workdir)
            res["sizes"] = asdict(sizes)
            raw["cost"] = res
            table, notes = cost_table(res, args.markdown)
            print(f"\n{'### ' if args.markdown else ''}1. What auth adds to a request, mltrail (SQLite, 1 worker)\n")
            print(table + "\n")
            print("\n".join(bullet + n for n in notes), flush=True)
        if "2" in args.parts:
            print("[2] --app-name basic-auth: mltrail vs MLflow", file=sys.stderr, flush=True)
            res = part_sides(sizes, workdir, not args.no_mlflow_cache)
            raw["sides"] = res
            table, notes = sides_table(res, sizes, args.markdown)
            title = "2. --app-name basic-auth, mltrail vs MLflow (SQLite, 1 worker)"
            print(f"\n{'### ' if args.markdown else ''}{title}\n")
            print(table + "\n")
            print("\n".join(bullet + n for n in notes), flush=True)
        print(f"\n{bullet}whole run: {time.perf_counter() - started:.0f} s")
    except HttpError as exc:
        print(f"request failed: {exc}", file=sys.stderr)
        raise
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        if args.json_out:
            args.json_out.write_text(json.dumps(raw, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
