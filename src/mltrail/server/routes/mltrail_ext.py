"""mltrail's own endpoints beyond MLflow's API: moving runs and garbage collection of deleted entities."""

from __future__ import annotations

from typing import Any

from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable
from mltrail.server.protocol import Field

table = EndpointTable()
_PREFIXES = ("/api/2.0/mltrail", "/ajax-api/2.0/mltrail")


@table.route(
    "/runs/move",
    "POST",
    Field("run_ids", "strings", required=True),
    Field("experiment_id", required=True),
    prefixes=_PREFIXES,
)
def move_runs(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Move runs (with their child runs) to another experiment."""
    ctx.tracking_store.move_runs(p["run_ids"], p["experiment_id"])


@table.route(
    "/runs/list-deleted",
    "GET",
    Field("older_than_ms", "int"),
    Field("experiment_ids", "strings"),
    prefixes=_PREFIXES,
)
def list_deleted_runs(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Soft-deleted runs, for garbage collection."""
    runs = ctx.tracking_store.list_deleted_runs(p.get("older_than_ms"), p.get("experiment_ids") or None)
    return {"runs": [_fields(r) for r in runs]} if runs else {}


@table.route("/experiments/list-deleted", "GET", Field("older_than_ms", "int"), prefixes=_PREFIXES)
def list_deleted_experiments(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Soft-deleted experiments, for garbage collection."""
    experiments = ctx.tracking_store.list_deleted_experiments(p.get("older_than_ms"))
    return {"experiments": [_fields(e) for e in experiments]} if experiments else {}


@table.route("/runs/purge", "POST", Field("run_id", required=True), prefixes=_PREFIXES)
def purge_run(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Permanently delete a soft-deleted run's rows (its artifacts are deleted by the caller first)."""
    ctx.tracking_store.purge_run(p["run_id"])


@table.route("/experiments/purge", "POST", Field("experiment_id", required=True), prefixes=_PREFIXES)
def purge_experiment(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Permanently delete a soft-deleted experiment that has no runs left."""
    ctx.tracking_store.purge_experiment(p["experiment_id"])


def _fields(entity: Any) -> dict[str, Any]:
    return {k: getattr(entity, k) for k in entity.__slots__ if getattr(entity, k) is not None}
