"""Worker of bench/registry.py: seeds one side's SQL registry store, times its searches, prints JSON.

Runs under either interpreter and uses the store classes directly:

- ``mltrail``: ``mltrail.store.registry.sql.store.SqlRegistryStore``
- ``mlflow``:  ``mlflow.store.model_registry.sqlalchemy_store.SqlAlchemyStore``

Both sides get the same models, versions, tags, aliases and stages, created through the store API in the same
order (seeding is timed apart and not compared).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from _common import Profiler, emit_result, p50, repeat, stopwatch

PROMPT = "tags.`mlflow.prompt.is_prompt` != 'true'"


def open_side(side: str, workdir: str) -> tuple[str, Any, Any, Any]:
    """(version, store, RegisteredModelTag class, ModelVersionTag class) on a fresh SQLite file."""
    db_path = os.path.join(workdir, f"{side}-registry.db")
    for stale in (db_path, db_path + "-wal", db_path + "-shm"):
        if os.path.exists(stale):
            os.remove(stale)
    uri = f"sqlite:///{db_path}"
    if side == "mltrail":
        from importlib.metadata import version

        from mltrail.entities import ModelVersionTag, RegisteredModelTag
        from mltrail.store.registry.sql.store import SqlRegistryStore

        return version("mltrail"), SqlRegistryStore(uri), RegisteredModelTag, ModelVersionTag
    import logging

    import mlflow
    from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return mlflow.__version__, SqlAlchemyStore(uri), RegisteredModelTag, ModelVersionTag


def seed(store: Any, rm_tag: Any, mv_tag: Any, models: int, versions: int) -> None:
    """``models`` models (2 tags each) with ``versions`` versions (1 tag each), an alias and two stages."""
    for m in range(models):
        name = f"model-{m:04d}"
        store.create_registered_model(name, [rm_tag("team", f"t{m % 10}"), rm_tag("kind", "clf")], f"model {m}")
        for v in range(versions):
            store.create_model_version(name, f"s3://bucket/{name}/{v}", None, [mv_tag("k", f"v{v % 5}")])
        store.set_registered_model_alias(name, "champion", str(versions))
        store.transition_model_version_stage(name, str(versions - 1), "Production", False)


def queries(models: int) -> dict[str, tuple[str, str | None, int, list[str] | None]]:
    """label -> (kind, filter, max_results, order_by)."""
    return {
        "models: page of 100, prompt filter": ("rm", PROMPT, 100, None),
        "models: name LIKE + tag, by last update": (
            "rm",
            f"name LIKE 'model-00%' AND tags.team = 't3' AND {PROMPT}",
            100,
            ["last_updated_timestamp DESC"],
        ),
        "versions: one model (20)": ("mv", f"name = 'model-{models // 2:04d}'", 10000, None),
        "versions: page of 1000, newest first": ("mv", None, 1000, None),
        "versions: tag filter, page of 100": ("mv", "tags.k = 'v3'", 100, ["name ASC", "version_number DESC"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", required=True, choices=["mltrail", "mlflow"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--profile")
    args = parser.parse_args(argv)

    version, store, rm_tag, mv_tag = open_side(args.side, args.workdir)
    with stopwatch() as t:
        seed(store, rm_tag, mv_tag, args.models, args.versions)
    out: dict[str, Any] = {"seed_seconds": t["seconds"], "models": args.models, "versions": args.versions}
    prof = Profiler(args.profile)
    results: dict[str, Any] = {}
    for label, (kind, filter_string, max_results, order_by) in queries(args.models).items():
        method = store.search_registered_models if kind == "rm" else store.search_model_versions

        def call(
            fs: str | None = filter_string, mr: int = max_results, ob: list[str] | None = order_by, search: Any = method
        ) -> Any:
            with prof.section():
                return search(filter_string=fs, max_results=mr, order_by=ob, page_token=None)

        samples = repeat(call, args.reps, args.warmup)
        page = call()
        keys = [(x.name, str(getattr(x, "version", ""))) for x in page]
        results[label] = {"samples": samples, "p50": p50(samples), "count": len(page), "keys": keys}
    prof.dump()
    out["queries"] = results
    emit_result({"side": args.side, "version": version, "python": sys.version.split()[0], **out})


if __name__ == "__main__":
    main()
