"""The fluent API's runs: a stack of active runs per thread, started, resumed and ended.

A nested run is pushed on the stack of its parent's thread; ``with start_run():`` ends it FINISHED, or FAILED on an
exception. Runs still active when the interpreter exits are ended FINISHED, or FAILED when the exit follows an
uncaught exception (queued asynchronous logging is written first, by the client).
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Mapping
from typing import Any

from mltrail import errors
from mltrail.entities import LifecycleStage, Run, RunStatus, RunTag
from mltrail.tracking._config import RUN_ID_ENV, env_value, unset_env
from mltrail.tracking._fluent_experiments import active_experiment_id, current_experiment_id, fluent_client
from mltrail.tracking.client import MltrailClient
from mltrail.tracking.context import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME, MLFLOW_RUN_NOTE, resolve_tags

_logger = logging.getLogger(__name__)

_state_lock = threading.RLock()
_local = threading.local()
#: The non-empty active-run stacks of all threads (by ``id``), for ending runs at exit.
_live_stacks: dict[int, list[ActiveRun]] = {}
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
        raise errors.invalid_state(
            f"Run with UUID {stack[0].info.run_id} is already active. To start a new run, first end the current "
            "run with mltrail.end_run(). To start a nested run, call start_run with nested=True"
        )
    if experiment_id is not None:
        experiment_id = str(experiment_id)
    client = fluent_client()
    user_tags = {str(k): v for k, v in (tags or {}).items()}
    if description:
        if MLFLOW_RUN_NOTE in user_tags:
            raise errors.invalid(
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
    if active_experiment_id() not in (None, run.info.experiment_id):
        raise errors.invalid(
            f"Cannot start run with ID {run_id} because active experiment ID does not match environment run ID. "
            "Make sure --experiment-name or --experiment-id matches experiment set with set_experiment(), or "
            "just use command-line arguments"
        )
    if run.info.lifecycle_stage == LifecycleStage.DELETED:
        raise errors.invalid(f"Cannot start run with ID {run_id} because it is in the deleted state.")
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
            raise errors.invalid(
                f"Current run with UUID {stack[-1].info.run_id} does not match the specified parent_run_id "
                f"{parent_run_id}. To start a new nested run under the parent run with UUID "
                f"{stack[-1].info.run_id}, first end the current run with mltrail.end_run()."
            )
        if client.get_run(parent_run_id).info.lifecycle_stage == LifecycleStage.DELETED:
            raise errors.invalid(
                f"Cannot start run under parent run with ID {parent_run_id} because it is in the deleted state."
            )
    else:
        parent_run_id = stack[-1].info.run_id if stack else None
    if parent_run_id is not None:
        tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
    if run_name:
        tags[MLFLOW_RUN_NAME] = run_name
    exp_id = experiment_id if experiment_id is not None else current_experiment_id()
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
    fluent_client().set_terminated(run.info.run_id, RunStatus.parse(status))  # type: ignore[arg-type]


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


def get_or_start_run() -> ActiveRun:
    """The active run, started when there is none."""
    return active_run() or start_run()


def run_id_or_active(run_id: str | None = None) -> str:
    """``run_id``, else the id of the active run (started when there is none)."""
    return run_id or get_or_start_run().info.run_id


def get_run(run_id: str) -> Run:
    """Return a run with its latest metrics, params and tags."""
    return fluent_client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None."""
    return fluent_client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Soft-delete a run."""
    fluent_client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Restore a soft-deleted run."""
    fluent_client().restore_run(run_id)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact URI of the active run (started if needed), or of ``artifact_path`` inside it."""
    uri = get_or_start_run().info.artifact_uri
    if not artifact_path:
        return uri
    return uri.rstrip("/") + "/" + artifact_path.lstrip("/")


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
                fluent_client().set_terminated(run.info.run_id, status)
            except Exception as exc:
                _logger.error("mltrail: could not end run %s at exit: %s", run.info.run_id, exc)


atexit.register(_end_runs_at_exit)


def reset() -> None:
    """Forget the active runs of every thread without ending them, and the last ended run of this thread."""
    global _uncaught_exception
    with _state_lock:
        for stack in _live_stacks.values():
            stack.clear()
        _live_stacks.clear()
    _local.__dict__.pop("last_run_id", None)
    _uncaught_exception = False
