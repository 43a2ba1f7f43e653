"""``mltrail.projects.run``: fetch a project, prepare its environment, start its entry point as a tracked run.

Order of work: fetch the URI and read the project; compute the command (parameters checked, ``path``
parameters resolved) and check that conda or Docker is there when needed, all before a run exists, so
a bad call leaves nothing behind; create the run with MLflow's project tags and log the parameters; build
or reuse the environment (a failure ends the run FAILED); start the command in the project folder with
``MLTRAIL_RUN_ID``/``MLFLOW_RUN_ID``, ``..._TRACKING_URI`` and ``..._EXPERIMENT_ID`` set, so that the fluent
``start_run()`` in the project's code continues this run.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.entities import Param, RunStatus, RunTag
from mltrail.errors import MltrailError
from mltrail.projects import docker, envs
from mltrail.projects.fetch import FetchedProject, fetch_project
from mltrail.projects.spec import DEFAULT_ENTRY_POINT, EntryPoint, Project, load_project
from mltrail.projects.submitted import LocalSubmittedRun, SubmittedRun
from mltrail.projects.tags import project_tags

if TYPE_CHECKING:
    from mltrail.tracking.client import MltrailClient

_live_runs: weakref.WeakSet[LocalSubmittedRun] = weakref.WeakSet()
_live_lock = threading.Lock()


class ExecutionError(MltrailError):
    """A project run failed or could not be started (MLflow's ``ExecutionException``).

    Attributes:
        run_id: the failed run, when one was created.
    """

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


ExecutionException = ExecutionError  # MLflow's name


def run(
    uri: str,
    entry_point: str = DEFAULT_ENTRY_POINT,
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    storage_dir: str | os.PathLike[str] | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    tracking_uri: str | None = None,
    stream_output: bool = True,
) -> SubmittedRun:
    """Run a project's entry point as a tracked run (MLflow's ``mlflow.projects.run``).

    Args:
        uri: a project folder, ``file://`` URI, git URL or zip file, optionally with ``#subdir``.
        entry_point: an entry point of ``MLproject``, or a ``.py``/``.sh`` file of the project.
        version: a git commit, branch or tag (git projects only).
        parameters: entry-point parameters; undeclared ones are appended to the command as ``--k v``.
        experiment_name: the experiment to run in (created when missing); not with ``experiment_id``.
        experiment_id: the experiment to run in.
        backend: only ``local``.
        storage_dir: where remote ``path`` parameters are downloaded (default: a temporary folder).
        synchronous: wait for the run to end; raise :class:`ExecutionError` if it did not finish.
        run_id: use this existing run instead of creating one.
        run_name: the new run's name.
        env_manager: ``local``, ``virtualenv``, ``uv`` or ``conda``; by default what the project declares.
        tracking_uri: the tracking store (default: :func:`mltrail.get_tracking_uri`).
        stream_output: copy the command's stdout/stderr to this process's as they arrive.

    Returns:
        The :class:`SubmittedRun` (already ended when ``synchronous``).

    Raises:
        ExecutionError: a synchronous run failed or was killed.
        MltrailError: a bad URI, project, entry point, parameter or environment (before any run is created),
            or an environment that could not be built (the run is then FAILED).
    """
    if backend != "local":
        raise errors.invalid(f"Unsupported backend {backend!r}: mltrail runs projects locally.")
    from mltrail.tracking.client import MltrailClient

    client = MltrailClient(absolute_tracking_uri(tracking_uri))
    exp_id = resolve_experiment_id(client, experiment_name, experiment_id)
    fetched = fetch_project(uri, version)
    try:
        project = load_project(fetched.directory)
        entry = project.get_entry_point(entry_point)
        kind = envs.resolve_env_manager(project, env_manager)
        storage = Path(storage_dir) if storage_dir else Path(tempfile.mkdtemp(prefix="mltrail-project-storage-"))
        command = entry.compute_command(parameters, storage, fetch=_fetch_path_parameter)
        if kind == "conda":
            envs.check_conda(project, command)
        elif kind == "docker":
            docker.check_docker(project, command)
        active_id = _start_run(client, exp_id, fetched, version, entry, parameters, run_id, run_name, kind)
    except BaseException:
        fetched.cleanup()
        raise
    return _launch(client, project, fetched, command, active_id, kind, synchronous, stream_output)


def _start_run(
    client: MltrailClient,
    experiment_id: str,
    fetched: FetchedProject,
    version: str | None,
    entry: EntryPoint,
    parameters: Mapping[str, Any] | None,
    run_id: str | None,
    run_name: str | None,
    kind: str,
) -> str:
    """Create (or take over) the run, with the project tags and parameters; returns its id."""
    from mltrail.tracking import fluent

    parent = fluent.active_run()
    tags = project_tags(fetched, entry.name, version, parent.info.run_id if parent else None, run_name, kind)
    final, extra = entry.compute_parameters(parameters)  # as given: remote paths stay URIs
    params = [Param(k, v) for k, v in {**final, **extra}.items()]
    if run_id:
        client.update_run(run_id, RunStatus.RUNNING, run_name)
        client.log_batch(run_id, params=params, tags=[RunTag(k, v) for k, v in tags.items()], synchronous=True)
        return run_id
    created = client.create_run(experiment_id, tags=tags, run_name=run_name)
    for start in range(0, len(params), 100):
        client.log_batch(created.info.run_id, params=params[start : start + 100], synchronous=True)
    return created.info.run_id


def _launch(
    client: MltrailClient,
    project: Project,
    fetched: FetchedProject,
    command: str,
    run_id: str,
    kind: str,
    synchronous: bool,
    stream_output: bool,
) -> SubmittedRun:
    run_vars = run_env_vars(run_id, client.tracking_uri, client.get_run(run_id).info.experiment_id)
    try:
        if kind == "docker":
            launch = docker.prepare(project, run_id, run_vars, client.get_run(run_id).info.artifact_uri)
        else:
            launch = envs.prepare(project, kind)
        if launch.tags:
            client.log_batch(run_id, tags=[RunTag(k, v) for k, v in launch.tags.items()], synchronous=True)
        child_env = _child_env(run_vars, launch.env)
        process = subprocess.Popen(
            launch.argv(command),
            cwd=project.directory,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except BaseException:
        client.set_terminated(run_id, RunStatus.FAILED)
        fetched.cleanup()
        raise
    submitted = LocalSubmittedRun(run_id, process, client, echo=stream_output, on_exit=fetched.cleanup)
    if not synchronous:
        with _live_lock:
            _live_runs.add(submitted)
        return submitted
    try:
        finished = submitted.wait()
    except KeyboardInterrupt:
        submitted.cancel()
        raise
    if not finished:
        raise ExecutionError(f"Run (ID '{run_id}') {submitted.get_status().lower()}", run_id)
    return submitted


def run_env_vars(run_id: str, tracking_uri: str, experiment_id: str) -> dict[str, str]:
    """The variables that tell the child which run to continue, in mltrail's and MLflow's names."""
    values = {"RUN_ID": run_id, "TRACKING_URI": tracking_uri, "EXPERIMENT_ID": experiment_id}
    return {f"{prefix}_{key}": value for prefix in ("MLTRAIL", "MLFLOW") for key, value in values.items()}


def _child_env(run_vars: Mapping[str, str], launch_env: Mapping[str, str]) -> dict[str, str]:
    from mltrail.store.uris import ARTIFACT_ROOT_ENV, default_artifact_root

    env = dict(os.environ)
    for name in ("MLTRAIL_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME", "PYTHONHOME"):
        env.pop(name, None)  # the run's experiment id is the one that counts
    env.setdefault(ARTIFACT_ROOT_ENV, default_artifact_root())  # absolute, as this process sees it
    env.update(launch_env)
    env.update(run_vars)
    env["PYTHONUNBUFFERED"] = "1"  # stream the child's prints as they happen
    return env


def absolute_tracking_uri(tracking_uri: str | None) -> str:
    """The tracking URI with a relative SQLite path made absolute (the child runs in another folder)."""
    if tracking_uri is None:
        from mltrail.tracking._config import get_tracking_uri

        tracking_uri = get_tracking_uri()
    prefix = "sqlite:///"
    if tracking_uri.startswith(prefix) and not tracking_uri.startswith(prefix + "/"):
        path, sep, query = tracking_uri[len(prefix) :].partition("?")
        if path and path != ":memory:":
            return f"{prefix}{os.path.abspath(path)}{sep}{query}"
    return tracking_uri


def resolve_experiment_id(client: MltrailClient, name: str | None, experiment_id: str | None) -> str:
    """The experiment to run in: by id, by name (created when missing), from the environment, or "0".

    Raises:
        MltrailError: both name and id given, or the id does not exist.
    """
    from mltrail.tracking._config import EXPERIMENT_ID_ENV, EXPERIMENT_NAME_ENV, env_value

    if name is not None and experiment_id is not None:
        raise errors.invalid("Specify only one of experiment_name and experiment_id.")
    if experiment_id is not None:
        return client.get_experiment(str(experiment_id)).experiment_id
    name = name or env_value(EXPERIMENT_NAME_ENV)
    if name:
        found = client.get_experiment_by_name(name)
        return found.experiment_id if found is not None else client.create_experiment(name)
    return env_value(EXPERIMENT_ID_ENV) or "0"


def _fetch_path_parameter(uri: str, destination: Path) -> str:
    """Download a remote ``path`` parameter (http(s), or any artifact URI mltrail knows) into ``destination``."""
    if uri.startswith(("http://", "https://")):
        import httpx

        target = destination / (Path(uri.split("?", 1)[0]).name or "download")
        with httpx.stream("GET", uri, follow_redirects=True, timeout=60) as response:
            response.raise_for_status()
            with open(target, "wb") as out:
                for chunk in response.iter_bytes(1 << 16):
                    out.write(chunk)
        return str(target)
    from mltrail.models.uris import download_model

    return download_model(uri, str(destination))


@atexit.register
def _cancel_live_runs() -> None:
    """Asynchronous runs end with this process, as in MLflow."""
    with _live_lock:
        runs = list(_live_runs)
    for submitted in runs:
        if submitted.process.poll() is None:
            submitted.cancel()
