"""The model-registry half of the client (:class:`RegistryClientMixin`) and the registry URI setting.

The registry URI defaults to the tracking URI; ``set_registry_uri`` or ``$MLTRAIL_REGISTRY_URI`` /
``$MLFLOW_REGISTRY_URI`` point it elsewhere. A SQL URI opens :class:`~mltrail.store.registry.sql.store.SqlRegistryStore`
on that database and an ``http(s)`` URI the REST store (:func:`mltrail.store.uris.get_registry_store`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mltrail.entities import (
    ModelVersion,
    ModelVersionTag,
    PagedList,
    RegisteredModel,
    RegisteredModelTag,
    Webhook,
    WebhookDelivery,
)
from mltrail.errors import RESOURCE_ALREADY_EXISTS, MltrailError
from mltrail.store.registry.base import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
)
from mltrail.tracking._config import env_value

if TYPE_CHECKING:
    from mltrail.store.registry.base import RegistryStore

REGISTRY_URI_ENV = ("MLTRAIL_REGISTRY_URI", "MLFLOW_REGISTRY_URI")
_lock = threading.Lock()
_registry_uri: str | None = None


def set_registry_uri(uri: str | None) -> None:
    """Set the model registry URI for this process (None: back to the environment, then the tracking URI)."""
    global _registry_uri
    with _lock:
        _registry_uri = str(uri) if uri else None


def get_registry_uri(tracking_uri: str | None = None) -> str:
    """The registry URI in effect: ``set_registry_uri``'s value, the environment, else the tracking URI."""
    from mltrail.tracking._config import get_tracking_uri

    return _registry_uri or env_value(REGISTRY_URI_ENV) or tracking_uri or get_tracking_uri()


def _tags(tags: Mapping[str, Any] | None, cls: type) -> list[Any]:
    return [cls(str(k), str(v)) for k, v in (tags or {}).items()]


class RegistryClientMixin:
    """MLflow's ``MlflowClient`` registry methods; mixed into :class:`~mltrail.tracking.client.MltrailClient`."""

    _tracking_uri: str
    _registry_uri: str | None
    _registry_store_obj: RegistryStore | None = None

    @property
    def registry_uri(self) -> str:
        """The model registry URI this client uses."""
        explicit = self._registry_uri if self._registry_uri != self._tracking_uri else None
        return explicit or get_registry_uri(self._tracking_uri)

    @property
    def _registry(self) -> RegistryStore:
        if self._registry_store_obj is None:
            from mltrail.store.uris import get_registry_store

            self._registry_store_obj = get_registry_store(self.registry_uri)
        return self._registry_store_obj

    # ----------------------------------------------------------------------------- registered models
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model.

        Args:
            name: a unique name without ``/`` or ``:``.
            tags: tags (values become strings).
            description: free text.
            deployment_job_id: kept for MLflow compatibility.

        Returns:
            The new registered model.

        Raises:
            MltrailError: RESOURCE_ALREADY_EXISTS for a taken name.
        """
        return self._registry.create_registered_model(
            name, _tags(tags, RegisteredModelTag), description, deployment_job_id
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model. Raises MltrailError RESOURCE_DOES_NOT_EXIST."""
        return self._registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions follow."""
        return self._registry.rename_registered_model(name, new_name)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set a registered model's description."""
        return self._registry.update_registered_model(name, description, deployment_job_id)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with all its versions."""
        self._registry.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models (``name LIKE 'fraud%'``, ``tags.team = 'risk'``); prompts excluded.

        Returns:
            A page; its ``token`` fetches the next one.
        """
        return self._registry.search_registered_models(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version of ``name`` in each of ``stages`` (every stage when None or empty)."""
        return self._registry.get_latest_versions(name, list(stages) if stages else None)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model."""
        self._registry.set_registered_model_tag(name, RegisteredModelTag(key, str(value)))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a tag from a registered model."""
        self._registry.delete_registered_model_tag(name, key)

    # -------------------------------------------------------------------------------- model versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Create the next version of ``name`` from ``source`` (an artifact URI or ``models:/<model_id>``).

        Args:
            name: the registered model (must exist).
            source: where the model's artifacts are.
            run_id: the run that produced it.
            tags: version tags.
            run_link: a link to the run.
            description: free text.
            await_creation_for: ignored (mltrail registers synchronously); kept for MLflow compatibility.
            model_id: the logged model this version is made from.

        Returns:
            The new version (``READY``).
        """
        if model_id is None and source.startswith("models:/m-") and "/" not in source[len("models:/") :]:
            model_id = source[len("models:/") :]
        return self._registry.create_model_version(
            name, source, run_id, _tags(tags, ModelVersionTag), run_link, description, model_id
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Return one version. Raises MltrailError RESOURCE_DOES_NOT_EXIST."""
        return self._registry.get_model_version(name, str(version))

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        """Set a version's description."""
        return self._registry.update_model_version(name, str(version), description)

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version; its number is not reused."""
        self._registry.delete_model_version(name, str(version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions (``name = 'm'``, ``run_id = '...'``, ``version_number > 3``, ``tags.k = 'v'``)."""
        return self._registry.search_model_versions(filter_string, max_results, order_by, page_token)

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: Any) -> None:
        """Set a tag on a version."""
        self._registry.set_model_version_tag(name, str(version), ModelVersionTag(key, str(value)))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Delete a tag from a version."""
        self._registry.delete_model_version_tag(name, str(version), key)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``None``, ``Staging``, ``Production`` or ``Archived`` (MLflow's legacy stages)."""
        return self._registry.transition_model_version_stage(name, str(version), stage, archive_existing_versions)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where a version's artifacts are; a ``runs:/`` source is resolved to the run's artifact location."""
        uri = self._registry.get_model_version_download_uri(name, str(version))
        if uri.startswith("runs:/"):
            run_id, _, path = uri[len("runs:/") :].partition("/")
            root = self.get_run(run_id).info.artifact_uri  # type: ignore[attr-defined]
            return f"{root.rstrip('/')}/{path}" if path else root
        return uri

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Copy a version (``models:/name/version`` or ``models:/name@alias``) into ``dst_name`` as its next version.

        The destination model is created when missing; the copy keeps the source's run, logged model, tags and
        description, and its ``source`` is ``models:/<src name>/<src version>``.
        """
        target = src_model_uri[len("models:/") :] if src_model_uri.startswith("models:/") else src_model_uri
        if "@" in target:
            name, alias = target.split("@", 1)
            src = self.get_model_version_by_alias(name, alias)
        else:
            name, _, version = target.partition("/")
            src = self.get_model_version(name, version)
        return self._registry.copy_model_version(src, dst_name)

    # ------------------------------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` (``champion``) at a version; ``latest`` and ``v<digits>`` are reserved."""
        self._registry.set_registered_model_alias(name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names (``latest``: the highest version)."""
        return self._registry.get_model_version_by_alias(name, alias)

    # ----------------------------------------------------------------------------------------- webhooks
    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Register ``url`` for registry events (see :class:`mltrail.entities.WebhookEvent`).

        Deliveries are POSTed as JSON with ``X-Mltrail-Signature: sha256=<HMAC-SHA256 of the body>`` keyed with
        ``secret``, and retried with exponential backoff.
        """
        return self._registry.create_webhook(name, url, list(events), secret, description)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """Return a webhook."""
        return self._registry.get_webhook(webhook_id)

    def list_webhooks(self) -> list[Webhook]:
        """Every webhook."""
        return self._registry.list_webhooks()

    def update_webhook(self, webhook_id: str, **changes: Any) -> Webhook:
        """Change ``url``, ``events``, ``secret``, ``description`` or ``active`` of a webhook."""
        return self._registry.update_webhook(webhook_id, **changes)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log."""
        self._registry.delete_webhook(webhook_id)

    def list_webhook_deliveries(self, webhook_id: str, max_results: int = 100) -> list[WebhookDelivery]:
        """A webhook's delivery log (status, attempts, response code, error), newest first."""
        return self._registry.list_webhook_deliveries(webhook_id, max_results)

    # ----------------------------------------------------------------------------------------- register
    def _ensure_registered_model(self, name: str) -> None:
        try:
            self.create_registered_model(name)
        except MltrailError as error:
            if error.error_code != RESOURCE_ALREADY_EXISTS:
                raise
