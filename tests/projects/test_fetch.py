"""Project URIs: folders, file://, git repositories at a version, #subdir, zip files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mltrail.errors import MltrailError
from mltrail.projects.fetch import fetch_project, split_subdirectory
from tests.projects.conftest import commit_all, git


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with ``sub/MLproject``: v1 in the first commit (tagged), v2 in the second (branch ``dev``)."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "--quiet")
    (repo / "sub" / "MLproject").write_text("name: v1\nentry_points: {main: {command: 'echo v1'}}\n")
    first = commit_all(repo, "v1")
    git(repo, "tag", "v1.0")
    git(repo, "checkout", "--quiet", "-b", "dev")
    (repo / "sub" / "MLproject").write_text("name: v2\nentry_points: {main: {command: 'echo v2'}}\n")
    second = commit_all(repo, "v2")
    git(repo, "checkout", "--quiet", "main")
    return repo, first, second


def _name(fetched_dir: Path) -> str:
    return (fetched_dir / "MLproject").read_text().split("\n", 1)[0]


def test_local_folder_is_used_in_place(repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    fetched = fetch_project(f"{path}#sub")
    assert fetched.directory == (path / "sub").resolve() and fetched.temp_dir is None
    assert fetched.git_commit == first and fetched.git_repo_url is None
    assert fetched.source_name == f"{path.resolve()}#sub"
    assert fetch_project(f"file://{path}#sub").directory == (path / "sub").resolve()


def test_local_folder_with_remote_reports_the_remote(repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    git(path, "remote", "add", "origin", "https://example.com/org/repo.git")
    fetched = fetch_project(f"{path}#sub")
    assert fetched.source_name == "https://example.com/org/repo.git#sub"
    assert fetched.git_repo_url == "https://example.com/org/repo.git"


@pytest.mark.parametrize("which", ["first", "second", "short", "tag", "branch"])
def test_git_repository_at_a_version(repo: tuple[Path, str, str], which: str) -> None:
    path, first, second = repo
    version = {"first": first, "second": second, "short": first[:8], "tag": "v1.0", "branch": "dev"}[which]
    fetched = fetch_project(f"file://{path}#sub", version=version)
    try:
        assert fetched.temp_dir is not None and fetched.directory.is_relative_to(fetched.temp_dir)
        expected = first if which in ("first", "short", "tag") else second
        assert fetched.git_commit == expected
        assert _name(fetched.directory) == ("name: v1" if expected == first else "name: v2")
        assert fetched.git_branch == ("dev" if which == "branch" else None)
        assert fetched.git_repo_url == str(path.resolve())
    finally:
        fetched.cleanup()
    assert not fetched.temp_dir.exists()


def test_git_url_without_version_takes_the_remote_head(repo: tuple[Path, str, str], tmp_path: Path) -> None:
    path, first, _ = repo
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(path), str(bare))
    fetched = fetch_project(f"file://{bare}#sub")
    try:
        assert fetched.git_commit == first and _name(fetched.directory) == "name: v1"
    finally:
        fetched.cleanup()


def test_unknown_version_and_non_git_folder(repo: tuple[Path, str, str], tmp_path: Path) -> None:
    path, _, _ = repo
    with pytest.raises(MltrailError, match="no-such-ref"):
        fetch_project(str(path), version="no-such-ref")
    (tmp_path / "plain").mkdir()
    with pytest.raises(MltrailError, match="is not a git repository"):
        fetch_project(str(tmp_path / "plain"), version="main")


def test_missing_folder_and_subdirectory(tmp_path: Path) -> None:
    with pytest.raises(MltrailError, match="does not exist"):
        fetch_project(str(tmp_path / "missing"))
    with pytest.raises(MltrailError, match="has no subdirectory 'nope'"):
        fetch_project(f"{tmp_path}#nope")


@pytest.mark.parametrize("subdir", ["../up", "a/./b", "a/../../b", "."])
def test_subdirectory_rejects_dots(subdir: str) -> None:
    with pytest.raises(MltrailError, match="not allowed"):
        split_subdirectory(f"/tmp/x#{subdir}")


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(name, text)
    return path


def test_zip_file_is_unpacked(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "p.zip", {"MLproject": "name: zipped\n", "sub/MLproject": "name: inner\n"})
    fetched = fetch_project(str(archive))
    assert _name(fetched.directory) == "name: zipped" and fetched.source_name == str(archive)
    fetched.cleanup()
    inner = fetch_project(f"file://{archive}#sub")
    assert _name(inner.directory) == "name: inner"
    inner.cleanup()


def test_zip_with_one_top_folder_is_entered(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "p.zip", {"repo-main/MLproject": "name: top\n"})
    fetched = fetch_project(str(archive))
    assert _name(fetched.directory) == "name: top"
    fetched.cleanup()


@pytest.mark.parametrize("member", ["../evil.txt", "a/../../evil.txt", "/abs/evil.txt"])
def test_zip_traversal_is_rejected(tmp_path: Path, member: str) -> None:
    archive = _zip(tmp_path / "p.zip", {"MLproject": "name: x\n", member: "boom"})
    with pytest.raises(MltrailError, match="outside the project folder"):
        fetch_project(str(archive))
    assert not (tmp_path / "evil.txt").exists()


def test_bad_zip_and_version_for_zip(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(MltrailError, match="not a valid zip file"):
        fetch_project(str(tmp_path / "bad.zip"))
    archive = _zip(tmp_path / "p.zip", {"MLproject": "name: x\n"})
    with pytest.raises(MltrailError, match="only be given for a git repository"):
        fetch_project(str(archive), version="v1")
