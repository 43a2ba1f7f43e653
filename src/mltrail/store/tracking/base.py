"""The tracking store interface: what every backend (SQL, REST) implements.

One shared test suite (tests/store/tracking) runs against every implementation. Methods raise
:class:`mltrail.errors.MltrailError` with MLflow's codes for every user mistake.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mltrail.entities import (
    DatasetInput,
    DatasetSummary,
    Experiment,
    ExperimentTag,
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
from mltrail.store.tracking import downsample

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000
METRIC_HISTORY_MAX_RESULTS = 25000
LOGGED_MODELS_MAX_RESULTS_DEFAULT = 100


@dataclass(frozen=True, slots=True)
class LoggedModelOrderBy:
    """One structured ``order_by`` clause of ``search_logged_models``."""

    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class DeletedRun:
    """A soft-deleted run as garbage collection sees it."""

    run_id: str
    experiment_id: str
    artifact_uri: str
    deleted_time: int | None


@dataclass(frozen=True, slots=True)
class DeletedExperiment:
    """A soft-deleted experiment as garbage collection sees it."""

    experiment_id: str
    artifact_location: str
    deleted_time: int | None


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


class TrackingStore(ABC):
    """Persistence for experiments, runs, metrics, params, tags, datasets and logged models."""

    # ----------------------------------------------------------------------------------- experiments
    @abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] | None = None
    ) -> str:
        """Create an experiment and return its id.

        Raises:
            MltrailError: RESOURCE_ALREADY_EXISTS for a taken name, INVALID_PARAMETER_VALUE for a bad name.
        """

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id (deleted ones too). Raises RESOURCE_DOES_NOT_EXIST."""

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name (deleted ones too), or None."""

    @abstractmethod
    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments with the filter language; one page at a time."""

    @abstractmethod
    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs. The Default experiment can be deleted as in MLflow."""

    @abstractmethod
    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment and the runs deleted with it."""

    @abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""

    @abstractmethod
    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set (insert or overwrite) a tag on an active experiment."""

    @abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete a tag from an experiment. Raises RESOURCE_DOES_NOT_EXIST when it is not set."""

    # ------------------------------------------------------------------------------------------ runs
    @abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        """Create a RUNNING run in an active experiment.

        ``run_name`` defaults to the ``mlflow.runName`` tag, else a random readable name; the tag is always
        set. A ``run_name`` that conflicts with the tag raises INVALID_PARAMETER_VALUE.
        """

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Return a run with its latest metrics, params, tags, inputs and outputs."""

    def experiment_id_of_run(self, run_id: str) -> str:
        """The id of the experiment a run belongs to (RESOURCE_DOES_NOT_EXIST for an unknown run).

        Stores override this with a lookup lighter than :meth:`get_run` (the server's permission checks call it).
        """
        return self.get_run(run_id).info.experiment_id

    @abstractmethod
    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Apply the fields that are given; renaming also sets the ``mlflow.runName`` tag."""

    @abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""

    @abstractmethod
    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags to an active run in one transaction: all or nothing.

        Enforces MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 items), key rules and param
        immutability ("Changing param values is not allowed...").
        """

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point."""
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param."""
        self.log_batch(run_id, params=[param])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set one tag; ``mlflow.runName`` also renames the run."""
        self.log_batch(run_id, tags=[tag])

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag from an active run ("No tag with name: X" when absent)."""

    @abstractmethod
    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        """Every point of a metric, ordered by step then timestamp; paged when ``max_results`` is given."""

    @abstractmethod
    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_results: int = 2500,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """Evenly sampled points per run (always keeping the min and max step), each with ``run_id`` set."""

    def get_metric_history_downsampled(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_points: int = downsample.DEFAULT_MAX_POINTS,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """Peak-preserving (M4) downsampled points per run, at most ``max_points`` each, with ``run_id`` set."""
        downsample.validate(run_ids, metric_key, max_points, start_step, end_step)
        result: list[Metric] = []
        for run_id in dict.fromkeys(run_ids):
            points = [
                Metric(p.key, p.value, p.timestamp, p.step, run_id=run_id)
                for p in self.get_metric_history(run_id, metric_key)
                if (start_step is None or p.step >= start_step) and (end_step is None or p.step <= end_step)
            ]
            points.sort(key=lambda p: (p.step, p.timestamp, p.value))
            result.extend(downsample.m4(points, max_points))
        return result

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Search runs with the filter language; one page at a time, selected by one SQL query."""

    def search_runs_wire(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[dict[str, Any]]:
        """:meth:`search_runs` with each run in its wire form (``Run.to_dict()``), for the REST server.

        Stores may build the dicts without going through entities; the result must be the same.
        """
        page = self.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)
        return PagedList([run.to_dict() for run in page], page.token)

    @abstractmethod
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record datasets (deduplicated per experiment by name and digest) and models a run used."""

    @abstractmethod
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record logged models a run produced."""

    @abstractmethod
    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """Distinct (name, digest, context) of datasets used by runs of these experiments."""

    # --------------------------------------------------------------------------- beyond MLflow: gc, move
    @abstractmethod
    def move_runs(self, run_ids: Sequence[str], experiment_id: str) -> None:
        """Move runs (and their children) to another active experiment. All or nothing."""

    @abstractmethod
    def list_deleted_runs(
        self, older_than_ms: int | None = None, experiment_ids: Sequence[str] | None = None
    ) -> list[DeletedRun]:
        """Soft-deleted runs, optionally only those deleted more than ``older_than_ms`` ago."""

    @abstractmethod
    def list_deleted_experiments(self, older_than_ms: int | None = None) -> list[DeletedExperiment]:
        """Soft-deleted experiments, optionally only those deleted more than ``older_than_ms`` ago."""

    @abstractmethod
    def purge_run(self, run_id: str) -> None:
        """Permanently delete a soft-deleted run and all its rows. Artifacts are the caller's job."""

    @abstractmethod
    def purge_experiment(self, experiment_id: str) -> None:
        """Permanently delete a soft-deleted experiment that has no runs left."""

    # ---------------------------------------------------------------------------------- logged models
    @abstractmethod
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

    @abstractmethod
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """Return a logged model with its tags, params and the metrics logged against it."""

    @abstractmethod
    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's status (READY or UPLOAD_FAILED)."""

    @abstractmethod
    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""

    @abstractmethod
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, str]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrderBy] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Search logged models of these experiments."""

    @abstractmethod
    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None:
        """Set tags on a logged model."""

    @abstractmethod
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Delete a tag from a logged model."""

    @abstractmethod
    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        """Add params to a logged model."""
