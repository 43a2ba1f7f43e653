"""The fluent API's logging calls: params, metrics, tags, artifacts and inputs of the active run (started when
there is none), and tags of the active experiment."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.entities import (
    DATASET_CONTEXT_TAG,
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    Metric,
    Param,
    RunTag,
)
from mltrail.store.tracking.base import now_ms
from mltrail.tracking._fluent_experiments import current_experiment_id, fluent_client
from mltrail.tracking._fluent_runs import active_run, run_id_or_active
from mltrail.tracking.client import metric_value

if TYPE_CHECKING:
    from mltrail.tracking.async_logging import RunOperations


def _active_experiment_for_tags() -> str:
    run = active_run()
    return run.info.experiment_id if run is not None else current_experiment_id()


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment."""
    fluent_client().set_experiment_tag(_active_experiment_for_tags(), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active experiment."""
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    """Delete a tag from the active experiment."""
    fluent_client().delete_experiment_tag(_active_experiment_for_tags(), key)


# ----------------------------------------------------------------------------- params, metrics, tags
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param on the active run (started if needed).

    Returns:
        ``value`` when synchronous, else a RunOperations.
    """
    return fluent_client().log_param(run_id_or_active(), key, value, synchronous=synchronous)


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    """Log several params in one batch."""
    param_list = [Param(str(k), str(v)) for k, v in params.items()]
    return fluent_client().log_batch(run_id_or_active(run_id), params=param_list, synchronous=synchronous)


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
    return fluent_client().log_metric(
        run_id_or_active(run_id), key, value, timestamp, step, synchronous, name, digest, model_id
    )


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
    ts = int(timestamp) if timestamp is not None else now_ms()
    name, digest = _dataset_fields(dataset)
    metric_list = [
        Metric(k, metric_value(k, v, ts), ts, int(step or 0), name, digest, model_id) for k, v in metrics.items()
    ]
    return fluent_client().log_batch(run_id_or_active(run_id), metrics=metric_list, synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    """Set a tag on the active run (started if needed)."""
    return fluent_client().set_tag(run_id_or_active(), key, value, synchronous=synchronous)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    """Set several tags in one batch."""
    tag_list = [RunTag(str(k), str(v)) for k, v in tags.items()]
    return fluent_client().log_batch(run_id_or_active(), tags=tag_list, synchronous=synchronous)


def delete_tag(key: str) -> None:
    """Delete a tag from the active run."""
    fluent_client().delete_tag(run_id_or_active(), key)


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
    fluent_client().log_artifact(run_id_or_active(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Log a local directory's contents as artifacts of the active run."""
    fluent_client().log_artifacts(run_id_or_active(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Log a string as a text artifact."""
    fluent_client().log_text(run_id_or_active(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict as JSON, or YAML when ``artifact_file`` ends in ``.yaml``/``.yml``."""
    fluent_client().log_dict(run_id_or_active(run_id), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None) -> None:
    """Log a matplotlib or plotly figure (matplotlib is imported only by the figure's own module)."""
    fluent_client().log_figure(run_id_or_active(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Log a numpy array or PIL image at ``artifact_file``, or as a time-stepped image under ``key``."""
    fluent_client().log_image(run_id_or_active(), image, artifact_file, key, step, timestamp, synchronous)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict or pandas DataFrame as a table (MLflow's JSON format), appending to an existing one."""
    fluent_client().log_table(run_id_or_active(run_id), data, artifact_file)


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
    raise errors.invalid(
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
    fluent_client().log_inputs(run_id_or_active(), datasets, [model] if model else None)


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
        raise errors.invalid("`log_inputs` requires `datasets`, `contexts`, `tags_list` to have the same length.")
    inputs = [_dataset_input(d, c, t) for d, c, t in zip(datasets, contexts, tags_list, strict=True) if d is not None]
    model_inputs = [m for m in (models or []) if m is not None]
    fluent_client().log_inputs(run_id_or_active(), inputs or None, model_inputs or None)
