"""Fixtures for project tests: a clean tracking environment, a tracking store, small projects and git repos."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sklearn_project"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; returns stripped stdout."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Commit everything in ``repo``; returns the new commit id."""
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write_project(folder: Path, mlproject: str, files: dict[str, str] | None = None) -> Path:
    """A project folder with ``MLproject`` text and extra files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLproject").write_text(mlproject)
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def tracking_uri(clean_fluent_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite store (also the process's tracking URI) with artifacts in the test's folder."""
    import mltrail

    uri = f"sqlite:///{clean_fluent_state / 'mltrail.db'}"
    monkeypatch.setenv("MLTRAIL_ARTIFACT_ROOT", str(clean_fluent_state / "artifacts"))
    mltrail.set_tracking_uri(uri)
    yield uri
    mltrail.set_tracking_uri(None)


@pytest.fixture
def example_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A git repository holding the example project under ``sklearn_project/``, in two commits.

    Returns:
        (repository, first commit, second commit); the second commit changes the default alpha to 0.9.
    """
    repo = tmp_path / "example-repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    shutil.copytree(EXAMPLE, repo / "sklearn_project", ignore=shutil.ignore_patterns("__pycache__", "mlruns"))
    first = commit_all(repo, "example project")
    mlproject = repo / "sklearn_project" / "MLproject"
    mlproject.write_text(mlproject.read_text().replace("default: 0.5", "default: 0.9"))
    second = commit_all(repo, "change the default alpha")
    return repo, first, second
