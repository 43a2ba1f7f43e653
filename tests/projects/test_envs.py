"""Environments: manager choice, cached virtualenvs, conda and Docker errors when the tool is missing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mltrail.errors import MltrailError
from mltrail.projects import load_project, run
from mltrail.projects.docker import dockerfile, engine_problem
from mltrail.projects.envs import python_env_from_conda, resolve_env_manager
from mltrail.tracking.client import MltrailClient
from tests.projects.conftest import EXAMPLE, write_project

PRINT_PREFIX = "entry_points: {main: {command: 'python -c \"import sys; print(sys.prefix)\"'}}\n"


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with only git and bash (no conda, no docker), and no conda home."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "bash", "sh"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("MLTRAIL_CONDA_HOME", raising=False)
    monkeypatch.delenv("MLFLOW_CONDA_HOME", raising=False)


def test_default_managers(tmp_path: Path) -> None:
    assert resolve_env_manager(load_project(EXAMPLE), None) == "virtualenv"
    assert resolve_env_manager(load_project(EXAMPLE), "uv") == "uv"
    (tmp_path / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    assert resolve_env_manager(load_project(tmp_path), None) == "conda"
    assert resolve_env_manager(load_project(tmp_path), "virtualenv") == "virtualenv"
    write_project(tmp_path / "d", "docker_env: {image: 'python:3.11-slim'}\n")
    assert resolve_env_manager(load_project(tmp_path / "d"), "local") == "docker"
    write_project(tmp_path / "l", PRINT_PREFIX)
    assert resolve_env_manager(load_project(tmp_path / "l"), None) == "local"
    with pytest.raises(MltrailError, match="python_env project cannot be run with conda"):
        resolve_env_manager(load_project(EXAMPLE), "conda")


def test_conda_yaml_converts_to_a_python_env(tmp_path: Path) -> None:
    conda = tmp_path / "conda.yaml"
    conda.write_text("dependencies:\n  - python=3.10.4\n  - pip\n  - pip: [scikit-learn==1.5.0, pandas]\n")
    env = python_env_from_conda(conda)
    assert env.python == "3.10.4" and env.dependencies == ["scikit-learn==1.5.0", "pandas"]


def test_conda_missing_is_a_clear_error(tracking_uri: str, tmp_path: Path, no_tools: None) -> None:
    project = write_project(tmp_path / "c", "conda_env: conda.yaml\nentry_points: {main: {command: 'python t.py'}}\n")
    (project / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    with pytest.raises(MltrailError) as caught:
        run(str(project))
    message = caught.value.message
    assert "the `conda` command was not found" in message and "MLFLOW_CONDA_HOME" in message
    assert "conda env create --prefix" in message and f"--file {project / 'conda.yaml'}" in message
    assert "bash -c 'python t.py'" in message
    assert MltrailClient(tracking_uri).search_runs(["0"]) == []  # nothing was created


def test_docker_missing_is_a_clear_error(tracking_uri: str, tmp_path: Path, no_tools: None) -> None:
    project = write_project(
        tmp_path / "d",
        "name: Dock Proj\ndocker_env:\n  image: python:3.11-slim\n  volumes: ['/data:/data']\n"
        "  environment: [['K', 'V'], 'HOME']\nentry_points: {main: {command: 'python train.py'}}\n",
    )
    with pytest.raises(MltrailError) as caught:
        run(str(project))
    message = caught.value.message
    assert "the `docker` command was not found" in message
    assert "FROM python:3.11-slim" in message and "COPY . /mltrail/projects/code/" in message
    assert "docker build -t dock-proj:<run-id>" in message
    assert "-v /data:/data" in message and "-e K=V" in message and "sh -c 'python train.py'" in message
    assert MltrailClient(tracking_uri).search_runs(["0"]) == []


def test_docker_engine_down_or_up() -> None:
    problem = engine_problem()
    assert problem is None or "docker" in problem.lower()
    project = load_project(EXAMPLE)
    assert dockerfile(project).startswith("FROM python:3.11-slim")  # the fallback image for non-docker projects


@pytest.mark.slow
def test_virtualenv_is_cached_and_second_start_is_fast(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIL_ENV_ROOT", str(tmp_path / "envs"))
    project = write_project(tmp_path / "v", "python_env: python_env.yaml\n" + PRINT_PREFIX)
    (project / "python_env.yaml").write_text("dependencies: []\n")
    client = MltrailClient(tracking_uri)

    started = time.monotonic()
    first = run(str(project))  # virtualenv, the default for python_env projects
    build_s = time.monotonic() - started
    started = time.monotonic()
    second = run(str(project))
    second_s = time.monotonic() - started

    envs = [p for p in (tmp_path / "envs").iterdir() if p.is_dir()]
    assert len(envs) == 1  # one environment, keyed by content
    for submitted in (first, second):
        got = client.get_run(submitted.run_id)
        assert got.data.tags["mlflow.project.env"] == "virtualenv"
        prefix = Path(client.download_artifacts(submitted.run_id, "project_logs/stdout.txt", str(tmp_path)))
        assert prefix.read_text().strip() == str(envs[0])
    assert second_s < 2.0, f"a cached environment took {second_s:.2f} s to run (first build {build_s:.1f} s)"
