"""The REST registry store: the :class:`RegistryStore` interface over an MLflow-compatible server.

Registry calls use MLflow's endpoints (§1.3), so this store also talks to ``mlflow server``; webhooks use
mltrail's ``/api/2.0/mltrail/webhooks`` endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mltrail.entities import (
    ModelVersion,
    ModelVersionTag,
    PagedList,
    RegisteredModel,
    RegisteredModelTag,
    Webhook,
    WebhookDelivery,
)
from mltrail.store.http import HttpClient, drop_none, key_value_dicts
from mltrail.store.registry.base import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    RegistryStore,
)

API = "/api/2.0/mlflow"
WEBHOOKS = "/api/2.0/mltrail/webhooks"


class RestRegistryStore(RegistryStore):
    """Talks to ``mltrail server`` (or ``mlflow server``) over MLflow's registry REST API.

    Args:
        base_url: the server root, e.g. ``http://127.0.0.1:5000``.
        client: an :class:`HttpClient` to share (one is created when omitted).
    """

    def __init__(self, base_url: str, client: HttpClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = client or HttpClient(self.base_url)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, idempotent: bool = False) -> Any:
        return self.http.call(method, API + path, drop_none(body or {}), idempotent=idempotent)

    # ----------------------------------------------------------------------------- registered models
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model."""
        body = {
            "name": name,
            "tags": key_value_dicts(tags),
            "description": description,
            "deployment_job_id": deployment_job_id,
        }
        return RegisteredModel.from_dict(self._call("POST", "/registered-models/create", body)["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model."""
        return RegisteredModel.from_dict(
            self._call("GET", "/registered-models/get", {"name": name})["registered_model"]
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model."""
        data = self._call("POST", "/registered-models/rename", {"name": name, "new_name": new_name})
        return RegisteredModel.from_dict(data["registered_model"])

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set a registered model's description."""
        body = {"name": name, "description": description, "deployment_job_id": deployment_job_id}
        data = self._call("PATCH", "/registered-models/update", body, idempotent=True)
        return RegisteredModel.from_dict(data["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model."""
        self._call("DELETE", "/registered-models/delete", {"name": name})

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models."""
        body = {
            "filter": filter_string,
            "max_results": max_results,
            "order_by": list(order_by or []) or None,
            "page_token": page_token,
        }
        data = self._call("GET", "/registered-models/search", body)
        return PagedList(
            [RegisteredModel.from_dict(m) for m in data.get("registered_models", [])], data.get("next_page_token")
        )

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage."""
        body = {"name": name, "stages": list(stages or [])}
        data = self._call("POST", "/registered-models/get-latest-versions", body, idempotent=True)
        return [ModelVersion.from_dict(v) for v in data.get("model_versions", [])]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set a tag on a registered model."""
        self._call("POST", "/registered-models/set-tag", {"name": name, "key": tag.key, "value": tag.value}, True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a tag from a registered model."""
        self._call("DELETE", "/registered-models/delete-tag", {"name": name, "key": key}, True)

    # -------------------------------------------------------------------------------- model versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Create the next version of a registered model."""
        body = {
            "name": name,
            "source": source,
            "run_id": run_id,
            "tags": key_value_dicts(tags),
            "run_link": run_link,
            "description": description,
            "model_id": model_id,
        }
        return ModelVersion.from_dict(self._call("POST", "/model-versions/create", body)["model_version"])

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Return one version."""
        data = self._call("GET", "/model-versions/get", {"name": name, "version": str(version)})
        return ModelVersion.from_dict(data["model_version"])

    def update_model_version(self, name: str, version: str | int, description: str | None) -> ModelVersion:
        """Set a version's description."""
        body = {"name": name, "version": str(version), "description": description}
        return ModelVersion.from_dict(self._call("PATCH", "/model-versions/update", body, True)["model_version"])

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to another stage."""
        body = {
            "name": name,
            "version": str(version),
            "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions),
        }
        return ModelVersion.from_dict(self._call("POST", "/model-versions/transition-stage", body)["model_version"])

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version."""
        self._call("DELETE", "/model-versions/delete", {"name": name, "version": str(version)})

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where a version's artifacts are."""
        data = self._call("GET", "/model-versions/get-download-uri", {"name": name, "version": str(version)})
        return str(data["artifact_uri"])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of model versions."""
        body = {
            "filter": filter_string,
            "max_results": max_results,
            "order_by": list(order_by or []) or None,
            "page_token": page_token,
        }
        data = self._call("GET", "/model-versions/search", body)
        return PagedList(
            [ModelVersion.from_dict(v) for v in data.get("model_versions", [])], data.get("next_page_token")
        )

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        """Set a tag on a version."""
        body = {"name": name, "version": str(version), "key": tag.key, "value": tag.value}
        self._call("POST", "/model-versions/set-tag", body, True)

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Delete a tag from a version."""
        self._call("DELETE", "/model-versions/delete-tag", {"name": name, "version": str(version), "key": key}, True)

    # ------------------------------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point an alias at a version."""
        self._call("POST", "/registered-models/alias", {"name": name, "alias": alias, "version": str(version)}, True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._call("DELETE", "/registered-models/alias", {"name": name, "alias": alias}, True)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names."""
        data = self._call("GET", "/registered-models/alias", {"name": name, "alias": alias})
        return ModelVersion.from_dict(data["model_version"])

    # ----------------------------------------------------------------------------------------- webhooks
    def _hooks(self, method: str, path: str, body: dict[str, Any] | None = None, idempotent: bool = False) -> Any:
        return self.http.call(method, WEBHOOKS + path, drop_none(body or {}), idempotent=idempotent)

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Register a webhook."""
        body = {"name": name, "url": url, "events": list(events), "secret": secret, "description": description}
        return Webhook.from_dict(self._hooks("POST", "/create", body)["webhook"])

    def get_webhook(self, webhook_id: str) -> Webhook:
        """Return a webhook."""
        return Webhook.from_dict(self._hooks("GET", "/get", {"webhook_id": webhook_id})["webhook"])

    def list_webhooks(self) -> list[Webhook]:
        """Every webhook."""
        return [Webhook.from_dict(w) for w in self._hooks("GET", "/list").get("webhooks", [])]

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        secret: str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> Webhook:
        """Change a webhook."""
        body = {
            "webhook_id": webhook_id,
            "url": url,
            "events": list(events) if events is not None else None,
            "secret": secret,
            "description": description,
            "active": active,
        }
        return Webhook.from_dict(self._hooks("PATCH", "/update", body, True)["webhook"])

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook."""
        self._hooks("DELETE", "/delete", {"webhook_id": webhook_id}, True)

    def list_webhook_deliveries(self, webhook_id: str, max_results: int = 100) -> list[WebhookDelivery]:
        """A webhook's delivery log, newest first."""
        data = self._hooks("GET", "/deliveries", {"webhook_id": webhook_id, "max_results": max_results})
        return [WebhookDelivery.from_dict(d) for d in data.get("deliveries", [])]
