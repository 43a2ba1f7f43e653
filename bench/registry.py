"""Model registry benchmark: mltrail's SQL registry store side by side with MLflow's, same data, same run.

Store level (each side's SQL store class called directly, in its own interpreter, on a fresh SQLite file):
1,000 registered models x 20 versions (2 tags per model, 1 per version, an alias and a Production version per
model; seeding not timed), then the p50 of ``search_registered_models`` and ``search_model_versions`` over
repetitions after warm-up. The registered-model queries carry the prompt filter the official client appends.

Target: p50 at least 5x lower than MLflow's.

Usage:
    bash bench/setup.sh                      # once: bench/.venv-mlflow with mlflow==3.17.2
    .venv/bin/python bench/registry.py              # full size (a few minutes: seeding MLflow is slow)
    .venv/bin/python bench/registry.py --quick      # smoke run
    .venv/bin/python bench/registry.py --markdown   # the table as markdown, for RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _common import BENCH_DIR, MLFLOW_PYTHON, MLTRAIL_PYTHON, Side, fmt_seconds, machine_info, render_table, run_worker

WORKER = BENCH_DIR / "_registry_worker.py"
TARGET = 5.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="mltrail vs MLflow SQL registry store: search on SQLite.")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--models", type=int)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--reps", type=int)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--profile", type=Path, help="dump cProfile stats of the timed parts here")
    args = parser.parse_args(argv)
    args.models = args.models or (100 if args.quick else 1000)
    args.reps = args.reps or (5 if args.quick else 15)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="mltrail-bench-registry-"))
    results = {}
    try:
        for side in (Side("mltrail", MLTRAIL_PYTHON), Side("mlflow", MLFLOW_PYTHON)):
            side.check()
            print(f"[registry] {side.name}: seeding {args.models:,} x {args.versions} ...", file=sys.stderr, flush=True)
            worker_args = [
                "--side", side.name, "--workdir", str(workdir), "--models", str(args.models),
                "--versions", str(args.versions), "--reps", str(args.reps), "--warmup", str(args.warmup),
            ]  # fmt: skip
            if args.profile:
                worker_args += ["--profile", str(args.profile.resolve() / f"{side.name}-registry.prof")]
            results[side.name] = run_worker(side, WORKER, worker_args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ours, theirs = results["mltrail"], results["mlflow"]
    rows, notes = [], []
    for label, mine in ours["queries"].items():
        other = theirs["queries"][label]
        speedup = other["p50"] / mine["p50"] if mine["p50"] > 0 else float("inf")
        rows.append(
            [
                f"{label}, p50",
                fmt_seconds(mine["p50"]),
                fmt_seconds(other["p50"]),
                f"{speedup:.1f}x",
                f">= {TARGET:g}x",
                "yes" if speedup >= TARGET else "NO",
            ]
        )
        same = mine["keys"] == other["keys"]
        notes.append(
            f"{label}: {mine['count']} results each side; same results in the same order: {'yes' if same else 'NO'}"
        )
    notes.append(
        f"seeding {args.models:,} models x {args.versions} versions (not timed above): "
        f"mltrail {fmt_seconds(ours['seed_seconds'])}, MLflow {fmt_seconds(theirs['seed_seconds'])}"
    )
    notes.append(f"versions: mltrail {ours['version']}, mlflow {theirs['version']} (Python {ours['python']})")
    notes.append(
        f"1-minute load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)"
    )
    info = machine_info()
    print()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}; date: {info['date']}")
    print(f"command: {' '.join(['python', 'bench/registry.py', *(argv or sys.argv[1:])])}")
    print()
    print(render_table(["scenario", "mltrail", "MLflow", "speedup", "target", "met"], rows, markdown=args.markdown))
    print()
    for note in notes:
        print(("- " if args.markdown else "  ") + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
