"""MLflow's fluent tracking API: an active experiment, a stack of active runs, and ``log_*`` on the top run.

The active-run stack is per thread (as in MLflow); the active experiment is per process. Runs still active
when the interpreter exits are ended FINISHED, or FAILED when the exit follows an uncaught exception, after
queued asynchronous logging has been written.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mltrail.entities import (
    DATASET_CONTEXT_TAG,
    DEFAULT_EXPERIMENT_ID,
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    LoggedModelInput,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import INVALID_PARAMETER_VALUE, INVALID_STATE, RESOURCE_ALREADY_EXISTS, MltrailError
from mltrail.store.tracking.base import SEARCH_MAX_RESULTS_THRESHOLD, now_ms
from mltrail.tracking._config import (
    EXPERIMENT_ID_ENV,
    EXPERIMENT_NAME_ENV,
    RUN_ID_ENV,
    env_value,
    get_tracking_uri,
    is_tracking_uri_set,
    set_tracking_uri,
    unset_env,
)
from mltrail.tracking.client import MltrailClient
from mltrail.tracking.context import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME, MLFLOW_RUN_NOTE, resolve_tags

if TYPE_CHECKING:
    import pandas

    from mltrail.tracking.async_logging import RunOperations

__all__ = [
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

_logger = logging.getLogger(__name__)

SEARCH_MAX_RESULTS_PANDAS = 100_000

_state_lock = threading.RLock()
_local = threading.local()
#: The non-empty active-run stacks of all threads (by ``id``), for ending runs at exit.
_live_stacks: dict[int, list[ActiveRun]] = {}
_active_experiment_id: str | None = None
_client_cache: MltrailClient | None = None
_uncaught_exception = False


class ActiveRun(Run):
    """The run returned by :func:`start_run`; ``with`` ends it (FINISHED, or FAILED on an exception)."""

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if any(r.info.run_id == self.info.run_id for r in _stack()):
            end_run(RunStatus.FINISHED if exc_type is None else RunStatus.FAILED)
        return False


def _stack() -> list[ActiveRun]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _client() -> MltrailClient:
    global _client_cache
    uri = get_tracking_uri()
    client = _client_cache
    if client is None or client.tracking_uri != uri:
        client = _client_cache = MltrailClient(uri)
    return client


# ----------------------------------------------------------------------------------------- experiments
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the active one, creating it (by name) when it does not exist.

    Args:
        experiment_name: the experiment's name.
        experiment_id: or its id (exactly one of the two).

    Returns:
        The active experiment.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for both/neither argument or a deleted experiment;
            RESOURCE_DOES_NOT_EXIST for an unknown id.
    """
    global _active_experiment_id
    if (experiment_name is not None) == (experiment_id is not None):
        raise MltrailError.invalid_parameter_value("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        experiment = client.get_experiment_by_name(experiment_name) or _create_by_name(client, experiment_name)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise MltrailError.invalid_parameter_value(
            f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. You can restore the "
            "experiment, or permanently delete the experiment to create a new one."
        )
    _active_experiment_id = experiment.experiment_id
    os.environ[EXPERIMENT_ID_ENV[0]] = experiment.experiment_id  # subprocesses inherit it, as with MLflow
    return experiment


def _create_by_name(client: MltrailClient, name: str) -> Experiment:
    try:
        return client.get_experiment(client.create_experiment(name))
    except MltrailError as exc:  # another process created it first
        if exc.error_code != RESOURCE_ALREADY_EXISTS:
            raise
        existing = client.get_experiment_by_name(name)
        if existing is None:
            raise
        return existing


def _experiment_id_from_env() -> str | None:
    name = env_value(EXPERIMENT_NAME_ENV)
    exp_id = env_value(EXPERIMENT_ID_ENV)
    client = _client()
    if name is not None:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return client.create_experiment(name)
        if exp_id and exp_id != experiment.experiment_id:
            raise MltrailError.invalid_parameter_value(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{exp_id}` does not match the "
                f"experiment id `{experiment.experiment_id}` for experiment name `{name}`"
            )
        return experiment.experiment_id
    if exp_id is not None:
        try:
            return client.get_experiment(exp_id).experiment_id
        except MltrailError as exc:
            raise MltrailError.invalid_parameter_value(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{exp_id}` does not exist in the "
                "tracking store. Provide a valid experiment_id."
            ) from exc
    return None


def _get_experiment_id() -> str:
    return _active_experiment_id or _experiment_id_from_env() or DEFAULT_EXPERIMENT_ID


def create_experiment(name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None) -> str:
    """Create an experiment and return its id. Raises RESOURCE_ALREADY_EXISTS for a taken name."""
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """Return an experiment by id. Raises RESOURCE_DOES_NOT_EXIST."""
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """Return the experiment with this name, or None."""
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    """Soft-delete an experiment and its runs."""
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restore a soft-deleted experiment."""
    _client().restore_experiment(experiment_id)


def search_experiments(
    view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Search experiments, following pages.

    Args:
        view_type: ACTIVE_ONLY, DELETED_ONLY or ALL.
        max_results: the most to return; all when None.
        filter_string: such as ``"name LIKE 'exp%'"``.
        order_by: such as ``["name ASC"]``.

    Returns:
        The matching experiments.
    """
    client = _client()
    results: list[Experiment] = []
    token: str | None = None
    while True:
        page_size = SEARCH_MAX_RESULTS_THRESHOLD if max_results is None else min(max_results - len(results), 50_000)
        page = client.search_experiments(view_type, page_size, filter_string, order_by, token)
        results.extend(page)
        token = page.token
        if not token or (max_results is not None and len(results) >= max_results):
            return results


def _active_experiment_for_tags() -> str:
    run = active_run()
    return run.info.experiment_id if run is not None else _get_experiment_id()


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment."""
    _client().set_experiment_tag(_active_experiment_for_tags(), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active experiment."""
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    """Delete a tag from the active experiment."""
    _client().delete_experiment_tag(_active_experiment_for_tags(), key)


# ------------------------------------------------------------------------------------------------ runs
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume one, and make it the active run (usable as a context manager).

    Args:
        run_id: resume this run (sets it RUNNING again); ``$MLTRAIL_RUN_ID``/``$MLFLOW_RUN_ID`` does the
            same once.
        experiment_id: the experiment of a new run; defaults to the active experiment, the environment's, or
            the Default experiment ("0").
        run_name: the run's name (``mlflow.runName``).
        nested: allow starting a child of the active run (tagged ``mlflow.parentRunId``).
        parent_run_id: the parent of a new run; must match the active run when there is one.
        tags: extra tags; they override the system tags.
        description: the run's note (``mlflow.note.content``).
        log_system_metrics: accepted for MLflow compatibility; system metrics are not collected yet.

    Returns:
        The active run.

    Raises:
        MltrailError: INVALID_STATE when a run is active and ``nested`` is False; INVALID_PARAMETER_VALUE for
            a deleted run or parent, or a description given twice.
    """
    _install_excepthook()
    stack = _stack()
    if stack and not nested:
        raise MltrailError(
            f"Run with UUID {stack[0].info.run_id} is already active. To start a new run, first end the current "
            "run with mltrail.end_run(). To start a nested run, call start_run with nested=True",
            INVALID_STATE,
        )
    if experiment_id is not None:
        experiment_id = str(experiment_id)
    client = _client()
    user_tags = {str(k): v for k, v in (tags or {}).items()}
    if description:
        if MLFLOW_RUN_NOTE in user_tags:
            raise MltrailError.invalid_parameter_value(
                f"Description is already set via the tag {MLFLOW_RUN_NOTE} in tags. Remove the key "
                f"{MLFLOW_RUN_NOTE} from the tags or omit the description."
            )
        user_tags[MLFLOW_RUN_NOTE] = description
    existing_id = run_id or env_value(RUN_ID_ENV)
    if not run_id and existing_id:
        unset_env(RUN_ID_ENV)  # the environment resumes one run, once
    if existing_id:
        run = _resume_run(client, existing_id, run_name, user_tags)
    else:
        run = _create_run(client, stack, experiment_id, run_name, parent_run_id, user_tags)
    active = ActiveRun(run.info, run.data, run.inputs, run.outputs)
    stack.append(active)
    with _state_lock:
        _live_stacks[id(stack)] = stack
    return active


def _resume_run(client: MltrailClient, run_id: str, run_name: str | None, tags: dict[str, Any]) -> Run:
    run = client.get_run(run_id)
    if _active_experiment_id is not None and _active_experiment_id != run.info.experiment_id:
        raise MltrailError.invalid_parameter_value(
            f"Cannot start run with ID {run_id} because active experiment ID does not match environment run ID. "
            "Make sure --experiment-name or --experiment-id matches experiment set with set_experiment(), or "
            "just use command-line arguments"
        )
    if run.info.lifecycle_stage == LifecycleStage.DELETED:
        raise MltrailError.invalid_parameter_value(
            f"Cannot start run with ID {run_id} because it is in the deleted state."
        )
    client.update_run(run_id, RunStatus.RUNNING, run_name)
    if tags:
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=True)
    return client.get_run(run_id)


def _create_run(
    client: MltrailClient,
    stack: list[ActiveRun],
    experiment_id: str | None,
    run_name: str | None,
    parent_run_id: str | None,
    tags: dict[str, Any],
) -> Run:
    if parent_run_id:
        if stack and parent_run_id != stack[-1].info.run_id:
            raise MltrailError.invalid_parameter_value(
                f"Current run with UUID {stack[-1].info.run_id} does not match the specified parent_run_id "
                f"{parent_run_id}. To start a new nested run under the parent run with UUID "
                f"{stack[-1].info.run_id}, first end the current run with mltrail.end_run()."
            )
        if client.get_run(parent_run_id).info.lifecycle_stage == LifecycleStage.DELETED:
            raise MltrailError.invalid_parameter_value(
                f"Cannot start run under parent run with ID {parent_run_id} because it is in the deleted state."
            )
    else:
        parent_run_id = stack[-1].info.run_id if stack else None
    if parent_run_id is not None:
        tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
    if run_name:
        tags[MLFLOW_RUN_NAME] = run_name
    exp_id = experiment_id if experiment_id is not None else _get_experiment_id()
    return client.create_run(exp_id, tags=resolve_tags(tags), run_name=run_name)


def end_run(status: str | RunStatus = RunStatus.FINISHED) -> None:
    """End the active run (if any): flush its queued logging, then set its status and end time.

    Args:
        status: FINISHED (default), FAILED or KILLED.

    Raises:
        MltrailError: for queued asynchronous logging of this run that failed; the run is ended anyway.
    """
    stack = _stack()
    if not stack:
        return
    unset_env(RUN_ID_ENV)
    run = stack.pop()
    if not stack:
        with _state_lock:
            _live_stacks.pop(id(stack), None)
    _local.last_run_id = run.info.run_id
    _client().set_terminated(run.info.run_id, RunStatus.parse(status))  # type: ignore[arg-type]


def active_run() -> ActiveRun | None:
    """The active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the last run this thread ended (fetched fresh), else None."""
    run = active_run()
    if run is not None:
        return run
    last = getattr(_local, "last_run_id", None)
    return get_run(last) if last else None


def _get_or_start_run() -> ActiveRun:
    return active_run() or start_run()


def _run_id(run_id: str | None = None) -> str:
    return run_id or _get_or_start_run().info.run_id


def get_run(run_id: str) -> Run:
    """Return a run with its latest metrics, params and tags."""
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None."""
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Soft-delete a run."""
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Restore a soft-deleted run."""
    _client().restore_run(run_id)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact URI of the active run (started if needed), or of ``artifact_path`` inside it."""
    uri = _get_or_start_run().info.artifact_uri
    if not artifact_path:
        return uri
    return uri.rstrip("/") + "/" + artifact_path.lstrip("/")


# ----------------------------------------------------------------------------- params, metrics, tags
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param on the active run (started if needed).

    Returns:
        ``value`` when synchronous, else a RunOperations.
    """
    return _client().log_param(_run_id(), key, value, synchronous=synchronous)


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    """Log several params in one batch."""
    param_list = [Param(str(k), str(v)) for k, v in params.items()]
    return _client().log_batch(_run_id(run_id), params=param_list, synchronous=synchronous)


def _dataset_fields(dataset: Any) -> tuple[str | None, str | None]:
    if dataset is None:
        return None, None
    return getattr(dataset, "name", None), getattr(dataset, "digest", None)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    """Log one metric point on the active run (started if needed) or on ``run_id``.

    Args:
        key: the metric name.
        value: a number.
        step: the training step (0 by default).
        synchronous: False queues it for the background writer and returns a RunOperations.
        timestamp: milliseconds since the epoch (now by default).
        run_id: log to this run instead of the active one.
        model_id: the logged model the value belongs to.
        dataset: a dataset (anything with ``name`` and ``digest``) the value was computed on.

    Returns:
        None when synchronous, else a RunOperations.
    """
    name, digest = _dataset_fields(dataset)
    return _client().log_metric(_run_id(run_id), key, value, timestamp, step, synchronous, name, digest, model_id)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    """Log several metrics at one step and time, in one batch."""
    from mltrail.tracking.client import _metric_value

    ts = int(timestamp) if timestamp is not None else now_ms()
    name, digest = _dataset_fields(dataset)
    metric_list = [
        Metric(k, _metric_value(k, v, ts), ts, int(step or 0), name, digest, model_id) for k, v in metrics.items()
    ]
    return _client().log_batch(_run_id(run_id), metrics=metric_list, synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    """Set a tag on the active run (started if needed)."""
    return _client().set_tag(_run_id(), key, value, synchronous=synchronous)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    """Set several tags in one batch."""
    tag_list = [RunTag(str(k), str(v)) for k, v in tags.items()]
    return _client().log_batch(_run_id(), tags=tag_list, synchronous=synchronous)


def delete_tag(key: str) -> None:
    """Delete a tag from the active run."""
    _client().delete_tag(_run_id(), key)


def flush_async_logging() -> None:
    """Wait until every queued asynchronous logging call is written.

    Raises:
        MltrailError: for failures not yet reported.
    """
    from mltrail.tracking.async_logging import flush_all

    flush_all()


# ------------------------------------------------------------------------------------------- artifacts
def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Log a local file or directory as an artifact of the active run."""
    _client().log_artifact(_run_id(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Log a local directory's contents as artifacts of the active run."""
    _client().log_artifacts(_run_id(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Log a string as a text artifact."""
    _client().log_text(_run_id(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict as JSON, or YAML when ``artifact_file`` ends in ``.yaml``/``.yml``."""
    _client().log_dict(_run_id(run_id), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None) -> None:
    """Log a matplotlib or plotly figure (matplotlib is imported only by the figure's own module)."""
    _client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Log a numpy array or PIL image at ``artifact_file``, or as a time-stepped image under ``key``."""
    _client().log_image(_run_id(), image, artifact_file, key, step, timestamp, synchronous)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict or pandas DataFrame as a table (MLflow's JSON format), appending to an existing one."""
    _client().log_table(_run_id(run_id), data, artifact_file)


# -------------------------------------------------------------------------------------------- inputs
def _to_dataset(dataset: Any) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, Mapping):
        return Dataset.from_dict(dict(dataset))
    for converter in ("to_entity", "_to_mlflow_entity"):
        convert = getattr(dataset, converter, None)
        if callable(convert):
            entity = convert()
            if isinstance(entity, Dataset):
                return entity
            return Dataset(
                name=entity.name,
                digest=entity.digest,
                source_type=entity.source_type,
                source=entity.source,
                schema=getattr(entity, "schema", None),
                profile=getattr(entity, "profile", None),
            )
    raise MltrailError.invalid_parameter_value(
        f"Unsupported dataset object of type {type(dataset).__name__}: pass an mltrail.entities.Dataset, a dict "
        "of its fields, or an object with to_entity()"
    )


def _dataset_input(dataset: Any, context: str | None, tags: Mapping[str, Any] | None) -> DatasetInput:
    input_tags = [InputTag(str(k), str(v)) for k, v in (tags or {}).items()]
    if context:
        input_tags.append(InputTag(DATASET_CONTEXT_TAG, context))
    return DatasetInput(_to_dataset(dataset), tuple(input_tags))


def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: Mapping[str, Any] | None = None,
    model: LoggedModelInput | None = None,
) -> None:
    """Record a dataset (with its context, such as "training") and/or a logged model used by the active run."""
    datasets = [_dataset_input(dataset, context, tags)] if dataset is not None else None
    _client().log_inputs(_run_id(), datasets, [model] if model else None)


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[Mapping[str, Any] | None] | None = None,
    models: Sequence[LoggedModelInput | None] | None = None,
) -> None:
    """Record several datasets; ``datasets``, ``contexts`` and ``tags_list`` must have the same length.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for lists of different lengths.
    """
    datasets, contexts, tags_list = list(datasets or []), list(contexts or []), list(tags_list or [])
    if not len(datasets) == len(contexts) == len(tags_list):
        raise MltrailError.invalid_parameter_value(
            "`log_inputs` requires `datasets`, `contexts`, `tags_list` to have the same length."
        )
    inputs = [_dataset_input(d, c, t) for d, c, t in zip(datasets, contexts, tags_list, strict=True) if d is not None]
    model_inputs = [m for m in (models or []) if m is not None]
    _client().log_inputs(_run_id(), inputs or None, model_inputs or None)


# -------------------------------------------------------------------------------------------- search
def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: Sequence[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> list[Run] | pandas.DataFrame:
    """Search runs, following pages, as a pandas DataFrame (default) or a list of runs.

    Args:
        experiment_ids: the experiments; the active one when neither these nor names are given.
        filter_string: such as ``"metrics.loss < 2"``.
        run_view_type: ACTIVE_ONLY, DELETED_ONLY or ALL.
        max_results: the most runs to return.
        order_by: such as ``["metrics.loss DESC"]``.
        output_format: "pandas" (columns ``run_id, experiment_id, status, artifact_uri, start_time,
            end_time, metrics.*, params.*, tags.*``) or "list".
        search_all_experiments: search every active experiment when no ids or names are given.
        experiment_names: experiments by name (unknown names are skipped).

    Returns:
        A DataFrame or a list of :class:`~mltrail.entities.Run`.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for both ids and names, or an unknown output format.
    """
    if output_format not in ("pandas", "list"):
        raise MltrailError(
            f"Unsupported output format: {output_format}. Supported string values are 'pandas' or 'list'",
            INVALID_PARAMETER_VALUE,
        )
    client = _client()
    if experiment_ids and experiment_names:
        raise MltrailError.invalid_parameter_value("Only experiment_ids or experiment_names can be used, but not both")
    if experiment_names:
        found = [client.get_experiment_by_name(n) for n in experiment_names]
        ids = [e.experiment_id for e in found if e is not None]
    elif experiment_ids:
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else [str(i) for i in experiment_ids]
    elif search_all_experiments:
        ids = [e.experiment_id for e in search_experiments()]
    else:
        ids = [_get_experiment_id()]
    runs: list[Run] = []
    token: str | None = None
    while ids and len(runs) < max_results:
        page_size = min(max_results - len(runs), SEARCH_MAX_RESULTS_THRESHOLD)
        page = client.search_runs(ids, filter_string, run_view_type, page_size, order_by, token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    from mltrail.tracking._runs_frame import runs_to_dataframe

    return runs_to_dataframe(runs)


# -------------------------------------------------------------------------------------- process exit
def _install_excepthook() -> None:
    """Note uncaught exceptions so that runs left active at exit end FAILED."""
    if getattr(sys.excepthook, "_mltrail", False):
        return
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        global _uncaught_exception
        _uncaught_exception = True
        previous(exc_type, exc, tb)

    hook._mltrail = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def _end_runs_at_exit() -> None:
    status = RunStatus.FAILED if _uncaught_exception else RunStatus.FINISHED
    with _state_lock:
        stacks = list(_live_stacks.values())
    for stack in stacks:
        while stack:
            run = stack.pop()
            try:
                _client().set_terminated(run.info.run_id, status)
            except Exception as exc:
                _logger.error("mltrail: could not end run %s at exit: %s", run.info.run_id, exc)


atexit.register(_end_runs_at_exit)


def _reset() -> None:
    """Forget all fluent state without ending runs: active runs, experiment, cached client, tracking URI
    (``set_tracking_uri(None)`` also drops ``$MLTRAIL_TRACKING_URI``). Meant for tests.
    """
    global _active_experiment_id, _client_cache, _uncaught_exception
    with _state_lock:
        for stack in _live_stacks.values():
            stack.clear()
        _live_stacks.clear()
    _local.__dict__.pop("last_run_id", None)
    _active_experiment_id = None
    _client_cache = None
    _uncaught_exception = False
    set_tracking_uri(None)
