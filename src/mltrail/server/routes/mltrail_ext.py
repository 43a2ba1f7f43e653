"""mltrail's own endpoints beyond MLflow's API: moving runs, garbage collection, downsampled metric histories."""

from __future__ import annotations

from typing import Any

from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable
from mltrail.server.protocol import Field
from mltrail.store.tracking.downsample import DEFAULT_MAX_POINTS

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


@table.route(
    "/metrics/get-history-downsampled",
    "GET",
    Field("run_ids", "strings", required=True),
    Field("metric_key", required=True),
    Field("max_points", "int"),
    Field("start_step", "int"),
    Field("end_step", "int"),
    prefixes=_PREFIXES,
)
def get_metric_history_downsampled(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Peak-preserving (M4) downsampled points of one metric for up to 100 runs: the charts' endpoint."""
    points = ctx.tracking_store.get_metric_history_downsampled(
        p["run_ids"],
        p["metric_key"],
        max_points=p.get("max_points", DEFAULT_MAX_POINTS),
        start_step=p.get("start_step"),
        end_step=p.get("end_step"),
    )
    return {"metrics": [m.to_dict() for m in points]} if points else {}


def _fields(entity: Any) -> dict[str, Any]:
    return {k: getattr(entity, k) for k in entity.__slots__ if getattr(entity, k) is not None}
