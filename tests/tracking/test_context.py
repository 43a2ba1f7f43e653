"""Run context tags: user, source, git state and the MLFLOW_RUN_CONTEXT override."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mltrail.errors import MltrailError
from mltrail.tracking import context

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "MLTRAIL_RUN_CONTEXT",
        "MLFLOW_RUN_CONTEXT",
        "MLTRAIL_TRACKING_USERNAME",
        "MLFLOW_TRACKING_USERNAME",
        *context.JOB_ENV_VARS,
    ):
        monkeypatch.delenv(name, raising=False)
    context.clear_git_cache()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "T")
    _git(repo, "remote", "add", "origin", "https://example.com/org/repo.git")
    (repo / "train.py").write_text("print(1)\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "init")
    return repo


def test_default_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", "--x"])
    tags = context.default_tags()
    assert tags[context.MLFLOW_SOURCE_NAME] == "train.py"
    assert tags[context.MLFLOW_SOURCE_TYPE] == "LOCAL"
    assert tags[context.MLFLOW_USER]
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert context.default_tags()[context.MLFLOW_USER] == "alice"
    monkeypatch.setenv("MLTRAIL_TRACKING_USERNAME", "bob")
    assert context.default_tags()[context.MLFLOW_USER] == "bob"


def test_console_and_job_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["-c"])
    assert context.get_source_name() == "<console>"
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    assert context.get_source_type() == "JOB"


@needs_git
def test_git_tags_clean_then_dirty(repo: Path) -> None:
    commit = _git(repo, "rev-parse", "HEAD")
    tags = context.git_tags(str(repo / "train.py"))
    assert tags == {
        context.MLFLOW_GIT_COMMIT: commit,
        context.MLFLOW_GIT_BRANCH: "main",
        context.MLFLOW_GIT_REPO_URL: "https://example.com/org/repo.git",
        context.MLFLOW_GIT_DIRTY: "false",
    }
    (repo / "train.py").write_text("print(2)\n")
    assert context.git_tags(str(repo))[context.MLFLOW_GIT_DIRTY] == "false"  # cached for the process
    context.clear_git_cache()
    assert context.git_tags(str(repo))[context.MLFLOW_GIT_DIRTY] == "true"


@needs_git
def test_git_tags_detached_and_no_remote(repo: Path) -> None:
    _git(repo, "remote", "remove", "origin")
    _git(repo, "checkout", "-q", "--detach")
    tags = context.git_tags(str(repo))
    assert context.MLFLOW_GIT_BRANCH not in tags
    assert context.MLFLOW_GIT_REPO_URL not in tags
    assert len(tags[context.MLFLOW_GIT_COMMIT]) == 40


def test_no_git_outside_a_repository(tmp_path: Path) -> None:
    assert context.git_tags(str(tmp_path)) == {}


@needs_git
def test_resolve_tags_precedence(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])
    monkeypatch.setenv("MLFLOW_RUN_CONTEXT", json.dumps({"mlflow.source.type": "PROJECT", "team": "ml", "n": 3}))
    tags = context.resolve_tags({"team": "override", "flag": True})
    assert tags[context.MLFLOW_SOURCE_NAME] == str(repo / "train.py")
    assert tags[context.MLFLOW_SOURCE_TYPE] == "PROJECT"
    assert tags[context.MLFLOW_GIT_BRANCH] == "main"
    assert tags["team"] == "override"
    assert tags["n"] == "3"
    assert tags["flag"] == "True"


def test_bad_run_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_RUN_CONTEXT", "{not json")
    with pytest.raises(MltrailError):
        context.environment_tags()
    monkeypatch.setenv("MLFLOW_RUN_CONTEXT", "[1, 2]")
    with pytest.raises(MltrailError):
        context.environment_tags()
