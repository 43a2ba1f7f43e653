"""Web UI benchmark: time until the runs table shows its first rows, mltrail's UI vs MLflow's, same data.

Both sides get an experiment of 10,000 runs (10 params, 10 metrics each: ``run-00000`` ... ``run-09999``, the
data of bench/tracking_store.py), seeded untimed through each side's own SQL store class into a fresh SQLite
database (bench/_tracking_server_seed.py), then served by ``mltrail server`` and ``mlflow server`` (each side's
default worker count unless ``--workers``). Chromium (Playwright, /usr/bin/chromium, 1400x900) opens the runs
table of that experiment:

- mltrail: ``/#/experiments/<id>``
- MLflow:  ``/#/experiments/<id>/runs?workflowType=machine_learning`` (3.x opens GenAI pages by default; this
  is its runs table, the "Model training" view)

Measured: milliseconds from the start of the navigation (the document's time origin) until an element whose own
text is the newest run's name (``run-09999``, first under both UIs' default order, start time descending) is
visible in the viewport; the same in-page probe for both (bench/_ui_probe.py). Two kinds of visit per
repetition and side, sides interleaved: *cold*, a fresh browser context (empty HTTP cache, no storage), and
*warm*, a second page in that context (cached static assets, as on a user's second visit). p50 over the
repetitions after one untimed warm-up visit per side. Target: mltrail under 1 s.

Usage:
    flock /tmp/bench.lock .venv/bin/python bench/ui_first_rows.py               # 10,000 runs, 7 repetitions
    .venv/bin/python bench/ui_first_rows.py --runs 1000 --reps 3                # smoke run
    .venv/bin/python bench/ui_first_rows.py --workdir /tmp/uibench --keep       # reuse the seeded databases
    .venv/bin/python bench/ui_first_rows.py --markdown --json-out /tmp/ui.json --screenshots /tmp/ui-shots
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, MLFLOW_PYTHON, MLTRAIL_PYTHON, REPO_DIR, Side, machine_info, render_table, run_worker
from _server_harness import Backend, Server, mltrail_has_cli
from _ui_probe import Visit, mltrail_scroll, screenshot, visit

SEED_WORKER = BENCH_DIR / "_tracking_server_seed.py"
SIDES = ("mltrail", "mlflow")
STATIC_INDEX = REPO_DIR / "src" / "mltrail" / "server" / "static" / "index.html"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}


def ui_url(side: str, port: int, experiment_id: str) -> str:
    """The URL of ``side``'s runs table for ``experiment_id``."""
    base = f"http://127.0.0.1:{port}/#/experiments/{experiment_id}"
    return base if side == "mltrail" else base + "/runs?workflowType=machine_learning"


def seed(side: str, backend: Backend, runs: int, reuse: bool) -> dict[str, Any]:
    """Seed ``runs`` runs into ``backend`` with ``side``'s own store (or reuse a database seeded before)."""
    marker = backend.workdir / f"{backend.name}.seeded.json"
    if reuse and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("runs") == runs:
            return {**info, "reused": True}
    backend.drop()
    backend.create()
    python = MLTRAIL_PYTHON if side == "mltrail" else MLFLOW_PYTHON
    args = ["--side", side, "--uri", backend.uri, "--artifacts", backend.artifacts, "--runs", str(runs)]
    info = {**run_worker(Side(side, python), SEED_WORKER, args, timeout=7200), "runs": runs}
    marker.write_text(json.dumps(info))
    return info


def summarize(visits: list[Visit]) -> dict[str, Any]:
    """p50 / min / max of the first-row times, and the p50 of the rest."""
    rows = [v.first_row_ms for v in visits]
    fcp = [v.fcp_ms for v in visits if v.fcp_ms is not None]
    return {
        "p50_ms": statistics.median(rows),
        "min_ms": min(rows),
        "max_ms": max(rows),
        "fcp_p50_ms": statistics.median(fcp) if fcp else None,
        "transferred_kb": statistics.median(v.transferred_bytes for v in visits) / 1024,
        "decoded_kb": statistics.median(v.decoded_bytes for v in visits) / 1024,
        "requests": statistics.median(v.requests for v in visits),
        "api_requests": statistics.median(v.api_requests for v in visits),
        "samples_ms": rows,
    }


def measure(
    servers: dict[str, Server],
    experiments: dict[str, str],
    target: str,
    reps: int,
    timeout_ms: float,
    shots: Path | None,
    scroll_total: int | None = None,
) -> dict[str, Any]:
    """Cold and warm visits per side, interleaved, after one untimed warm-up visit per side; with
    ``scroll_total``, mltrail's table scrolled through all its runs (frame times)."""
    from playwright.sync_api import sync_playwright

    exe = os.environ.get("MLTRAIL_CHROMIUM", "/usr/bin/chromium")
    out: dict[str, dict[str, list[Visit]]] = {s: {"cold": [], "warm": []} for s in servers}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            urls = {s: ui_url(s, servers[s].port, experiments[s]) for s in servers}
            for side, url in urls.items():  # warm-up: server-side first-hit costs, Chromium's own caches
                ctx = browser.new_context(viewport=VIEWPORT)
                visit(ctx, url, target, timeout_ms)
                if shots:
                    screenshot(ctx, url, target, str(shots / f"ui-first-rows-{side}.png"), timeout_ms)
                ctx.close()
            for rep in range(reps):
                order = list(urls) if rep % 2 == 0 else list(reversed(urls))
                for side in order:
                    ctx = browser.new_context(viewport=VIEWPORT)
                    try:
                        out[side]["cold"].append(visit(ctx, urls[side], target, timeout_ms))
                        out[side]["warm"].append(visit(ctx, urls[side], target, timeout_ms))
                    finally:
                        ctx.close()
                    cold, warm = out[side]["cold"][-1], out[side]["warm"][-1]
                    print(
                        f"  rep {rep + 1}/{reps} {side:8s} cold {cold.first_row_ms:7.0f} ms  "
                        f"warm {warm.first_row_ms:7.0f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
            scroll = None
            if scroll_total and "mltrail" in urls:
                ctx = browser.new_context(viewport=VIEWPORT)
                try:
                    scroll = mltrail_scroll(ctx, urls["mltrail"], scroll_total, timeout_ms)
                finally:
                    ctx.close()
        finally:
            browser.close()
    results: dict[str, Any] = {
        s: {kind: summarize(v) for kind, v in kinds.items()}
        | {"visits": {k: [asdict(x) for x in v] for k, v in kinds.items()}}
        for s, kinds in out.items()
    }
    if scroll:
        results["mltrail_scroll"] = scroll
    return results


def report(results: dict[str, Any], args: argparse.Namespace, meta: dict[str, Any]) -> str:
    """The side-by-side table and notes."""
    ours, theirs = results["mltrail"], results["mlflow"]
    rows = []
    for kind in ("cold", "warm"):
        a, b = ours[kind], theirs[kind]
        ratio = b["p50_ms"] / a["p50_ms"] if a["p50_ms"] else float("nan")
        met = "yes" if a["p50_ms"] < 1000 else "NO"
        rows.append(
            [
                f"first data row, {kind} (p50 of {args.reps})",
                f"{a['p50_ms']:.0f} ms",
                f"{b['p50_ms']:.0f} ms",
                f"{ratio:.1f}x",
                met,
            ]
        )
        rows.append(
            [
                f"  range, {kind}",
                f"{a['min_ms']:.0f}-{a['max_ms']:.0f} ms",
                f"{b['min_ms']:.0f}-{b['max_ms']:.0f} ms",
                "",
                "",
            ]
        )
        if a["fcp_p50_ms"] is not None and b["fcp_p50_ms"] is not None:
            rows.append(
                [
                    f"  first contentful paint, {kind}",
                    f"{a['fcp_p50_ms']:.0f} ms",
                    f"{b['fcp_p50_ms']:.0f} ms",
                    f"{b['fcp_p50_ms'] / a['fcp_p50_ms']:.1f}x",
                    "",
                ]
            )
        rows.append(
            [
                f"  transferred / decoded, {kind}",
                f"{a['transferred_kb']:.0f} / {a['decoded_kb']:.0f} KiB",
                f"{b['transferred_kb']:.0f} / {b['decoded_kb']:.0f} KiB",
                "",
                "",
            ]
        )
        rows.append(
            [
                f"  requests (API), {kind}",
                f"{a['requests']:.0f} ({a['api_requests']:.0f})",
                f"{b['requests']:.0f} ({b['api_requests']:.0f})",
                "",
                "",
            ]
        )
    table = render_table(
        [
            "runs table of 10,000 runs" if args.runs == 10_000 else f"runs table of {args.runs:,} runs",
            "mltrail",
            f"MLflow {meta['mlflow_version']}",
            "MLflow / mltrail",
            "< 1 s",
        ],
        rows,
        markdown=args.markdown,
    )
    notes = [
        f"workers: {meta['workers']}; SQLite; seeded through the store classes (untimed): "
        f"mltrail {meta['seed']['mltrail']:.0f} s, MLflow {meta['seed']['mlflow']:.0f} s"
        + (" (databases reused from an earlier run with --keep)" if meta.get("seed_reused") else ""),
        f"1-minute load average: {meta['load_before']:.2f} before, {meta['load_after']:.2f} after "
        f"({os.cpu_count()} cores); {meta['machine']}",
    ]
    scroll = results.get("mltrail_scroll")
    if scroll:
        notes.append(
            f"mltrail, all {args.runs:,} runs loaded by scrolling (pages of 200) in {scroll['load_all_seconds']:.1f} s;"
            " then 240 jumps to scattered rows and columns, one per frame:"
            f" frame p50 {scroll['p50']:.0f} ms, "
            f"p95 {scroll['p95']:.0f} ms, max {scroll['max']:.0f} ms, {scroll['rows_in_dom']} rows in the DOM"
        )
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


def main(argv: list[str] | None = None) -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--workers", type=int, help="uvicorn workers for both servers (default: each side's own)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for one page's first row")
    parser.add_argument("--workdir", help="where the databases go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep --workdir's seeded databases for the next run")
    parser.add_argument("--screenshots", help="save a screenshot of each UI at its first row into this folder")
    parser.add_argument(
        "--scroll", action="store_true", help="also (mltrail only) load every run by scrolling and time the frames"
    )
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)

    for side in (Side("mltrail", MLTRAIL_PYTHON), Side("mlflow", MLFLOW_PYTHON)):
        side.check()
    if not STATIC_INDEX.is_file():
        raise SystemExit(
            f"the mltrail UI is not built ({STATIC_INDEX}): run `npm --prefix ui ci && npm --prefix ui run build`"
        )
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-ui-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    backends = {s: Backend("sqlite", f"ui-{s}", workdir) for s in SIDES}
    servers: dict[str, Server] = {}
    load_before = os.getloadavg()[0]
    try:
        print(f"seeding {args.runs:,} runs per side (store classes, in parallel) in {workdir}", file=sys.stderr)
        with ThreadPoolExecutor(2) as pool:
            futures = {s: pool.submit(seed, s, backends[s], args.runs, args.keep) for s in SIDES}
            seeded = {s: f.result() for s, f in futures.items()}
        use_cli = mltrail_has_cli()
        for side in SIDES:
            servers[side] = Server.start(side, backends[side].uri, backends[side].artifacts, args.workers, use_cli)
        experiments = {s: str(seeded[s]["experiment_id"]) for s in SIDES}
        target = f"run-{args.runs - 1:05d}"
        print(f"measuring: newest run {target}, {args.reps} repetitions", file=sys.stderr)
        results = measure(
            servers, experiments, target, args.reps, args.timeout * 1000, shots, args.runs if args.scroll else None
        )
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            for b in backends.values():
                b.drop()
            if not args.workdir:
                shutil.rmtree(workdir, ignore_errors=True)
    info = machine_info()
    meta = {
        "mlflow_version": seeded["mlflow"].get("version", "?"),
        "workers": f"{args.workers} each" if args.workers else "each side's default (mltrail 1, MLflow 4)",
        "seed": {s: seeded[s].get("seconds", 0.0) for s in SIDES},
        "seed_reused": all(seeded[s].get("reused") for s in SIDES),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "machine": f"{info.get('cpu', '')}, {info.get('memory', '')}, {info.get('date', '')}",
    }
    print(report(results, args, meta))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"meta": meta, "results": results, "args": vars(args)}, indent=2))


if __name__ == "__main__":
    main()
