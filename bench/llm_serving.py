"""Benchmark: chat serving overhead of ``mltrail models serve`` (OpenAI routes) against in-process calls and MLflow.

Two models, each in its transformers form and its ONNX GenAI int4 form, greedy, the 8 questions in turn:

- *short answers*: the tiny Phi-3 of ``tests/llm`` (built and trained once, then reused from pytest's cache
  folder), which answers the memorized questions in ~8 tokens (``max_tokens`` 32): a whole generation takes a
  few ms, so this shows the per-request overhead at its worst;
- *long answers*: a randomly initialised model of the same architecture and tokenizer (seed 0, cached beside
  it), which does not stop by itself, so every answer is ``--long-max-tokens`` (128) tokens: a generation time
  closer to a real model's (a real Phi-3-mini on CPU takes seconds per answer).

Scenarios (targets from issue 6):

1. in-process: ``transformers.pipeline("text-generation")`` called one request at a time (the reference), and
   mltrail's pyfunc ``predict`` on the saved model; for ONNX GenAI, onnxruntime-genai's Generator loop written by
   hand (the Cookbook's way) and ``mltrail.onnx_genai``'s pyfunc;
2. ``POST /v1/chat/completions``, one keep-alive client: tokens per second, target >= 90% of in-process;
3. the same with 8 concurrent clients, batching on (the default): target >= 2x the one-client figure; and
   with batching off (``--max-batch-size 1``) for comparison;
4. ``POST /invocations`` with ``{"messages": ...}`` on mltrail and on ``mlflow models serve --env-manager
   local`` (MLflow's own transformers save of the same pipeline), 1 and 8 clients, for the ratio.

Tokens are ``usage.completion_tokens`` of the responses (the answer plus ``<|end|>``); in-process, the same
count from the same greedy generation. Both servers run one worker; the client is ``http.client`` with
bodies encoded before timing.

Usage::

    .venv/bin/python bench/llm_serving.py               # full run (~4 min)
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


def tiny_phi3_dirs() -> tuple[str, str]:
    """The trained tiny Phi-3 (Hugging Face and ONNX GenAI int4 folders), from pytest's cache folder or built
    there."""
    sys.path.insert(0, str(REPO_DIR))
    from tests.llm import tiny_phi3

    root = REPO_DIR / ".pytest_cache" / "d" / "mltrail-llm"
    root.mkdir(parents=True, exist_ok=True)
    return tiny_phi3.build(str(root))


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
            nonlocal conn
            try:
                conn.request("POST", route, body=bodies[i % len(bodies)], headers=HEADERS)
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):  # a fresh connection for the next request
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                raise
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


def paired(port: int, call: Any, rounds: int, max_tokens: int) -> dict[str, Any]:
    """One client, each request run twice in a row: in this process with ``call`` (``messages -> (tokens,
    answer)``), then through ``POST /v1/chat/completions``. Alternating keeps both sides under the same machine
    load, which on a shared machine drifts more between two sequential runs than the overhead being measured."""
    route = "/v1/chat/completions"
    bodies = [_body(route, r, max_tokens) for r in REQUESTS]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def served(i: int) -> int:
        conn.request("POST", route, body=bodies[i], headers=HEADERS)
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {raw[:300]!r}")
        return _tokens(route, raw)[0]

    try:
        for i, r in enumerate(REQUESTS):  # warm-up
            call(r)
            served(i)
        local_s = served_s = 0.0
        local_tokens = served_tokens = 0
        for _ in range(rounds):
            for i, r in enumerate(REQUESTS):
                started = time.perf_counter()
                local_tokens += call(r)[0]
                middle = time.perf_counter()
                served_tokens += served(i)
                local_s, served_s = local_s + middle - started, served_s + time.perf_counter() - middle
    finally:
        conn.close()
    return {"inprocess_tps": local_tokens / local_s, "tps": served_tokens / served_s}


def mltrail_chat_server(model: str, batch: int, name: str = "mltrail") -> Server:
    port = free_port()
    cmd = [str(MLTRAIL_PYTHON.parent / "mltrail"), "models", "serve", "-m", model, "-p", str(port)]
    cmd += ["--env-manager", "local", "--max-batch-size", str(batch)]
    env = {**side_env(MLTRAIL_PYTHON), "HF_HUB_OFFLINE": "1"}
    return Server(f"{name} (batch {batch})", cmd, port, env)


def mlflow_chat_server(model: str) -> Server:
    port = free_port()
    cmd = [str(MLFLOW_PYTHON.parent / "mlflow"), "models", "serve", "-m", model, "-p", str(port)]
    cmd += ["--env-manager", "local"]
    env = {**side_env(MLFLOW_PYTHON), "HF_HUB_OFFLINE": "1"}
    return Server("MLflow", cmd, port, env)


# ------------------------------------------------------------------------------------------------- main
def long_model_dirs(hf_dir: str) -> tuple[str, str]:
    """The random-init twin of the tiny Phi-3 (answers run to max_tokens) and its ONNX GenAI int4 folder, cached
    beside the tiny model."""
    base = Path(hf_dir).parent / "long"
    out_hf, out_onnx = base / "hf", base / "onnx-int4"
    if not (out_onnx / "genai_config.json").exists():
        import shutil

        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        run_worker(Side("mltrail", MLTRAIL_PYTHON), WORKER, ["build-long", hf_dir, str(out_hf), str(out_onnx)])
    return str(out_hf), str(out_onnx)


def suite(
    hf_dir: str, onnx_dir: str, rounds: int, clients: int, max_tokens: int, use_mlflow: bool, tmp: str
) -> dict[str, Any]:
    """Every scenario on one model (its transformers and ONNX GenAI forms)."""
    mltrail_side, mlflow_side = Side("mltrail", MLTRAIL_PYTHON), Side("MLflow", MLFLOW_PYTHON)
    single = rounds * len(REQUESTS)
    per_client = max(len(REQUESTS), single // clients * 2)
    models = {k: str(Path(tmp) / k) for k in ("mltrail-chat", "mltrail-onnx", "mlflow-chat")}
    run_worker(mltrail_side, WORKER, ["save", "mltrail", hf_dir, models["mltrail-chat"]])
    run_worker(mltrail_side, WORKER, ["save-onnx", onnx_dir, models["mltrail-onnx"]])
    if use_mlflow:
        run_worker(mlflow_side, WORKER, ["save", "mlflow", hf_dir, models["mlflow-chat"]])
    print("in-process ...", file=sys.stderr, flush=True)
    requests = json.dumps(REQUESTS)
    result: dict[str, Any] = {
        "inprocess": run_worker(
            mltrail_side,
            WORKER,
            ["inprocess", hf_dir, models["mltrail-chat"], str(rounds), str(max_tokens), requests],
        ),
        "inprocess_onnx": run_worker(
            mltrail_side,
            WORKER,
            ["inprocess-onnx", onnx_dir, models["mltrail-onnx"], str(rounds), str(max_tokens), requests],
        ),
        "max_tokens": max_tokens,
        "clients": clients,
    }
    served: dict[str, Any] = {}
    plan: list[tuple[Server, list[tuple[str, str, int]]]] = [
        (
            mltrail_chat_server(models["mltrail-chat"], 64),
            [
                ("v1_1", "/v1/chat/completions", 1),
                ("v1_n", "/v1/chat/completions", clients),
                ("inv_1", "/invocations", 1),
                ("inv_n", "/invocations", clients),
            ],
        ),
        (mltrail_chat_server(models["mltrail-chat"], 1), [("v1_n_nobatch", "/v1/chat/completions", clients)]),
        (
            mltrail_chat_server(models["mltrail-onnx"], 64, "mltrail onnx_genai"),
            [("og_v1_1", "/v1/chat/completions", 1), ("og_v1_n", "/v1/chat/completions", clients)],
        ),
    ]
    if use_mlflow:
        plan.append(
            (
                mlflow_chat_server(models["mlflow-chat"]),
                [("mlflow_1", "/invocations", 1), ("mlflow_n", "/invocations", clients)],
            )
        )
    import _llm_serving_worker as local

    callers = {0: lambda: local.pipeline_caller(hf_dir, max_tokens), 2: lambda: local.onnx_caller(onnx_dir, max_tokens)}
    for index, (server, scenarios) in enumerate(plan):
        with running(server):
            served.setdefault("startup", {})[server.name] = server.startup
            print(f"{server.name} ...", file=sys.stderr, flush=True)
            for key, route, n in scenarios:
                served[key] = load(server.port, route, n, single if n == 1 else per_client, max_tokens)
            if index in callers:  # the one-client ratio, alternating in-process and served requests
                key = "v1_paired" if index == 0 else "og_v1_paired"
                served[key] = paired(server.port, callers[index](), rounds, max_tokens)
    result["served"] = served
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer requests")
    parser.add_argument("--rounds", type=int, default=12, help="passes over the 8 questions, one client")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--long-max-tokens", type=int, default=128, help="answer length of the long-answer model")
    parser.add_argument("--long-rounds", type=int, default=3, help="passes over the 8 questions, long answers")
    parser.add_argument("--no-long", action="store_true", help="skip the long-answer model")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads on every side (OMP_NUM_THREADS; 1 suits the tiny model)"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow server")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # workers and servers inherit it
    hf_dir, onnx_dir = tiny_phi3_dirs()
    Side("mltrail", MLTRAIL_PYTHON).check()
    use_mlflow = not args.no_mlflow and MLFLOW_PYTHON.exists()
    results: dict[str, Any] = {"machine": machine_info(), "hf_dir": hf_dir, "threads": args.threads, "suites": {}}
    runs = [("short", hf_dir, onnx_dir, 2 if args.quick else args.rounds, args.max_tokens)]
    if not args.no_long:
        long_hf, long_onnx = long_model_dirs(hf_dir)
        runs.append(("long", long_hf, long_onnx, 1 if args.quick else args.long_rounds, args.long_max_tokens))
    for name, model_hf, model_onnx, rounds, max_tokens in runs:
        print(f"== {name} answers", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
            results["suites"][name] = suite(model_hf, model_onnx, rounds, args.clients, max_tokens, use_mlflow, tmp)
    for name, data in results["suites"].items():
        report(name, data, args.markdown)
    m = results["machine"]
    print(f"- torch threads per process: {results['threads']}")
    print(f"\n{m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, Python {m['python']}, {m['date']}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


def _ratio_check(label: str, value: float, target: float, unit: str = "x") -> str:
    shown = f"{value:.0%}" if unit == "%" else f"{value:.2f}x"
    goal = f"{target:.0%}" if unit == "%" else f"{target:g}x"
    return f"- {label}: {shown} (target >= {goal}: {'met' if value >= target else 'NOT met'})"


def report(name: str, data: dict[str, Any], markdown: bool) -> None:
    inproc, og, served, n = data["inprocess"], data["inprocess_onnx"], data["served"], data["clients"]
    reference, og_reference = inproc["pipeline_tps"], og["loop_tps"]
    tokens = inproc["tokens_per_round"] / len(REQUESTS)
    print(f"\n### {name} answers: max_tokens {data['max_tokens']}, {tokens:.1f} tokens per answer\n")
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

    def row(key: str, label: str, ref: float) -> None:
        if key in served:
            s = served[key]
            rows.append([label, f"{s['tps']:.0f}", f"{s['tps'] / ref:.2f}", fmt_seconds(s["p50"]), str(s["errors"])])

    for key, label in labels:
        row(key, label, reference)
    rows.append(["ONNX GenAI: in-process Generator loop, 1 caller", f"{og_reference:.0f}", "1.00", "", ""])
    rows.append(
        [
            "ONNX GenAI: in-process `mltrail.onnx_genai` pyfunc, 1 caller",
            f"{og['pyfunc_tps']:.0f}",
            f"{og['pyfunc_tps'] / og_reference:.2f}",
            "",
            "",
        ]
    )
    row("og_v1_1", "ONNX GenAI: mltrail `/v1/chat/completions`, 1 client", og_reference)
    row("og_v1_n", f"ONNX GenAI: mltrail `/v1/chat/completions`, {n} clients, batching", og_reference)
    print(render_table(["scenario", "tokens/s", "vs in-process", "p50 latency", "errors"], rows, markdown))
    print()
    one, og_one = served["v1_1"]["tps"], served["og_v1_1"]["tps"]
    pair, og_pair = served["v1_paired"], served["og_v1_paired"]
    print(
        render_table(
            ["one client, alternating requests", "in-process tokens/s", "/v1 tokens/s", "/v1 vs in-process"],
            [
                [
                    "transformers: `pipeline(...)` / mltrail `/v1`",
                    f"{pair['inprocess_tps']:.0f}",
                    f"{pair['tps']:.0f}",
                    f"{pair['tps'] / pair['inprocess_tps']:.2f}",
                ],
                [
                    "ONNX GenAI: Generator loop / mltrail `/v1`",
                    f"{og_pair['inprocess_tps']:.0f}",
                    f"{og_pair['tps']:.0f}",
                    f"{og_pair['tps'] / og_pair['inprocess_tps']:.2f}",
                ],
            ],
            markdown,
        )
    )
    print()
    checks = [
        _ratio_check(
            "transformers: /v1 one client vs in-process pipeline, alternating",
            pair["tps"] / pair["inprocess_tps"],
            0.9,
            "%",
        )
        + f" (run after each other: {one / reference:.0%})",
        _ratio_check(f"transformers: /v1 {n} clients with batching vs one client", served["v1_n"]["tps"] / one, 2),
        _ratio_check(
            "ONNX GenAI: /v1 one client vs in-process Generator loop, alternating",
            og_pair["tps"] / og_pair["inprocess_tps"],
            0.9,
            "%",
        )
        + f" (run after each other: {og_one / og_reference:.0%})",
        _ratio_check(f"ONNX GenAI: /v1 {n} clients with batching vs one client", served["og_v1_n"]["tps"] / og_one, 2),
    ]
    if "mlflow_1" in served:
        checks.append(
            f"- mltrail /v1 (transformers) vs MLflow /invocations: one client "
            f"{one / served['mlflow_1']['tps']:.2f}x; {n} clients: "
            f"{served['v1_n']['tps'] / served['mlflow_n']['tps']:.2f}x"
        )

    def same(keys: Sequence[str], reference_answers: list[str]) -> str:
        found = {tuple(served[k]["answers"]) for k in keys if k in served} | {tuple(reference_answers)}
        return "yes" if len(found) == 1 else "NO"

    one_tf, one_og = same(["v1_1", "inv_1", "mlflow_1"], inproc["answers"]), same(["og_v1_1"], og["answers"])
    many_tf = same(["v1_n", "inv_n", "v1_n_nobatch", "mlflow_n"], inproc["answers"])
    checks.append(
        f"- same answers as in-process, one client: transformers {one_tf}, ONNX GenAI {one_og}; {n} clients "
        f"(batched, padded): transformers {many_tf}, ONNX GenAI {same(['og_v1_n'], og['answers'])} "
        f"({inproc['answers'][0][:40]!r}, ...)"
    )
    startup = ", ".join(f"{k} {fmt_seconds(v)}" for k, v in served.get("startup", {}).items())
    checks.append(f"- start-up to first /ping: {startup}")
    print("\n".join(checks))


if __name__ == "__main__":
    main()
