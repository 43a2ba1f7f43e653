"""Benchmark: chat serving overhead of ``mltrail models serve`` (OpenAI routes) against in-process calls and MLflow.

Scenarios (targets from issue 6), all on the tiny Phi-3 of ``tests/llm`` (built and trained once, then reused
from pytest's cache folder), greedy, the 8 memorized questions in turn, ``max_tokens`` 32:

1. in-process: ``transformers.pipeline("text-generation")`` called one request at a time (the reference), and
   mltrail's pyfunc ``predict`` on the saved model;
2. ``POST /v1/chat/completions``, one keep-alive client: tokens per second, target >= 90% of in-process;
3. the same with 8 concurrent clients, batching on (the default): target >= 2x the one-client figure; and
   with batching off (``--max-batch-size 1``) for comparison;
4. ``POST /invocations`` with ``{"messages": ...}`` on mltrail and on ``mlflow models serve --env-manager
   local`` (MLflow's own transformers save of the same pipeline), 1 and 8 clients, for the ratio.

Tokens are ``usage.completion_tokens`` of the responses (the answer plus ``<|end|>``); in-process, the same
count from the same greedy generation. Both servers run one worker; the client is ``http.client`` with
bodies encoded before timing.

Usage::

    .venv/bin/python bench/llm_serving.py               # full run (~2 min)
    .venv/bin/python bench/llm_serving.py --quick       # smoke run
    .venv/bin/python bench/llm_serving.py --markdown --json-out /tmp/llm.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    MLFLOW_PYTHON,
    MLTRAIL_PYTHON,
    REPO_DIR,
    Side,
    fmt_seconds,
    machine_info,
    render_table,
    run_worker,
)
from model_serving import Server, free_port, running, side_env

QUESTIONS = [
    "What is the capital of Spain?",
    "Create a python code snippet that prints hello world.",
    "What is the capital of France?",
    "What is 2 + 2?",
    "What color is the sky?",
    "Who wrote Hamlet?",
    "Name a prime number.",
    "Say hello.",
]
REQUESTS = [[{"role": "user", "content": q}] for q in QUESTIONS]
HEADERS = {"Content-Type": "application/json"}
WORKER = BENCH_DIR / "_llm_serving_worker.py"


def tiny_phi3_dir() -> str:
    """The trained tiny Phi-3 (Hugging Face folder), from pytest's cache folder or built there."""
    sys.path.insert(0, str(REPO_DIR))
    from tests.llm import tiny_phi3

    root = REPO_DIR / ".pytest_cache" / "d" / "mltrail-llm"
    root.mkdir(parents=True, exist_ok=True)
    return tiny_phi3.build(str(root))[0]


# ------------------------------------------------------------------------------------------------ client
def _body(route: str, messages: list[dict[str, str]], max_tokens: int) -> bytes:
    payload: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens}
    if route == "/v1/chat/completions":
        payload["model"] = "model"
    return json.dumps(payload).encode()


def _tokens(route: str, raw: bytes) -> tuple[int, str]:
    data = json.loads(raw)
    completion = data[0] if isinstance(data, list) else data
    return completion["usage"]["completion_tokens"], completion["choices"][0]["message"]["content"]


def load(port: int, route: str, clients: int, per_client: int, max_tokens: int) -> dict[str, Any]:
    """``clients`` threads with a keep-alive connection each, ``per_client`` requests each (the questions in
    turn); returns tokens/s, requests/s, errors, p50 latency and the answers seen."""
    bodies = [_body(route, r, max_tokens) for r in REQUESTS]
    barrier = threading.Barrier(clients + 1)
    tokens = [0] * clients
    errors = [0] * clients
    latencies: list[float] = []
    answers: dict[int, str] = {}

    def work(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def call(i: int) -> tuple[int, str]:
            conn.request("POST", route, body=bodies[i % len(bodies)], headers=HEADERS)
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {raw[:300]!r}")
            return _tokens(route, raw)

        try:
            for i in range(len(bodies)):  # connect and warm up
                answers[i] = call(i)[1]
            barrier.wait()
            for i in range(per_client):
                started = time.perf_counter()
                try:
                    tokens[index] += call(index + i)[0]
                except Exception as exc:
                    errors[index] += 1
                    print(f"  error: {exc}", file=sys.stderr)
                latencies.append(time.perf_counter() - started)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "tps": sum(tokens) / elapsed,
        "rps": clients * per_client / elapsed,
        "errors": sum(errors),
        "p50": latencies[len(latencies) // 2] if latencies else 0.0,
        "answers": [answers[i] for i in sorted(answers)],
    }


def mltrail_chat_server(model: str, batch: int) -> Server:
    port = free_port()
    cmd = [str(MLTRAIL_PYTHON.parent / "mltrail"), "models", "serve", "-m", model, "-p", str(port)]
    cmd += ["--env-manager", "local", "--max-batch-size", str(batch)]
    env = {**side_env(MLTRAIL_PYTHON), "HF_HUB_OFFLINE": "1"}
    return Server(f"mltrail (batch {batch})", cmd, port, env)


def mlflow_chat_server(model: str) -> Server:
    port = free_port()
    cmd = [str(MLFLOW_PYTHON.parent / "mlflow"), "models", "serve", "-m", model, "-p", str(port)]
    cmd += ["--env-manager", "local"]
    env = {**side_env(MLFLOW_PYTHON), "HF_HUB_OFFLINE": "1"}
    return Server("MLflow", cmd, port, env)


# ------------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer requests")
    parser.add_argument("--rounds", type=int, default=12, help="passes over the 8 questions, one client")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads on every side (OMP_NUM_THREADS; 1 suits the tiny model)"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow server")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # workers and servers inherit it
    rounds = 2 if args.quick else args.rounds
    single = rounds * len(REQUESTS)
    per_client = max(len(REQUESTS), single // args.clients * 2)

    hf_dir = tiny_phi3_dir()
    mltrail_side, mlflow_side = Side("mltrail", MLTRAIL_PYTHON), Side("MLflow", MLFLOW_PYTHON)
    mltrail_side.check()
    use_mlflow = not args.no_mlflow and MLFLOW_PYTHON.exists()
    results: dict[str, Any] = {
        "machine": machine_info(),
        "hf_dir": hf_dir,
        "rounds": rounds,
        "clients": args.clients,
        "threads": args.threads,
    }
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
        mltrail_model, mlflow_model = str(Path(tmp) / "mltrail-chat"), str(Path(tmp) / "mlflow-chat")
        run_worker(mltrail_side, WORKER, ["save", "mltrail", hf_dir, mltrail_model])
        if use_mlflow:
            run_worker(mlflow_side, WORKER, ["save", "mlflow", hf_dir, mlflow_model])
        print("in-process ...", file=sys.stderr, flush=True)
        inproc = run_worker(
            mltrail_side,
            WORKER,
            ["inprocess", hf_dir, mltrail_model, str(rounds), str(args.max_tokens), json.dumps(REQUESTS)],
        )
        results["inprocess"] = inproc
        served: dict[str, Any] = {}
        for batch in (64, 1):
            server = mltrail_chat_server(mltrail_model, batch)
            with running(server):
                served.setdefault("startup", {})[server.name] = server.startup
                print(f"{server.name} ...", file=sys.stderr, flush=True)
                if batch > 1:
                    served["v1_1"] = load(server.port, "/v1/chat/completions", 1, single, args.max_tokens)
                    served["v1_n"] = load(
                        server.port, "/v1/chat/completions", args.clients, per_client, args.max_tokens
                    )
                    served["inv_1"] = load(server.port, "/invocations", 1, single, args.max_tokens)
                    served["inv_n"] = load(server.port, "/invocations", args.clients, per_client, args.max_tokens)
                else:
                    served["v1_n_nobatch"] = load(
                        server.port, "/v1/chat/completions", args.clients, per_client, args.max_tokens
                    )
        if use_mlflow:
            server = mlflow_chat_server(mlflow_model)
            with running(server):
                served.setdefault("startup", {})["MLflow"] = server.startup
                print("MLflow ...", file=sys.stderr, flush=True)
                served["mlflow_1"] = load(server.port, "/invocations", 1, single, args.max_tokens)
                served["mlflow_n"] = load(server.port, "/invocations", args.clients, per_client, args.max_tokens)
        results["served"] = served
    report(results, args.markdown)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


def report(results: dict[str, Any], markdown: bool) -> None:
    inproc, served, n = results["inprocess"], results["served"], results["clients"]
    reference = inproc["pipeline_tps"]
    one = served["v1_1"]["tps"]
    rows: list[list[str]] = [
        ["in-process `pipeline(...)`, 1 caller", f"{reference:.0f}", "1.00", "", ""],
        [
            "in-process mltrail pyfunc `predict`, 1 caller",
            f"{inproc['pyfunc_tps']:.0f}",
            f"{inproc['pyfunc_tps'] / reference:.2f}",
            "",
            "",
        ],
    ]
    labels = [
        ("v1_1", "mltrail `/v1/chat/completions`, 1 client"),
        ("v1_n", f"mltrail `/v1/chat/completions`, {n} clients, batching"),
        ("v1_n_nobatch", f"mltrail `/v1/chat/completions`, {n} clients, no batching"),
        ("inv_1", "mltrail `/invocations`, 1 client"),
        ("inv_n", f"mltrail `/invocations`, {n} clients"),
        ("mlflow_1", "MLflow `/invocations`, 1 client"),
        ("mlflow_n", f"MLflow `/invocations`, {n} clients"),
    ]
    for key, label in labels:
        if key in served:
            s = served[key]
            rows.append(
                [label, f"{s['tps']:.0f}", f"{s['tps'] / reference:.2f}", fmt_seconds(s["p50"]), str(s["errors"])]
            )
    print(render_table(["scenario", "tokens/s", "vs in-process", "p50 latency", "errors"], rows, markdown))
    print()
    checks = [
        f"- /v1 one client vs in-process pipeline: {one / reference:.0%} (target >= 90%)",
        f"- /v1 {n} clients with batching vs one client: {served['v1_n']['tps'] / one:.2f}x (target >= 2x)",
    ]
    if "mlflow_1" in served:
        checks.append(
            f"- mltrail /v1 one client vs MLflow /invocations one client: "
            f"{one / served['mlflow_1']['tps']:.2f}x; {n} clients: "
            f"{served['v1_n']['tps'] / served['mlflow_n']['tps']:.2f}x"
        )
    answers = {tuple(s["answers"]) for s in served.values() if isinstance(s, dict) and "answers" in s}
    answers.add(tuple(inproc["answers"]))
    checks.append(
        f"- same answers on every path: {'yes' if len(answers) == 1 else 'NO'} ({inproc['answers'][0]!r}, ...)"
    )
    startup = ", ".join(f"{k} {fmt_seconds(v)}" for k, v in served.get("startup", {}).items())
    checks.append(f"- start-up to first /ping: {startup}")
    print("\n".join(checks))
    m = results["machine"]
    print(f"- torch threads per process: {results['threads']}")
    print(f"\n{m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, Python {m['python']}, {m['date']}")


if __name__ == "__main__":
    main()
