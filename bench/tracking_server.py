"""Tracking server benchmark: ``mltrail server`` side by side with ``mlflow server``, same backend, same client.

Each side's server runs as its own process tree on a fresh database (SQLite file, or a PostgreSQL database of
its own with ``--backend postgres``), one uvicorn worker each unless stated. Both are driven by the same
standard-library HTTP client (``http.client``) from this process; request bodies are encoded before timing.

Scenarios (``--scenarios``):

1. ``runs/log-metric``, one call at a time: p50/p95 latency with keep-alive (one reused connection) and with a
   new connection per request. Target: p50 >= 5x lower. With ``--workers N`` also run on N-worker servers
   (MLflow's multi-worker keep-alive trap: the listening socket loses TCP_NODELAY).
2. ``runs/log-batch`` of 1000 metrics (10 keys x 100 steps): points per second. Target >= 5x higher.
3. 8 concurrent writer processes, each its own run, each iteration one log-batch of 100 and 10 single
   log-metric calls: points per second and errors. Target >= 5x higher, zero errors.
4. ``runs/search`` over 10,000 runs (10 params, 10 metrics each; seeded through each side's own SQL store class,
   untimed) with filter ``metrics.m0 > 0.5 and params.p1 = 'x'`` and order_by ``metrics.m3 DESC``,
   max_results 100: p50. Target >= 10x lower.
5. ``metrics/get-history`` of a 100,000-point metric, paging with max_results=25000 as the client does:
   total time (p50 of 3). Target >= 5x faster.
6. A 1 GB artifact PUT to ``/api/2.0/mlflow-artifacts/artifacts/...`` streamed from a file, then GET streamed
   to a file: time, and the growth of the server tree's RSS during each transfer. Target < 100 MB (mltrail).
7. Idle memory (summed RSS of the server's process tree after start-up and a few requests) and start-up time
   to the first ``/health`` 200, on fresh servers. Target: memory <= 1/4 of MLflow's, start-up < 2 s.

Usage:
    bash bench/setup.sh                                   # once: bench/.venv-mlflow with mlflow==3.17.2
    .venv/bin/python bench/tracking_server.py --quick     # smoke run (small sizes), SQLite
    .venv/bin/python bench/tracking_server.py --backend both --workers 4
    .venv/bin/python bench/tracking_server.py --scenarios 1,4 --backend postgres --markdown
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _common import (
    BENCH_DIR,
    MLFLOW_PYTHON,
    MLTRAIL_PYTHON,
    Side,
    fmt_rate,
    fmt_seconds,
    machine_info,
    render_table,
    run_worker,
)
from _server_harness import (
    ARTIFACTS_API,
    Backend,
    Http,
    HttpError,
    RssSampler,
    Server,
    create_experiment,
    create_run,
    jdumps,
    mltrail_has_cli,
    tree_pss_kb,
    tree_rss_kb,
)

SEED_WORKER = BENCH_DIR / "_tracking_server_seed.py"
SIDES = ("mltrail", "mlflow")
BASE_TS = 1_700_000_000_000
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p1 = 'x'"
SEARCH_ORDER = ["metrics.m3 DESC"]
HISTORY_PAGE = 25_000
WRITERS = 8
ARTIFACT_GROWTH_LIMIT_MB = 100.0
STARTUP_LIMIT_S = 2.0


@dataclass(frozen=True)
class Sizes:
    """How much work each scenario does."""

    latency_requests: int
    latency_warmup: int
    batch_requests: int
    writer_iterations: int
    search_runs: int
    search_reps: int
    history_points: int
    artifact_mb: int

    @classmethod
    def for_args(cls, quick: bool) -> Sizes:
        """Full sizes, or the small ones of ``--quick``."""
        if quick:
            return cls(200, 20, 20, 10, 500, 10, 10_000, 64)
        return cls(2000, 100, 100, 40, 10_000, 20, 100_000, 1024)


# ------------------------------------------------------------------------------------ scenario 1
def _log_metric_bodies(run_id: str, count: int, key: str = "latency") -> list[bytes]:
    return [
        jdumps({"run_id": run_id, "key": key, "value": i * 0.5, "timestamp": BASE_TS + i, "step": i})
        for i in range(count)
    ]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def scenario_latency(server: Server, sizes: Sizes) -> dict[str, Any]:
    """p50/p95 of single log-metric calls, keep-alive and new connection per request."""
    setup = server.client()
    experiment_id = create_experiment(setup, f"latency-{time.time_ns()}")
    out: dict[str, Any] = {}
    run_ids = {mode: create_run(setup, experiment_id, mode) for mode in ("keepalive", "new_connection")}
    setup.close()
    for mode, keepalive in (("keepalive", True), ("new_connection", False)):
        run_id = run_ids[mode]
        bodies = _log_metric_bodies(run_id, sizes.latency_warmup + sizes.latency_requests)
        client = server.client(keepalive=keepalive)
        for body in bodies[: sizes.latency_warmup]:
            client.post("runs/log-metric", body)
        samples = []
        for body in bodies[sizes.latency_warmup :]:
            start = time.perf_counter()
            client.post("runs/log-metric", body)
            samples.append(time.perf_counter() - start)
        client.close()
        out[mode] = {"p50": statistics.median(samples), "p95": _percentile(samples, 0.95), "n": len(samples)}
    return out


# ------------------------------------------------------------------------------------ scenario 2
def _batch_body(run_id: str, index: int, size: int, keys: int = 10, value: float = 0.25) -> bytes:
    steps = size // keys
    metrics = [
        {"key": f"m{j % keys}", "value": value * j, "timestamp": BASE_TS + index, "step": index * steps + j // keys}
        for j in range(size)
    ]
    return jdumps({"run_id": run_id, "metrics": metrics})


def scenario_log_batch(server: Server, sizes: Sizes) -> dict[str, Any]:
    """Points per second of sequential log-batch calls of 1000 metrics (keep-alive)."""
    client = server.client()
    run_id = create_run(client, create_experiment(client, f"batch-{time.time_ns()}"), "batch")
    bodies = [_batch_body(run_id, i, 1000) for i in range(sizes.batch_requests + 2)]
    for body in bodies[:2]:  # warm-up
        client.post("runs/log-batch", body)
    start = time.perf_counter()
    for body in bodies[2:]:
        client.post("runs/log-batch", body)
    seconds = time.perf_counter() - start
    client.close()
    points = 1000 * sizes.batch_requests
    return {"points": points, "seconds": seconds, "rate": points / seconds}


# ------------------------------------------------------------------------------------ scenario 3
def _writer(port: int, run_id: str, iterations: int, barrier: Any, results: Any) -> None:
    """One concurrent writer process: ``iterations`` x (log-batch of 100 + 10 log-metric calls)."""
    client = Http(port)
    work: list[tuple[str, bytes, int]] = []
    for i in range(iterations):
        work.append(("runs/log-batch", _batch_body(run_id, i, 100), 100))
        for j in range(10):
            step = i * 10 + j
            body = jdumps({"run_id": run_id, "key": "single", "value": 0.5, "timestamp": BASE_TS + step, "step": step})
            work.append(("runs/log-metric", body, 1))
    barrier.wait()
    start = time.perf_counter()
    points = errors = 0
    first_error = ""
    for endpoint, body, n in work:
        try:
            client.post(endpoint, body)
            points += n
        except HttpError as exc:
            errors += 1
            first_error = first_error or str(exc)[:300]
    end = time.perf_counter()
    client.close()
    results.put(
        {
            "start": start,
            "end": end,
            "points": points,
            "errors": errors,
            "first_error": first_error,
            "reconnects": client.reconnects,
        }
    )


def scenario_concurrent(server: Server, sizes: Sizes) -> dict[str, Any]:
    """Eight writer processes at once, each on its own run; points per second over the whole burst."""
    client = server.client()
    experiment_id = create_experiment(client, f"concurrent-{time.time_ns()}")
    run_ids = [create_run(client, experiment_id, f"writer-{i}") for i in range(WRITERS)]
    client.close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(WRITERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(server.port, run_id, sizes.writer_iterations, barrier, results))
        for run_id in run_ids
    ]
    for proc in procs:
        proc.start()
    got = [results.get(timeout=900) for _ in procs]
    for proc in procs:
        proc.join()
    seconds = max(r["end"] for r in got) - min(r["start"] for r in got)
    points = sum(r["points"] for r in got)
    requests = WRITERS * sizes.writer_iterations * 11
    return {
        "points": points,
        "requests": requests,
        "seconds": seconds,
        "rate": points / seconds,
        "errors": sum(r["errors"] for r in got),
        "reconnects": sum(r["reconnects"] for r in got),
        "first_error": next((r["first_error"] for r in got if r["first_error"]), ""),
    }


# ------------------------------------------------------------------------------------ scenario 4
def seed_search(side: str, backend: Backend, runs: int) -> dict[str, Any]:
    """Seed ``runs`` runs into ``backend`` with ``side``'s own store class (subprocess in that side's venv)."""
    python = MLTRAIL_PYTHON if side == "mltrail" else MLFLOW_PYTHON
    args = ["--side", side, "--uri", backend.uri, "--artifacts", backend.artifacts, "--runs", str(runs)]
    return run_worker(Side(side, python), SEED_WORKER, args, timeout=3600)


def scenario_search(server: Server, sizes: Sizes, experiment_id: str) -> dict[str, Any]:
    """p50 of the filtered, ordered search (keep-alive), plus the names returned (to compare sides)."""
    client = server.client()
    body = jdumps(
        {"experiment_ids": [experiment_id], "filter": SEARCH_FILTER, "order_by": SEARCH_ORDER, "max_results": 100}
    )
    for _ in range(3):
        client.post("runs/search", body)
    samples = []
    for _ in range(sizes.search_reps):
        start = time.perf_counter()
        result = client.post("runs/search", body)
        samples.append(time.perf_counter() - start)
    client.close()
    names = [r["info"].get("run_name", "") for r in result.get("runs", [])]
    return {"p50": statistics.median(samples), "samples": samples, "count": len(names), "names": names}


# ------------------------------------------------------------------------------------ scenario 5
def scenario_history(server: Server, sizes: Sizes) -> dict[str, Any]:
    """Seed one metric with ``history_points`` points (log-batch of 1000, untimed); time paging through it."""
    client = server.client()
    run_id = create_run(client, create_experiment(client, f"history-{time.time_ns()}"), "history")
    for index in range(0, sizes.history_points, 1000):
        metrics = [
            {"key": "hist", "value": (s % 977) * 0.001, "timestamp": BASE_TS + s, "step": s}
            for s in range(index, min(index + 1000, sizes.history_points))
        ]
        client.post("runs/log-batch", jdumps({"run_id": run_id, "metrics": metrics}))

    def fetch() -> tuple[int, int]:
        token, points, pages = None, 0, 0
        while True:
            query = f"run_id={run_id}&metric_key=hist&max_results={HISTORY_PAGE}"
            if token:
                query += f"&page_token={quote(token)}"
            data = client.get("metrics/get-history", query)
            points += len(data.get("metrics", []))
            pages += 1
            token = data.get("next_page_token")
            if not token:
                return points, pages

    fetch()  # warm-up
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        points, pages = fetch()
        samples.append(time.perf_counter() - start)
    client.close()
    return {"p50": statistics.median(samples), "samples": samples, "points": points, "pages": pages}


# ------------------------------------------------------------------------------------ scenario 6
def make_artifact(path: Path, megabytes: int) -> Path:
    """A file of ``megabytes`` MiB of incompressible bytes (a random 1 MiB block, varied per MiB)."""
    if path.exists() and path.stat().st_size == megabytes << 20:
        return path
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for i in range(megabytes):
            handle.write(i.to_bytes(8, "little") + block[8:])
    return path


def scenario_artifact(server: Server, sizes: Sizes, source: Path, workdir: Path) -> dict[str, Any]:
    """Upload ``source`` streamed from disk, download it streamed to disk; time both and watch server RSS."""
    import http.client

    size = source.stat().st_size
    url = f"{ARTIFACTS_API}/bench-{server.side}/big.bin"
    out: dict[str, Any] = {"bytes": size}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600, blocksize=1 << 20)
    headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
    with RssSampler(server.proc.pid) as sampler, source.open("rb") as handle:
        start = time.perf_counter()
        conn.request("PUT", url, body=handle, headers=headers)
        resp = conn.getresponse()
        answer = resp.read()
        seconds = time.perf_counter() - start
    if resp.status != 200:
        raise HttpError(f"upload: HTTP {resp.status}: {answer[:300]!r}")
    out["upload"] = {"seconds": seconds, "growth_mb": sampler.growth_mb, "hwm_growth_mb": sampler.hwm_growth_kb / 1024}
    target = workdir / f"download-{server.side}.bin"
    received = 0
    with RssSampler(server.proc.pid) as sampler, target.open("wb") as handle:
        start = time.perf_counter()
        conn.request("GET", url)
        resp = conn.getresponse()
        if resp.status != 200:
            raise HttpError(f"download: HTTP {resp.status}: {resp.read()[:300]!r}")
        while chunk := resp.read(1 << 20):
            handle.write(chunk)
            received += len(chunk)
        seconds = time.perf_counter() - start
    conn.close()
    target.unlink()
    if received != size:
        raise HttpError(f"download: got {received} bytes of {size}")
    out["download"] = {
        "seconds": seconds,
        "growth_mb": sampler.growth_mb,
        "hwm_growth_mb": sampler.hwm_growth_kb / 1024,
    }
    return out


# ------------------------------------------------------------------------------------ scenario 7
def idle_footprint(server: Server) -> dict[str, Any]:
    """A few ordinary requests, a short pause, then the server tree's summed RSS and PSS."""
    client = server.client()
    experiment_id = create_experiment(client, f"idle-{time.time_ns()}")
    run_id = create_run(client, experiment_id, "idle")
    client.post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": BASE_TS, "step": 0})
    client.post("runs/search", {"experiment_ids": [experiment_id], "max_results": 10})
    client.get("runs/get", f"run_id={run_id}")
    client.close()
    time.sleep(2)
    pids = server.pids()
    return {
        "startup_seconds": server.startup_seconds,
        "rss_mb": tree_rss_kb(pids) / 1024,
        "pss_mb": tree_pss_kb(pids) / 1024,
        "processes": len(pids),
    }


# ---------------------------------------------------------------------------------------- driver
@contextmanager
def running(side: str, backend: Backend, workers: int | None, use_cli: bool) -> Iterator[Server]:
    """A started server, stopped on exit."""
    server = Server.start(side, backend.uri, backend.artifacts, workers=workers, use_cli=use_cli)
    try:
        yield server
    finally:
        server.stop()


def _guard(label: str, func: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one scenario; a failure becomes ``{"error": ...}`` so the other scenarios still report."""
    print(f"    {label} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        result = func()
    except Exception as exc:
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print(f"    {label} done in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    return result


def run_backend(kind: str, args: argparse.Namespace, sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """Every chosen scenario on one backend kind, for both sides; the raw results per side."""
    tag = f"{os.getpid()}"
    results: dict[str, dict[str, Any]] = {side: {} for side in SIDES}
    wanted = args.scenarios
    main_backends = {side: Backend(kind, f"bench_{side}_{tag}", workdir).create() for side in SIDES}
    backends = list(main_backends.values())
    try:
        if 4 in wanted:
            print(
                f"  [{kind}] seeding {sizes.search_runs:,} runs per side (store classes, in parallel)", file=sys.stderr
            )
            with ThreadPoolExecutor(2) as pool:
                futures = {
                    side: pool.submit(seed_search, side, main_backends[side], sizes.search_runs) for side in SIDES
                }
                for side, future in futures.items():
                    try:
                        results[side]["seed"] = future.result()
                    except Exception as exc:
                        results[side]["seed"] = {"error": str(exc)[-500:]}
            for backend in main_backends.values():
                backend.analyze()
        artifact = make_artifact(workdir / "artifact.bin", sizes.artifact_mb) if 6 in wanted else None
        if wanted & {1, 2, 3, 4, 5, 6}:
            for side in SIDES:
                print(f"  [{kind}] {side}: main server (1 worker)", file=sys.stderr, flush=True)
                res = results[side]
                with running(side, main_backends[side], 1, args.use_cli) as server:
                    res["command"] = shlex.join(server.command)
                    if 1 in wanted:
                        res["latency"] = _guard("1 log-metric latency", lambda s=server: scenario_latency(s, sizes))
                    if 2 in wanted:
                        res["log_batch"] = _guard("2 log-batch", lambda s=server: scenario_log_batch(s, sizes))
                    if 3 in wanted:
                        res["concurrent"] = _guard("3 concurrent", lambda s=server: scenario_concurrent(s, sizes))
                    if 4 in wanted and "experiment_id" in res["seed"]:
                        eid = res["seed"]["experiment_id"]
                        res["search"] = _guard("4 search", lambda s=server, e=eid: scenario_search(s, sizes, e))
                    if 5 in wanted:
                        res["history"] = _guard("5 get-history", lambda s=server: scenario_history(s, sizes))
                    if 6 in wanted and artifact is not None:
                        res["artifact"] = _guard(
                            "6 artifact", lambda s=server, a=artifact: scenario_artifact(s, sizes, a, workdir)
                        )
        if args.workers and 1 in wanted:
            for side in SIDES:
                backend = Backend(kind, f"bench_{side}_w{args.workers}_{tag}", workdir).create()
                backends.append(backend)
                print(f"  [{kind}] {side}: {args.workers} workers", file=sys.stderr, flush=True)
                with running(side, backend, args.workers, args.use_cli) as server:
                    results[side]["latency_workers"] = _guard(
                        f"1 log-metric latency, {args.workers} workers", lambda s=server: scenario_latency(s, sizes)
                    )
        if 7 in wanted:
            configs: list[tuple[str, int | None]] = [("idle_1", 1), ("idle_default", None)]
            for side in SIDES:
                for key, workers in configs:
                    if side == "mltrail" and key == "idle_default" and _mltrail_default_workers() == 1:
                        results[side][key] = {**results[side]["idle_1"], "same_as": "idle_1"}
                        continue
                    backend = Backend(kind, f"bench_{side}_{key}_{tag}", workdir).create()
                    backends.append(backend)
                    print(f"  [{kind}] {side}: idle footprint ({workers or 'default'} workers)", file=sys.stderr)
                    with running(side, backend, workers, args.use_cli) as server:
                        results[side][key] = _guard("7 idle", lambda s=server: idle_footprint(s))
    finally:
        for backend in backends:
            backend.drop()
    return results


def _mltrail_default_workers() -> int:
    from mltrail.server.run import ServerSettings

    return ServerSettings().workers


# ---------------------------------------------------------------------------------------- table
def _mb(value: float) -> str:
    return f"{value:.0f} MB" if abs(value) >= 10 else f"{value:.1f} MB"


def _lat(entry: dict[str, Any]) -> str:
    return f"{fmt_seconds(entry['p50'])} / {fmt_seconds(entry['p95'])}"


def build_rows(
    results: dict[str, dict[str, Any]], sizes: Sizes, workers: int | None
) -> tuple[list[list[str]], list[str]]:
    """Table rows (scenario, mltrail, MLflow, ratio, target, met) and notes from one backend's results."""
    ours, theirs = results["mltrail"], results["mlflow"]
    rows: list[list[str]] = []
    notes: list[str] = []

    def failed(key: str, label: str) -> bool:
        errors = [f"{name}: {r[key]['error']}" for name, r in results.items() if "error" in r.get(key, {})]
        if errors:
            rows.append(
                [label, *(["error" if "error" in results[s].get(key, {}) else "ok" for s in SIDES]), "", "", "?"]
            )
            notes.extend(f"{label} failed on {e}" for e in errors)
        return bool(errors) or any(key not in r for r in results.values())

    def row(label: str, mine: str, other: str, ratio: float, target: str, met: bool) -> None:
        rows.append([label, mine, other, f"{ratio:.1f}x", target, "yes" if met else "NO"])

    for key, label in (("latency", "1 log-metric p50 / p95"), ("latency_workers", f"1 log-metric, {workers} workers")):
        if not failed(key, label):
            for mode, text in (("keepalive", "keep-alive"), ("new_connection", "new conn")):
                a, b = ours[key][mode], theirs[key][mode]
                ratio = b["p50"] / a["p50"]
                row(f"{label}, {text}", _lat(a), _lat(b), ratio, "p50 >= 5x lower", ratio >= 5)
    if not failed("log_batch", "2 log-batch"):
        a, b = ours["log_batch"], theirs["log_batch"]
        ratio = a["rate"] / b["rate"]
        label = f"2 log-batch x1000, {a['points']:,} points"
        row(label, fmt_rate(a["rate"]), fmt_rate(b["rate"]), ratio, ">= 5x higher", ratio >= 5)
    if not failed("concurrent", "3 concurrent writers"):
        a, b = ours["concurrent"], theirs["concurrent"]
        ratio = a["rate"] / b["rate"]
        label = f"3 {WRITERS} writers, {a['requests']:,} requests"
        row(label, fmt_rate(a["rate"]), fmt_rate(b["rate"]), ratio, ">= 5x higher", ratio >= 5)
        rows.append(
            [f"3 {WRITERS} writers: errors", str(a["errors"]), str(b["errors"]), "", "0", _yes(a["errors"] == 0)]
        )
        notes.append(f"3: stale keep-alive connections re-opened: mltrail {a['reconnects']}, MLflow {b['reconnects']}")
        for name, r in (("mltrail", a), ("MLflow", b)):
            if r["first_error"]:
                notes.append(f"3: first {name} error: {r['first_error']}")
    if not failed("search", "4 search"):
        a, b = ours["search"], theirs["search"]
        ratio = b["p50"] / a["p50"]
        label = f"4 search top 100 of {sizes.search_runs:,} runs, p50"
        row(label, fmt_seconds(a["p50"]), fmt_seconds(b["p50"]), ratio, ">= 10x lower", ratio >= 10)
        same = a["names"] == b["names"]
        notes.append(
            f'4: filter "{SEARCH_FILTER}", order_by {SEARCH_ORDER[0]}; {a["count"]} runs returned by mltrail, '
            f"{b['count']} by MLflow, same runs in the same order: {_yes(same)}; seeded through the store classes "
            f"(untimed; then ANALYZE on PostgreSQL): mltrail {fmt_seconds(ours['seed']['seconds'])}, "
            f"MLflow {fmt_seconds(theirs['seed']['seconds'])}"
        )
    if not failed("history", "5 get-history"):
        a, b = ours["history"], theirs["history"]
        ratio = b["p50"] / a["p50"]
        label = f"5 get-history {a['points']:,} points, total"
        row(label, fmt_seconds(a["p50"]), fmt_seconds(b["p50"]), ratio, ">= 5x faster", ratio >= 5)
        notes.append(
            f"5: pages of {HISTORY_PAGE}: mltrail {a['pages']}, MLflow {b['pages']}; points MLflow {b['points']:,}"
        )
    if not failed("artifact", "6 artifact"):
        a, b = ours["artifact"], theirs["artifact"]
        mb = a["bytes"] / (1 << 20)
        for step in ("upload", "download"):
            x, y = a[step], b[step]
            ratio = y["seconds"] / x["seconds"]
            rows.append(
                [
                    f"6 {mb:.0f} MiB {step}, time",
                    f"{fmt_seconds(x['seconds'])} ({mb / x['seconds']:.0f} MiB/s)",
                    f"{fmt_seconds(y['seconds'])} ({mb / y['seconds']:.0f} MiB/s)",
                    f"{ratio:.1f}x",
                    "",
                    "",
                ]
            )
            grow = max(x["growth_mb"], x["hwm_growth_mb"])
            rows.append(
                [
                    f"6 {mb:.0f} MiB {step}, server RSS growth",
                    _mb(grow),
                    _mb(max(y["growth_mb"], y["hwm_growth_mb"])),
                    "",
                    f"< {ARTIFACT_GROWTH_LIMIT_MB:.0f} MB",
                    _yes(grow < ARTIFACT_GROWTH_LIMIT_MB),
                ]
            )
        notes.append("6: RSS growth = max(peak of the summed VmRSS sampled every 10 ms, summed VmHWM growth) - before")
    if not failed("idle_1", "7 idle"):
        a, b = ours["idle_1"], theirs["idle_1"]
        ratio = b["rss_mb"] / a["rss_mb"]
        label = f"7 idle RSS, 1 worker ({a['processes']} / {b['processes']} procs)"
        row(label, _mb(a["rss_mb"]), _mb(b["rss_mb"]), ratio, "<= 1/4 (4x)", ratio >= 4)
        ratio = b["startup_seconds"] / a["startup_seconds"]
        ok = a["startup_seconds"] < STARTUP_LIMIT_S
        row("7 start-up to /health 200, 1 worker", fmt_seconds(a["startup_seconds"]),
            fmt_seconds(b["startup_seconds"]), ratio, f"< {STARTUP_LIMIT_S:g} s", ok)  # fmt: skip
        notes.append(
            f"7: idle PSS (shared pages split), 1 worker: mltrail {_mb(a['pss_mb'])}, MLflow {_mb(b['pss_mb'])}"
        )
    if not failed("idle_default", "7 idle, defaults"):
        a, b = ours["idle_default"], theirs["idle_default"]
        ratio = b["rss_mb"] / a["rss_mb"]
        label = f"7 idle RSS, default workers ({a['processes']} / {b['processes']} procs)"
        row(label, _mb(a["rss_mb"]), _mb(b["rss_mb"]), ratio, "<= 1/4 (4x)", ratio >= 4)
        row("7 start-up, default workers", fmt_seconds(a["startup_seconds"]), fmt_seconds(b["startup_seconds"]),
            b["startup_seconds"] / a["startup_seconds"], f"< {STARTUP_LIMIT_S:g} s",
            a["startup_seconds"] < STARTUP_LIMIT_S)  # fmt: skip
        notes.append(f"7: idle PSS, default workers: mltrail {_mb(a['pss_mb'])}, MLflow {_mb(b['pss_mb'])}")
    return rows, notes


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


# ----------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description="mltrail server vs mlflow server over HTTP, same backend, same client.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Usage:", 1)[1] if __doc__ else None,
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--scenarios", default="1,2,3,4,5,6,7", help="comma-separated scenario numbers (1-7)")
    parser.add_argument("--workers", type=int, help="also run scenario 1 on N-worker servers (both sides)")
    parser.add_argument("--search-runs", type=int, help="runs to seed for scenario 4 (default 10,000)")
    parser.add_argument("--artifact-mb", type=int, help="artifact size for scenario 6 in MiB (default 1024)")
    parser.add_argument("--workdir", type=Path, help="where SQLite files and artifacts go (default: a temp dir)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--json-out", type=Path, help="also write every raw result to this file")
    args = parser.parse_args(argv)
    try:
        args.scenarios = {int(s) for s in args.scenarios.split(",") if s.strip()}
    except ValueError:
        parser.error("--scenarios takes numbers such as 1,2,4")
    if not args.scenarios <= set(range(1, 8)):
        parser.error("scenarios are numbered 1 to 7")
    return args


def _versions() -> dict[str, str]:
    out = {}
    for side, python, code in (
        ("mltrail", MLTRAIL_PYTHON, "from importlib.metadata import version as v; print(v('mltrail'), v('uvicorn'))"),
        ("mlflow", MLFLOW_PYTHON, "from importlib.metadata import version as v; print(v('mlflow'), v('uvicorn'))"),
    ):
        proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
        name, uv = [*proc.stdout.split(), "?", "?"][:2]
        out[side] = f"{side} {name} (uvicorn {uv})"
    return out


def check_postgres_driver() -> None:
    """MLflow's SQLAlchemy (2.1) maps ``postgresql://`` to psycopg 3: make sure its venv has it."""
    proc = subprocess.run([str(MLFLOW_PYTHON), "-c", "import psycopg"], capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(
            f"MLflow's venv lacks psycopg 3 for postgresql://: {MLFLOW_PYTHON.parent}/pip install 'psycopg[binary]'"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    args = parse_args(argv)
    for side in (Side("mltrail", MLTRAIL_PYTHON), Side("mlflow", MLFLOW_PYTHON)):
        side.check()
    sizes = Sizes.for_args(args.quick)
    if args.search_runs or args.artifact_mb:
        sizes = Sizes(**{
            **asdict(sizes),
            **({"search_runs": args.search_runs} if args.search_runs else {}),
            **({"artifact_mb": args.artifact_mb} if args.artifact_mb else {}),
        })  # fmt: skip
    if args.backend != "sqlite":
        check_postgres_driver()
    args.use_cli = mltrail_has_cli()
    info = machine_info()
    versions = _versions()
    command = [sys.executable, "bench/tracking_server.py", *(sys.argv[1:] if argv is None else argv)]
    header = [
        f"command: {shlex.join(command)}",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}; date: {info['date']}",
        f"versions: {versions['mltrail']}, {versions['mlflow']}, Python {info['python']} (client: http.client)",
        f"mltrail started with: {'mltrail server' if args.use_cli else 'python -c serve(ServerSettings(...))'}",
        f"sizes: {asdict(sizes)}",
    ]
    print("\n".join(header), flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mltrail-server-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    raw: dict[str, Any] = {"header": header, "sizes": asdict(sizes)}
    try:
        for kind in kinds:
            print(f"[{kind}]", file=sys.stderr, flush=True)
            results = run_backend(kind, args, sizes, workdir)
            raw[kind] = results
            rows, notes = build_rows(results, sizes, args.workers)
            print(f"\n{'### ' if args.markdown else ''}backend: {kind}\n")
            print(render_table(["scenario", "mltrail", "MLflow", "ratio", "target", "met"], rows, args.markdown))
            print()
            commands = [f"{side}: {results[side]['command']}" for side in SIDES if "command" in results[side]]
            for note in [*notes, *(f"server command, {c}" for c in commands)]:
                print(("- " if args.markdown else "  ") + note)
            sys.stdout.flush()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        if args.json_out:
            args.json_out.write_text(json.dumps(raw, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
