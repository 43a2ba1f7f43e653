"""The SQL registry store: registered models, versions, tags, aliases, stages and webhooks.

It lives in the tracking database (same URI), with its own Alembic version table, and reads logged models from
the tracking tables directly: registering ``models:/m-...`` takes the run id and artifact location from the
logged model and appends the new version to its ``mlflow.modelVersions`` tag, in the same transaction. Each
public method is one transaction; searches select their page with one (cached) statement and load tags, aliases
and latest versions for the whole page with one more. Webhook events are queued after the change commits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from mltrail.entities import (
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    PagedList,
    RegisteredModel,
    RegisteredModelTag,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from mltrail.entities.registry import (
    ACTIVE_STAGES,
    ALL_STAGES,
    IS_PROMPT_TAG_KEY,
    MODEL_VERSIONS_TAG,
    STAGE_ARCHIVED,
    STAGE_NONE,
    canonical_stage,
)
from mltrail.errors import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MltrailError,
)
from mltrail.search.paging import decode_page_token, encode_page_token, validate_max_results
from mltrail.store import db
from mltrail.store.registry import validation as v
from mltrail.store.registry.base import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
    RegistryStore,
)
from mltrail.store.registry.sql import _load, _webhook_rows, migrations, search
from mltrail.store.registry.sql.tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)
from mltrail.store.registry.webhooks import WebhookDispatcher
from mltrail.store.tracking.base import now_ms
from mltrail.store.tracking.sql import _dialect
from mltrail.store.tracking.sql import migrations as tracking_migrations
from mltrail.store.tracking.sql.tables import logged_model_tags, logged_models

T = TypeVar("T")
rms, mvs = registered_models, model_versions


def _model_not_found(name: str) -> MltrailError:
    return MltrailError(f"Registered Model with name={name} not found", RESOURCE_DOES_NOT_EXIST)


def _version_not_found(name: str, version: object) -> MltrailError:
    return MltrailError(f"Model Version (name={name}, version={version}) not found", RESOURCE_DOES_NOT_EXIST)


def _exists_error(name: str, is_prompt: bool) -> MltrailError:
    kind = "Prompt" if is_prompt else "Registered Model"
    return MltrailError(f"{kind} (name={name}) already exists.", RESOURCE_ALREADY_EXISTS)


class SqlRegistryStore(RegistryStore):
    """A :class:`RegistryStore` on a SQL database (the tracking database).

    Args:
        db_uri: ``sqlite:///path.db``, ``postgresql://...`` or ``mysql[+pymysql]://...``.
        dispatcher: the webhook dispatcher (one is made on first use).
    """

    def __init__(self, db_uri: str, dispatcher: WebhookDispatcher | None = None) -> None:
        self.db_uri = db_uri
        self.engine = db.get_engine(db_uri)
        self._dialect = _dialect.dialect_name_for_engine(self.engine)
        db.ensure_schema(
            self.engine,
            tracking_migrations.SCRIPT_LOCATION,
            tracking_migrations.HEAD,
            tracking_migrations.VERSION_TABLE,
        )
        db.ensure_schema(self.engine, migrations.SCRIPT_LOCATION, migrations.HEAD, migrations.VERSION_TABLE)
        self.webhook_log = _webhook_rows.WebhookRows(self)
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> WebhookDispatcher:
        """The webhook dispatcher of this store (created on first use)."""
        if self._dispatcher is None:
            self._dispatcher = WebhookDispatcher(self.webhook_log)
        return self._dispatcher

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        if self.webhook_log.has_targets(event):
            self.dispatcher.emit(event, data)

    # ------------------------------------------------------------------------------------------ plumbing
    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a write transaction, retrying transient errors and a connection lost before COMMIT."""

        def attempt() -> T:
            with db.write_transaction(self.engine) as conn:
                return fn(conn)

        return db.with_retries(attempt)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a read transaction, retrying transient errors and lost connections."""

        def attempt() -> T:
            with db.read_transaction(self.engine) as conn:
                return fn(conn)

        return db.with_retries(attempt, replayable=True)

    def _model_row(self, conn: Connection, name: str, lock: bool = False) -> Row[Any]:
        v.validate_model_name(name)
        query = sa.select(rms).where(rms.c.name == name)
        if lock and self._dialect != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise _model_not_found(name)
        return row

    def _version_row(
        self, conn: Connection, name: str, version: object, lock: bool = False
    ) -> tuple[Row[Any], Row[Any]]:
        number = v.validate_version(version)
        model = self._model_row(conn, name, lock)
        row = conn.execute(sa.select(mvs).where(mvs.c.rm_id == model.rm_id, mvs.c.version == number)).first()
        if row is None:
            raise _version_not_found(name, number)
        return model, row

    def _touch(self, conn: Connection, rm_id: int, now: int) -> None:
        conn.execute(rms.update().where(rms.c.rm_id == rm_id).values(last_updated_time=now))

    def _load_model(self, conn: Connection, row: Row[Any]) -> RegisteredModel:
        return _load.load_registered_models(conn, [row])[0]

    def _load_version(self, conn: Connection, model: Row[Any], row: Row[Any]) -> ModelVersion:
        return _load.load_versions(conn, [row], {model.rm_id: model.name})[0]

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
        tag_map = {}
        for tag in tags or []:
            v.validate_tag(tag.key, tag.value)
            tag_map[tag.key] = str(tag.value)

        def create(conn: Connection) -> RegisteredModel:
            now = now_ms()
            rm_id = conn.execute(
                rms.insert().values(
                    name=name,
                    creation_time=now,
                    last_updated_time=now,
                    description=description,
                    deployment_job_id=deployment_job_id or None,
                    next_version=1,
                )
            ).inserted_primary_key[0]
            if tag_map:
                conn.execute(
                    registered_model_tags.insert(),
                    [{"rm_id": rm_id, "key": k, "value": val} for k, val in tag_map.items()],
                )
            return RegisteredModel(
                name=name,
                creation_timestamp=now,
                last_updated_timestamp=now,
                description=description,
                tags=tag_map,
                deployment_job_id=deployment_job_id or None,
            )

        try:
            model = self.write(create)
        except IntegrityError:
            existing = self.get_registered_model(name)
            raise _exists_error(name, existing.is_prompt) from None
        self._emit(WebhookEvent.REGISTERED_MODEL_CREATED, {"name": name, "tags": tag_map, "description": description})
        return model

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model with its latest versions, tags and aliases."""
        return self.read(lambda conn: self._load_model(conn, self._model_row(conn, name)))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions follow."""
        if not isinstance(new_name, str) or not new_name.strip():
            raise MltrailError(v.missing_value("new_name"), INVALID_PARAMETER_VALUE)
        v.validate_model_name(new_name, "new_name")

        def rename(conn: Connection) -> RegisteredModel:
            row = self._model_row(conn, name, lock=True)
            now = now_ms()
            conn.execute(rms.update().where(rms.c.rm_id == row.rm_id).values(name=new_name, last_updated_time=now))
            conn.execute(mvs.update().where(mvs.c.rm_id == row.rm_id).values(last_updated_time=now))
            return self._load_model(conn, self._model_row(conn, new_name))

        try:
            return self.write(rename)
        except IntegrityError:
            raise MltrailError(f"Registered Model (name={new_name}) already exists.", RESOURCE_ALREADY_EXISTS) from None

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set a registered model's description (and deployment job id when given)."""

        def update(conn: Connection) -> RegisteredModel:
            row = self._model_row(conn, name, lock=True)
            values: dict[str, Any] = {"description": description, "last_updated_time": now_ms()}
            if deployment_job_id is not None:
                values["deployment_job_id"] = deployment_job_id or None
            conn.execute(rms.update().where(rms.c.rm_id == row.rm_id).values(**values))
            return self._load_model(conn, self._model_row(conn, name))

        return self.write(update)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases."""

        def delete(conn: Connection) -> None:
            rm_id = self._model_row(conn, name, lock=True).rm_id
            for table in (model_version_tags, registered_model_aliases, mvs, registered_model_tags):
                conn.execute(table.delete().where(table.c.rm_id == rm_id))
            conn.execute(rms.delete().where(rms.c.rm_id == rm_id))

        self.write(delete)

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
        query = search.registered_models_page(filter_string, order_by, self._dialect)
        page = {search.PAGE_LIMIT: limit + 1, search.PAGE_OFFSET: offset}

        def run(conn: Connection) -> PagedList[RegisteredModel]:
            rows = conn.execute(query, page).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_registered_models(conn, rows[:limit]), token)

        return self.read(run)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (every stage when empty)."""
        wanted = {canonical_stage(s) for s in stages} if stages else set(ALL_STAGES)

        def read(conn: Connection) -> list[ModelVersion]:
            model = self._model_row(conn, name)
            rows = [r for r in _load.latest_version_rows(conn, [model.rm_id]) if r.current_stage in wanted]
            return _load.load_versions(conn, rows, {model.rm_id: model.name})

        return self.read(read)

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set (or overwrite) a tag on a registered model."""
        v.validate_model_name(name)
        v.validate_tag(tag.key, tag.value)

        def set_tag(conn: Connection) -> None:
            rm_id = self._model_row(conn, name, lock=True).rm_id
            _dialect.upsert(
                conn,
                registered_model_tags,
                [{"rm_id": rm_id, "key": tag.key, "value": str(tag.value)}],
                ["rm_id", "key"],
                ["value"],
            )

        self.write(set_tag)
        self._emit(WebhookEvent.REGISTERED_MODEL_TAG_SET, {"name": name, "key": tag.key, "value": str(tag.value)})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a tag from a registered model."""
        v.validate_model_name(name)
        v.validate_key_name(key, "key")

        def delete(conn: Connection) -> None:
            rm_id = self._model_row(conn, name, lock=True).rm_id
            t = registered_model_tags
            conn.execute(t.delete().where(t.c.rm_id == rm_id, t.c.key == key))

        self.write(delete)

    # -------------------------------------------------------------------------------- model versions
    def _logged_model(self, conn: Connection, model_id: str) -> Row[Any]:
        row = conn.execute(
            sa.select(logged_models.c.model_id, logged_models.c.artifact_location, logged_models.c.source_run_id).where(
                logged_models.c.model_id == model_id
            )
        ).first()
        if row is None:
            raise MltrailError(f"Logged model with ID '{model_id}' not found.", RESOURCE_DOES_NOT_EXIST)
        return row

    def _tag_logged_model(self, conn: Connection, model_id: str, name: str, version: int) -> None:
        t = logged_model_tags
        row = conn.execute(
            sa.select(t.c.tag_value, t.c.experiment_id).where(
                t.c.model_id == model_id, t.c.tag_key == MODEL_VERSIONS_TAG
            )
        ).first()
        entry = {"name": name, "version": version}
        entries: list[Any] = []
        if row is not None:
            try:
                entries = list(json.loads(row.tag_value))
            except (ValueError, TypeError):
                entries = []
        if entry in entries:
            return
        experiment_id = (
            row.experiment_id
            if row is not None
            else conn.execute(
                sa.select(logged_models.c.experiment_id).where(logged_models.c.model_id == model_id)
            ).scalar_one()
        )
        record = {"model_id": model_id, "experiment_id": experiment_id, "tag_key": MODEL_VERSIONS_TAG}
        _dialect.upsert(
            conn, t, [{**record, "tag_value": json.dumps([*entries, entry])}], ["model_id", "tag_key"], ["tag_value"]
        )

    def _resolve_models_uri(self, conn: Connection, uri: str) -> tuple[str, str | None, str | None]:
        """``models:/...`` -> (storage location, run_id, model_id) of what it names."""
        target = uri[len("models:") :].lstrip("/")
        if target.startswith("m-") and "/" not in target and "@" not in target:
            logged = self._logged_model(conn, target)
            return logged.artifact_location, logged.source_run_id, logged.model_id
        if "@" in target:
            name, alias = target.split("@", 1)
            model = self._model_row(conn, name)
            a = registered_model_aliases
            number = conn.execute(sa.select(a.c.version).where(a.c.rm_id == model.rm_id, a.c.alias == alias)).scalar()
            if number is None:
                raise MltrailError(f"Registered model alias {alias} not found.", INVALID_PARAMETER_VALUE)
        else:
            name, _, which = target.partition("/")
            model = self._model_row(conn, name)
            if which.isdigit():
                number = int(which)
            else:
                query = sa.select(sa.func.max(mvs.c.version)).where(mvs.c.rm_id == model.rm_id)
                if which.lower() != "latest":
                    query = query.where(mvs.c.current_stage == canonical_stage(which))
                number = conn.execute(query).scalar()
                if number is None:
                    raise MltrailError(f"No versions of model '{name}' match '{uri}'.", RESOURCE_DOES_NOT_EXIST)
        _, row = self._version_row(conn, model.name, number)
        return row.storage_location or row.source, row.run_id, row.model_id

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
            raise MltrailError(v.missing_value("source"), INVALID_PARAMETER_VALUE)
        tag_map = {}
        for tag in tags or []:
            v.validate_tag(tag.key, tag.value)
            tag_map[tag.key] = str(tag.value)

        def create(conn: Connection) -> ModelVersion:
            storage, linked_run, linked_model = source, None, model_id or None
            if source.startswith("models:"):
                storage, linked_run, source_model = self._resolve_models_uri(conn, source)
                linked_model = linked_model or source_model
            elif linked_model:
                linked_run = self._logged_model(conn, linked_model).source_run_id
            model = self._model_row(conn, name, lock=True)
            number = int(model.next_version)
            now = now_ms()
            conn.execute(
                rms.update().where(rms.c.rm_id == model.rm_id).values(next_version=number + 1, last_updated_time=now)
            )
            values = {
                "rm_id": model.rm_id,
                "version": number,
                "creation_time": now,
                "last_updated_time": now,
                "description": description or None,
                "current_stage": STAGE_NONE,
                "source": source,
                "storage_location": storage,
                "run_id": run_id or linked_run or None,
                "run_link": run_link or None,
                "status": ModelVersionStatus.READY.value,
                "model_id": linked_model,
                "user_id": None,
                "status_message": None,
            }
            conn.execute(mvs.insert().values(**values))
            if tag_map:
                conn.execute(
                    model_version_tags.insert(),
                    [{"rm_id": model.rm_id, "version": number, "key": k, "value": val} for k, val in tag_map.items()],
                )
            if linked_model:
                self._tag_logged_model(conn, linked_model, name, number)
            row = conn.execute(sa.select(mvs).where(mvs.c.rm_id == model.rm_id, mvs.c.version == number)).one()
            return _load.model_version(row, name, tag_map, {})

        version = self.write(create)
        self._emit(
            WebhookEvent.MODEL_VERSION_CREATED,
            {
                "name": name,
                "version": version.version,
                "source": source,
                "run_id": version.run_id,
                "model_id": version.model_id,
                "tags": tag_map,
                "description": description,
            },
        )
        return version

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Return one version."""
        return self.read(lambda conn: self._load_version(conn, *self._version_row(conn, name, version)))

    def update_model_version(self, name: str, version: str | int, description: str | None) -> ModelVersion:
        """Set a version's description."""

        def update(conn: Connection) -> ModelVersion:
            model, row = self._version_row(conn, name, version, lock=True)
            conn.execute(
                mvs.update()
                .where(mvs.c.rm_id == model.rm_id, mvs.c.version == row.version)
                .values(description=description, last_updated_time=now_ms())
            )
            return self._load_version(conn, model, self._version_row(conn, name, version)[1])

        return self.write(update)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to ``stage``; optionally archive the others in that stage."""
        target = canonical_stage(stage)
        if archive_existing_versions and target not in ACTIVE_STAGES:
            raise MltrailError(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}",
                INVALID_PARAMETER_VALUE,
            )

        def transition(conn: Connection) -> tuple[ModelVersion, str]:
            model, row = self._version_row(conn, name, version, lock=True)
            now = now_ms()
            if archive_existing_versions:
                conn.execute(
                    mvs.update()
                    .where(mvs.c.rm_id == model.rm_id, mvs.c.version != row.version, mvs.c.current_stage == target)
                    .values(current_stage=STAGE_ARCHIVED, last_updated_time=now)
                )
            conn.execute(
                mvs.update()
                .where(mvs.c.rm_id == model.rm_id, mvs.c.version == row.version)
                .values(current_stage=target, last_updated_time=now)
            )
            self._touch(conn, model.rm_id, now)
            return self._load_version(conn, model, self._version_row(conn, name, version)[1]), row.current_stage

        result, previous = self.write(transition)
        self._emit(
            WebhookEvent.MODEL_VERSION_STAGE_CHANGED,
            {
                "name": name,
                "version": result.version,
                "from_stage": previous,
                "to_stage": target,
                "archive_existing_versions": bool(archive_existing_versions),
            },
        )
        return result

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version (its number is never reused) and the aliases pointing at it."""

        def delete(conn: Connection) -> None:
            model, row = self._version_row(conn, name, version, lock=True)
            t, a = model_version_tags, registered_model_aliases
            conn.execute(t.delete().where(t.c.rm_id == model.rm_id, t.c.version == row.version))
            conn.execute(a.delete().where(a.c.rm_id == model.rm_id, a.c.version == row.version))
            conn.execute(mvs.delete().where(mvs.c.rm_id == model.rm_id, mvs.c.version == row.version))
            self._touch(conn, model.rm_id, now_ms())

        self.write(delete)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where a version's artifacts are."""

        def read(conn: Connection) -> str:
            _, row = self._version_row(conn, name, version)
            return str(row.storage_location or row.source)

        return self.read(read)

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
        query = search.model_versions_page(filter_string, order_by, self._dialect)
        page = {search.PAGE_LIMIT: limit + 1, search.PAGE_OFFSET: offset}

        def run(conn: Connection) -> PagedList[ModelVersion]:
            rows = conn.execute(query, page).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_versions(conn, rows[:limit]), token)

        return self.read(run)

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        """Set (or overwrite) a tag on a version."""
        v.validate_model_name(name)
        number = v.validate_version(version)
        v.validate_tag(tag.key, tag.value)

        def set_tag(conn: Connection) -> None:
            model, _ = self._version_row(conn, name, number, lock=True)
            row = {"rm_id": model.rm_id, "version": number, "key": tag.key, "value": str(tag.value)}
            _dialect.upsert(conn, model_version_tags, [row], ["rm_id", "version", "key"], ["value"])

        self.write(set_tag)
        self._emit(
            WebhookEvent.MODEL_VERSION_TAG_SET,
            {"name": name, "version": str(number), "key": tag.key, "value": str(tag.value)},
        )

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Delete a tag from a version."""
        v.validate_model_name(name)
        number = v.validate_version(version)
        v.validate_key_name(key, "key")

        def delete(conn: Connection) -> None:
            model, _ = self._version_row(conn, name, number, lock=True)
            t = model_version_tags
            conn.execute(t.delete().where(t.c.rm_id == model.rm_id, t.c.version == number, t.c.key == key))

        self.write(delete)

    # ------------------------------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` at a version."""
        v.validate_model_name(name)
        v.validate_alias(alias)
        v.validate_alias_not_reserved(alias)
        number = v.validate_version(version)

        def set_alias(conn: Connection) -> None:
            model, _ = self._version_row(conn, name, number, lock=True)
            row = {"rm_id": model.rm_id, "alias": alias, "version": number}
            _dialect.upsert(conn, registered_model_aliases, [row], ["rm_id", "alias"], ["version"])

        self.write(set_alias)
        self._emit(WebhookEvent.MODEL_VERSION_ALIAS_SET, {"name": name, "alias": alias, "version": str(number)})

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        v.validate_model_name(name)
        v.validate_alias(alias)

        def delete(conn: Connection) -> bool:
            rm_id = self._model_row(conn, name, lock=True).rm_id
            a = registered_model_aliases
            return conn.execute(a.delete().where(a.c.rm_id == rm_id, a.c.alias == alias)).rowcount > 0

        if self.write(delete):
            self._emit(WebhookEvent.MODEL_VERSION_ALIAS_DELETED, {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names (``latest``: the highest version)."""
        v.validate_model_name(name)
        v.validate_alias(alias)

        def read(conn: Connection) -> ModelVersion:
            model = self._model_row(conn, name)
            if alias.lower() == "latest":
                number = conn.execute(sa.select(sa.func.max(mvs.c.version)).where(mvs.c.rm_id == model.rm_id)).scalar()
                if number is None:
                    raise MltrailError(f"Latest version not found for model {name}.", RESOURCE_DOES_NOT_EXIST)
            else:
                a = registered_model_aliases
                number = conn.execute(
                    sa.select(a.c.version).where(a.c.rm_id == model.rm_id, a.c.alias == alias)
                ).scalar()
                if number is None:
                    raise MltrailError(f"Registered model alias {alias} not found.", INVALID_PARAMETER_VALUE)
            return self._load_version(conn, *self._version_row(conn, name, number))

        return self.read(read)

    def is_prompt(self, name: str) -> bool:
        """Whether the registered model ``name`` is a prompt (False when it does not exist)."""

        def read(conn: Connection) -> bool:
            t = registered_model_tags
            value = conn.execute(
                sa.select(t.c.value)
                .select_from(t.join(rms, rms.c.rm_id == t.c.rm_id))
                .where(rms.c.name == name, t.c.key == IS_PROMPT_TAG_KEY)
            ).scalar()
            return str(value).lower() == "true"

        return self.read(read)

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
