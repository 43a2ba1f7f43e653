"""The SQL tracking store: SQLite, PostgreSQL and MySQL/MariaDB through SQLAlchemy Core.

Each public method runs in one transaction. Writers lock the run (or experiment) row they change first
(``SELECT ... FOR UPDATE``; SQLite has a single writer through ``BEGIN IMMEDIATE``), so concurrent log-batches
on one run serialize cleanly; transient lock and deadlock errors are retried, never shown to callers.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from mltrail.entities import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    DatasetInput,
    DatasetSummary,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import (
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MltrailError,
)
from mltrail.search.paging import decode_page_token, encode_page_token, validate_max_results
from mltrail.store import db
from mltrail.store.tracking.base import (
    LOGGED_MODELS_MAX_RESULTS_DEFAULT,
    SEARCH_MAX_RESULTS_DEFAULT,
    SEARCH_MAX_RESULTS_THRESHOLD,
    DeletedExperiment,
    DeletedRun,
    LoggedModelOrderBy,
    TrackingStore,
    now_ms,
)
from mltrail.store.tracking.downsample import DEFAULT_MAX_POINTS
from mltrail.store.tracking.downsample import validate as validate_downsample
from mltrail.store.tracking.sql import (
    _autocommit,
    _dialect,
    _downsample,
    _interval,
    _load,
    _metrics,
    migrations,
    search,
)
from mltrail.store.tracking.sql import tables as tbl
from mltrail.store.tracking.sql._names import random_name
from mltrail.store.tracking.sql.tables import (
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    runs,
)
from mltrail.store.tracking.validation import (
    parse_experiment_id,
    validate_artifact_location,
    validate_batch,
    validate_dataset_inputs,
    validate_experiment_name,
    validate_experiment_tag,
    validate_key_name,
    validate_run_id,
    validate_tag,
)

T = TypeVar("T")

RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
MAX_RUN_NAME_LENGTH = 250
_INT32_MAX = 2**31 - 1
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


def _join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def _resolve_location(location: str) -> str:
    """A local path becomes absolute; URIs (``s3://``, ``file:///``, ``mlflow-artifacts:/``) are kept."""
    if _SCHEME.match(location):
        return location
    return os.path.abspath(os.path.expanduser(location))


def _not_found_run(run_id: str) -> MltrailError:
    return MltrailError(f"Run with id={run_id} not found", RESOURCE_DOES_NOT_EXIST)


def _not_found_experiment(experiment_id: object) -> MltrailError:
    return MltrailError(f"No Experiment with id={experiment_id} exists", RESOURCE_DOES_NOT_EXIST)


def _not_found_model(model_id: str) -> MltrailError:
    return MltrailError(f"Logged model with ID '{model_id}' not found.", RESOURCE_DOES_NOT_EXIST)


def _inactive_run(run_id: str, stage: str) -> MltrailError:
    return MltrailError(
        f"The run {run_id} must be in the 'active' state. Current state is {stage}.", INVALID_PARAMETER_VALUE
    )


def _inactive_experiment(experiment_id: object, stage: str) -> MltrailError:
    return MltrailError(
        f"The experiment {experiment_id} must be in the 'active' state. Current state is {stage}.",
        INVALID_PARAMETER_VALUE,
    )


# Built once: the run lookup is on every logging call, and building the expression costs more than running it.
_RUN_BY_ID = sa.select(*_load.RUN_COLUMNS).where(runs.c.run_uuid == sa.bindparam("run_id"))
_RUN_BY_ID_LOCKED = _RUN_BY_ID.with_for_update()


class SqlTrackingStore(TrackingStore):
    """A :class:`TrackingStore` on a SQL database.

    Args:
        db_uri: ``sqlite:///path.db``, ``postgresql://...`` or ``mysql[+pymysql]://...``.
        default_artifact_root: where experiments keep artifacts unless they name a location: a local path
            (made absolute) or a URI. Experiment ``N`` gets ``<root>/N``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported URI.
    """

    def __init__(self, db_uri: str, default_artifact_root: str) -> None:
        self.db_uri = db_uri
        self.artifact_root_uri = _resolve_location(default_artifact_root)
        self.engine = db.get_engine(db_uri)
        self._dialect = _dialect.dialect_name_for_engine(self.engine)
        self._one_statement_metrics = _dialect.merges_metrics_in_one_statement(self._dialect)
        db.ensure_schema(self.engine, migrations.SCRIPT_LOCATION, migrations.HEAD, migrations.VERSION_TABLE)
        self._ensure_default_experiment()

    # ------------------------------------------------------------------------------------------ plumbing
    def _write(self, fn: Callable[[Connection], T], replayable: bool = False) -> T:
        """Run ``fn`` in one write transaction, retried on lock errors and on a connection lost before COMMIT.

        ``replayable`` work (running it twice does what running it once does) is also retried when the
        connection was lost during COMMIT, whose outcome is unknown (:func:`db.with_retries`).
        """

        def attempt() -> T:
            with db.write_transaction(self.engine) as conn:
                return fn(conn)

        return db.with_retries(attempt, replayable=replayable)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        if self._dialect == "postgresql":
            # Under READ COMMITTED every statement sees its own snapshot, in a transaction or not: autocommit
            # reads give the same answers without the BEGIN, ROLLBACK and pre-ping round trips.
            return _autocommit.run(_autocommit.engine_for(self.db_uri), fn)

        def attempt() -> T:
            with db.read_transaction(self.engine) as conn:
                return fn(conn)

        return db.with_retries(attempt, replayable=True)

    def _lock(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query if self._dialect == "sqlite" else query.with_for_update()

    def _ensure_default_experiment(self) -> None:
        def create(conn: Connection) -> None:
            found = conn.execute(sa.select(experiments.c.experiment_id).where(experiments.c.experiment_id == 0))
            if found.first() is not None:
                return
            now = now_ms()
            if self._dialect == "mysql":
                conn.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
            try:
                conn.execute(
                    experiments.insert().values(
                        experiment_id=0,
                        name=DEFAULT_EXPERIMENT_NAME,
                        artifact_location=_join_uri(self.artifact_root_uri, DEFAULT_EXPERIMENT_ID),
                        lifecycle_stage=LifecycleStage.ACTIVE,
                        creation_time=now,
                        last_update_time=now,
                    )
                )
            finally:
                if self._dialect == "mysql":
                    conn.exec_driver_sql("SET SESSION sql_mode = REPLACE(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO', '')")

        with contextlib.suppress(IntegrityError):  # another process created it first
            self._write(create)

    def _experiment_row(self, conn: Connection, experiment_id: object, lock: bool = False) -> Row[Any]:
        exp_id = parse_experiment_id(experiment_id)
        if not 0 <= exp_id <= _INT32_MAX:
            raise _not_found_experiment(exp_id)
        query = sa.select(experiments).where(experiments.c.experiment_id == exp_id)
        row = conn.execute(self._lock(query) if lock else query).first()
        if row is None:
            raise _not_found_experiment(exp_id)
        return row

    def _active_experiment_row(self, conn: Connection, experiment_id: object, lock: bool = False) -> Row[Any]:
        row = self._experiment_row(conn, experiment_id, lock)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _inactive_experiment(row.experiment_id, row.lifecycle_stage)
        return row

    def _run_row(self, conn: Connection, run_id: str, lock: bool = False) -> Row[Any]:
        if not isinstance(run_id, str) or not run_id or len(run_id) > 32:
            if isinstance(run_id, str) and run_id and len(run_id) <= 256:
                raise _not_found_run(run_id)
            validate_run_id(run_id)
        query = _RUN_BY_ID_LOCKED if lock and self._dialect != "sqlite" else _RUN_BY_ID
        row = conn.execute(query, {"run_id": run_id}).first()
        if row is None:
            raise _not_found_run(run_id)
        return row

    def _active_run_row(self, conn: Connection, run_id: str) -> Row[Any]:
        row = self._run_row(conn, run_id, lock=True)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _inactive_run(run_id, row.lifecycle_stage)
        return row

    # --------------------------------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] | None = None
    ) -> str:
        """Create an experiment and return its id.

        Raises:
            MltrailError: RESOURCE_ALREADY_EXISTS for a taken name, INVALID_PARAMETER_VALUE for bad input.
        """
        validate_experiment_name(name)
        validate_artifact_location(artifact_location)
        location = _resolve_location(artifact_location) if artifact_location else None
        exp_tags = list(tags or ())
        for tag in exp_tags:
            validate_experiment_tag(tag)

        def create(conn: Connection) -> str:
            taken = conn.execute(sa.select(experiments.c.experiment_id).where(experiments.c.name == name)).first()
            if taken is not None:
                raise self._name_taken(name, taken.experiment_id)
            now = now_ms()
            result = conn.execute(
                experiments.insert().values(
                    name=name,
                    artifact_location=location,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
            )
            exp_id = int(result.inserted_primary_key[0])
            if location is None:
                conn.execute(
                    experiments.update()
                    .where(experiments.c.experiment_id == exp_id)
                    .values(artifact_location=_join_uri(self.artifact_root_uri, str(exp_id)))
                )
            unique = {t.key: t.value for t in exp_tags}
            if unique:
                conn.execute(
                    experiment_tags.insert(),
                    [{"experiment_id": exp_id, "key": k, "value": v} for k, v in unique.items()],
                )
            return str(exp_id)

        try:
            return self._write(create)
        except IntegrityError as exc:
            raise self._name_taken(name, None, exc) from None

    @staticmethod
    def _name_taken(name: str, experiment_id: object, exc: Exception | None = None) -> MltrailError:
        detail = f"experiment_id={experiment_id} has this name" if exc is None else str(exc.__cause__ or exc)
        return MltrailError(f"Experiment(name={name}) already exists. Error: {detail}", RESOURCE_ALREADY_EXISTS)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id (deleted ones too). Raises RESOURCE_DOES_NOT_EXIST."""
        return self._read(lambda conn: _load.load_experiments(conn, [self._experiment_row(conn, experiment_id)])[0])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name (deleted ones too), or None."""

        def get(conn: Connection) -> Experiment | None:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
            return None if row is None else _load.load_experiments(conn, [row])[0]

        return self._read(get)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments with the filter language; one page at a time."""
        limit = validate_max_results(max_results, SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD)
        offset = decode_page_token(page_token)
        view = ViewType.parse(view_type)
        query = search.experiments_query(filter_string, order_by, view, self._dialect)

        def run(conn: Connection) -> PagedList[Experiment]:
            rows = conn.execute(query.limit(limit + 1).offset(offset)).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_experiments(conn, rows[:limit]), token)

        return self._read(run)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its active runs (they are restored with it)."""

        def delete(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise _not_found_experiment(row.experiment_id)
            now = now_ms()
            conn.execute(
                experiments.update()
                .where(experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage=LifecycleStage.DELETED, last_update_time=now, deleted_time=now)
            )
            conn.execute(
                runs.update()
                .where(runs.c.experiment_id == row.experiment_id, runs.c.lifecycle_stage == LifecycleStage.ACTIVE)
                .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now)
            )

        self._write(delete)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment and the runs deleted with it."""

        def restore(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            if row.lifecycle_stage != LifecycleStage.DELETED:
                raise _not_found_experiment(row.experiment_id)
            conn.execute(
                experiments.update()
                .where(experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage=LifecycleStage.ACTIVE, last_update_time=now_ms(), deleted_time=None)
            )
            deleted_with_it = runs.c.deleted_time >= row.deleted_time if row.deleted_time is not None else sa.true()
            conn.execute(
                runs.update()
                .where(
                    runs.c.experiment_id == row.experiment_id,
                    runs.c.lifecycle_stage == LifecycleStage.DELETED,
                    deleted_with_it,
                )
                .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
            )

        self._write(restore)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""
        validate_experiment_name(new_name)

        def rename(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise MltrailError("Cannot rename a non-active experiment.", INVALID_STATE)
            taken = conn.execute(
                sa.select(experiments.c.experiment_id).where(
                    experiments.c.name == new_name, experiments.c.experiment_id != row.experiment_id
                )
            ).first()
            if taken is not None:
                raise self._name_taken(new_name, taken.experiment_id)
            conn.execute(
                experiments.update()
                .where(experiments.c.experiment_id == row.experiment_id)
                .values(name=new_name, last_update_time=now_ms())
            )

        try:
            self._write(rename)
        except IntegrityError as exc:
            raise self._name_taken(new_name, None, exc) from None

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set (insert or overwrite) a tag on an active experiment."""
        validate_experiment_tag(tag)

        def set_tag(conn: Connection) -> None:
            row = self._active_experiment_row(conn, experiment_id, lock=True)
            _dialect.upsert(
                conn,
                experiment_tags,
                [{"experiment_id": row.experiment_id, "key": tag.key, "value": tag.value}],
                ("experiment_id", "key"),
                ("value",),
            )

        self._write(set_tag)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete a tag from an active experiment. Raises RESOURCE_DOES_NOT_EXIST when it is not set."""

        def delete(conn: Connection) -> None:
            row = self._active_experiment_row(conn, experiment_id, lock=True)
            result = conn.execute(
                experiment_tags.delete().where(
                    experiment_tags.c.experiment_id == row.experiment_id, experiment_tags.c.key == key
                )
            )
            if result.rowcount == 0:
                raise MltrailError(
                    f"No tag with name: {key} in experiment with id {experiment_id}", RESOURCE_DOES_NOT_EXIST
                )

        self._write(delete)

    # ---------------------------------------------------------------------------------------------- runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        """Create a RUNNING run in an active experiment (see :meth:`TrackingStore.create_run`)."""
        run_tags = [validate_tag(t, f"tags[{i}]") for i, t in enumerate(tags or ())]
        tag_values = {t.key: t.value for t in run_tags}
        name_tag = tag_values.get(RUN_NAME_TAG)
        if run_name and name_tag and run_name != name_tag:
            raise MltrailError(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name='{run_name}', mlflow.runName='{name_tag}').",
                INVALID_PARAMETER_VALUE,
            )
        name = run_name or name_tag or random_name()
        self._check_run_name(name)
        tag_values[RUN_NAME_TAG] = name
        run_id = uuid.uuid4().hex

        def create(conn: Connection) -> Run:
            exp = self._active_experiment_row(conn, experiment_id)
            row = {
                "run_uuid": run_id,
                "name": name,
                "experiment_id": exp.experiment_id,
                "user_id": user_id or "",
                "status": RunStatus.RUNNING.value,
                "start_time": now_ms() if start_time is None else int(start_time),
                "end_time": None,
                "deleted_time": None,
                "lifecycle_stage": LifecycleStage.ACTIVE,
                "artifact_uri": _join_uri(exp.artifact_location or "", run_id, "artifacts"),
                "parent_run_id": tag_values.get(PARENT_RUN_ID_TAG),
            }
            conn.execute(runs.insert().values(**row))
            conn.execute(tbl.tags.insert(), [{"run_uuid": run_id, "key": k, "value": v} for k, v in tag_values.items()])
            info = RunInfo(
                run_id=run_id,
                experiment_id=str(exp.experiment_id),
                run_name=name,
                user_id=row["user_id"],
                status=RunStatus.RUNNING,
                start_time=row["start_time"],
                end_time=None,
                artifact_uri=row["artifact_uri"],
                lifecycle_stage=LifecycleStage.ACTIVE,
            )
            return Run(info=info, data=RunData(tags=dict(sorted(tag_values.items()))))

        return self._write(create)

    @staticmethod
    def _check_run_name(name: str) -> None:
        if len(name) > MAX_RUN_NAME_LENGTH:
            raise MltrailError(
                f"'run_name' exceeds the maximum length of {MAX_RUN_NAME_LENGTH} characters", INVALID_PARAMETER_VALUE
            )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its latest metrics, params, tags, inputs and outputs."""
        return self._read(lambda conn: _load.load_runs(conn, [self._run_row(conn, run_id)], self._dialect)[0])

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Apply the fields that are given; renaming also sets the ``mlflow.runName`` tag."""
        status = None if run_status is None else RunStatus.parse(run_status)
        if run_name:
            self._check_run_name(run_name)

        def update(conn: Connection) -> RunInfo:
            self._active_run_row(conn, run_id)
            values: dict[str, Any] = {}
            if status is not None:
                values["status"] = status.value
            if end_time is not None:
                values["end_time"] = int(end_time)
            if run_name:
                values["name"] = run_name
                _dialect.upsert(
                    conn,
                    tbl.tags,
                    [{"run_uuid": run_id, "key": RUN_NAME_TAG, "value": run_name}],
                    ("run_uuid", "key"),
                    ("value",),
                )
            if values:
                conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(**values))
            return _load.run_info(self._run_row(conn, run_id))

        return self._write(update)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""

        def delete(conn: Connection) -> None:
            self._run_row(conn, run_id, lock=True)
            conn.execute(
                runs.update()
                .where(runs.c.run_uuid == run_id)
                .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now_ms())
            )

        self._write(delete)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""

        def restore(conn: Connection) -> None:
            self._run_row(conn, run_id, lock=True)
            conn.execute(
                runs.update()
                .where(runs.c.run_uuid == run_id)
                .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
            )

        self._write(restore)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags to an active run in one transaction: all or nothing.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for bad input, a changed param value or an inactive run;
                RESOURCE_DOES_NOT_EXIST for an unknown run or logged model.
        """
        validate_run_id(run_id)
        metric_list = list(metrics)
        checked_params, checked_tags = validate_batch(metric_list, list(params), list(tags))
        for tag in checked_tags:
            if tag.key == RUN_NAME_TAG:
                self._check_run_name(tag.value)
        model_ids = sorted({m.model_id for m in metric_list if m.model_id is not None})
        if metric_list and not (checked_params or checked_tags or model_ids) and self._one_statement_metrics:
            self._log_metrics_one_statement(run_id, metric_list)
            return

        def log(conn: Connection) -> None:
            run = self._active_run_row(conn, run_id)
            if checked_params:
                self._write_params(conn, run_id, checked_params)
            if checked_tags:
                self._write_tags(conn, run_id, checked_tags)
            if metric_list:
                _metrics.write_metrics(conn, run_id, metric_list, self._dialect)
            if model_ids:
                self._check_models_exist(conn, model_ids)
                _metrics.write_model_metrics(conn, run_id, run.experiment_id, metric_list, self._dialect)

        # Replayable: exactly repeated points are skipped (and not counted again in the summaries), a param must
        # keep its value, tags and model metrics are upserted; so a batch whose COMMIT was cut off by a lost
        # connection is run again rather than failed, without duplicating anything.
        self._write(log, replayable=True)

    def _log_metrics_one_statement(self, run_id: str, metric_list: Sequence[Metric]) -> None:
        """Metrics-only batches where the backend merges summaries in SQL: one autocommit statement."""

        engine = _autocommit.engine_for(self.db_uri)
        if len(metric_list) == 1:
            row = _autocommit.first_row(engine, *_metrics.one_point_statement(run_id, metric_list[0]))
            stage = None if row is None else str(row[0])
        else:
            stage = _autocommit.run(
                engine, lambda conn: _metrics.write_metrics_one_statement(conn, run_id, metric_list, self._dialect)
            )
        if stage is None:
            raise _not_found_run(run_id)
        if stage != LifecycleStage.ACTIVE:
            raise _inactive_run(run_id, stage)

    def _write_params(self, conn: Connection, run_id: str, new: Sequence[Param]) -> None:
        keys = [p.key for p in new]
        existing = dict(
            conn.execute(
                sa.select(tbl.params.c.key, tbl.params.c.value).where(
                    tbl.params.c.run_uuid == run_id, tbl.params.c.key.in_(keys)
                )
            ).all()
        )
        for p in new:
            if p.key in existing and existing[p.key] != p.value:
                raise MltrailError(
                    f"Changing param values is not allowed. Param with key='{p.key}' was already logged with "
                    f"value='{existing[p.key]}' for run ID='{run_id}'. Attempted logging new value '{p.value}'.",
                    INVALID_PARAMETER_VALUE,
                )
        rows = [{"run_uuid": run_id, "key": p.key, "value": p.value} for p in new if p.key not in existing]
        if rows:
            conn.execute(tbl.params.insert(), rows)

    def _write_tags(self, conn: Connection, run_id: str, new: Sequence[RunTag]) -> None:
        values = {t.key: t.value for t in new}
        _dialect.upsert(
            conn,
            tbl.tags,
            [{"run_uuid": run_id, "key": k, "value": v} for k, v in values.items()],
            ("run_uuid", "key"),
            ("value",),
        )
        changes: dict[str, Any] = {}
        if RUN_NAME_TAG in values:
            changes["name"] = values[RUN_NAME_TAG]
        if PARENT_RUN_ID_TAG in values:
            changes["parent_run_id"] = values[PARENT_RUN_ID_TAG][:32]
        if changes:
            conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(**changes))

    def _check_models_exist(self, conn: Connection, model_ids: Sequence[str]) -> None:
        found = set(
            conn.execute(sa.select(logged_models.c.model_id).where(logged_models.c.model_id.in_(model_ids))).scalars()
        )
        for model_id in model_ids:
            if model_id not in found:
                raise _not_found_model(model_id)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag from an active run ("No tag with name: X" when absent)."""

        def delete(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            result = conn.execute(tbl.tags.delete().where(tbl.tags.c.run_uuid == run_id, tbl.tags.c.key == key))
            if result.rowcount == 0:
                raise MltrailError(f"No tag with name: {key} in run with id {run_id}", RESOURCE_DOES_NOT_EXIST)
            if key == PARENT_RUN_ID_TAG:
                conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(parent_run_id=None))

        self._write(delete)

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        """Every point of a metric, ordered by step then timestamp; paged when ``max_results`` is given."""
        if max_results is not None and (
            isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
        ):
            raise MltrailError(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer",
                INVALID_PARAMETER_VALUE,
            )
        offset = decode_page_token(page_token)
        m = tbl.metrics

        def read(conn: Connection) -> PagedList[Metric]:
            self._run_row(conn, run_id)
            query = (
                sa.select(m.c.step, m.c.timestamp, m.c.value, m.c.is_nan)
                .where(m.c.run_uuid == run_id, m.c.key == metric_key)
                .order_by(m.c.step, m.c.timestamp, m.c.value, m.c.is_nan)
            )
            if max_results is not None:
                query = query.limit(max_results + 1)
            if offset:
                query = query.offset(offset)
            rows = conn.execute(query).all()
            token = None
            if max_results is not None and len(rows) > max_results:
                rows, token = rows[:max_results], encode_page_token(offset + max_results)
            return PagedList(_metrics.history_points(rows, metric_key, run_id, self._dialect), token)

        return self._read(read)

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_results: int = 2500,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """Evenly sampled points per run (always keeping each run's min and max step), with ``run_id`` set."""
        if (start_step is None) != (end_step is None):
            raise MltrailError(
                "Both start_step and end_step must be provided together, or neither should be provided.",
                INVALID_PARAMETER_VALUE,
            )
        if start_step is not None and end_step is not None and start_step > end_step:
            raise MltrailError(
                f"end_step must be greater than start_step. Found start_step={start_step} and end_step={end_step}.",
                INVALID_PARAMETER_VALUE,
            )

        def sample(conn: Connection) -> list[Metric]:
            for run_id in run_ids:
                self._run_row(conn, run_id)
            return _interval.sample_metric_history(
                conn, run_ids, metric_key, max(1, int(max_results)), start_step, end_step
            )

        return self._read(sample)

    def get_metric_history_downsampled(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_points: int = DEFAULT_MAX_POINTS,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """Peak-preserving (M4) downsampled points per run, selected in one SQL statement (``_downsample``)."""
        validate_downsample(run_ids, metric_key, max_points, start_step, end_step)
        return self._read(
            lambda conn: _downsample.downsampled_history(conn, run_ids, metric_key, max_points, start_step, end_step)
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Search runs: one SQL statement selects the page (two for some orders), then one query loads its data."""
        return self._search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token, _load.load_runs
        )

    def search_runs_wire(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[dict[str, Any]]:
        """:meth:`search_runs` with the runs' wire dicts built straight from the rows."""
        return self._search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token, _load.load_run_dicts
        )

    def _search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: ViewType,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
        build: Callable[[Connection, Sequence[Row[Any]], str], list[T]],
    ) -> PagedList[T]:
        limit = validate_max_results(max_results, SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD)
        offset = decode_page_token(page_token)
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        view = ViewType.parse(run_view_type)
        plan = search.plan_run_search(exp_ids, filter_string, view, order_by, self._dialect, limit + 1, offset)

        def run(conn: Connection) -> PagedList[T]:
            if not exp_ids:
                return PagedList([], None)
            rows = plan.rows(conn)
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(build(conn, rows[:limit], self._dialect), token)

        return self._read(run)

    # ------------------------------------------------------------------------------- inputs and outputs
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record datasets (deduplicated per experiment by name and digest) and models a run used."""
        items = list(datasets or ())
        validate_dataset_inputs(items)
        unique: dict[tuple[str, str], DatasetInput] = {}
        for item in items:
            unique.setdefault((item.dataset.name, item.dataset.digest), item)

        def log(conn: Connection) -> None:
            run = self._active_run_row(conn, run_id)
            if unique:
                self._write_dataset_inputs(conn, run_id, run.experiment_id, unique)
            if models:
                _dialect.insert_ignore(
                    conn,
                    inputs,
                    [
                        {
                            "input_uuid": uuid.uuid4().hex,
                            "source_type": "RUN_INPUT",
                            "source_id": run_id,
                            "destination_type": "MODEL_INPUT",
                            "destination_id": m.model_id,
                            "step": 0,
                        }
                        for m in {m.model_id: m for m in models}.values()
                    ],
                    "step",
                )

        self._write(log)

    def _write_dataset_inputs(
        self, conn: Connection, run_id: str, experiment_id: int, unique: dict[tuple[str, str], DatasetInput]
    ) -> None:
        d = tbl.datasets
        names = sorted({k[0] for k in unique})
        known: dict[tuple[str, str], str] = {}
        query = sa.select(d.c.dataset_uuid, d.c.name, d.c.digest).where(
            d.c.experiment_id == experiment_id, d.c.name.in_(names)
        )
        for r in conn.execute(query):
            known[(r.name, r.digest)] = r.dataset_uuid
        new_datasets = []
        for key, item in unique.items():
            if key not in known:
                known[key] = uuid.uuid4().hex
                ds = item.dataset
                new_datasets.append(
                    {
                        "dataset_uuid": known[key],
                        "experiment_id": experiment_id,
                        "name": ds.name,
                        "digest": ds.digest,
                        "dataset_source_type": ds.source_type,
                        "dataset_source": ds.source,
                        "dataset_schema": ds.schema,
                        "dataset_profile": ds.profile,
                    }
                )
        if new_datasets:
            conn.execute(d.insert(), new_datasets)
        linked = set(
            conn.execute(
                sa.select(inputs.c.source_id).where(
                    inputs.c.source_type == "DATASET",
                    inputs.c.destination_type == "RUN",
                    inputs.c.destination_id == run_id,
                    inputs.c.source_id.in_(list(known.values())),
                )
            ).scalars()
        )
        edges, edge_tags = [], []
        for key, item in unique.items():
            if known[key] in linked:
                continue
            input_uuid = uuid.uuid4().hex
            edges.append(
                {
                    "input_uuid": input_uuid,
                    "source_type": "DATASET",
                    "source_id": known[key],
                    "destination_type": "RUN",
                    "destination_id": run_id,
                    "step": 0,
                }
            )
            edge_tags.extend(
                {"input_uuid": input_uuid, "name": k, "value": v}
                for k, v in {t.key: t.value for t in item.tags}.items()
            )
        if edges:
            conn.execute(inputs.insert(), edges)
        if edge_tags:
            conn.execute(input_tags.insert(), edge_tags)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record logged models a run produced."""

        def log(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            rows = [
                {
                    "input_uuid": uuid.uuid4().hex,
                    "source_type": "RUN_OUTPUT",
                    "source_id": run_id,
                    "destination_type": "MODEL_OUTPUT",
                    "destination_id": m.model_id,
                    "step": int(m.step),
                }
                for m in {m.model_id: m for m in models}.values()
            ]
            keys = ("source_type", "source_id", "destination_type", "destination_id")
            _dialect.upsert(conn, inputs, rows, keys, ("step",))

        self._write(log)

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """Distinct (name, digest, context) of datasets used by runs of these experiments."""
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        return self._read(lambda conn: search.search_datasets(conn, exp_ids))

    # ------------------------------------------------------------------------------------ move and purge
    def move_runs(self, run_ids: Sequence[str], experiment_id: str) -> None:
        """Move runs (and their children) to another active experiment. All or nothing."""
        ids = list(dict.fromkeys(run_ids))

        def move(conn: Connection) -> None:
            exp = self._active_experiment_row(conn, experiment_id, lock=True)
            for run_id in ids:
                self._run_row(conn, run_id, lock=True)
            moving, frontier = set(ids), list(ids)
            while frontier:
                children: list[str] = []
                for start in range(0, len(frontier), 500):
                    chunk = frontier[start : start + 500]
                    children.extend(
                        conn.execute(sa.select(runs.c.run_uuid).where(runs.c.parent_run_id.in_(chunk))).scalars()
                    )
                frontier = [c for c in children if c not in moving]
                moving.update(frontier)
            ordered = sorted(moving)
            for start in range(0, len(ordered), 500):
                conn.execute(
                    runs.update()
                    .where(runs.c.run_uuid.in_(ordered[start : start + 500]))
                    .values(experiment_id=exp.experiment_id)
                )

        self._write(move)

    def list_deleted_runs(
        self, older_than_ms: int | None = None, experiment_ids: Sequence[str] | None = None
    ) -> list[DeletedRun]:
        """Soft-deleted runs, optionally only those deleted more than ``older_than_ms`` ago."""
        query = sa.select(runs.c.run_uuid, runs.c.experiment_id, runs.c.artifact_uri, runs.c.deleted_time).where(
            runs.c.lifecycle_stage == LifecycleStage.DELETED
        )
        if older_than_ms is not None:
            query = query.where(runs.c.deleted_time <= now_ms() - int(older_than_ms))
        if experiment_ids is not None:
            query = query.where(runs.c.experiment_id.in_([parse_experiment_id(e) for e in experiment_ids]))
        return self._read(
            lambda conn: [
                DeletedRun(r.run_uuid, str(r.experiment_id), r.artifact_uri or "", r.deleted_time)
                for r in conn.execute(query.order_by(runs.c.deleted_time, runs.c.run_uuid))
            ]
        )

    def list_deleted_experiments(self, older_than_ms: int | None = None) -> list[DeletedExperiment]:
        """Soft-deleted experiments, optionally only those deleted more than ``older_than_ms`` ago."""
        e = experiments
        query = sa.select(e.c.experiment_id, e.c.artifact_location, e.c.deleted_time).where(
            e.c.lifecycle_stage == LifecycleStage.DELETED
        )
        if older_than_ms is not None:
            query = query.where(
                sa.func.coalesce(e.c.deleted_time, e.c.last_update_time) <= now_ms() - int(older_than_ms)
            )
        return self._read(
            lambda conn: [
                DeletedExperiment(str(r.experiment_id), r.artifact_location or "", r.deleted_time)
                for r in conn.execute(query.order_by(e.c.experiment_id))
            ]
        )

    def purge_run(self, run_id: str) -> None:
        """Permanently delete a soft-deleted run and all its rows. Artifacts are the caller's job."""

        def purge(conn: Connection) -> None:
            row = self._run_row(conn, run_id, lock=True)
            if row.lifecycle_stage != LifecycleStage.DELETED:
                raise MltrailError(
                    f"Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle stage "
                    "can be purged.",
                    INVALID_PARAMETER_VALUE,
                )
            self._purge_runs(conn, [run_id])

        self._write(purge)

    def _purge_runs(self, conn: Connection, run_ids: Sequence[str]) -> None:
        for table in tbl.RUN_CHILD_TABLES:
            conn.execute(table.delete().where(table.c.run_uuid.in_(run_ids)))
        run_inputs = sa.select(inputs.c.input_uuid).where(
            inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(run_ids)
        )
        conn.execute(input_tags.delete().where(input_tags.c.input_uuid.in_(run_inputs.scalar_subquery())))
        conn.execute(
            inputs.delete().where(
                sa.or_(
                    sa.and_(inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(run_ids)),
                    sa.and_(inputs.c.source_type.in_(("RUN_INPUT", "RUN_OUTPUT")), inputs.c.source_id.in_(run_ids)),
                )
            )
        )
        conn.execute(runs.update().where(runs.c.parent_run_id.in_(run_ids)).values(parent_run_id=None))
        conn.execute(runs.delete().where(runs.c.run_uuid.in_(run_ids)))

    def purge_experiment(self, experiment_id: str) -> None:
        """Permanently delete a soft-deleted experiment that has no runs left."""

        def purge(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id, lock=True)
            exp_id = row.experiment_id
            if row.lifecycle_stage != LifecycleStage.DELETED:
                raise MltrailError(
                    f"Experiment {exp_id} is not in `deleted` lifecycle stage. Only experiments in `deleted` "
                    "lifecycle stage can be purged.",
                    INVALID_PARAMETER_VALUE,
                )
            left = conn.execute(sa.select(sa.func.count()).where(runs.c.experiment_id == exp_id)).scalar_one()
            if left:
                raise MltrailError(
                    f"Experiment {exp_id} still has {left} run(s); purge them before the experiment.",
                    INVALID_PARAMETER_VALUE,
                )
            ds_ids = (
                sa.select(tbl.datasets.c.dataset_uuid).where(tbl.datasets.c.experiment_id == exp_id).scalar_subquery()
            )
            ds_inputs = sa.select(inputs.c.input_uuid).where(
                inputs.c.source_type == "DATASET", inputs.c.source_id.in_(ds_ids)
            )
            conn.execute(input_tags.delete().where(input_tags.c.input_uuid.in_(ds_inputs.scalar_subquery())))
            conn.execute(inputs.delete().where(inputs.c.source_type == "DATASET", inputs.c.source_id.in_(ds_ids)))
            conn.execute(tbl.datasets.delete().where(tbl.datasets.c.experiment_id == exp_id))
            model_ids = sa.select(logged_models.c.model_id).where(logged_models.c.experiment_id == exp_id)
            for table in (logged_model_metrics, logged_model_params, logged_model_tags):
                conn.execute(table.delete().where(table.c.model_id.in_(model_ids.scalar_subquery())))
            conn.execute(
                inputs.delete().where(
                    inputs.c.destination_type.in_(("MODEL_INPUT", "MODEL_OUTPUT")),
                    inputs.c.destination_id.in_(model_ids.scalar_subquery()),
                )
            )
            conn.execute(logged_models.delete().where(logged_models.c.experiment_id == exp_id))
            conn.execute(experiment_tags.delete().where(experiment_tags.c.experiment_id == exp_id))
            conn.execute(experiments.delete().where(experiments.c.experiment_id == exp_id))

        self._write(purge)

    # ------------------------------------------------------------------------------------- logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[RunTag] | None = None,
        params: Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model ``m-<32 hex>`` with artifacts under the experiment's location."""
        if name is not None:
            self._check_model_name(name)
        model_tags = {t.key: t.value for t in tags or ()}
        model_params = {p.key: p.value for p in params or ()}
        for key in (*model_tags, *model_params):
            validate_key_name(key, "key")
        model_id = f"m-{uuid.uuid4().hex}"
        model_name = name or random_name()

        def create(conn: Connection) -> LoggedModel:
            exp = self._active_experiment_row(conn, experiment_id)
            now = now_ms()
            conn.execute(
                logged_models.insert().values(
                    model_id=model_id,
                    experiment_id=exp.experiment_id,
                    name=model_name,
                    artifact_location=_join_uri(exp.artifact_location or "", "models", model_id, "artifacts"),
                    creation_timestamp_ms=now,
                    last_updated_timestamp_ms=now,
                    status=LoggedModelStatus.PENDING.value,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    model_type=model_type,
                    source_run_id=source_run_id,
                )
            )
            self._write_model_kv(conn, model_id, exp.experiment_id, model_tags, model_params)
            return self._load_model(conn, model_id, allow_deleted=False)

        return self._write(create)

    @staticmethod
    def _check_model_name(name: str) -> None:
        if not name or not name.strip():
            raise MltrailError("Logged model name cannot be empty.", INVALID_PARAMETER_VALUE)
        bad = [c for c in ("/", ":", ".", "%", '"', "'") if c in name]
        if bad:
            raise MltrailError(
                f"Invalid model name ('{name}') provided. Model name must not contain any of the following "
                f"characters: {bad}",
                INVALID_PARAMETER_VALUE,
            )
        if len(name) > 500:
            raise MltrailError("'name' exceeds the maximum length of 500 characters", INVALID_PARAMETER_VALUE)

    def _write_model_kv(
        self,
        conn: Connection,
        model_id: str,
        experiment_id: int,
        model_tags: dict[str, str],
        model_params: dict[str, str],
    ) -> None:
        if model_tags:
            _dialect.upsert(
                conn,
                logged_model_tags,
                [
                    {"model_id": model_id, "experiment_id": experiment_id, "tag_key": k, "tag_value": v}
                    for k, v in model_tags.items()
                ],
                ("model_id", "tag_key"),
                ("tag_value",),
            )
        if model_params:
            _dialect.upsert(
                conn,
                logged_model_params,
                [
                    {"model_id": model_id, "experiment_id": experiment_id, "param_key": k, "param_value": v}
                    for k, v in model_params.items()
                ],
                ("model_id", "param_key"),
                ("param_value",),
            )

    def _model_row(self, conn: Connection, model_id: str, allow_deleted: bool = False, lock: bool = False) -> Row[Any]:
        query = sa.select(logged_models).where(logged_models.c.model_id == model_id)
        row = conn.execute(self._lock(query) if lock else query).first()
        if row is None or (not allow_deleted and row.lifecycle_stage == LifecycleStage.DELETED):
            raise _not_found_model(model_id)
        return row

    def _load_model(self, conn: Connection, model_id: str, allow_deleted: bool) -> LoggedModel:
        return _load.load_logged_models(conn, [self._model_row(conn, model_id, allow_deleted)], self._dialect)[0]

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """Return a logged model with its tags, params and the metrics logged against it."""
        return self._read(lambda conn: self._load_model(conn, model_id, allow_deleted))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's status (READY or UPLOAD_FAILED)."""
        new_status = LoggedModelStatus.parse(status)

        def finalize(conn: Connection) -> LoggedModel:
            self._model_row(conn, model_id, lock=True)
            conn.execute(
                logged_models.update()
                .where(logged_models.c.model_id == model_id)
                .values(status=new_status.value, last_updated_timestamp_ms=now_ms())
            )
            return self._load_model(conn, model_id, allow_deleted=False)

        return self._write(finalize)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""

        def delete(conn: Connection) -> None:
            self._model_row(conn, model_id, lock=True)
            conn.execute(
                logged_models.update()
                .where(logged_models.c.model_id == model_id)
                .values(lifecycle_stage=LifecycleStage.DELETED, last_updated_timestamp_ms=now_ms())
            )

        self._write(delete)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, str]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrderBy] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Search active logged models of these experiments."""
        limit = validate_max_results(max_results, LOGGED_MODELS_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD)
        offset = decode_page_token(page_token)
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        query = search.logged_models_query(exp_ids, filter_string, datasets, order_by, self._dialect)

        def run(conn: Connection) -> PagedList[LoggedModel]:
            rows = conn.execute(query.limit(limit + 1).offset(offset)).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_logged_models(conn, rows[:limit], self._dialect), token)

        return self._read(run)

    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None:
        """Set tags on a logged model."""
        values = {t.key: t.value for t in tags}
        for key in values:
            validate_key_name(key, "key")

        def set_tags(conn: Connection) -> None:
            row = self._model_row(conn, model_id, lock=True)
            self._write_model_kv(conn, model_id, row.experiment_id, values, {})

        self._write(set_tags)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Delete a tag from a logged model."""

        def delete(conn: Connection) -> None:
            self._model_row(conn, model_id, lock=True)
            t = logged_model_tags
            result = conn.execute(t.delete().where(t.c.model_id == model_id, t.c.tag_key == key))
            if result.rowcount == 0:
                raise MltrailError(
                    f"No tag with key {key!r} found for model with ID {model_id!r}.", RESOURCE_DOES_NOT_EXIST
                )

        self._write(delete)

    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        """Add params to a logged model."""
        values = {p.key: p.value for p in params}
        for key in values:
            validate_key_name(key, "key")

        def log(conn: Connection) -> None:
            row = self._model_row(conn, model_id, lock=True)
            self._write_model_kv(conn, model_id, row.experiment_id, {}, values)

        self._write(log)
