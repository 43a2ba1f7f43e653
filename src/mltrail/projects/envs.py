"""Where a project's command runs: this Python, a cached virtualenv/uv environment, or a conda environment.

The environment manager defaults by what the project declares (as MLflow's local backend does): a
``python_env`` project uses ``virtualenv``, a ``conda_env`` project uses ``conda``, a project that declares
nothing uses ``local``; ``docker_env`` projects run in a container (:mod:`mltrail.projects.docker`) whatever
the manager. A ``python_env`` project cannot run with conda.

``virtualenv`` and ``uv`` environments are built by :mod:`mltrail.serving.envs` from ``python_env.yaml`` (a
``conda.yaml`` is converted: its ``python`` and ``pip`` entries) and cached under ``$MLTRAIL_ENV_ROOT`` by a hash
of their contents, so a second run with the same files reuses the environment at once. The command runs with
the environment's ``bin`` first on ``PATH`` (what activating it does). ``local`` puts this interpreter's
folder first on ``PATH``, so ``python`` in a command is the Python that mltrail runs in.

Conda environments are created once per ``conda.yaml`` content with ``conda env create --prefix``; without
``conda`` (``$MLTRAIL_CONDA_HOME``/``$MLFLOW_CONDA_HOME``, then ``PATH``) the error shows the commands that would
have run.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.projects.spec import ENV_CONDA, ENV_DOCKER, ENV_PYTHON, Project
from mltrail.serving.envs import (
    PythonEnv,
    env_root,
    get_or_create_python_env,
    mltrail_install_args,
    read_python_env_file,
)

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")
CONDA_HOME_ENV = ("MLTRAIL_CONDA_HOME", "MLFLOW_CONDA_HOME")
_DEFAULT_MANAGER = {ENV_PYTHON: "virtualenv", ENV_CONDA: "conda"}


@dataclass(frozen=True)
class Launch:
    """How to start a command: ``[*prefix, command]`` with ``env`` added to the child's environment.

    Attributes:
        kind: the ``mlflow.project.env`` tag value (``local``, ``virtualenv``, ``uv``, ``conda``, ``docker``).
        prefix: the argv before the command string (ending in a shell's ``-c``).
        env: variables to set in the child's environment.
        tags: extra run tags (docker image URI and id).
    """

    kind: str
    prefix: list[str]
    env: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def argv(self, command: str) -> list[str]:
        """The full argv for ``command``."""
        return [*self.prefix, command]


def shell() -> list[str]:
    """The local shell that runs commands: ``bash -c``, else ``sh -c``."""
    return [shutil.which("bash") or "/bin/sh", "-c"]


def resolve_env_manager(project: Project, requested: str | None) -> str:
    """The environment kind to run ``project`` with: ``docker`` for docker projects, else a manager.

    Raises:
        MltrailError: an unknown manager, or conda asked for a ``python_env`` project.
    """
    if requested is not None and requested not in ENV_MANAGERS:
        raise errors.invalid(f"Unknown env manager {requested!r}: use one of {', '.join(ENV_MANAGERS)}.")
    if project.env_type == ENV_DOCKER:
        return ENV_DOCKER
    if requested is None:
        return _DEFAULT_MANAGER.get(project.env_type, "local")
    if project.env_type == ENV_PYTHON and requested == "conda":
        raise errors.invalid(
            "A python_env project cannot be run with conda: use --env-manager virtualenv, uv or local."
        )
    return requested


def python_env_of(project: Project) -> PythonEnv:
    """The Python environment spec of ``project`` (``python_env.yaml``, a converted ``conda.yaml``, or bare)."""
    path = project.env_config_path
    if path is None:
        return PythonEnv(python=".".join(map(str, sys.version_info[:3])))
    if project.env_type == ENV_CONDA:
        return python_env_from_conda(path)
    return read_python_env_file(path)


def python_env_from_conda(path: Path) -> PythonEnv:
    """A ``conda.yaml`` as a Python environment: its ``python=X.Y`` and ``pip:`` entries (other packages dropped)."""
    raw = yaml.safe_load(path.read_text()) or {}
    python, pip = ".".join(map(str, sys.version_info[:2])), []
    for dep in raw.get("dependencies") or []:
        if isinstance(dep, dict):
            pip.extend(str(d) for d in dep.get("pip") or [])
        elif str(dep).replace(" ", "").startswith("python="):
            python = str(dep).replace(" ", "").split("=", 1)[1].lstrip("=")
        elif str(dep).replace(" ", "").split("=")[0] not in ("python", "pip"):
            print(f"Skipping conda package {dep!r}: only pip packages go into a virtualenv.", file=sys.stderr)
    return PythonEnv(python=python, dependencies=pip)


def prepare(project: Project, kind: str, log: bool = True) -> Launch:
    """Build (or reuse) the environment of ``kind`` for ``project`` and say how to launch commands in it.

    Args:
        project: the loaded project.
        kind: ``local``, ``virtualenv``, ``uv`` or ``conda`` (docker is :func:`mltrail.projects.docker.prepare`).
        log: print progress to stderr.

    Raises:
        MltrailError: the environment cannot be built (missing Python, uv or conda; a failed install).
    """
    if kind == "local":
        bin_dir = os.path.dirname(sys.executable)
        return Launch("local", shell(), {"PATH": _prepend_path(bin_dir)})
    if kind in ("virtualenv", "uv"):
        python = get_or_create_python_env(
            python_env_of(project), project.directory, kind, log=log, extras="", what="project"
        )
        env_dir = python.parent.parent
        return Launch(kind, shell(), {"PATH": _prepend_path(str(python.parent)), "VIRTUAL_ENV": str(env_dir)})
    if kind == "conda":
        return _conda_launch(project, log)
    raise errors.invalid(f"Unknown environment kind {kind!r}.")


def _prepend_path(directory: str) -> str:
    return os.pathsep.join([directory, os.environ.get("PATH", "")])


def find_conda() -> str | None:
    """The ``conda`` executable: under ``$MLTRAIL_CONDA_HOME``/``$MLFLOW_CONDA_HOME``, else on ``PATH``."""
    for name in CONDA_HOME_ENV:
        home = os.environ.get(name)
        if home:
            candidate = Path(home) / "bin" / "conda"
            return str(candidate) if candidate.exists() else None
    return shutil.which("conda")


def conda_env_prefix(project: Project) -> Path:
    """Where the conda environment for the project's ``conda.yaml`` (by content hash) lives."""
    content = project.env_config_path.read_bytes() if project.env_config_path else b""
    return env_root() / f"conda-{hashlib.sha256(content).hexdigest()[:40]}"


def conda_commands(project: Project, command: str, conda: str = "conda") -> list[str]:
    """The shell commands that create the conda environment and run ``command`` in it."""
    prefix = conda_env_prefix(project)
    spec = project.env_config_path or Path("conda.yaml")
    install = " ".join(shlex.quote(a) for a in mltrail_install_args(""))
    return [
        f"{conda} env create --prefix {shlex.quote(str(prefix))} --file {shlex.quote(str(spec))}",
        f"{conda} run --prefix {shlex.quote(str(prefix))} python -m pip install {install}",
        f"{conda} run --no-capture-output --prefix {shlex.quote(str(prefix))} bash -c {shlex.quote(command)}",
    ]


def check_conda(project: Project, command: str) -> None:
    """Fail early, with the commands conda would have run, when conda is not installed.

    Raises:
        MltrailError: ``conda`` was not found.
    """
    if find_conda() is not None:
        return
    steps = "\n".join(f"  {line}" for line in conda_commands(project, command))
    raise errors.invalid(
        "This run needs conda, but the `conda` command was not found (put it on PATH or set MLTRAIL_CONDA_HOME / "
        "MLFLOW_CONDA_HOME to the conda installation), or choose --env-manager virtualenv, uv or local.\n"
        f"With conda the run would be:\n{steps}"
    )


def _conda_launch(project: Project, log: bool) -> Launch:
    conda = find_conda()
    if conda is None:
        check_conda(project, "<command>")
    assert conda is not None
    prefix = conda_env_prefix(project)
    marker = prefix / ".mltrail-env-complete"
    if not marker.is_file():
        if prefix.exists():
            shutil.rmtree(prefix)
        if log:
            print(f"Creating conda environment {prefix}...", file=sys.stderr, flush=True)
        where = ["--prefix", str(prefix)]
        if project.env_config_path is None:
            _check_call([conda, "create", "--yes", "--quiet", *where, "python", "pip"])
        else:
            _check_call([conda, "env", "create", "--quiet", *where, "--file", str(project.env_config_path)])
        _check_call([conda, "run", *where, "python", "-m", "pip", "install", *mltrail_install_args("")])
        marker.write_text("ok\n")
    return Launch("conda", [conda, "run", "--no-capture-output", "--prefix", str(prefix), "bash", "-c"])


def _check_call(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr + done.stdout).strip().splitlines()[-15:])
        raise MltrailError(f"`{' '.join(cmd)}` exited {done.returncode}:\n{tail}")
