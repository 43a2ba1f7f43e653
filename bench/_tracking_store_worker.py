"""Worker of bench/tracking_store.py: runs one scenario against one side's SQL store, prints JSON.

Runs under either interpreter (mltrail's venv or bench/.venv-mlflow) and uses the store class directly,
as a user of that package would get it:

- ``mltrail``: ``mltrail.store.tracking.sql.store.SqlTrackingStore``
- ``mlflow``:  ``mlflow.store.tracking.sqlalchemy_store.SqlAlchemyStore``

Data comes from ``random.Random(seed)`` in a fixed call order, so both sides get identical values.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from _common import Profiler, emit_result, p50, repeat, stopwatch

BASE_TS = 1_700_000_000_000
BATCH = 1000
KEYS = 10
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p1 = 'x'"
SEARCH_ORDER = ["metrics.m3 DESC"]
SEARCH_MAX_RESULTS = 100


@dataclass
class Adapter:
    """The few names a scenario needs, from whichever package this interpreter has."""

    side: str
    version: str
    store: Any
    metric: Any
    param: Any
    active_only: Any
    empty_filter: str | None


def open_side(side: str, workdir: str, name: str) -> Adapter:
    """A fresh SQLite store for ``side`` in ``workdir`` (``<name>.db``, artifacts beside it)."""
    db_path = os.path.join(workdir, name + ".db")
    artifacts = os.path.join(workdir, name + "-artifacts")
    for stale in (db_path, db_path + "-wal", db_path + "-shm", db_path + "-journal"):
        if os.path.exists(stale):  # always a fresh database, even in a reused --workdir
            os.remove(stale)
    shutil.rmtree(artifacts, ignore_errors=True)
    db_uri = f"sqlite:///{db_path}"
    if side == "mltrail":
        from importlib.metadata import version

        from mltrail.entities import Metric, Param, ViewType
        from mltrail.store.tracking.sql.store import SqlTrackingStore

        store = SqlTrackingStore(db_uri, artifacts)
        return Adapter(side, version("mltrail"), store, Metric, Param, ViewType.ACTIVE_ONLY, None)
    if side == "mlflow":
        import logging

        import mlflow
        from mlflow.entities import Metric, Param, ViewType
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        store = SqlAlchemyStore(db_uri, artifacts)
        return Adapter(side, mlflow.__version__, store, Metric, Param, ViewType.ACTIVE_ONLY, "")
    raise SystemExit(f"unknown side {side!r}")


def ingest(a: Adapter, points: int, seed: int, profile: str | None) -> dict[str, Any]:
    """Log ``points`` metric points to one run, ``BATCH`` per log_batch call; time only the calls."""
    rng = random.Random(seed)
    experiment_id = a.store.create_experiment("bench-ingest")
    run_id = a.store.create_run(experiment_id, "bench", BASE_TS, [], "ingest").info.run_id
    prof = Profiler(profile)
    seconds = 0.0
    logged = 0
    batch_index = 0
    while logged < points:
        size = min(BATCH, points - logged)
        metrics = []
        for j in range(size):
            step = batch_index * (BATCH // KEYS) + j // KEYS
            metrics.append(a.metric(f"m{j % KEYS}", rng.random(), BASE_TS + step, step))
        with prof.section(), stopwatch() as t:
            a.store.log_batch(run_id, metrics, [], [])
        seconds += t["seconds"]
        logged += size
        batch_index += 1
    prof.dump()
    latest = a.store.get_run(run_id).data.metrics
    return {"points": logged, "seconds": seconds, "latest_keys": len(latest)}


def seed_runs(a: Adapter, runs: int, seed: int) -> str:
    """``runs`` runs with params p0..p9 and metrics m0..m9 each; returns the experiment id."""
    rng = random.Random(seed)
    experiment_id = a.store.create_experiment("bench-search")
    for i in range(runs):
        run_id = a.store.create_run(experiment_id, "bench", BASE_TS + i, [], f"run-{i:05d}").info.run_id
        params = [a.param(f"p{k}", rng.choice("xyz") if k == 1 else f"v{rng.randrange(1000)}") for k in range(KEYS)]
        metrics = [a.metric(f"m{k}", rng.random(), BASE_TS + i, 0) for k in range(KEYS)]
        a.store.log_batch(run_id, metrics, params, [])
    return experiment_id


def search(a: Adapter, runs: int, reps: int, warmup: int, seed: int, profile: str | None) -> dict[str, Any]:
    """Seed ``runs`` runs (timed apart), then time the filtered-ordered and the ordered search."""
    with stopwatch() as t:
        experiment_id = seed_runs(a, runs, seed)
    queries = {"filtered": SEARCH_FILTER, "ordered": a.empty_filter}
    out: dict[str, Any] = {"runs": runs, "seed_seconds": t["seconds"], "queries": {}}
    prof = Profiler(profile)
    for label, filter_string in queries.items():

        def query(fs: str | None = filter_string) -> Any:
            with prof.section():
                return a.store.search_runs([experiment_id], fs, a.active_only, SEARCH_MAX_RESULTS, SEARCH_ORDER, None)

        samples = repeat(query, reps, warmup)
        result = query()
        out["queries"][label] = {
            "filter": filter_string or "",
            "samples": samples,
            "p50": p50(samples),
            "count": len(result),
            "names": [r.info.run_name for r in result],
            "checksum": round(sum(r.data.metrics.get("m3", 0.0) for r in result), 9),
        }
    prof.dump()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", required=True, choices=["mltrail", "mlflow"])
    parser.add_argument("--scenario", required=True, choices=["ingest", "search"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", help="dump a cProfile of the timed part to this file")
    args = parser.parse_args(argv)

    a = open_side(args.side, args.workdir, f"{args.side}-{args.scenario}")
    if args.scenario == "ingest":
        result = ingest(a, args.points, args.seed, args.profile)
    else:
        result = search(a, args.runs, args.reps, args.warmup, args.seed, args.profile)
    emit_result({"side": a.side, "version": a.version, "python": sys.version.split()[0], **result})


if __name__ == "__main__":
    main()
