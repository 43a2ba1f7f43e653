"""``docker_env`` projects: build an image with the project's code on top of the declared image, run in it.

The image is built from a generated ``Dockerfile`` (``FROM <image>``, the project copied to
``/mltrail/projects/code``) and tagged ``<project name>:<run id prefix>``. The container gets the run's
environment variables, the ``volumes`` and ``environment`` of ``docker_env``, and, so that it can reach
a local store, the folders of a SQLite tracking database and of a local artifact location mounted at the
same paths, and the host network when the tracking server is on localhost. Without a reachable engine the
error shows the Dockerfile and the commands that would have run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.projects.envs import Launch
from mltrail.projects.spec import Project

CODE_DIR = "/mltrail/projects/code/"


def dockerfile(project: Project) -> str:
    """The Dockerfile that adds the project's code to its ``docker_env`` image."""
    image = (project.docker_env or {}).get("image", "python:3.11-slim")
    return f"FROM {image}\nCOPY . {CODE_DIR}\nWORKDIR {CODE_DIR}\n"


def image_tag(project: Project, run_id: str) -> str:
    """The tag of the image built for a run."""
    name = re.sub(r"[^a-z0-9._-]+", "-", (project.name or "mltrail-project").lower()).strip("-._") or "project"
    return f"{name}:{run_id[:12]}"


def docker_run_args(project: Project, tag: str, run_env: Mapping[str, str], artifact_uri: str | None) -> list[str]:
    """``docker run`` arguments up to and including the image and the in-container shell (``sh -c``)."""
    args = ["docker", "run", "--rm"]
    for key, value in run_env.items():
        args += ["-e", f"{key}={value}"]
    docker_env: dict[str, Any] = project.docker_env or {}
    for volume in docker_env.get("volumes") or []:
        args += ["-v", str(volume)]
    for item in docker_env.get("environment") or []:
        if isinstance(item, list | tuple) and len(item) == 2:
            args += ["-e", f"{item[0]}={item[1]}"]
        else:
            args += ["-e", f"{item}={os.environ.get(str(item), '')}"]
    for folder in _local_folders(run_env, artifact_uri):
        args += ["-v", f"{folder}:{folder}"]
    tracking = next((run_env[k] for k in ("MLTRAIL_TRACKING_URI", "MLFLOW_TRACKING_URI") if k in run_env), "")
    if urlparse(tracking).hostname in ("localhost", "127.0.0.1", "::1"):
        args += ["--network", "host"]
    return [*args, tag, "sh", "-c"]


def _local_folders(run_env: Mapping[str, str], artifact_uri: str | None) -> list[str]:
    folders: list[str] = []
    tracking = run_env.get("MLTRAIL_TRACKING_URI", "")
    if tracking.startswith("sqlite:///"):
        folders.append(os.path.dirname(os.path.abspath(tracking[len("sqlite:///") :])))
    if artifact_uri:
        parsed = urlparse(artifact_uri)
        if parsed.scheme in ("", "file"):
            folders.append(os.path.abspath(unquote(parsed.path) if parsed.scheme else artifact_uri))
    return list(dict.fromkeys(folders))


def engine_problem() -> str | None:
    """Why containers cannot run here (no ``docker`` command, or no engine answers), or None."""
    docker = shutil.which("docker")
    if docker is None:
        return "the `docker` command was not found"
    try:
        done = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"the Docker engine is not reachable ({lines[-1] if lines else 'docker info failed'})"
    return None


def check_docker(project: Project, command: str) -> None:
    """Fail early, showing the Dockerfile and commands that would run, when no container engine is reachable.

    Raises:
        MltrailError: no ``docker`` command or no engine.
    """
    problem = engine_problem()
    if problem is None:
        return
    tag = image_tag(project, "<run-id>")
    run = " ".join(shlex.quote(a) for a in docker_run_args(project, tag, {}, None)[:-3])
    raise errors.invalid(
        f"This project runs in Docker (docker_env image {(project.docker_env or {}).get('image')!r}), but {problem}. "
        "Install and start Docker (or a compatible engine), then run again.\n"
        f"It would build this Dockerfile in {project.directory}:\n"
        + "".join(f"  {line}\n" for line in dockerfile(project).splitlines())
        + f"with:\n  docker build -t {tag} -f Dockerfile {shlex.quote(str(project.directory))}\n"
        f"and run:\n  {run} -e MLFLOW_RUN_ID=... -e MLFLOW_TRACKING_URI=... {tag} sh -c {shlex.quote(command)}"
    )


def prepare(project: Project, run_id: str, run_env: Mapping[str, str], artifact_uri: str | None) -> Launch:
    """Build the run's image and return how to launch the command in a container.

    Raises:
        MltrailError: the build failed (with docker's last lines).
    """
    tag = image_tag(project, run_id)
    with tempfile.TemporaryDirectory(prefix="mltrail-docker-") as context:
        shutil.copytree(project.directory, context, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        (Path(context) / "Dockerfile.mltrail").write_text(dockerfile(project))
        done = subprocess.run(
            ["docker", "build", "-t", tag, "-f", "Dockerfile.mltrail", "."],
            cwd=context,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join((done.stderr + done.stdout).strip().splitlines()[-15:])
        raise MltrailError(f"Building the project image {tag} failed:\n{tail}")
    inspect = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True, check=False
    )
    tags = {"mlflow.docker.image.uri": tag}
    if inspect.returncode == 0 and inspect.stdout.strip():
        tags["mlflow.docker.image.id"] = inspect.stdout.strip()
    return Launch("docker", docker_run_args(project, tag, run_env, artifact_uri), tags=tags)
