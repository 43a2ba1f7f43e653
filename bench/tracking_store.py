"""Tracking store benchmark: mltrail's SQL store side by side with MLflow's, same data, same run.

Scenarios (each side in its own subprocess and interpreter, each on a fresh SQLite file):

- ingest:  N metric points (default 1,000,000) through ``log_batch``, 1000 metrics per call, into one run.
- search:  10,000 runs x 10 params x 10 metrics (seeding not timed), then ``search_runs`` p50 over
           repetitions after warm-up, max_results 100:
             filtered  ``metrics.m0 > 0.5 and params.p1 = 'x'`` ordered by ``metrics.m3 DESC``
             ordered   no filter, ordered by ``metrics.m3 DESC``

Targets: ingestion at least 5x faster than MLflow, search at least 10x faster.

Usage:
    bash bench/setup.sh                      # once: bench/.venv-mlflow with mlflow==3.17.2
    .venv/bin/python bench/tracking_store.py            # full size (several minutes, MLflow is slow)
    .venv/bin/python bench/tracking_store.py --quick    # smoke run in well under a minute
    .venv/bin/python bench/tracking_store.py --markdown # the table as markdown, for RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

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

WORKER = BENCH_DIR / "_tracking_store_worker.py"
INGEST_TARGET = 5.0
SEARCH_TARGET = 10.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="mltrail vs MLflow SQL tracking store: ingestion and search on SQLite.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Usage:", 1)[1] if __doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--points", type=int, help="metric points to ingest (default 1,000,000)")
    parser.add_argument("--runs", type=int, help="runs to seed for search (default 10,000)")
    parser.add_argument("--reps", type=int, help="timed search repetitions per query (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed search calls first (default 2)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scenario", choices=["all", "ingest", "search"], default="all")
    parser.add_argument("--mltrail-python", type=Path, default=MLTRAIL_PYTHON)
    parser.add_argument("--mlflow-python", type=Path, default=MLFLOW_PYTHON)
    parser.add_argument("--workdir", type=Path, help="where the SQLite files go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    parser.add_argument("--profile", type=Path, help="dump cProfile stats of the timed parts here")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--json-out", type=Path, help="also write every raw result to this file")
    args = parser.parse_args(argv)
    args.points = args.points or (20_000 if args.quick else 1_000_000)
    args.runs = args.runs or (500 if args.quick else 10_000)
    args.reps = args.reps or (5 if args.quick else 15)
    return args


def _worker_args(args: argparse.Namespace, side: Side, scenario: str, workdir: Path) -> list[str]:
    out = [
        "--side", side.name, "--scenario", scenario, "--workdir", str(workdir), "--seed", str(args.seed),
        "--points", str(args.points), "--runs", str(args.runs), "--reps", str(args.reps),
        "--warmup", str(args.warmup),
    ]  # fmt: skip
    if args.profile:
        out += ["--profile", str(args.profile.resolve() / f"{side.name}-{scenario}.prof")]
    return out


def _speedup(mltrail_s: float, mlflow_s: float) -> float:
    return mlflow_s / mltrail_s if mltrail_s > 0 else float("inf")


def _row(label: str, ours: str, theirs: str, speedup: float, target: float) -> list[str]:
    met = "yes" if speedup >= target else "NO"
    return [label, ours, theirs, f"{speedup:.1f}x", f">= {target:g}x", met]


def run(args: argparse.Namespace) -> tuple[list[list[str]], list[str], dict[str, Any]]:
    """Run the chosen scenarios on both sides; return table rows, notes and the raw results."""
    sides = [Side("mltrail", args.mltrail_python), Side("mlflow", args.mlflow_python)]
    for side in sides:
        side.check()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mltrail-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    raw: dict[str, Any] = {}
    rows: list[list[str]] = []
    notes: list[str] = []
    try:
        if args.scenario in ("all", "ingest"):
            res = {}
            for side in sides:
                print(f"[ingest] {side.name}: {args.points:,} points ...", file=sys.stderr, flush=True)
                res[side.name] = run_worker(side, WORKER, _worker_args(args, side, "ingest", workdir))
            raw["ingest"] = res
            ours, theirs = res["mltrail"], res["mlflow"]
            label = f"ingest {ours['points']:,} metric points, log_batch of 1000"
            rows.append(
                _row(
                    label,
                    f"{fmt_seconds(ours['seconds'])} ({fmt_rate(ours['points'] / ours['seconds'])})",
                    f"{fmt_seconds(theirs['seconds'])} ({fmt_rate(theirs['points'] / theirs['seconds'])})",
                    _speedup(ours["seconds"], theirs["seconds"]),
                    INGEST_TARGET,
                )
            )
        if args.scenario in ("all", "search"):
            res = {}
            for side in sides:
                print(f"[search] {side.name}: seeding {args.runs:,} runs ...", file=sys.stderr, flush=True)
                res[side.name] = run_worker(side, WORKER, _worker_args(args, side, "search", workdir))
            raw["search"] = res
            ours, theirs = res["mltrail"], res["mlflow"]
            for label, q in ours["queries"].items():
                mine, other = q, theirs["queries"][label]
                rows.append(
                    _row(
                        f"search {label}: top 100 of {ours['runs']:,} runs, p50",
                        fmt_seconds(mine["p50"]),
                        fmt_seconds(other["p50"]),
                        _speedup(mine["p50"], other["p50"]),
                        SEARCH_TARGET,
                    )
                )
                same = mine["names"] == other["names"] and len(mine["names"]) == other["count"]
                where = f'filter "{q["filter"]}"' if q["filter"] else "no filter"
                notes.append(
                    f"search {label}: {where}, order_by metrics.m3 DESC, max_results 100; "
                    f"{mine['count']} runs returned by mltrail, {other['count']} by MLflow; "
                    f"same runs in the same order: {'yes' if same else 'NO'}"
                )
            notes.append(
                f"seeding {ours['runs']:,} runs (not timed above): mltrail {fmt_seconds(ours['seed_seconds'])}, "
                f"MLflow {fmt_seconds(theirs['seed_seconds'])} (create_run + log_batch per run)"
            )
        for scenario in raw.values():
            versions = ", ".join(f"{name} {r['version']} (Python {r['python']})" for name, r in scenario.items())
            notes.append(f"versions: {versions}")
            break
        if args.profile:
            notes.append(f"cProfile was on (timings inflated); stats in {args.profile}")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            notes.append(f"SQLite files kept in {workdir}")
    return rows, notes, raw


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    rows, notes, raw = run(args)
    notes.append(
        f"1-minute load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
        f"({os.cpu_count()} cores; other work on the machine skews both sides)"
    )
    headers = ["scenario", "mltrail", "MLflow", "speedup", "target", "met"]
    info = machine_info()
    print()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}; date: {info['date']}")
    print(f"command: {' '.join(['python', 'bench/tracking_store.py', *(argv or sys.argv[1:])])}")
    print()
    print(render_table(headers, rows, markdown=args.markdown))
    print()
    for note in notes:
        print(("- " if args.markdown else "  ") + note)
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": info, "results": raw}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
