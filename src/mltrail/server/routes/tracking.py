"""Tracking endpoints: experiments, runs, metrics, params, tags, datasets and artifacts listing (§1.2)."""

from __future__ import annotations

import json
import math
from typing import Any

from mltrail import errors
from mltrail.entities import (
    DatasetInput,
    ExperimentTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable, key_value_items, page_response
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import Field, invalid_request, missing_parameter
from mltrail.store.tracking.validation import validate_artifact_location

table = EndpointTable()

_KEY_VALUE = (Field("key", required=True), Field("value"))
_TAGS = Field("tags", "objects", item_fields=_KEY_VALUE)
_RUN_ID = Field("run_id", required=True)
_EXPERIMENT_ID = Field("experiment_id", required=True)
MAX_EXPERIMENT_IDS_PER_DATASET_SEARCH = 20
MAX_RUN_IDS_PER_BULK_HISTORY = 100
MAX_RESULTS_PER_INTERVAL_RUN = 2500
MAX_BULK_HISTORY_RESULTS = 25000


# ------------------------------------------------------------------------------------------ experiments
@table.route(
    "/experiments/create",
    "POST",
    Field("name", required=True),
    Field("artifact_location"),
    _TAGS,
)
def create_experiment(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Create an experiment; its artifact location must pass the server's URI policy."""
    location = p.get("artifact_location") or None
    if location is not None:
        validate_artifact_location(location)  # MLflow's runs:/ message first
        ctx.uri_policy.check(location)
    experiment_id = ctx.tracking_store.create_experiment(
        p["name"], location, key_value_items(p.get("tags"), ExperimentTag)
    )
    return {"experiment_id": experiment_id}


@table.route("/experiments/get", "GET", _EXPERIMENT_ID)
def get_experiment(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Get an experiment by id."""
    return {"experiment": ctx.tracking_store.get_experiment(p["experiment_id"]).to_dict()}


@table.route("/experiments/get-by-name", "GET", Field("experiment_name", required=True))
def get_experiment_by_name(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Get an experiment by name."""
    experiment = ctx.tracking_store.get_experiment_by_name(p["experiment_name"])
    if experiment is None:
        raise errors.not_found(f"Could not find experiment with name '{p['experiment_name']}'")
    return {"experiment": experiment.to_dict()}


@table.route(
    "/experiments/search",
    ("POST", "GET"),
    Field("max_results", "int"),
    Field("page_token"),
    Field("filter"),
    Field("order_by", "strings"),
    Field("view_type", "enum"),
)
def search_experiments(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Search experiments."""
    page = ctx.tracking_store.search_experiments(
        view_type=ViewType.parse(p.get("view_type", "ACTIVE_ONLY")),  # type: ignore[arg-type]
        max_results=p.get("max_results", 1000),
        filter_string=p.get("filter"),
        order_by=p.get("order_by"),
        page_token=p.get("page_token"),
    )
    return page_response([e.to_dict() for e in page], "experiments", page.token)


@table.route("/experiments/delete", "POST", _EXPERIMENT_ID)
def delete_experiment(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Soft-delete an experiment."""
    ctx.tracking_store.delete_experiment(p["experiment_id"])


@table.route("/experiments/restore", "POST", _EXPERIMENT_ID)
def restore_experiment(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Restore a soft-deleted experiment."""
    ctx.tracking_store.restore_experiment(p["experiment_id"])


@table.route("/experiments/update", "POST", _EXPERIMENT_ID, Field("new_name", required=True))
def update_experiment(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Rename an experiment."""
    ctx.tracking_store.rename_experiment(p["experiment_id"], p["new_name"])


@table.route(
    "/experiments/set-experiment-tag",
    "POST",
    _EXPERIMENT_ID,
    Field("key", required=True),
    Field("value"),
)
def set_experiment_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Set a tag on an experiment (a missing or empty value is "", as in MLflow)."""
    ctx.tracking_store.set_experiment_tag(p["experiment_id"], ExperimentTag(p["key"], p.get("value", "")))


@table.route("/experiments/delete-experiment-tag", "POST", _EXPERIMENT_ID, Field("key", required=True))
def delete_experiment_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a tag from an experiment."""
    ctx.tracking_store.delete_experiment_tag(p["experiment_id"], p["key"])


@table.route("/experiments/search-datasets", "POST", Field("experiment_ids", "strings"))
def search_datasets(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Summaries of the datasets used by runs of some experiments."""
    experiment_ids = p.get("experiment_ids") or []
    if not experiment_ids:
        raise errors.invalid("SearchDatasets request must specify at least one experiment_id.")
    if len(experiment_ids) > MAX_EXPERIMENT_IDS_PER_DATASET_SEARCH:
        raise errors.invalid(
            f"SearchDatasets request cannot specify more than {MAX_EXPERIMENT_IDS_PER_DATASET_SEARCH}"
            f" experiment_ids. Received {len(experiment_ids)} experiment_ids."
        )
    summaries = ctx.tracking_store.search_datasets(experiment_ids)
    return page_response([s.to_dict() for s in summaries], "dataset_summaries", None)


# ------------------------------------------------------------------------------------------------- runs
@table.route(
    "/runs/create",
    "POST",
    Field("experiment_id"),
    Field("user_id"),
    Field("run_name"),
    Field("start_time", "int"),
    _TAGS,
)
def create_run(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Create a run."""
    run = ctx.tracking_store.create_run(
        experiment_id=p.get("experiment_id") or "0",
        user_id=p.get("user_id"),
        start_time=p.get("start_time"),
        tags=key_value_items(p.get("tags"), RunTag),
        run_name=p.get("run_name") or None,
    )
    return {"run": run.to_dict()}


@table.route("/runs/get", "GET", _RUN_ID)
def get_run(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Get a run with its data."""
    return {"run": ctx.tracking_store.get_run(p["run_id"]).to_dict()}


@table.route(
    "/runs/update",
    "POST",
    _RUN_ID,
    Field("status", "enum"),
    Field("end_time", "int"),
    Field("run_name"),
)
def update_run(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Update a run's status, end time or name."""
    status = RunStatus.parse(p["status"]) if "status" in p else None
    info = ctx.tracking_store.update_run_info(
        p["run_id"],
        run_status=status,
        end_time=p.get("end_time"),
        run_name=p.get("run_name") or None,  # type: ignore[arg-type]
    )
    return {"run_info": info.to_dict()}


@table.route("/runs/delete", "POST", _RUN_ID)
def delete_run(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Soft-delete a run."""
    ctx.tracking_store.delete_run(p["run_id"])


@table.route("/runs/restore", "POST", _RUN_ID)
def restore_run(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Restore a soft-deleted run."""
    ctx.tracking_store.restore_run(p["run_id"])


@table.route(
    "/runs/search",
    ("POST", "GET"),
    Field("experiment_ids", "strings"),
    Field("filter"),
    Field("run_view_type", "enum"),
    Field("max_results", "int"),
    Field("order_by", "strings"),
    Field("page_token"),
)
def search_runs(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Search runs with a filter, order and paging."""
    page = ctx.tracking_store.search_runs_wire(
        experiment_ids=p.get("experiment_ids") or [],
        filter_string=p.get("filter"),
        run_view_type=ViewType.parse(p.get("run_view_type", "ACTIVE_ONLY")),  # type: ignore[arg-type]
        max_results=p.get("max_results", 1000),
        order_by=p.get("order_by"),
        page_token=p.get("page_token"),
    )
    return page_response(list(page), "runs", page.token)


_METRIC_FIELDS = (
    Field("key", required=True),
    Field("value", "float", required=True),
    Field("timestamp", "int", required=True),
    Field("step", "int"),
    Field("model_id"),
    Field("dataset_name"),
    Field("dataset_digest"),
)


def _metric(m: dict[str, Any], run_id: str | None = None) -> Metric:
    return Metric(
        key=m["key"],
        value=m["value"],
        timestamp=m["timestamp"],
        step=m.get("step", 0),
        dataset_name=m.get("dataset_name") or None,
        dataset_digest=m.get("dataset_digest") or None,
        model_id=m.get("model_id") or None,
        run_id=run_id,
    )


@table.route("/runs/log-metric", "POST", _RUN_ID, *_METRIC_FIELDS)
def log_metric(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Log one metric point."""
    ctx.tracking_store.log_metric(p["run_id"], _metric(p, p["run_id"]))


@table.route("/runs/log-parameter", "POST", _RUN_ID, Field("key", required=True), Field("value"))
def log_param(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Log one param."""
    ctx.tracking_store.log_param(p["run_id"], Param(p["key"], p.get("value", "")))


@table.route("/runs/set-tag", "POST", _RUN_ID, Field("key", required=True), Field("value"))
def set_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Set a tag on a run."""
    ctx.tracking_store.set_tag(p["run_id"], RunTag(p["key"], p.get("value", "")))


@table.route("/runs/delete-tag", "POST", _RUN_ID, Field("key", required=True))
def delete_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a tag from a run."""
    ctx.tracking_store.delete_tag(p["run_id"], p["key"])


@table.route(
    "/runs/log-batch",
    "POST",
    _RUN_ID,
    Field("metrics", "objects", item_fields=_METRIC_FIELDS),
    Field("params", "objects", item_fields=_KEY_VALUE),
    _TAGS,
)
def log_batch(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Log metrics, params and tags in one call."""
    run_id = p["run_id"]
    ctx.tracking_store.log_batch(
        run_id,
        metrics=[_metric(m, run_id) for m in p.get("metrics") or []],
        params=key_value_items(p.get("params"), Param),
        tags=key_value_items(p.get("tags"), RunTag),
    )


@table.route(
    "/runs/log-inputs",
    "POST",
    _RUN_ID,
    Field("datasets", "objects"),
    Field("models", "objects", item_fields=(Field("model_id", required=True),)),
)
def log_inputs(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Record the datasets and models a run used."""
    try:
        datasets = [DatasetInput.from_dict(d) for d in p.get("datasets") or []]
    except (KeyError, TypeError) as exc:
        raise errors.invalid(f"Missing value for required parameter 'datasets.{exc}'.") from None
    models = [LoggedModelInput(m["model_id"]) for m in p.get("models") or []]
    ctx.tracking_store.log_inputs(p["run_id"], datasets=datasets, models=models)


@table.route(
    "/runs/outputs",
    "POST",
    _RUN_ID,
    Field("models", "objects", required=True, item_fields=(Field("model_id", required=True), Field("step", "int"))),
)
def log_outputs(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Record the logged models a run produced."""
    models = [LoggedModelOutput(m["model_id"], m.get("step", 0)) for m in p["models"]]
    ctx.tracking_store.log_outputs(p["run_id"], models)


@table.route("/runs/log-model", "POST", _RUN_ID, Field("model_json", required=True))
def log_model(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Legacy: append a model's description to the run's ``mlflow.log-model.history`` tag."""
    try:
        model = json.loads(p["model_json"])
    except (ValueError, RecursionError):
        raise errors.invalid("Malformed model info. \n model_json is not valid JSON") from None
    if not isinstance(model, dict):
        raise errors.invalid("Malformed model info. \n model_json is not a JSON object")
    missing = [k for k in ("artifact_path", "flavors", "utc_time_created", "run_id") if k not in model]
    if missing:
        raise errors.invalid(f"Model json is missing mandatory fields: {missing}")
    store = ctx.tracking_store
    run = store.get_run(p["run_id"])
    try:
        history = json.loads(run.data.tags.get("mlflow.log-model.history", "[]"))
    except ValueError:  # the tag was set to something else by hand: start the history afresh
        history = []
    flavors = model["flavors"]
    if isinstance(flavors, dict) and isinstance(flavors.get("python_function"), dict):
        flavors["python_function"].pop("config", None)
    history = [*history, model] if isinstance(history, list) else [model]
    store.set_tag(p["run_id"], RunTag("mlflow.log-model.history", json.dumps(history)))


# -------------------------------------------------------------------------------------- metric history
@table.route(
    "/metrics/get-history",
    "GET",
    _RUN_ID,
    Field("metric_key", required=True),
    Field("page_token"),
    Field("max_results", "int"),
)
def get_metric_history(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Every point of a metric, paged."""
    max_results = p.get("max_results")
    if max_results is not None and max_results <= 0:
        raise errors.invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer."
        )
    page = ctx.tracking_store.get_metric_history(
        p["run_id"], p["metric_key"], max_results=max_results, page_token=p.get("page_token")
    )
    return page_response([_history_point(m) for m in page], "metrics", page.token)


def _history_point(m: Metric) -> dict[str, Any]:
    """A history point's wire form without ``run_id``: ``to_dict`` minus its generic work, for large pages."""
    value = m.value
    if m.dataset_name or m.dataset_digest or m.model_id or not math.isfinite(value):
        return _without_run_id(m.to_dict())
    return {"key": m.key, "value": value, "timestamp": m.timestamp, "step": m.step}


def _without_run_id(metric: dict[str, Any]) -> dict[str, Any]:
    metric.pop("run_id", None)
    return metric


@table.route(
    "/metrics/get-history-bulk-interval",
    "GET",
    Field("run_ids", "strings", required=True),
    Field("metric_key"),  # required: checked after the run ids, in MLflow's order
    Field("start_step", "int"),
    Field("end_step", "int"),
    Field("max_results", "int"),
)
def get_metric_history_bulk_interval(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Evenly sampled points of one metric for up to 100 runs.

    MLflow's checks in MLflow's order and words: the run ids (at most 100), the metric key, ``max_results``
    (1 to 2500), then the step range. Each run's points are sampled as MLflow 3.17's SQL store samples them
    (:mod:`mltrail.store.tracking.sql._interval`).
    """
    run_ids = p["run_ids"]
    if len(run_ids) > MAX_RUN_IDS_PER_BULK_HISTORY:
        raise invalid_request(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUN_IDS_PER_BULK_HISTORY} run_ids."
            f" Received {len(run_ids)} run_ids."
        )
    if not p.get("metric_key"):
        raise missing_parameter("metric_key")
    max_results = p.get("max_results", MAX_RESULTS_PER_INTERVAL_RUN)
    if not 1 <= max_results <= MAX_RESULTS_PER_INTERVAL_RUN:
        raise invalid_request(f"max_results must be between 1 and {MAX_RESULTS_PER_INTERVAL_RUN}.")
    start, end = p.get("start_step"), p.get("end_step")
    if (start is None) != (end is None):
        raise errors.invalid("If either start step or end step are specified, both must be specified.")
    if start is not None and end is not None and start > end:
        raise errors.invalid(f"end_step must be greater than start_step. Found start_step={start} and end_step={end}.")
    points = ctx.tracking_store.get_metric_history_bulk_interval(
        run_ids, p["metric_key"], max_results=max_results, start_step=start, end_step=end
    )
    return page_response([m.to_dict() for m in points], "metrics", None)


@table.route(
    "/metrics/get-history-bulk",
    "GET",
    Field("run_id", "strings"),  # required, as are the others: checked below in MLflow's order and words
    Field("metric_key"),
    Field("max_results", "int"),
    prefixes=("/ajax-api/2.0/mlflow",),
)
def get_metric_history_bulk(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Full history of one metric for up to 100 runs (the UI's endpoint)."""
    run_ids = p.get("run_id") or []
    if not run_ids:
        raise errors.invalid("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(run_ids) > MAX_RUN_IDS_PER_BULK_HISTORY:
        raise errors.invalid(
            f"GetMetricHistoryBulk request cannot specify more than {MAX_RUN_IDS_PER_BULK_HISTORY} run_ids."
            f" Received {len(run_ids)} run_ids."
        )
    if "metric_key" not in p:
        raise errors.invalid("GetMetricHistoryBulk request must specify a metric_key.")
    max_results = min(p.get("max_results", MAX_BULK_HISTORY_RESULTS), MAX_BULK_HISTORY_RESULTS)
    points: list[dict[str, Any]] = []
    for run_id in sorted(run_ids):
        history = ctx.tracking_store.get_metric_history(run_id, p["metric_key"])
        ordered = sorted(history, key=lambda m: (m.timestamp, m.step, m.value))
        points.extend({**m.to_dict(), "run_id": run_id} for m in ordered)
    return {"metrics": points[:max_results]}


# ------------------------------------------------------------------------------------- artifacts listing
@table.route("/artifacts/list", "GET", _RUN_ID, Field("path"), Field("page_token"))
def list_artifacts(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """List a run's artifacts under a path."""
    path = artifact_request_path(p.get("path"))
    run = ctx.tracking_store.get_run(p["run_id"])
    files = ctx.list_artifacts_under(run.info.artifact_uri, path)
    out: dict[str, Any] = {"root_uri": run.info.artifact_uri}
    if files:
        out["files"] = files
    return out
