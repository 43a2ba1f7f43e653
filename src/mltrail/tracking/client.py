"""The tracking client: MLflow's ``MlflowClient`` methods over one tracking store and its artifact stores.

The client talks to the store directly: it picks the implementation from the tracking URI
(:func:`mltrail.store.uris.get_tracking_store`, cached per URI) and an artifact repository from each run's
``artifact_uri``. Logging methods take ``synchronous``: False queues the items for the background batching
writer and returns a :class:`~mltrail.tracking.async_logging.RunOperations`; None follows
``$MLTRAIL_ENABLE_ASYNC_LOGGING`` / ``$MLFLOW_ENABLE_ASYNC_LOGGING`` (default: synchronous).
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import posixpath
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.entities import (
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import MltrailError
from mltrail.store.tracking.base import SEARCH_MAX_RESULTS_DEFAULT, now_ms
from mltrail.tracking._config import async_logging_default, get_tracking_uri
from mltrail.tracking._registry_client import RegistryClientMixin
from mltrail.tracking.context import MLFLOW_LOGGED_ARTIFACTS, MLFLOW_LOGGED_IMAGES, MLFLOW_PARENT_RUN_ID, get_user

if TYPE_CHECKING:
    from mltrail.store.artifacts.base import ArtifactRepository
    from mltrail.store.tracking.base import TrackingStore
    from mltrail.tracking.async_logging import RunOperations

_MAX_CACHED_REPOS = 128


def metric_value(key: str, value: Any, timestamp: int) -> float:
    """``value`` as a metric's float; INVALID_PARAMETER_VALUE for a bool or anything not a real number."""
    numeric = isinstance(value, numbers.Real) or (
        hasattr(value, "__float__") and not isinstance(value, (str, bytes, complex))
    )
    if isinstance(value, bool) or type(value).__name__ == "bool_" or not numeric:
        raise errors.invalid(
            f"Got invalid value {value} for metric '{key}' (timestamp={timestamp}). "
            "Please specify value as a valid double (64-bit floating point)"
        )
    return float(value)  # type: ignore[arg-type]


class MltrailClient(RegistryClientMixin):
    """A client of one tracking store, with MLflow's ``MlflowClient`` method names and signatures.

    Args:
        tracking_uri: the store URI; defaults to :func:`mltrail.get_tracking_uri` at construction.
        registry_uri: the model registry URI; defaults to the tracking URI (kept for MLflow compatibility).
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = str(tracking_uri) if tracking_uri is not None else get_tracking_uri()
        self._registry_uri = registry_uri or self._tracking_uri
        self._store_obj: TrackingStore | None = None
        self._repos: OrderedDict[str, ArtifactRepository] = OrderedDict()

    @property
    def tracking_uri(self) -> str:
        """The tracking URI this client writes to."""
        return self._tracking_uri

    @property
    def _store(self) -> TrackingStore:
        if self._store_obj is None:
            from mltrail.store.uris import get_tracking_store

            self._store_obj = get_tracking_store(self._tracking_uri)
        return self._store_obj

    # ---------------------------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        """Create an experiment.

        Args:
            name: a unique name.
            artifact_location: where its runs' artifacts go; the store's default when None.
            tags: experiment tags (values become strings).

        Returns:
            The new experiment's id.

        Raises:
            MltrailError: RESOURCE_ALREADY_EXISTS for a taken name.
        """
        exp_tags = [ExperimentTag(str(k), str(v)) for k, v in (tags or {}).items()]
        return self._store.create_experiment(name, artifact_location, exp_tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id. Raises MltrailError RESOURCE_DOES_NOT_EXIST when there is none."""
        return self._store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name (deleted ones too), or None."""
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments with the filter language (``name LIKE 'a%'``, ``tags.k = 'v'``, ...).

        Returns:
            One page; its ``token`` fetches the next.
        """
        return self._store.search_experiments(
            ViewType.parse(view_type),  # type: ignore[arg-type]
            max_results or SEARCH_MAX_RESULTS_DEFAULT,
            filter_string or None,
            list(order_by) if order_by else None,
            page_token,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs."""
        self._store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment."""
        self._store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""
        self._store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment (the value becomes a string)."""
        self._store.set_experiment_tag(str(experiment_id), ExperimentTag(key, str(value)))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete a tag from an experiment."""
        self._store.delete_experiment_tag(str(experiment_id), key)

    # ----------------------------------------------------------------------------------------- runs
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run.

        Args:
            experiment_id: the experiment to create it in.
            start_time: milliseconds since the epoch; now when None.
            tags: run tags; ``mlflow.user`` also sets the run's user (else the login name).
            run_name: the run's name; a random readable one when None.

        Returns:
            The new run.
        """
        tags = dict(tags or {})
        user_id = str(tags.get("mlflow.user") or get_user())
        run_tags = [RunTag(str(k), str(v)) for k, v in tags.items()]
        return self._store.create_run(
            str(experiment_id), user_id, start_time if start_time is not None else now_ms(), run_tags, run_name
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its latest metrics, params and tags. Raises RESOURCE_DOES_NOT_EXIST."""
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """The parent of a nested run (``mlflow.parentRunId``), or None."""
        parent = self.get_run(run_id).data.tags.get(MLFLOW_PARENT_RUN_ID)
        return self.get_run(parent) if parent else None

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Search runs of some experiments with the filter language.

        Args:
            experiment_ids: one id or several.
            filter_string: such as ``"metrics.loss < 2 and params.alpha = '0.5'"``; "" for all.
            run_view_type: ACTIVE_ONLY, DELETED_ONLY or ALL.
            max_results: the page size.
            order_by: such as ``["metrics.loss DESC"]``.
            page_token: from a previous page.

        Returns:
            One page of runs; its ``token`` fetches the next.
        """
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids)
        return self._store.search_runs(
            [str(i) for i in ids],
            filter_string or None,
            ViewType.parse(run_view_type),  # type: ignore[arg-type]
            max_results,
            list(order_by) if order_by else None,
            page_token,
        )

    def set_terminated(self, run_id: str, status: str | RunStatus | None = None, end_time: int | None = None) -> None:
        """End a run: flush its queued asynchronous logging, then set its status and end time.

        Args:
            run_id: the run.
            status: FINISHED (default), FAILED or KILLED.
            end_time: milliseconds since the epoch; now when None.

        Raises:
            MltrailError: for queued asynchronous logging that failed (after the run has been ended).
        """
        pending_error: MltrailError | None = None
        try:
            self.flush_async_logging(run_id)
        except MltrailError as exc:
            pending_error = exc
        run_status = RunStatus.parse(status or RunStatus.FINISHED)
        self._store.update_run_info(run_id, run_status, end_time if end_time is not None else now_ms())  # type: ignore[arg-type]
        if pending_error is not None:
            raise pending_error

    def update_run(self, run_id: str, status: str | RunStatus | None = None, name: str | None = None) -> None:
        """Change a run's status and/or name (renaming also sets ``mlflow.runName``)."""
        run_status = RunStatus.parse(status) if status is not None else None
        self._store.update_run_info(run_id, run_status=run_status, run_name=name)  # type: ignore[arg-type]

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._store.restore_run(run_id)

    def move_runs(self, run_ids: Sequence[str], experiment_id: str) -> None:
        """Move runs (and their nested children) to another experiment, all or nothing (beyond MLflow)."""
        self._store.move_runs(list(run_ids), str(experiment_id))

    # -------------------------------------------------------------------------- metrics, params, tags
    def _write(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        from mltrail.tracking import async_logging

        if synchronous is None:
            synchronous = not async_logging_default()
        if not synchronous:
            return async_logging.get_async_logger(self._store).submit(run_id, metrics, params, tags)
        queue = async_logging.existing_async_logger(self._store)
        if queue is not None:
            queue.wait_for(run_id)  # keep the order: queued items first
        if len(metrics) + len(params) + len(tags) <= async_logging.MAX_ITEMS_PER_BATCH and (
            len(metrics) <= async_logging.MAX_METRICS_PER_BATCH
            and len(params) <= async_logging.MAX_PARAMS_PER_BATCH
            and len(tags) <= async_logging.MAX_TAGS_PER_BATCH
        ):
            self._store.log_batch(run_id, metrics=metrics, params=params, tags=tags)
            return None
        for chunk_metrics, chunk_params, chunk_tags in async_logging.split_batch(metrics, params, tags):
            self._store.log_batch(run_id, metrics=chunk_metrics, params=chunk_params, tags=chunk_tags)
        return None

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        """Log one metric point.

        Args:
            run_id: the run.
            key: the metric name.
            value: a number (NaN and infinities allowed; bools are not).
            timestamp: milliseconds since the epoch; now when None.
            step: the training step; 0 when None.
            synchronous: False queues it and returns a RunOperations; None follows the environment.
            dataset_name: the dataset the value was computed on, if any.
            dataset_digest: that dataset's digest.
            model_id: the logged model the value belongs to, if any.

        Returns:
            None when synchronous, else a RunOperations to ``wait()`` on.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a bad key or value; the store's errors.
        """
        timestamp = int(timestamp) if timestamp is not None else now_ms()
        metric = Metric(
            key, metric_value(key, value, timestamp), timestamp, int(step or 0), dataset_name, dataset_digest, model_id
        )
        return self._write(run_id, metrics=[metric], synchronous=synchronous)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param (its value becomes a string; params are immutable once logged).

        Returns:
            ``value`` when synchronous (as MLflow does), else a RunOperations.
        """
        ops = self._write(run_id, params=[Param(key, str(value))], synchronous=synchronous)
        return value if ops is None else ops

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
        """Set a tag on a run (the value becomes a string); ``mlflow.runName`` also renames the run."""
        return self._write(run_id, tags=[RunTag(key, str(value))], synchronous=synchronous)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag from a run. Raises RESOURCE_DOES_NOT_EXIST when it is not set."""
        self.flush_async_logging(run_id, raise_errors=False)
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log metrics, params and tags in one call (all or nothing when synchronous).

        Raises:
            MltrailError: MLflow's limits (1000 metrics, 100 params, 100 tags) and key rules.
        """
        return self._write(run_id, list(metrics), list(params), list(tags), synchronous)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of a metric, ordered by step then timestamp."""
        self.flush_async_logging(run_id, raise_errors=False)
        return list(self._store.get_metric_history(run_id, key))

    def flush_async_logging(self, run_id: str | None = None, raise_errors: bool = True) -> None:
        """Wait until queued asynchronous logging (of one run, or all) is written.

        Raises:
            MltrailError: for failures no ``RunOperations.wait()`` has reported yet, when ``raise_errors``.
        """
        if self._store_obj is None:
            return
        from mltrail.tracking.async_logging import existing_async_logger

        queue = existing_async_logger(self._store_obj)
        if queue is None:
            return
        if raise_errors:
            queue.flush(run_id)
        else:
            queue.wait_for(run_id)

    # ------------------------------------------------------------------------------------ inputs/outputs
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record datasets (with context tags) and logged models a run used."""
        self._store.log_inputs(run_id, list(datasets) if datasets else None, list(models) if models else None)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record logged models a run produced."""
        self._store.log_outputs(run_id, list(models))

    # ------------------------------------------------------------------------------------- logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model (``m-<32 hex>``) whose artifacts live under the experiment."""
        return self._store.create_logged_model(
            experiment_id,
            name,
            source_run_id,
            [RunTag(str(k), str(v)) for k, v in (tags or {}).items()],
            [Param(str(k), str(v)) for k, v in (params or {}).items()],
            model_type,
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """Return a logged model."""
        return self._store.get_logged_model(model_id, allow_deleted)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
        """Set a logged model's status: READY, or UPLOAD_FAILED."""
        if isinstance(status, str) and not status.upper().startswith("LOGGED_MODEL_"):
            status = f"LOGGED_MODEL_{status.upper()}"
        return self._store.finalize_logged_model(model_id, LoggedModelStatus.parse(status))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a logged model."""
        self._store.set_logged_model_tags(model_id, [RunTag(str(k), str(v)) for k, v in tags.items()])

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Search the logged models of these experiments (one page)."""
        return self._store.search_logged_models(
            list(experiment_ids), filter_string, max_results=max_results, page_token=page_token
        )

    def log_model_artifacts(self, model_id: str, local_dir: str | os.PathLike[str]) -> None:
        """Upload a directory's contents to a logged model's artifact location."""
        from mltrail.store.uris import get_artifact_repository

        location = self.get_logged_model(model_id).artifact_location
        get_artifact_repository(location, self._tracking_uri).log_artifacts(os.fspath(local_dir))

    # ------------------------------------------------------------------------------------------ artifacts
    def _artifact_repo(self, run_id: str) -> ArtifactRepository:
        repo = self._repos.get(run_id)
        if repo is None:
            from mltrail.store.uris import get_artifact_repository

            repo = get_artifact_repository(self.get_run(run_id).info.artifact_uri, self._tracking_uri)
            self._repos[run_id] = repo
            if len(self._repos) > _MAX_CACHED_REPOS:
                self._repos.popitem(last=False)
        return repo

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload a file, or a directory as a directory of that name, under ``artifact_path``."""
        local_path = os.fspath(local_path)
        repo = self._artifact_repo(run_id)
        if os.path.isdir(local_path):
            name = os.path.basename(os.path.normpath(local_path))
            repo.log_artifacts(local_path, posixpath.join(artifact_path, name) if artifact_path else name)
        else:
            repo.log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload a directory's contents under ``artifact_path``."""
        self._artifact_repo(run_id).log_artifacts(os.fspath(local_dir), artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` in a run's artifacts, sorted by path."""
        return self._artifact_repo(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Download an artifact file or directory; returns its local path."""
        return self._artifact_repo(run_id).download_artifacts(path, dst_path)

    @contextlib.contextmanager
    def _log_artifact_helper(self, run_id: str, artifact_file: str) -> Iterator[str]:
        """Yield a temporary local path; the file written there is logged as ``artifact_file``."""
        import tempfile

        norm = posixpath.normpath(artifact_file)
        directory, name = posixpath.split(norm)
        with tempfile.TemporaryDirectory(prefix="mltrail-") as tmp:
            local = os.path.join(tmp, name)
            yield local
            self.log_artifact(run_id, local, directory or None)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Log a string as a UTF-8 text artifact such as ``notes/readme.md``."""
        with self._log_artifact_helper(run_id, artifact_file) as path, open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Log a JSON-serialisable object as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        from mltrail.tracking import _media

        content = _media.dump_dict(dictionary, artifact_file)
        with self._log_artifact_helper(run_id, artifact_file) as path, open(path, "w", encoding="utf-8") as f:
            f.write(content)

    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        """Log a matplotlib or plotly figure; the format follows ``artifact_file``'s extension."""
        from mltrail.tracking import _media

        with self._log_artifact_helper(run_id, artifact_file) as path:
            _media.save_figure(figure, path, save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log a numpy array or PIL image, as MLflow does.

        With ``artifact_file`` the image is saved at that path. With ``key`` it is a time-stepped image:
        ``images/<key>+step+<step>+timestamp+<ts>+<uuid>.png`` plus a compressed ``.webp`` preview, and the
        run gets the ``mlflow.loggedImages`` tag.

        Raises:
            TypeError: for both or neither of ``artifact_file`` and ``key``, or an unsupported image.
            ValueError: for an invalid key or array.
        """
        import uuid

        from mltrail.tracking import _media

        if artifact_file is not None and any(a is not None for a in (key, step, timestamp)):
            raise TypeError(
                "The `artifact_file` parameter cannot be used in conjunction with `key`, `step`, or "
                "`timestamp` parameters. Please ensure that `artifact_file` is specified alone."
            )
        if artifact_file is None and key is None:
            raise TypeError("Invalid arguments: Please specify exactly one of `artifact_file` or `key`.")
        pil = _media.to_pil_image(image)
        if artifact_file is not None:
            with self._log_artifact_helper(run_id, artifact_file) as path:
                pil.save(path)
            return
        assert key is not None
        full, compressed = _media.stepped_image_paths(key, step or 0, timestamp or now_ms(), str(uuid.uuid4()))
        with self._log_artifact_helper(run_id, full) as path:
            pil.save(path)
        with self._log_artifact_helper(run_id, compressed) as path:
            _media.compress_image(pil).save(path)
        self.set_tag(run_id, MLFLOW_LOGGED_IMAGES, True, synchronous)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Log a dict or pandas DataFrame as a table artifact in MLflow's format, appending to an existing one.

        Columns of images are logged under ``table_images/`` and referenced from the table. The run's
        ``mlflow.loggedArtifacts`` tag records the table.

        Raises:
            ValueError: for a bad artifact path.
            MltrailError: INVALID_PARAMETER_VALUE for data that is neither a dict nor a DataFrame.
        """
        import tempfile
        import uuid

        from mltrail.tracking import _media

        _media.check_table_file(artifact_file)
        table_name = os.path.splitext(artifact_file)[0]

        def log_table_image(image: Any) -> dict[str, str]:
            base = posixpath.join("table_images", table_name, str(uuid.uuid4()))
            with self._log_artifact_helper(run_id, base + ".png") as path:
                image.save(path)
            with self._log_artifact_helper(run_id, base + ".webp") as path:
                _media.compress_image(image).save(path)
            return {"type": "image", "filepath": base + ".png", "compressed_filepath": base + ".webp"}

        table = _media.table_from_data(data, log_table_image)
        norm = posixpath.normpath(artifact_file)
        parent = posixpath.dirname(norm) or None
        if any(f.path == norm for f in self.list_artifacts(run_id, parent)):
            with tempfile.TemporaryDirectory(prefix="mltrail-") as tmp:
                existing = _media.read_table(self.download_artifacts(run_id, norm, tmp))
            table = _media.merge_tables(existing, table)
        with self._log_artifact_helper(run_id, artifact_file) as path:
            _media.write_table(table, path)
        logged = json.loads(self.get_run(run_id).data.tags.get(MLFLOW_LOGGED_ARTIFACTS, "[]"))
        entry = {"path": artifact_file, "type": "table"}
        if entry not in logged:
            logged.append(entry)
            self.set_tag(run_id, MLFLOW_LOGGED_ARTIFACTS, json.dumps(logged), synchronous=True)


#: MLflow's name for the client.
MlflowClient = MltrailClient
