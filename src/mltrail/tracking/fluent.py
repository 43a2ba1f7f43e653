"""MLflow's fluent tracking API: an active experiment, a stack of active runs, and ``log_*`` on the top run.

The active-run stack is per thread (as in MLflow); the active experiment is per process. Runs still active
when the interpreter exits are ended FINISHED, or FAILED when the exit follows an uncaught exception, after
queued asynchronous logging has been written.

This module is the public surface (``mltrail.start_run`` and the rest resolve here); the implementation is split
by concept: experiments, the client and search in :mod:`~mltrail.tracking._fluent_experiments`, the run stack in
:mod:`~mltrail.tracking._fluent_runs`, and the logging calls in :mod:`~mltrail.tracking._fluent_logging`.
``_get_experiment_id`` and ``_reset`` are for mltrail's own use (flavors and tests), as in MLflow.
"""

from __future__ import annotations

from mltrail.tracking import _fluent_experiments, _fluent_runs
from mltrail.tracking._config import get_tracking_uri, is_tracking_uri_set, set_tracking_uri
from mltrail.tracking._fluent_experiments import (
    create_experiment,
    delete_experiment,
    get_experiment,
    get_experiment_by_name,
    restore_experiment,
    search_experiments,
    search_runs,
    set_experiment,
)
from mltrail.tracking._fluent_experiments import current_experiment_id as _get_experiment_id  # noqa: F401 (flavors)
from mltrail.tracking._fluent_logging import (
    delete_experiment_tag,
    delete_tag,
    flush_async_logging,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_inputs,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
)
from mltrail.tracking._fluent_runs import (
    ActiveRun,
    active_run,
    delete_run,
    end_run,
    get_artifact_uri,
    get_parent_run,
    get_run,
    last_active_run,
    restore_run,
    start_run,
)

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


def _reset() -> None:
    """Forget all fluent state without ending runs: active runs, experiment, cached client, tracking URI
    (``set_tracking_uri(None)`` also drops ``$MLTRAIL_TRACKING_URI``). Meant for tests.
    """
    _fluent_runs.reset()
    _fluent_experiments.reset()
    set_tracking_uri(None)
