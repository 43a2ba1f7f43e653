"""System tags that describe where a run comes from: user, source, git state, and an environment override.

Resolved when a run starts (never at import): the user (``mlflow.user``), the source (``mlflow.source.name``
and ``mlflow.source.type``: ``LOCAL``, ``NOTEBOOK`` or ``JOB``), the git commit, branch, remote URL and
whether the work tree is dirty (two cheap ``git`` commands, cached per directory for the process), then the
JSON object in ``$MLTRAIL_RUN_CONTEXT`` / ``$MLFLOW_RUN_CONTEXT``, and last the caller's own tags, each layer
overriding the one before, as MLflow's context registry does.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

from mltrail import errors
from mltrail.tracking._config import RUN_CONTEXT_ENV, TRACKING_USERNAME_ENV, env_value

MLFLOW_USER = "mlflow.user"
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
MLFLOW_GIT_REPO_URL = "mlflow.source.git.repoURL"
MLFLOW_GIT_DIRTY = "mlflow.source.git.dirty"
MLFLOW_RUN_NAME = "mlflow.runName"
MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_RUN_NOTE = "mlflow.note.content"
MLFLOW_LOGGED_IMAGES = "mlflow.loggedImages"
MLFLOW_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"

SOURCE_LOCAL = "LOCAL"
SOURCE_NOTEBOOK = "NOTEBOOK"
SOURCE_JOB = "JOB"

#: Environment variables of batch schedulers: a run started under one of them is a ``JOB``.
JOB_ENV_VARS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID", "DATABRICKS_JOB_ID")

GIT_TIMEOUT_S = 3.0
_git_cache: dict[str, dict[str, str]] = {}
_git_lock = threading.Lock()


def get_user() -> str:
    """The user to record: ``$MLTRAIL_TRACKING_USERNAME``/``$MLFLOW_TRACKING_USERNAME``, else the login name."""
    configured = env_value(TRACKING_USERNAME_ENV)
    if configured:
        return configured
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without a passwd entry)
        return "unknown"


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if callable(get_ipython) else None
    return ip is not None and "ZMQ" in type(ip).__name__


def get_main_file() -> str | None:
    """The script being run (``sys.argv[0]``), or None in an interactive session or ``python -c``."""
    main = sys.argv[0] if sys.argv else ""
    if not main or main in ("-c", "-m") or main.startswith("<"):
        return None
    return main


def get_source_type() -> str:
    """``NOTEBOOK`` inside a Jupyter kernel, ``JOB`` under a batch scheduler, else ``LOCAL``."""
    if _in_notebook():
        return SOURCE_NOTEBOOK
    if any(os.environ.get(name) for name in JOB_ENV_VARS):
        return SOURCE_JOB
    return SOURCE_LOCAL


def get_source_name() -> str:
    """The notebook's path when known, the script's path, or ``<console>``."""
    if _in_notebook():
        session = os.environ.get("JPY_SESSION_NAME") or getattr(sys.modules.get("__main__"), "__session__", None)
        if session:
            return str(session)
    return get_main_file() or "<console>"


def _git(cwd: str, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_tags(path: str | None = None) -> dict[str, str]:
    """Git commit, branch, remote URL and dirtiness of the repository holding ``path``.

    Runs ``git status --porcelain=v2 --branch`` and ``git config --get remote.origin.url`` once per directory
    per process. Returns {} outside a repository or without git.

    Args:
        path: a file or directory; defaults to the script being run, else the working directory.
    """
    path = path or get_main_file() or os.getcwd()
    directory = os.path.dirname(os.path.abspath(path)) if not os.path.isdir(path) else os.path.abspath(path)
    with _git_lock:
        if directory in _git_cache:
            return dict(_git_cache[directory])
    tags: dict[str, str] = {}
    status = _git(directory, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is not None:
        dirty = False
        for line in status.splitlines():
            if line.startswith("# branch.oid ") and line[13:] != "(initial)":
                tags[MLFLOW_GIT_COMMIT] = line[13:].strip()
            elif line.startswith("# branch.head ") and line[14:] != "(detached)":
                tags[MLFLOW_GIT_BRANCH] = line[14:].strip()
            elif line and not line.startswith("#"):
                dirty = True
        if MLFLOW_GIT_COMMIT in tags:
            tags[MLFLOW_GIT_DIRTY] = "true" if dirty else "false"
            url = _git(directory, "config", "--get", "remote.origin.url")
            if url and url.strip():
                tags[MLFLOW_GIT_REPO_URL] = url.strip()
        else:
            tags.clear()
    with _git_lock:
        _git_cache[directory] = dict(tags)
    return tags


def clear_git_cache() -> None:
    """Forget cached git information (for long-lived processes whose repository changes)."""
    with _git_lock:
        _git_cache.clear()


def environment_tags() -> dict[str, str]:
    """Tags from ``$MLTRAIL_RUN_CONTEXT`` / ``$MLFLOW_RUN_CONTEXT`` (a JSON object).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the variable is not a JSON object.
    """
    raw = env_value(RUN_CONTEXT_ENV)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise errors.invalid(f"MLFLOW_RUN_CONTEXT is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.invalid("MLFLOW_RUN_CONTEXT must be a JSON object of tags")
    return {str(k): _tag_value(v) for k, v in data.items()}


def _tag_value(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def default_tags() -> dict[str, str]:
    """User and source tags for a new run."""
    return {
        MLFLOW_USER: get_user(),
        MLFLOW_SOURCE_NAME: get_source_name(),
        MLFLOW_SOURCE_TYPE: get_source_type(),
    }


def resolve_tags(tags: Mapping[str, Any] | None = None) -> dict[str, str]:
    """All tags for a new run: defaults, then git, then the environment override, then ``tags``.

    Args:
        tags: the caller's tags (values are turned into strings); they win over every system tag.

    Returns:
        The merged tags.
    """
    resolved = default_tags()
    resolved.update(git_tags())
    resolved.update(environment_tags())
    for key, value in (tags or {}).items():
        resolved[str(key)] = _tag_value(value)
    return resolved
