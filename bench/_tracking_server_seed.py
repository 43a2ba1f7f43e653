"""Worker of bench/tracking_server.py: seed the search runs straight into one side's database, print JSON.

Seeding 10,000 runs through the REST API would take MLflow's server many minutes on two cores, so the search
scenario seeds through each package's own SQL store class (the same data as bench/tracking_store.py: runs
``run-00000`` ... with params p0..p9 and metrics m0..m9 from ``random.Random(seed)``), into the database the
server under test uses. Runs under either interpreter.
"""

from __future__ import annotations

import argparse
import logging
import sys

from _common import emit_result, stopwatch
from _tracking_store_worker import Adapter, seed_runs


def open_store(side: str, uri: str, artifacts: str) -> Adapter:
    """``side``'s SQL tracking store on ``uri``."""
    if side == "mltrail":
        from importlib.metadata import version

        from mltrail.entities import Metric, Param, ViewType
        from mltrail.store.tracking.sql.store import SqlTrackingStore

        return Adapter(
            side, version("mltrail"), SqlTrackingStore(uri, artifacts), Metric, Param, ViewType.ACTIVE_ONLY, None
        )
    import mlflow
    from mlflow.entities import Metric, Param, ViewType
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return Adapter(side, mlflow.__version__, SqlAlchemyStore(uri, artifacts), Metric, Param, ViewType.ACTIVE_ONLY, "")


def main(argv: list[str] | None = None) -> None:
    """Seed and report ``{"experiment_id", "seconds", "version"}``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", required=True, choices=["mltrail", "mlflow"])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    adapter = open_store(args.side, args.uri, args.artifacts)
    with stopwatch() as t:
        experiment_id = seed_runs(adapter, args.runs, args.seed)
    emit_result(
        {
            "experiment_id": str(experiment_id),
            "seconds": t["seconds"],
            "version": adapter.version,
            "python": sys.version.split()[0],
        }
    )


if __name__ == "__main__":
    main()
