"""The SQL registry store: registered models, versions, tags, aliases, stages and webhooks.

It lives in the tracking database (same URI), with its own Alembic version table, and reads logged models from
the tracking tables directly: registering ``models:/m-...`` takes the run id and artifact location from the
logged model and appends the new version to its ``mlflow.modelVersions`` tag, in the same transaction. Each
public method is one read or write of the :class:`~mltrail.store.sql.database.Database`, done by the functions of
a connection in ``_models``, ``_versions`` and ``_aliases``; searches select their page with one (cached)
statement and load tags, aliases and latest versions for the whole page with one more (``_load``). A change that
fires a webhook event records its deliveries in its own transaction (``_webhook_rows``), and the dispatcher is woken
once it commits; any replica's dispatcher may send them (see :mod:`mltrail.store.registry.webhooks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from mltrail import errors
from mltrail.entities import (
    ModelVersion,
    ModelVersionTag,
    PagedList,
    RegisteredModel,
    RegisteredModelTag,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from mltrail.entities.registry import ACTIVE_STAGES, ALL_STAGES, canonical_stage
from mltrail.search.paging import decode_page_token, encode_page_token, validate_max_results
from mltrail.store.registry import validation as v
from mltrail.store.registry.base import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
    RegistryStore,
)
from mltrail.store.registry.sql import _aliases, _load, _models, _versions, _webhook_rows, migrations, search
from mltrail.store.registry.webhooks import WebhookDispatcher
from mltrail.store.sql.database import Database
from mltrail.store.tracking.sql import migrations as tracking_migrations

T = TypeVar("T")


class SqlRegistryStore(RegistryStore):
    """A :class:`RegistryStore` on a SQL database (the tracking database).

    Args:
        db_uri: ``sqlite:///path.db``, ``postgresql://...`` or ``mysql[+pymysql]://...``.
        dispatcher: the webhook dispatcher (one is made on first use).
    """

    def __init__(self, db_uri: str, dispatcher: WebhookDispatcher | None = None) -> None:
        self.db_uri = db_uri
        self.db = Database(db_uri)
        self.dialect = self.db.dialect
        self.db.ensure_schema(tracking_migrations)
        self.db.ensure_schema(migrations)
        self.webhook_log = _webhook_rows.WebhookRows(self.db)
        self._dispatcher = dispatcher

    @property
    def engine(self) -> Engine:
        """The database's main engine (for tools and tests)."""
        return self.db.engine

    @property
    def dispatcher(self) -> WebhookDispatcher:
        """The webhook dispatcher of this store (created on first use)."""
        if self._dispatcher is None:
            self._dispatcher = WebhookDispatcher(self.webhook_log)
        return self._dispatcher

    def _write(self, fn: Callable[[Connection], T], event: str, data: Callable[[T], dict[str, Any] | None]) -> T:
        """Run ``fn`` in a write transaction that also records ``event``'s deliveries (``data(result)``; None: no
        event), then wake the dispatcher when there are any."""
        recorded = [0]

        def work(conn: Connection) -> T:
            result = fn(conn)
            payload = data(result)
            recorded[0] = self.webhook_log.record(conn, event, payload) if payload is not None else 0
            return result

        result = self.db.write(work)
        if recorded[0]:
            self.dispatcher.wake()
        return result

    # ----------------------------------------------------------------------------- registered models
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model (see :class:`RegistryStore`)."""
        v.validate_model_name(name)
        v.validate_description(description)
        tag_map = {}
        for tag in tags or []:
            v.validate_tag(tag.key, tag.value)
            tag_map[tag.key] = str(tag.value)
        try:
            return self._write(
                lambda conn: _models.create(conn, name, tag_map, description, deployment_job_id),
                WebhookEvent.REGISTERED_MODEL_CREATED,
                lambda _: {"name": name, "tags": tag_map, "description": description},
            )
        except IntegrityError:
            existing = self.get_registered_model(name)
            raise _models.exists_error(name, existing.is_prompt) from None

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model with its latest versions, tags and aliases."""
        return self.db.read(lambda conn: _models.load(conn, _models.row(conn, name)))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions follow."""
        if not isinstance(new_name, str) or not new_name.strip():
            raise errors.invalid(v.missing_value("new_name"))
        v.validate_model_name(new_name, "new_name")
        try:
            return self.db.write(lambda conn: _models.rename(conn, name, new_name))
        except IntegrityError:
            raise errors.already_exists(f"Registered Model (name={new_name}) already exists.") from None

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set a registered model's description (and deployment job id when given)."""
        v.validate_description(description)
        return self.db.write(lambda conn: _models.update(conn, name, description, deployment_job_id))

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases."""
        self.db.write(lambda conn: _models.delete(conn, name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models (see :class:`RegistryStore`)."""
        limit = validate_max_results(
            max_results,
            SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
            SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
            wording="registry",
        )
        offset = decode_page_token(page_token)
        query = search.registered_models_page(filter_string, order_by, self.dialect)
        page = {search.PAGE_LIMIT: limit + 1, search.PAGE_OFFSET: offset}

        def run(conn: Connection) -> PagedList[RegisteredModel]:
            rows = conn.execute(query, page).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_registered_models(conn, rows[:limit]), token)

        return self.db.read(run)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (every stage when empty)."""
        wanted = {canonical_stage(s) for s in stages} if stages else set(ALL_STAGES)
        return self.db.read(lambda conn: _models.latest_versions(conn, name, wanted))

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set (or overwrite) a tag on a registered model."""
        v.validate_model_name(name)
        v.validate_tag(tag.key, tag.value)
        value = str(tag.value)
        self._write(
            lambda conn: _models.set_tag(conn, self.dialect, name, tag.key, value),
            WebhookEvent.REGISTERED_MODEL_TAG_SET,
            lambda _: {"name": name, "key": tag.key, "value": value},
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a tag from a registered model."""
        v.validate_model_name(name)
        v.validate_key_name(key, "key")
        self.db.write(lambda conn: _models.delete_tag(conn, name, key))

    def is_prompt(self, name: str) -> bool:
        """Whether the registered model ``name`` is a prompt (False when it does not exist)."""
        return self.db.read(lambda conn: _models.is_prompt(conn, name))

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
        """Create the next version of a registered model (see :class:`RegistryStore`)."""
        v.validate_model_name(name)
        if not isinstance(source, str) or not source:
            raise errors.invalid(v.missing_value("source"))
        for text, path in ((source, "source"), (run_link, "run_link"), (description, "description")):
            v.validate_text(text, path)
        tag_map = {}
        for tag in tags or []:
            v.validate_tag(tag.key, tag.value)
            tag_map[tag.key] = str(tag.value)
        return self._write(
            lambda conn: _versions.create(
                conn, self.dialect, name, source, run_id, tag_map, run_link, description, model_id
            ),
            WebhookEvent.MODEL_VERSION_CREATED,
            lambda version: {
                "name": name,
                "version": version.version,
                "source": source,
                "run_id": version.run_id,
                "model_id": version.model_id,
                "tags": tag_map,
                "description": description,
            },
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Return one version."""
        return self.db.read(lambda conn: _versions.get(conn, name, version))

    def update_model_version(self, name: str, version: str | int, description: str | None) -> ModelVersion:
        """Set a version's description."""
        v.validate_description(description)
        return self.db.write(lambda conn: _versions.update(conn, name, version, description))

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``stage``; optionally archive the others in that stage."""
        target = canonical_stage(stage)
        if archive_existing_versions and target not in ACTIVE_STAGES:
            raise errors.invalid(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}"
            )
        result, _ = self._write(
            lambda conn: _versions.transition(conn, name, version, target, archive_existing_versions),
            WebhookEvent.MODEL_VERSION_STAGE_CHANGED,
            lambda changed: {
                "name": name,
                "version": changed[0].version,
                "from_stage": changed[1],
                "to_stage": target,
                "archive_existing_versions": bool(archive_existing_versions),
            },
        )
        return result

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version (its number is never reused) and the aliases pointing at it."""
        self.db.write(lambda conn: _versions.delete(conn, name, version))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where a version's artifacts are."""
        return self.db.read(lambda conn: _versions.download_uri(conn, name, version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of model versions (see :class:`RegistryStore`)."""
        limit = validate_max_results(
            max_results,
            SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
            SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
            wording="registry",
        )
        offset = decode_page_token(page_token)
        query = search.model_versions_page(filter_string, order_by, self.dialect)
        page = {search.PAGE_LIMIT: limit + 1, search.PAGE_OFFSET: offset}

        def run(conn: Connection) -> PagedList[ModelVersion]:
            rows = conn.execute(query, page).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_versions(conn, rows[:limit]), token)

        return self.db.read(run)

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        """Set (or overwrite) a tag on a version."""
        v.validate_model_name(name)
        number = v.validate_version(version)
        v.validate_tag(tag.key, tag.value)
        value = str(tag.value)
        self._write(
            lambda conn: _versions.set_tag(conn, self.dialect, name, number, tag.key, value),
            WebhookEvent.MODEL_VERSION_TAG_SET,
            lambda _: {"name": name, "version": str(number), "key": tag.key, "value": value},
        )

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Delete a tag from a version."""
        v.validate_model_name(name)
        number = v.validate_version(version)
        v.validate_key_name(key, "key")
        self.db.write(lambda conn: _versions.delete_tag(conn, name, number, key))

    # ------------------------------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` at a version."""
        v.validate_model_name(name)
        v.validate_alias(alias)
        v.validate_alias_not_reserved(alias)
        number = v.validate_version(version)
        self._write(
            lambda conn: _aliases.set_alias(conn, self.dialect, name, alias, number),
            WebhookEvent.MODEL_VERSION_ALIAS_SET,
            lambda _: {"name": name, "alias": alias, "version": str(number)},
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        v.validate_model_name(name)
        v.validate_alias(alias)
        self._write(
            lambda conn: _aliases.delete_alias(conn, name, alias),
            WebhookEvent.MODEL_VERSION_ALIAS_DELETED,
            lambda deleted: {"name": name, "alias": alias} if deleted else None,
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names (``latest``: the highest version)."""
        v.validate_model_name(name)
        v.validate_alias(alias)
        return self.db.read(lambda conn: _aliases.get_version(conn, name, alias))

    # ----------------------------------------------------------------------------------------- webhooks
    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Register a URL for registry events."""
        return self.webhook_log.create(name, url, events, secret, description)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """Return a webhook."""
        return self.webhook_log.get(webhook_id)

    def list_webhooks(self) -> list[Webhook]:
        """Every webhook, oldest first."""
        return self.webhook_log.list()

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
        return self.webhook_log.update(
            webhook_id, url=url, events=events, secret=secret, description=description, active=active
        )

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log."""
        self.webhook_log.delete(webhook_id)

    def list_webhook_deliveries(self, webhook_id: str, max_results: int = 100) -> list[WebhookDelivery]:
        """A webhook's delivery log, newest first."""
        return self.webhook_log.deliveries(webhook_id, max_results)

    def new_id(self) -> str:
        """A fresh 32-hex-digit id."""
        return uuid.uuid4().hex
