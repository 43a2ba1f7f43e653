"""Fluent model-registry functions: ``register_model``, the registry URI, and registry searches.

``mltrail.register_model("runs:/<run_id>/model", "fraud")`` registers a model logged by a run (the run's
artifacts when ``model/MLmodel`` is there, else the logged model of that name from the run), and
``register_model("models:/m-...", "fraud")`` a logged model, as MLflow 3 does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mltrail.entities import ModelVersion, RegisteredModel
from mltrail.errors import NOT_FOUND, MltrailError
from mltrail.tracking._registry_client import get_registry_uri, set_registry_uri
from mltrail.tracking.client import MltrailClient

__all__ = [
    "get_registry_uri",
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "set_registry_uri",
]


def _runs_source(client: MltrailClient, model_uri: str) -> tuple[str, str | None, str | None]:
    """``runs:/R/path`` -> (source, run_id, model_id)."""
    run_id, _, path = model_uri[len("runs:/") :].partition("/")
    path = path.strip("/")
    if any(f.path.rsplit("/", 1)[-1] == "MLmodel" for f in client.list_artifacts(run_id, path or None)):
        root = client.get_run(run_id).info.artifact_uri.rstrip("/")
        return (f"{root}/{path}" if path else root), run_id, None
    run = client.get_run(run_id)
    escaped = path.replace("'", "\\'")
    candidates = [
        m
        for m in client.search_logged_models([run.info.experiment_id], f"name = '{escaped}'")
        if m.source_run_id == run_id
    ]
    if not candidates:
        raise MltrailError(f"Unable to find a logged_model with artifact_path {path} under run {run_id}", NOT_FOUND)
    model = max(candidates, key=lambda m: m.creation_timestamp)
    return f"models:/{model.model_id}", run_id, model.model_id


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Create a new version of ``name`` (creating the registered model first when needed) from ``model_uri``.

    Args:
        model_uri: ``runs:/<run_id>/<path>``, ``models:/<model_id>``, ``models:/<name>/<version>`` or an
            artifact URI.
        name: the registered model.
        await_registration_for: ignored (registration is synchronous); kept for MLflow compatibility.
        tags: tags of the new version.

    Returns:
        The new version.

    Raises:
        MltrailError: NOT_FOUND when a ``runs:/`` URI names neither artifacts nor a logged model of the run.
    """
    client = MltrailClient()
    client._ensure_registered_model(name)
    source, run_id, model_id = model_uri, None, None
    if model_uri.startswith("runs:/"):
        source, run_id, model_id = _runs_source(client, model_uri)
    elif model_uri.startswith("models:/m-") and "/" not in model_uri[len("models:/") :]:
        model_id = model_uri[len("models:/") :]
    version = client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)
    return version


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[RegisteredModel]:
    """Registered models matching ``filter_string``, following pages (up to ``max_results`` when given)."""
    client = MltrailClient()
    out: list[RegisteredModel] = []
    token: str | None = None
    while True:
        page_size = 1000 if max_results is None else max(1, min(1000, max_results - len(out)))
        page = client.search_registered_models(filter_string, page_size, order_by, token)
        out.extend(page)
        token = page.token
        if not token or (max_results is not None and len(out) >= max_results):
            return out


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[ModelVersion]:
    """Model versions matching ``filter_string``, following pages (up to ``max_results`` when given)."""
    client = MltrailClient()
    out: list[ModelVersion] = []
    token: str | None = None
    while True:
        page_size = 10000 if max_results is None else max(1, min(10000, max_results - len(out)))
        page = client.search_model_versions(filter_string, page_size, order_by, token)
        out.extend(page)
        token = page.token
        if not token or (max_results is not None and len(out) >= max_results):
            return out
