"""Model registry endpoints (§1.3), ``/model-versions/get-artifact``, and mltrail's webhook endpoints.

Every MLflow endpoint is mounted under ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``; webhooks (beyond MLflow's
open-source server) under ``/api/2.0/mltrail/webhooks`` and ``/ajax-api/2.0/mltrail/webhooks``. Model version
sources are checked here as MLflow's server checks them (:func:`mltrail.store.registry.validation.validate_source`).
"""

from __future__ import annotations

import posixpath
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.entities import ModelVersionTag, RegisteredModelTag
from mltrail.errors import RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.search.targets import IS_PROMPT_TAG_KEY
from mltrail.server.context import ServerContext
from mltrail.server.endpoints import EndpointTable, page_response
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import Field, dumps
from mltrail.store.registry.validation import validate_source
from mltrail.store.uris import get_uri_scheme

table = EndpointTable()

_NAME = Field("name", required=True)
_VERSION = Field("version", required=True)
_KEY_VALUE = (Field("key", required=True), Field("value"))
_TAGS = Field("tags", "objects", item_fields=_KEY_VALUE)
_EXT = ("/api/2.0/mltrail", "/ajax-api/2.0/mltrail")


def _version(p: dict[str, Any]) -> str:
    return str(p["version"])


# ------------------------------------------------------------------------------------- registered models
@table.route("/registered-models/create", "POST", _NAME, _TAGS, Field("description"), Field("deployment_job_id"))
def create_registered_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Create a registered model."""
    model = ctx.registry_store.create_registered_model(
        p["name"],
        [RegisteredModelTag(t["key"], t.get("value", "")) for t in p.get("tags") or []],
        p.get("description") or None,
        p.get("deployment_job_id") or None,
    )
    return {"registered_model": model.to_dict()}


@table.route("/registered-models/get", "GET", _NAME)
def get_registered_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Get a registered model."""
    return {"registered_model": ctx.registry_store.get_registered_model(p["name"]).to_dict()}


@table.route("/registered-models/rename", "POST", _NAME, Field("new_name", required=True))
def rename_registered_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Rename a registered model."""
    return {"registered_model": ctx.registry_store.rename_registered_model(p["name"], p["new_name"]).to_dict()}


@table.route("/registered-models/update", "PATCH", _NAME, Field("description"), Field("deployment_job_id"))
def update_registered_model(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Update a registered model's description."""
    model = ctx.registry_store.update_registered_model(p["name"], p.get("description"), p.get("deployment_job_id"))
    return {"registered_model": model.to_dict()}


@table.route("/registered-models/delete", "DELETE", _NAME)
def delete_registered_model(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a registered model and its versions."""
    ctx.registry_store.delete_registered_model(p["name"])


@table.route(
    "/registered-models/search",
    "GET",
    Field("filter"),
    Field("max_results", "int"),
    Field("order_by", "strings"),
    Field("page_token"),
)
def search_registered_models(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Search registered models."""
    page = ctx.registry_store.search_registered_models(
        p.get("filter") or None, p.get("max_results", 100), p.get("order_by"), p.get("page_token") or None
    )
    return page_response([m.to_dict() for m in page], "registered_models", page.token)


@table.route("/registered-models/get-latest-versions", ("POST", "GET"), _NAME, Field("stages", "strings"))
def get_latest_versions(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """The newest version in each stage."""
    versions = ctx.registry_store.get_latest_versions(p["name"], p.get("stages") or None)
    return page_response([v.to_dict() for v in versions], "model_versions", None)


@table.route("/registered-models/set-tag", "POST", _NAME, Field("key", required=True), Field("value"))
def set_registered_model_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Set a tag on a registered model (a missing or empty value is "", as in MLflow)."""
    ctx.registry_store.set_registered_model_tag(p["name"], RegisteredModelTag(p["key"], p.get("value", "")))


@table.route("/registered-models/delete-tag", "DELETE", _NAME, Field("key", required=True))
def delete_registered_model_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a tag from a registered model."""
    ctx.registry_store.delete_registered_model_tag(p["name"], p["key"])


@table.route("/registered-models/alias", "POST", _NAME, Field("alias", required=True), _VERSION)
def set_registered_model_alias(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Point an alias at a version."""
    ctx.registry_store.set_registered_model_alias(p["name"], p["alias"], _version(p))


@table.route("/registered-models/alias", "DELETE", _NAME, Field("alias", required=True))
def delete_registered_model_alias(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete an alias."""
    ctx.registry_store.delete_registered_model_alias(p["name"], p["alias"])


@table.route("/registered-models/alias", "GET", _NAME, Field("alias", required=True))
def get_model_version_by_alias(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """The version an alias names."""
    return {"model_version": ctx.registry_store.get_model_version_by_alias(p["name"], p["alias"]).to_dict()}


# ---------------------------------------------------------------------------------------- model versions
def _run_artifact_uri(ctx: ServerContext, run_id: str) -> str | None:
    try:
        return ctx.tracking_store.get_run(run_id).info.artifact_uri
    except MltrailError as error:
        if error.error_code == RESOURCE_DOES_NOT_EXIST:
            return None
        raise


def _model_location(ctx: ServerContext, model_id: str) -> str | None:
    try:
        return ctx.tracking_store.get_logged_model(model_id).artifact_location
    except MltrailError as error:
        if error.error_code == RESOURCE_DOES_NOT_EXIST:
            return None
        raise


#: Source schemes the registry resolves itself (to a run's or a logged model's location), never fetched as given.
_REGISTRY_RESOLVED_SCHEMES = frozenset({"runs", "models"})
#: The sources MLflow's clients send for prompt versions (mlflow/prompt/constants.py).
PROMPT_SOURCE_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})


@table.route(
    "/model-versions/create",
    "POST",
    _NAME,
    Field("source", required=True),
    Field("run_id"),
    _TAGS,
    Field("run_link"),
    Field("description"),
    Field("model_id"),
)
def create_model_version(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Create a model version."""
    tags = [ModelVersionTag(t["key"], t.get("value", "")) for t in p.get("tags") or []]
    # MLflow's rule: the last value of the tag decides, and a prompt's source is only ever a placeholder (a
    # prompt tag used to skip source checks altogether: CVE-2026-2614).
    is_prompt = {t.key: t.value for t in tags}.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"
    if is_prompt:
        if p["source"] not in PROMPT_SOURCE_PLACEHOLDERS:
            raise errors.invalid(
                f"Invalid prompt source: '{p['source']}'. Prompt sources must use an MLflow placeholder."
            )
    else:
        validate_source(
            p["source"],
            p.get("run_id") or None,
            p.get("model_id") or None,
            lambda run_id: _run_artifact_uri(ctx, run_id),
            lambda model_id: _model_location(ctx, model_id),
        )
        if get_uri_scheme(p["source"]) not in _REGISTRY_RESOLVED_SCHEMES:
            ctx.uri_policy.check(p["source"], "model version source")
    version = ctx.registry_store.create_model_version(
        p["name"],
        p["source"],
        run_id=p.get("run_id") or None,
        tags=tags,
        run_link=p.get("run_link") or None,
        description=p.get("description") or None,
        model_id=p.get("model_id") or None,
    )
    return {"model_version": version.to_dict()}


@table.route("/model-versions/get", "GET", _NAME, _VERSION)
def get_model_version(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Get a model version."""
    return {"model_version": ctx.registry_store.get_model_version(p["name"], _version(p)).to_dict()}


@table.route("/model-versions/update", "PATCH", _NAME, _VERSION, Field("description"))
def update_model_version(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Update a model version's description."""
    version = ctx.registry_store.update_model_version(p["name"], _version(p), p.get("description"))
    return {"model_version": version.to_dict()}


@table.route(
    "/model-versions/transition-stage",
    "POST",
    _NAME,
    _VERSION,
    Field("stage", required=True),
    Field("archive_existing_versions", "bool"),
)
def transition_model_version_stage(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Move a model version to another stage."""
    version = ctx.registry_store.transition_model_version_stage(
        p["name"], _version(p), p["stage"], bool(p.get("archive_existing_versions", False))
    )
    return {"model_version": version.to_dict()}


@table.route("/model-versions/delete", "DELETE", _NAME, _VERSION)
def delete_model_version(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a model version."""
    ctx.registry_store.delete_model_version(p["name"], _version(p))


@table.route(
    "/model-versions/search",
    "GET",
    Field("filter"),
    Field("max_results", "int"),
    Field("order_by", "strings"),
    Field("page_token"),
)
def search_model_versions(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Search model versions."""
    page = ctx.registry_store.search_model_versions(
        p.get("filter") or None, p.get("max_results", 10000), p.get("order_by"), p.get("page_token") or None
    )
    return page_response([v.to_dict() for v in page], "model_versions", page.token)


@table.route("/model-versions/get-download-uri", "GET", _NAME, _VERSION)
def get_model_version_download_uri(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Where a model version's artifacts are."""
    return {"artifact_uri": ctx.registry_store.get_model_version_download_uri(p["name"], _version(p))}


@table.route("/model-versions/set-tag", "POST", _NAME, _VERSION, Field("key", required=True), Field("value"))
def set_model_version_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Set a tag on a model version (a missing or empty value is "", as in MLflow)."""
    tag = ModelVersionTag(p["key"], p.get("value", ""))
    ctx.registry_store.set_model_version_tag(p["name"], _version(p), tag)


@table.route("/model-versions/delete-tag", "DELETE", _NAME, _VERSION, Field("key", required=True))
def delete_model_version_tag(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a tag from a model version."""
    ctx.registry_store.delete_model_version_tag(p["name"], _version(p), p["key"])


# ---------------------------------------------------------------------------------------------- webhooks
@table.route(
    "/webhooks/create",
    "POST",
    _NAME,
    Field("url", required=True),
    Field("events", "strings", required=True),
    Field("secret"),
    Field("description"),
    prefixes=_EXT,
)
def create_webhook(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Register a webhook for registry events."""
    hook = ctx.registry_store.create_webhook(p["name"], p["url"], p["events"], p.get("secret"), p.get("description"))
    return {"webhook": hook.to_dict()}


@table.route("/webhooks/list", "GET", prefixes=_EXT)
def list_webhooks(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Every webhook."""
    return page_response([w.to_dict() for w in ctx.registry_store.list_webhooks()], "webhooks", None)


@table.route("/webhooks/get", "GET", Field("webhook_id", required=True), prefixes=_EXT)
def get_webhook(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """One webhook."""
    return {"webhook": ctx.registry_store.get_webhook(p["webhook_id"]).to_dict()}


@table.route(
    "/webhooks/update",
    "PATCH",
    Field("webhook_id", required=True),
    Field("url"),
    Field("events", "strings"),
    Field("secret"),
    Field("description"),
    Field("active", "bool"),
    prefixes=_EXT,
)
def update_webhook(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """Change a webhook."""
    hook = ctx.registry_store.update_webhook(
        p["webhook_id"],
        url=p.get("url"),
        events=p.get("events"),
        secret=p.get("secret"),
        description=p.get("description"),
        active=p.get("active"),
    )
    return {"webhook": hook.to_dict()}


@table.route("/webhooks/delete", "DELETE", Field("webhook_id", required=True), prefixes=_EXT)
def delete_webhook(ctx: ServerContext, p: dict[str, Any]) -> None:
    """Delete a webhook and its delivery log."""
    ctx.registry_store.delete_webhook(p["webhook_id"])


@table.route(
    "/webhooks/deliveries", "GET", Field("webhook_id", required=True), Field("max_results", "int"), prefixes=_EXT
)
def list_webhook_deliveries(ctx: ServerContext, p: dict[str, Any]) -> dict[str, Any]:
    """A webhook's delivery log, newest first."""
    deliveries = ctx.registry_store.list_webhook_deliveries(p["webhook_id"], p.get("max_results", 100))
    return page_response([d.to_dict() for d in deliveries], "deliveries", None)


# ------------------------------------------------------------------------------------- artifact download
def routes(ctx: ServerContext) -> list[BaseRoute]:
    """``GET /model-versions/get-artifact?name=&version=&path=``: stream one file of a version's artifacts."""
    from starlette.concurrency import run_in_threadpool

    from mltrail.server.routes.artifacts import stream_file

    async def get_artifact(request: Request) -> Response:
        try:
            query = request.query_params
            name, version = query.get("name"), query.get("version")
            for key, value in (("name", name), ("version", version), ("path", query.get("path"))):
                if not value:
                    raise errors.invalid(f"Missing value for required parameter '{key}'.")
            path = artifact_request_path(query.get("path"), allow_root=False)
            uri = await run_in_threadpool(ctx.registry_store.get_model_version_download_uri, name, version)
            if uri.startswith("runs:/"):
                run_id, _, sub = uri[len("runs:/") :].partition("/")
                run = await run_in_threadpool(ctx.tracking_store.get_run, run_id)
                uri = posixpath.join(run.info.artifact_uri, sub) if sub else run.info.artifact_uri
            repo, prefix = ctx.repository_for(uri)
            full = posixpath.join(prefix, path) if prefix else path
            return await stream_file(repo, full, presigned=ctx.presigned_downloads)
        except MltrailError as error:
            return Response(dumps(error.to_dict()), status_code=error.http_status, media_type="application/json")

    return [
        Route(prefix + "/model-versions/get-artifact", get_artifact, methods=["GET"])
        for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "")  # "": where MLflow's own UI reads files
    ]
