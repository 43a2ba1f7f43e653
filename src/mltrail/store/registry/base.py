"""The registry store interface: what every model-registry backend (SQL, REST) implements.

One shared test suite (tests/store/registry) runs against every implementation. Methods raise
:class:`mltrail.errors.MltrailError` with MLflow's codes for every user mistake.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

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

#: ``search_registered_models`` page sizes (MLflow's).
SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD = 1000
#: ``search_model_versions`` page sizes (MLflow's; its client asks for 10000).
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10000
SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD = 200_000


class RegistryStore(ABC):
    """Persistence for registered models, their versions, tags, aliases and stages, and webhooks."""

    # ----------------------------------------------------------------------------- registered models
    @abstractmethod
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model.

        Raises:
            MltrailError: RESOURCE_ALREADY_EXISTS for a taken name; INVALID_PARAMETER_VALUE for a bad name or tag.
        """

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model with its latest versions, tags and aliases.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST.
        """

    @abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model (its versions follow).

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST; RESOURCE_ALREADY_EXISTS when ``new_name`` is taken.
        """

    @abstractmethod
    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set a registered model's description."""

    @abstractmethod
    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases."""

    @abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models matching ``filter_string`` (``name LIKE 'a%'``, ``tags.k = 'v'``)."""

    @abstractmethod
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (every stage when empty)."""

    @abstractmethod
    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set (or overwrite) a tag on a registered model."""

    @abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a tag from a registered model (a missing tag is not an error)."""

    # -------------------------------------------------------------------------------- model versions
    @abstractmethod
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
        """Create the next version of a registered model.

        A ``models:/<model_id>`` source (or ``model_id``) links the version to a logged model: its ``run_id``
        defaults to the model's ``source_run_id``, its download URI is the model's artifact location, and the
        logged model's ``mlflow.modelVersions`` tag records the new version.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST for an unknown registered model.
        """

    @abstractmethod
    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Return one version. Raises MltrailError RESOURCE_DOES_NOT_EXIST."""

    @abstractmethod
    def update_model_version(self, name: str, version: str | int, description: str | None) -> ModelVersion:
        """Set a version's description."""

    @abstractmethod
    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``stage``; optionally archive the other versions in that stage."""

    @abstractmethod
    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version (its number is never reused) and the aliases pointing at it."""

    @abstractmethod
    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where a version's artifacts are: the logged model's location, or the source."""

    @abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of model versions matching ``filter_string`` (``name = 'm' AND version_number > 2``)."""

    @abstractmethod
    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        """Set (or overwrite) a tag on a version."""

    @abstractmethod
    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Delete a tag from a version (a missing tag is not an error)."""

    # ------------------------------------------------------------------------------------------ aliases
    @abstractmethod
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""

    @abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias (a missing alias is not an error)."""

    @abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names (``latest`` is the highest version)."""

    def copy_model_version(self, src_mv: ModelVersion, dst_name: str) -> ModelVersion:
        """Copy a version into another registered model (created when missing) as its next version.

        Args:
            src_mv: the version to copy.
            dst_name: the destination registered model.

        Returns:
            The new version, whose source is ``models:/<src name>/<src version>``.
        """
        try:
            self.create_registered_model(dst_name)
        except MltrailError as error:
            if error.error_code != RESOURCE_ALREADY_EXISTS:
                raise
        return self.create_model_version(
            dst_name,
            f"models:/{src_mv.name}/{src_mv.version}",
            run_id=src_mv.run_id,
            tags=[ModelVersionTag(k, v) for k, v in src_mv.tags.items()],
            run_link=src_mv.run_link,
            description=src_mv.description,
            model_id=src_mv.model_id,
        )

    # ----------------------------------------------------------------------------------------- webhooks
    @abstractmethod
    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Register a URL for registry events; deliveries are signed with ``secret``."""

    @abstractmethod
    def get_webhook(self, webhook_id: str) -> Webhook:
        """Return a webhook. Raises MltrailError RESOURCE_DOES_NOT_EXIST."""

    @abstractmethod
    def list_webhooks(self) -> list[Webhook]:
        """Every webhook, oldest first."""

    @abstractmethod
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
        """Change a webhook's URL, events, secret, description or whether it is active."""

    @abstractmethod
    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log."""

    @abstractmethod
    def list_webhook_deliveries(self, webhook_id: str, max_results: int = 100) -> list[WebhookDelivery]:
        """A webhook's delivery log, newest first."""
