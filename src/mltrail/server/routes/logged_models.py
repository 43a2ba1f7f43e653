"""Logged model endpoints (MLflow 3.x, §1.2)."""

from __future__ import annotations

from typing import Any

from mltrail.entities import LoggedModelStatus, Param, RunTag
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable, key_value_items
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import Field
from mltrail.store.tracking.base import LoggedModelOrderBy

table = EndpointTable()

_KEY_VALUE = (Field("key", required=True), Field("value"))
_MODEL_ID = Field("model_id", required=True)


@table.route(
    "/logged-models",
    "POST",
    Field("experiment_id", required=True),
    Field("name"),
    Field("model_type"),
    Field("source_run_id"),
    Field("params", "objects", item_fields=_KEY_VALUE),
    Field("tags", "objects", item_fields=_KEY_VALUE),
)
def create_logged_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Create a logged model."""
    model = ctx.tracking_store.create_logged_model(
        experiment_id=p["experiment_id"],
        name=p.get("name") or None,
        source_run_id=p.get("source_run_id") or None,
        tags=key_value_items(p.get("tags"), RunTag),
        params=key_value_items(p.get("params"), Param),
        model_type=p.get("model_type") or None,
    )
    return {"model": model.to_dict()}


@table.route(
    "/logged-models/search",
    "POST",
    Field("experiment_ids", "strings", required=True),
    Field("filter"),
    Field("datasets", "objects"),
    Field("max_results", "int"),
    Field(
        "order_by",
        "objects",
        item_fields=(
            Field("field_name", required=True),
            Field("ascending", "bool"),
            Field("dataset_name"),
            Field("dataset_digest"),
        ),
    ),
    Field("page_token"),
)
def search_logged_models(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Search logged models."""
    order_by = [
        LoggedModelOrderBy(o["field_name"], o.get("ascending", True), o.get("dataset_name"), o.get("dataset_digest"))
        for o in p.get("order_by") or []
    ]
    page = ctx.tracking_store.search_logged_models(
        experiment_ids=p["experiment_ids"],
        filter_string=p.get("filter"),
        datasets=p.get("datasets"),
        max_results=p.get("max_results"),
        order_by=order_by,
        page_token=p.get("page_token"),
    )
    out: dict[str, Any] = {}
    if page:
        out["models"] = [m.to_dict() for m in page]
    if page.token:
        out["next_page_token"] = page.token
    return out


@table.route("/logged-models/{model_id}", "GET", _MODEL_ID, Field("allow_deleted", "bool"))
def get_logged_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Get a logged model."""
    model = ctx.tracking_store.get_logged_model(p["model_id"], allow_deleted=p.get("allow_deleted", False))
    return {"model": model.to_dict()}


@table.route("/logged-models/{model_id}", "PATCH", _MODEL_ID, Field("status", "enum", required=True))
def finalize_logged_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Set a logged model's status (finalize)."""
    status = LoggedModelStatus.parse(p["status"])
    return {"model": ctx.tracking_store.finalize_logged_model(p["model_id"], status).to_dict()}  # type: ignore[arg-type]


@table.route("/logged-models/{model_id}", "DELETE", _MODEL_ID)
def delete_logged_model(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Soft-delete a logged model."""
    ctx.tracking_store.delete_logged_model(p["model_id"])


@table.route("/logged-models/{model_id}/tags", "PATCH", _MODEL_ID, Field("tags", "objects", item_fields=_KEY_VALUE))
def set_logged_model_tags(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Set tags on a logged model."""
    ctx.tracking_store.set_logged_model_tags(p["model_id"], key_value_items(p.get("tags"), RunTag))


@table.route("/logged-models/{model_id}/tags/{tag_key:path}", "DELETE", _MODEL_ID, Field("tag_key", required=True))
def delete_logged_model_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a tag from a logged model."""
    ctx.tracking_store.delete_logged_model_tag(p["model_id"], p["tag_key"])


@table.route("/logged-models/{model_id}/params", "POST", _MODEL_ID, Field("params", "objects", item_fields=_KEY_VALUE))
def log_logged_model_params(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Add params to a logged model."""
    ctx.tracking_store.log_logged_model_params(p["model_id"], key_value_items(p.get("params"), Param))


@table.route(
    "/logged-models/{model_id}/artifacts/directories",
    "GET",
    _MODEL_ID,
    Field("artifact_directory_path"),
    Field("page_token"),
)
def list_logged_model_artifacts(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """List a logged model's artifacts under a directory."""
    path = artifact_request_path(p.get("artifact_directory_path"))
    model = ctx.tracking_store.get_logged_model(p["model_id"])
    files = ctx.list_artifacts_under(model.artifact_location, path)
    out: dict[str, Any] = {"root_uri": model.artifact_location}
    if files:
        out["files"] = files
    return out
