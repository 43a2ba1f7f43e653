"""The SQL tracking store: SQLite, PostgreSQL and MySQL/MariaDB through SQLAlchemy Core.

:class:`SqlTrackingStore` is a facade: it validates input, then runs each call as one read or write of its
:class:`~mltrail.store.sql.database.Database` (retried on lock errors and lost connections), doing the work with
the functions of a connection in the modules by entity: ``_experiments``, ``_runs`` (with params and tags),
``_metrics`` (points, summaries, history), ``_inputs`` (datasets, model inputs and outputs), ``_logged_models``,
``_purge`` (garbage collection); ``search`` compiles searches and ``_load`` turns rows into entities. Writers
lock the run (or experiment) row they change first, so concurrent log-batches on one run serialize cleanly.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from mltrail import errors
from mltrail.entities import (
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
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.search.paging import decode_page_token, encode_page_token, validate_max_results
from mltrail.store.sql.database import Database
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.base import (
    LOGGED_MODELS_MAX_RESULTS_DEFAULT,
    SEARCH_MAX_RESULTS_DEFAULT,
    SEARCH_MAX_RESULTS_THRESHOLD,
    DeletedExperiment,
    DeletedRun,
    LoggedModelOrderBy,
    TrackingStore,
)
from mltrail.store.tracking.downsample import DEFAULT_MAX_POINTS
from mltrail.store.tracking.downsample import validate as validate_downsample
from mltrail.store.tracking.sql import (
    _downsample,
    _experiments,
    _inputs,
    _interval,
    _load,
    _logged_models,
    _metrics,
    _purge,
    _runs,
    migrations,
    search,
)
from mltrail.store.tracking.sql._names import random_name
from mltrail.store.tracking.validation import (
    parse_experiment_id,
    validate_artifact_location,
    validate_batch,
    validate_dataset_inputs,
    validate_experiment_name,
    validate_experiment_tag,
    validate_key_name,
    validate_older_than_ms,
    validate_run_fields,
    validate_run_id,
)

T = TypeVar("T")


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
        self.artifact_root_uri = _experiments.resolve_location(default_artifact_root)
        self.db = Database(db_uri)
        self.dialect = self.db.dialect
        self._one_statement_metrics = self.dialect.merges_metrics_in_one_statement
        self.db.ensure_schema(migrations)
        with contextlib.suppress(IntegrityError):  # another process created it first
            self.db.write(lambda conn: _experiments.create_default(conn, self.dialect, self.artifact_root_uri))

    @property
    def engine(self) -> Engine:
        """The database's main engine (for tools and tests)."""
        return self.db.engine

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
        location = _experiments.resolve_location(artifact_location) if artifact_location else None
        exp_tags = list(tags or ())
        for tag in exp_tags:
            validate_experiment_tag(tag)
        root = self.artifact_root_uri
        try:
            return self.db.write(lambda conn: _experiments.create(conn, name, location, exp_tags, root))
        except IntegrityError as exc:
            raise _experiments.name_taken(name, None, exc) from None

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id (deleted ones too). Raises RESOURCE_DOES_NOT_EXIST."""
        return self.db.read(lambda conn: _experiments.get(conn, experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name (deleted ones too), or None."""
        return self.db.read(lambda conn: _experiments.get_by_name(conn, name))

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
        query = search.experiments_query(filter_string, order_by, view, self.dialect).limit(limit + 1).offset(offset)

        def run(conn: Connection) -> PagedList[Experiment]:
            rows = conn.execute(query).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_experiments(conn, rows[:limit]), token)

        return self.db.read(run)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its active runs (they are restored with it)."""
        self.db.write(lambda conn: _experiments.delete(conn, experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment and the runs deleted with it."""
        self.db.write(lambda conn: _experiments.restore(conn, experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""
        validate_experiment_name(new_name)
        try:
            self.db.write(lambda conn: _experiments.rename(conn, experiment_id, new_name))
        except IntegrityError as exc:
            raise _experiments.name_taken(new_name, None, exc) from None

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set (insert or overwrite) a tag on an active experiment."""
        validate_experiment_tag(tag)
        self.db.write(lambda conn: _experiments.set_tag(conn, self.dialect, experiment_id, tag))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete a tag from an active experiment. Raises RESOURCE_DOES_NOT_EXIST when it is not set."""
        self.db.write(lambda conn: _experiments.delete_tag(conn, experiment_id, key))

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
        validate_run_fields(user_id=user_id, start_time=start_time, run_name=run_name)
        name, tag_values = _runs.name_and_tags(tags, run_name)
        run_id = uuid.uuid4().hex
        return self.db.write(
            lambda conn: _runs.create(conn, experiment_id, run_id, name, user_id, start_time, tag_values)
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its latest metrics, params, tags, inputs and outputs."""
        return self.db.read(lambda conn: _runs.get(conn, self.dialect, run_id))

    def experiment_id_of_run(self, run_id: str) -> str:
        """The id of the experiment a run belongs to, from the run's row alone."""
        return self.db.read(lambda conn: str(_runs.row(conn, run_id).experiment_id))

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Apply the fields that are given; renaming also sets the ``mlflow.runName`` tag."""
        status = None if run_status is None else RunStatus.parse(run_status)
        validate_run_fields(end_time=end_time, run_name=run_name)
        if run_name:
            _runs.check_name(run_name)
        return self.db.write(lambda conn: _runs.update_info(conn, self.dialect, run_id, status, end_time, run_name))

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self.db.write(lambda conn: _runs.set_lifecycle_stage(conn, run_id, LifecycleStage.DELETED))

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self.db.write(lambda conn: _runs.set_lifecycle_stage(conn, run_id, LifecycleStage.ACTIVE))

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
            if tag.key == _runs.RUN_NAME_TAG:
                _runs.check_name(tag.value)
        model_ids = sorted({m.model_id for m in metric_list if m.model_id is not None})
        if metric_list and not (checked_params or checked_tags or model_ids) and self._one_statement_metrics:
            self._log_metrics_one_statement(run_id, metric_list)
            return
        dialect = self.dialect
        # Replayable: exactly repeated points are skipped (and not counted again in the summaries), a param must
        # keep its value, tags and model metrics are upserted; so a batch whose COMMIT was cut off by a lost
        # connection is run again rather than failed, without duplicating anything.
        self.db.write(
            lambda conn: _runs.log_batch(conn, dialect, run_id, metric_list, checked_params, checked_tags, model_ids),
            replayable=True,
        )

    def _log_metrics_one_statement(self, run_id: str, metric_list: Sequence[Metric]) -> None:
        """Metrics-only batches where the backend merges summaries in SQL: one autocommit statement."""
        if len(metric_list) == 1:
            row = self.db.autocommit_row(*_metrics.one_point_statement(run_id, metric_list[0]))
            stage = None if row is None else str(row[0])
        else:
            dialect = self.dialect
            stage = self.db.autocommit(
                lambda conn: _metrics.write_metrics_one_statement(conn, dialect, run_id, metric_list)
            )
        if stage is None:
            raise _runs.not_found(run_id)
        if stage != LifecycleStage.ACTIVE:
            raise _runs.inactive(run_id, stage)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag from an active run ("No tag with name: X" when absent)."""
        self.db.write(lambda conn: _runs.delete_tag(conn, run_id, key))

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        """Every point of a metric, ordered by step then timestamp; paged when ``max_results`` is given."""
        if max_results is not None and (
            isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
        ):
            raise errors.invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
            )
        offset = decode_page_token(page_token)

        def read(conn: Connection) -> PagedList[Metric]:
            _runs.row(conn, run_id)
            return _metrics.history(conn, self.dialect, run_id, metric_key, max_results, offset)

        return self.db.read(read)

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
            raise errors.invalid(
                "Both start_step and end_step must be provided together, or neither should be provided."
            )
        if start_step is not None and end_step is not None and start_step > end_step:
            raise errors.invalid(
                f"end_step must be greater than start_step. Found start_step={start_step} and end_step={end_step}."
            )
        most = max(1, int(max_results))

        def sample(conn: Connection) -> list[Metric]:
            for run_id in run_ids:
                _runs.row(conn, run_id)
            return _interval.sample_metric_history(conn, self.dialect, run_ids, metric_key, most, start_step, end_step)

        return self.db.read(sample)

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
        return self.db.read(
            lambda conn: _downsample.downsampled_history(
                conn, self.dialect, run_ids, metric_key, max_points, start_step, end_step
            )
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
        build: Callable[[Connection, Sequence[Row[Any]], Dialect], list[T]],
    ) -> PagedList[T]:
        limit = validate_max_results(max_results, SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD)
        offset = decode_page_token(page_token)
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        view = ViewType.parse(run_view_type)
        dialect = self.dialect
        plan = search.plan_run_search(exp_ids, filter_string, view, order_by, dialect, limit + 1, offset)

        def run(conn: Connection) -> PagedList[T]:
            if not exp_ids:
                return PagedList([], None)
            rows = plan.rows(conn)
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(build(conn, rows[:limit], dialect), token)

        return self.db.read(run)

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
        self.db.write(lambda conn: _inputs.log_inputs(conn, self.dialect, run_id, unique, models or ()))

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record logged models a run produced."""
        self.db.write(lambda conn: _inputs.log_outputs(conn, self.dialect, run_id, models))

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """Distinct (name, digest, context) of datasets used by runs of these experiments."""
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        return self.db.read(lambda conn: _inputs.search_datasets(conn, exp_ids))

    # ------------------------------------------------------------------------------------ move and purge
    def move_runs(self, run_ids: Sequence[str], experiment_id: str) -> None:
        """Move runs (and their children) to another active experiment. All or nothing."""
        ids = list(dict.fromkeys(run_ids))
        self.db.write(lambda conn: _runs.move(conn, ids, experiment_id))

    def list_deleted_runs(
        self, older_than_ms: int | None = None, experiment_ids: Sequence[str] | None = None
    ) -> list[DeletedRun]:
        """Soft-deleted runs, optionally only those deleted more than ``older_than_ms`` ago."""
        validate_older_than_ms(older_than_ms)
        exp_ids = None if experiment_ids is None else [parse_experiment_id(e) for e in experiment_ids]
        return self.db.read(lambda conn: _purge.deleted_runs(conn, older_than_ms, exp_ids))

    def list_deleted_experiments(self, older_than_ms: int | None = None) -> list[DeletedExperiment]:
        """Soft-deleted experiments, optionally only those deleted more than ``older_than_ms`` ago."""
        validate_older_than_ms(older_than_ms)
        return self.db.read(lambda conn: _purge.deleted_experiments(conn, older_than_ms))

    def purge_run(self, run_id: str) -> None:
        """Permanently delete a soft-deleted run and all its rows. Artifacts are the caller's job."""
        self.db.write(lambda conn: _purge.purge_run(conn, run_id))

    def purge_experiment(self, experiment_id: str) -> None:
        """Permanently delete a soft-deleted experiment that has no runs left."""
        self.db.write(lambda conn: _purge.purge_experiment(conn, experiment_id))

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
            _logged_models.check_name(name)
        model_tags = {t.key: t.value for t in tags or ()}
        model_params = {p.key: p.value for p in params or ()}
        for key in (*model_tags, *model_params):
            validate_key_name(key, "key")
        model_id = f"m-{uuid.uuid4().hex}"
        model_name = name or random_name()
        return self.db.write(
            lambda conn: _logged_models.create(
                conn,
                self.dialect,
                experiment_id,
                model_id,
                model_name,
                source_run_id,
                model_type,
                model_tags,
                model_params,
            )
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """Return a logged model with its tags, params and the metrics logged against it."""
        return self.db.read(lambda conn: _logged_models.get(conn, self.dialect, model_id, allow_deleted))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's status (READY or UPLOAD_FAILED)."""
        new_status = LoggedModelStatus.parse(status)
        return self.db.write(lambda conn: _logged_models.finalize(conn, self.dialect, model_id, new_status))

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""
        self.db.write(lambda conn: _logged_models.delete(conn, model_id))

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
        dialect = self.dialect
        query = search.logged_models_query(exp_ids, filter_string, datasets, order_by, dialect)
        query = query.limit(limit + 1).offset(offset)

        def run(conn: Connection) -> PagedList[LoggedModel]:
            rows = conn.execute(query).all()
            token = encode_page_token(offset + limit) if len(rows) > limit else None
            return PagedList(_load.load_logged_models(conn, rows[:limit], dialect), token)

        return self.db.read(run)

    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None:
        """Set tags on a logged model."""
        values = {t.key: t.value for t in tags}
        for key in values:
            validate_key_name(key, "key")
        self.db.write(lambda conn: _logged_models.set_tags_and_params(conn, self.dialect, model_id, values, {}))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Delete a tag from a logged model."""
        self.db.write(lambda conn: _logged_models.delete_tag(conn, model_id, key))

    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        """Add params to a logged model."""
        values = {p.key: p.value for p in params}
        for key in values:
            validate_key_name(key, "key")
        self.db.write(lambda conn: _logged_models.set_tags_and_params(conn, self.dialect, model_id, {}, values))
