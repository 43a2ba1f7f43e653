"""Scale-out: one mltrail server against two replicas on the same PostgreSQL database (issue 15).

Each configuration starts its replicas (``mltrail server``, one worker each) on one fresh database, then drives
them with client processes that spread their requests round-robin over the replicas (what a load balancer does):

- log-batch throughput: ``--clients`` processes, each logging batches of 100 metrics to its own run;
- search throughput: the same processes running the filtered, ordered ``runs/search`` over a seeded experiment.

It also samples CPU time per process group (clients, replicas, PostgreSQL) during each phase, so the table says
where time went when two replicas stop being twice one: on a machine with few cores, clients, servers and the
database share the same CPUs, and the number to read is the replicas' share of them.

    .venv/bin/python bench/replicas.py [--clients 8] [--seconds 10] [--markdown]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, render_table
from _server_harness import Backend, Http, HttpError, Server, create_experiment, create_run, jdumps

BASE_TS = 1_700_000_000_000
SEARCH_RUNS = 500
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _batch(run_id: str, index: int) -> bytes:
    metrics = [
        {"key": f"m{j % 10}", "value": j * 0.5, "timestamp": BASE_TS + index, "step": index * 10 + j // 10}
        for j in range(100)
    ]
    return jdumps({"run_id": run_id, "metrics": metrics})


def _client(kind: str, ports: list[int], payload: str, offset: int, seconds: float, barrier: Any, out: Any) -> None:
    """One client process: requests round-robin over ``ports`` for ``seconds``; puts (requests, errors)."""
    clients = [Http(p) for p in ports]
    search = jdumps(
        {
            "experiment_ids": [payload],
            "filter": "metrics.acc > 0.5 and params.lr = '0.01'",
            "order_by": ["metrics.acc DESC"],
            "max_results": 100,
        }
    )
    barrier.wait()
    done = errors = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        client = clients[(done + errors + offset) % len(clients)]
        try:
            if kind == "log-batch":
                client.post("runs/log-batch", _batch(payload, done))
            else:
                client.post("runs/search", search)
            done += 1
        except HttpError:
            errors += 1
    for client in clients:
        client.close()
    out.put((done, errors))


def _seed(server: Server) -> str:
    client = server.client()
    experiment_id = create_experiment(client, "search")
    for i in range(SEARCH_RUNS):
        run_id = create_run(client, experiment_id, f"r{i}")
        client.post(
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [{"key": "acc", "value": (i % 100) / 100, "timestamp": BASE_TS, "step": 0}],
                "params": [{"key": "lr", "value": "0.01" if i % 2 else "0.1"}],
            },
        )
    client.close()
    return experiment_id


def _phase(kind: str, servers: list[Server], payloads: list[str], seconds: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(payloads) + 1)
    out = ctx.Queue()
    ports = [s.port for s in servers]
    procs = [
        ctx.Process(target=_client, args=(kind, ports, p, i, seconds, barrier, out)) for i, p in enumerate(payloads)
    ]
    for proc in procs:
        proc.start()
    server_pids = [pid for s in servers for pid in s.pids()]
    client_pids = [p.pid for p in procs if p.pid]
    pg_before = {pid: _cpu_seconds([pid]) for pid in _postgres_pids()}  # backends opened later start at 0
    before = (_cpu_seconds(server_pids), 0.0, _cpu_seconds(client_pids))
    barrier.wait()
    start = time.perf_counter()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    wall = time.perf_counter() - start
    pg_used = sum(_cpu_seconds([pid]) - pg_before.get(pid, 0.0) for pid in _postgres_pids())
    after = (_cpu_seconds(server_pids), pg_used, _cpu_seconds(client_pids))
    for proc in procs:
        proc.join()
    requests = sum(r[0] for r in results)
    return {
        "rate": requests / wall,
        "errors": sum(r[1] for r in results),
        "cpu_servers": (after[0] - before[0]) / wall,
        "cpu_postgres": (after[1] - before[1]) / wall,
        "cpu_clients": (after[2] - before[2]) / wall,
    }


def run_configuration(replicas: int, clients: int, seconds: float, workdir: Path) -> dict[str, Any]:
    """Start ``replicas`` servers on one fresh database and measure both phases."""
    backend = Backend("postgres", f"bench_replicas_{replicas}", workdir).create()
    servers: list[Server] = []
    try:
        servers = [
            Server.start("mltrail", backend.uri, backend.artifacts, workers=1, use_cli=True) for _ in range(replicas)
        ]
        client = servers[0].client()
        experiment_id = create_experiment(client, "batches")
        run_ids = [create_run(client, experiment_id, f"writer-{i}") for i in range(clients)]
        client.close()
        search_experiment = _seed(servers[0])
        backend.analyze()
        return {
            "log-batch": _phase("log-batch", servers, run_ids, seconds),
            "search": _phase("search", servers, [search_experiment] * clients, seconds),
        }
    finally:
        for server in servers:
            server.stop()
        backend.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        one = run_configuration(1, args.clients, args.seconds, Path(tmp))
        two = run_configuration(2, args.clients, args.seconds, Path(tmp))
    rows = []
    for phase, unit in (("log-batch", "batches of 100/s"), ("search", "searches/s")):
        a, b = one[phase], two[phase]
        rows.append(
            [
                f"{phase} ({unit})",
                f"{a['rate']:.0f}",
                f"{b['rate']:.0f}",
                f"{b['rate'] / a['rate']:.2f}x",
                f"{a['cpu_servers']:.2f} / {a['cpu_postgres']:.2f} / {a['cpu_clients']:.2f}",
                f"{b['cpu_servers']:.2f} / {b['cpu_postgres']:.2f} / {b['cpu_clients']:.2f}",
                str(a["errors"] + b["errors"]),
            ]
        )
    headers = [
        "PostgreSQL, round-robin",
        "1 replica",
        "2 replicas",
        "2 vs 1",
        "CPU cores used, 1: servers / PG / clients",
        "CPU cores used, 2",
        "errors",
    ]
    print(render_table(headers, rows, markdown=args.markdown))
    print(f"cores: {os.cpu_count()}; {args.clients} client processes, {args.seconds:.0f} s per phase")


if __name__ == "__main__":
    main()
