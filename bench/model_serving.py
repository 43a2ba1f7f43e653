"""Benchmark: ``mltrail models serve`` against ``mlflow models serve`` on the same sklearn model, in one run.

Scenarios (targets from issue 4):

1. start-up: process start to the first ``/ping`` 200 (mltrail at most 1/3 of MLflow's);
2. single-row ``/invocations`` latency, one keep-alive client, p50 (>= 3x lower);
3. 16 concurrent keep-alive clients sending single-row requests: throughput (>= 3x), mltrail without and with
   adaptive batching (``--enable-batching``);
4. one 10,000-row request (``dataframe_split``), p50 (>= 2x faster).

The model (StandardScaler + LogisticRegression over 8 float features, with a signature) is trained and saved
by MLflow in ``bench/.venv-mlflow``; both servers serve that same directory when mltrail can load it
(``--mltrail-model auto``), else mltrail serves its own save of the same fitted estimator. Both run one
worker with ``--env-manager local``. Both sides get exactly the same requests, and their predictions are
compared. Bodies are encoded before timing; the client (:class:`RawClient`) is a keep-alive HTTP/1.1 connection
over a plain socket, whose own cost per request is a few microseconds, so that the latency is the server's; the
single-row p50 is also measured through the standard library's ``http.client`` (which adds ~0.1-0.2 ms of its
own per request to both sides).

Usage::

    .venv/bin/python bench/model_serving.py                 # full run (~2 min)
    .venv/bin/python bench/model_serving.py --quick         # smoke run
    .venv/bin/python bench/model_serving.py --markdown --json-out /tmp/serving.json
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    MLFLOW_PYTHON,
    MLTRAIL_PYTHON,
    WORKER_ENV,
    Side,
    fmt_rate,
    fmt_seconds,
    machine_info,
    render_table,
    run_worker,
)

FEATURES = 8
JSON_HEADERS = {"Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------ servers
def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A scoring server process (its own process group) on a loopback port."""

    name: str
    cmd: list[str]
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    startup: float = 0.0

    def start(self, timeout: float = 120.0) -> float:
        """Start the process and return the seconds until the first ``/ping`` answered 200."""
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{err[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    self.startup = time.perf_counter() - started
                    conn.close()
                    return self.startup
                conn.close()
            except OSError:
                pass
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /ping within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start ``server`` for the block, stop it afterwards."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def side_env(python: Path) -> dict[str, str]:
    """Environment for a server: its venv's bin first on PATH (MLflow spawns ``uvicorn`` by name)."""
    env = {**os.environ, **WORKER_ENV}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def mltrail_server(model: str, batching: bool = False) -> Server:
    """``mltrail models serve`` on a free port."""
    port = free_port()
    cmd = [str(MLTRAIL_PYTHON.parent / "mltrail"), "models", "serve", "-m", model, "-p", str(port)]
    cmd += ["--env-manager", "local"]
    if batching:
        cmd += ["--enable-batching"]
    return Server("mltrail" + (" (batching)" if batching else ""), cmd, port, side_env(MLTRAIL_PYTHON))


def mlflow_server(model: str) -> Server:
    """``mlflow models serve`` on a free port."""
    port = free_port()
    cmd = [str(MLFLOW_PYTHON.parent / "mlflow"), "models", "serve", "-m", model, "-p", str(port)]
    cmd += ["--env-manager", "local"]
    return Server("MLflow", cmd, port, side_env(MLFLOW_PYTHON))


# ------------------------------------------------------------------------------------------------ client
class Client:
    """One keep-alive connection posting pre-encoded bodies to ``/invocations`` with the standard library's
    ``http.client`` (its response parsing goes through ``email``'s header parser: ~0.1-0.2 ms per request)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def invoke(self, body: bytes) -> bytes:
        self.conn.request("POST", "/invocations", body=body, headers=JSON_HEADERS)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:500]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


class RawClient:
    """One keep-alive HTTP/1.1 connection over a plain socket (``TCP_NODELAY``), sending each request in one
    ``sendall`` and reading the response by its ``Content-Length`` (or chunked encoding).

    The same bytes go to both servers; the client's own cost per request is a few microseconds, so the latency it
    measures is the server's and the loopback's, not the client library's.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n" % port
        self.buffer = b""

    def invoke(self, body: bytes) -> bytes:
        self.sock.sendall(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        lines = self.buffer[:end].split(b"\r\n")
        self.buffer = self.buffer[end + 4 :]
        status = int(lines[0].split(b" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if b"content-length" in headers:
            data = self._take(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            data = self._chunked()
        else:
            raise RuntimeError(f"response without a length: {lines!r}")
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {data[:500]!r}")
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _chunked(self) -> bytes:
        parts = []
        while True:
            while (end := self.buffer.find(b"\r\n")) < 0:
                self._fill()
            size = int(self.buffer[:end].split(b";")[0], 16)
            self.buffer = self.buffer[end + 2 :]
            parts.append(self._take(size + 2)[:size])
            if size == 0:
                return b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def split_body(rows: Sequence[Sequence[float]]) -> bytes:
    """A ``dataframe_split`` body for these rows."""
    columns = [f"f{i}" for i in range(FEATURES)]
    return json.dumps({"dataframe_split": {"columns": columns, "data": [list(r) for r in rows]}}).encode()


def make_rows(count: int, seed: int) -> list[list[float]]:
    """Deterministic feature rows."""
    import random

    rng = random.Random(seed)
    return [[round(rng.gauss(0, 1), 6) for _ in range(FEATURES)] for _ in range(count)]


def latency(port: int, bodies: list[bytes], warmup: int, client_class: type[Any] = RawClient) -> list[float]:
    """Sequential requests on one connection; the seconds of each timed one."""
    client = client_class(port)
    try:
        for body in bodies[:warmup]:
            client.invoke(body)
        samples = []
        for body in bodies[warmup:]:
            start = time.perf_counter()
            client.invoke(body)
            samples.append(time.perf_counter() - start)
        return samples
    finally:
        client.close()


def throughput(port: int, bodies: list[bytes], clients: int, per_client: int) -> tuple[float, int]:
    """``clients`` threads, each with its own connection, ``per_client`` requests each; (requests/s, errors)."""
    barrier = threading.Barrier(clients + 1)
    errors = [0] * clients

    def work(index: int) -> None:
        client = RawClient(port)
        try:
            client.invoke(bodies[index % len(bodies)])  # connect and warm up
            barrier.wait()
            for i in range(per_client):
                try:
                    client.invoke(bodies[(index * per_client + i) % len(bodies)])
                except Exception:
                    errors[index] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return clients * per_client / elapsed, sum(errors)


def predictions(raw: bytes) -> list[Any]:
    return json.loads(raw)["predictions"]


# --------------------------------------------------------------------------------------------- the model
def prepare_models(workdir: Path, mode: str) -> tuple[str, str, str]:
    """(MLflow's model dir, mltrail's model dir, a note on how mltrail's came about)."""
    worker = BENCH_DIR / "_model_serving_worker.py"
    saved = run_worker(Side("MLflow", MLFLOW_PYTHON), worker, [str(workdir), "2000", str(FEATURES)])
    mlflow_model = saved["model"]
    if mode in ("auto", "same"):
        probe = subprocess.run(
            [str(MLTRAIL_PYTHON), "-c", "import sys, mltrail.pyfunc as p; p.load_model(sys.argv[1])", mlflow_model],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            return mlflow_model, mlflow_model, "the same MLflow-saved model directory"
        if mode == "same":
            raise SystemExit(f"mltrail cannot load the MLflow-saved model:\n{probe.stderr[-2000:]}")
    own = workdir / "model-mltrail"
    script = (
        "import pickle, sys, mltrail.sklearn\n"
        "from mltrail.models import infer_signature\n"
        "import numpy as np, pandas as pd\n"
        "est = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        f"frame = pd.DataFrame(np.zeros((2, {FEATURES})), columns=[f'f{{i}}' for i in range({FEATURES})])\n"
        "mltrail.sklearn.save_model(est, sys.argv[2], signature=infer_signature(frame, est.predict(frame)))\n"
    )
    subprocess.run([str(MLTRAIL_PYTHON), "-c", script, saved["estimator"], str(own)], check=True)
    return mlflow_model, str(own), "mltrail's own save of the same fitted estimator (mltrail.sklearn.save_model)"


# ------------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--requests", type=int, default=500, help="timed single-row requests")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=150, help="requests per concurrent client")
    parser.add_argument("--large-rows", type=int, default=10_000)
    parser.add_argument("--large-reps", type=int, default=7)
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--mltrail-model", choices=["auto", "same", "own"], default="auto")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.per_client, args.large_reps, args.startup_runs = 100, 30, 3, 1
    for side in (Side("mltrail", MLTRAIL_PYTHON), Side("MLflow", MLFLOW_PYTHON)):
        side.check()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-serving-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"workdir {workdir}", file=sys.stderr)
    mlflow_model, mltrail_model, model_note = prepare_models(workdir, args.mltrail_model)

    single = [split_body(make_rows(1, seed)) for seed in range(args.requests + 20)]
    large = split_body(make_rows(args.large_rows, 12345))
    factories = {
        "MLflow": lambda: mlflow_server(mlflow_model),
        "mltrail": lambda: mltrail_server(mltrail_model),
        "mltrail (batching)": lambda: mltrail_server(mltrail_model, batching=True),
    }
    results: dict[str, dict[str, Any]] = {name: {} for name in factories}
    answers: dict[str, dict[str, Any]] = {name: {} for name in factories}

    for name in ("MLflow", "mltrail"):
        times = []
        for _ in range(args.startup_runs):
            server = factories[name]()
            with running(server):
                times.append(server.startup)
        results[name]["startup"] = statistics.median(times)
        print(f"  {name}: start-up {fmt_seconds(results[name]['startup'])}", file=sys.stderr, flush=True)

    for name, factory in factories.items():
        with running(factory()) as server:
            client = Client(server.port)
            answers[name]["single"] = predictions(client.invoke(single[0]))
            answers[name]["large"] = predictions(client.invoke(large))
            client.close()
            if name != "mltrail (batching)":
                samples = latency(server.port, single, warmup=20)
                results[name]["p50"] = statistics.median(samples)
                results[name]["p95"] = statistics.quantiles(samples, n=20)[-1]
                stdlib = latency(server.port, single, warmup=20, client_class=Client)
                results[name]["p50_http_client"] = statistics.median(stdlib)
                big = latency(server.port, [large] * (args.large_reps + 1), warmup=1)
                results[name]["large"] = statistics.median(big)
            rate, errors = throughput(server.port, single, args.clients, args.per_client)
            results[name]["rps"], results[name]["errors"] = rate, errors
            if name == "mltrail (batching)":  # the concurrent answers must equal the unbatched ones
                results[name]["p50"] = statistics.median(latency(server.port, single[:120], warmup=20))
            print(f"  {name}: {json.dumps({k: round(v, 6) for k, v in results[name].items()})}", file=sys.stderr)

    same_single = answers["mltrail"]["single"] == answers["MLflow"]["single"]
    same_large = answers["mltrail"]["large"] == answers["MLflow"]["large"]
    same_batched = answers["mltrail (batching)"]["large"] == answers["mltrail"]["large"]
    ml, mf, mb = results["mltrail"], results["MLflow"], results["mltrail (batching)"]

    def row(label: str, key: str, ours: dict[str, Any], factor: float | None, target: str | None = None) -> list[str]:
        """A table row; times (``fmt_seconds``) are better lower, rates (``rps``) higher."""
        rate = key == "rps"
        fmt = fmt_rate if rate else fmt_seconds
        speedup = ours[key] / mf[key] if rate else mf[key] / ours[key]
        met = "" if factor is None else ("yes" if speedup >= factor else "no")
        if target is None:
            target = "" if factor is None else f">= {factor:g}x"
        return [label, fmt(ours[key]), fmt(mf[key]), f"{speedup:.1f}x", target, met]

    rows = [
        row("start-up to first /ping 200 (median)", "startup", ml, 3, "<= 1/3 (>= 3x)"),
        row("single-row /invocations, p50", "p50", ml, 3),
        row("single-row /invocations, p95", "p95", ml, None),
        row("single-row p50 through http.client", "p50_http_client", ml, 3, "(>= 3x)"),
        row(f"{args.clients} concurrent clients, no batching", "rps", ml, 3),
        row(f"{args.clients} concurrent clients, adaptive batching", "rps", mb, 3),
        row(f"one {args.large_rows:,}-row request, p50", "large", ml, 2),
    ]
    headers = ["scenario", "mltrail", "MLflow", "speedup", "target", "met"]
    print(render_table(headers, rows, markdown=args.markdown))
    info = machine_info()
    notes = [
        f"model: StandardScaler + LogisticRegression, {FEATURES} float features, signature; mltrail served "
        f"{model_note}",
        f"same predictions as MLflow: single row {'yes' if same_single else 'NO'}, {args.large_rows:,} rows "
        f"{'yes' if same_large else 'NO'}; batched server equals unbatched: {'yes' if same_batched else 'NO'}",
        f"errors under concurrency: mltrail {ml['errors']}, batching {mb['errors']}, MLflow {mf['errors']}",
        f"single-row p50 on the batching server (one client, so no waiting): {fmt_seconds(mb['p50'])}",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}, Python {info['python']}, "
        f"{info['date']}",
    ]
    for note in notes:
        print(f"- {note}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"results": results, "notes": notes, "machine": info}, indent=2))


if __name__ == "__main__":
    main()
