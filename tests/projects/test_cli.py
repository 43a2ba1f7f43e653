"""``mltrail run`` end to end, as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mltrail.tracking.client import MltrailClient
from tests.projects.conftest import commit_all, git, write_project

MLPROJECT = """
name: cli
entry_points:
  main:
    parameters: {n: {type: int, default: 1}}
    command: "python -c 'import sys; print(\\"args\\", sys.argv[1:])' {n}"
  fail:
    command: "python -c 'raise SystemExit(2)'"
"""


def mltrail_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "MLFLOW_"))}
    return subprocess.run(
        [sys.executable, "-m", "mltrail.cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    project = write_project(tmp_path / "repo", MLPROJECT)
    git(project, "init", "--quiet")
    first = commit_all(project, "one")
    (project / "MLproject").write_text(MLPROJECT.replace("default: 1", "default: 2"))
    commit_all(project, "two")
    return project, first


def test_run_with_params_version_and_relative_sqlite(repo: tuple[Path, str], tmp_path: Path) -> None:
    project, first = repo
    work = tmp_path / "work"
    work.mkdir()
    done = mltrail_cli(
        work, "run", str(project), "-v", first, "-P", "extra=a=b", "--experiment-name", "cli-exp",
        "--run-name", "from-cli", "--env-manager", "local", "--tracking-uri", "sqlite:///rel.db",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "args ['1', '--extra', 'a=b']" in done.stdout  # the first commit's default n, streamed
    assert "succeeded ===" in done.stderr
    client = MltrailClient(f"sqlite:///{work / 'rel.db'}")
    experiment = client.get_experiment_by_name("cli-exp")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_name == "from-cli" and found.info.status == "FINISHED"
    assert found.data.params == {"n": "1", "extra": "a=b"}
    assert found.data.tags["mlflow.source.git.commit"] == first


def test_errors_and_exit_codes(repo: tuple[Path, str], tmp_path: Path) -> None:
    project, _ = repo
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    bad = mltrail_cli(tmp_path, "run", str(project), "-P", "n=two", "--tracking-uri", uri)
    assert bad.returncode == 1 and "Error: Parameter 'n' of entry point 'main' must be an integer" in bad.stderr
    usage = mltrail_cli(tmp_path, "run", str(project), "-P", "novalue", "--tracking-uri", uri)
    assert usage.returncode == 2 and "is not NAME=VALUE" in usage.stderr
    both = mltrail_cli(tmp_path, "run", str(project), "--experiment-id", "0", "--experiment-name", "x")
    assert both.returncode == 2 and "only one of" in both.stderr
    failed = mltrail_cli(tmp_path, "run", str(project), "-e", "fail", "--tracking-uri", uri)
    assert failed.returncode == 1 and "failed" in failed.stderr and "Run (ID '" in failed.stderr
    listed = mltrail_cli(tmp_path, "--help")
    assert " run " in listed.stdout
