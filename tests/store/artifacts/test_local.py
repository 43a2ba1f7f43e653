"""LocalArtifactRepository: logging, listing, downloading, deleting, and every way out of the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mltrail.entities import FileInfo
from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.artifacts.local import LocalArtifactRepository, local_path_from_uri


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def repo(root: Path) -> LocalArtifactRepository:
    return LocalArtifactRepository(str(root))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    d = tmp_path / "src"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "a.txt").write_text("aaa")
    (d / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    (d / "sub" / "deeper" / "c.txt").write_text("c")
    return d


def _invalid(excinfo: pytest.ExceptionInfo[MltrailError]) -> None:
    assert excinfo.value.error_code == INVALID_PARAMETER_VALUE
    assert excinfo.value.message == "Invalid path"


def test_log_artifact_lists_with_sizes_sorted(repo: LocalArtifactRepository, src: Path, root: Path) -> None:
    repo.log_artifact(str(src / "sub" / "b.bin"))
    repo.log_artifact(str(src / "a.txt"), "dir/x")
    assert repo.list_artifacts() == [FileInfo("b.bin", False, 10), FileInfo("dir", True, None)]
    assert repo.list_artifacts("dir") == [FileInfo("dir/x", True, None)]
    assert repo.list_artifacts("dir/x") == [FileInfo("dir/x/a.txt", False, 3)]
    assert (root / "dir" / "x" / "a.txt").read_text() == "aaa"


def test_list_of_file_or_missing_is_empty(repo: LocalArtifactRepository, src: Path) -> None:
    assert repo.list_artifacts() == []
    repo.log_artifact(str(src / "a.txt"))
    assert repo.list_artifacts("a.txt") == []
    assert repo.list_artifacts("nope") == []


def test_log_artifacts_copies_a_tree(repo: LocalArtifactRepository, src: Path) -> None:
    repo.log_artifacts(str(src), "model")
    assert [f.path for f in repo.list_artifacts("model")] == ["model/a.txt", "model/sub"]
    assert repo.list_artifacts("model/sub") == [
        FileInfo("model/sub/b.bin", False, 10),
        FileInfo("model/sub/deeper", True, None),
    ]
    repo.log_artifacts(str(src))
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "model", "sub"]


def test_overwrites_existing_file(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("one")
    repo.log_artifact(str(f))
    f.write_text("second")
    repo.log_artifact(str(f))
    assert repo.list_artifacts() == [FileInfo("f.txt", False, 6)]


def test_missing_local_sources(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(MltrailError) as e:
        repo.log_artifact(str(tmp_path / "nope"))
    assert e.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MltrailError):
        repo.log_artifacts(str(tmp_path / "nope"))


def test_download_file_dir_and_everything(repo: LocalArtifactRepository, src: Path, tmp_path: Path) -> None:
    repo.log_artifacts(str(src))
    out = tmp_path / "out"
    path = repo.download_artifacts("sub/deeper/c.txt", str(out))
    assert Path(path) == out / "sub" / "deeper" / "c.txt"
    assert Path(path).read_text() == "c"
    path = repo.download_artifacts("sub", str(tmp_path / "out2"))
    assert Path(path) == tmp_path / "out2" / "sub"
    assert sorted(p.relative_to(path).as_posix() for p in Path(path).rglob("*")) == [
        "b.bin",
        "deeper",
        "deeper/c.txt",
    ]
    everything = repo.download_artifacts("")
    assert (Path(everything) / "a.txt").read_text() == "aaa"
    assert (Path(everything) / "sub" / "deeper" / "c.txt").exists()


def test_download_missing(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(MltrailError) as e:
        repo.download_artifacts("nope.txt", str(tmp_path))
    assert e.value.error_code == RESOURCE_DOES_NOT_EXIST
    # An empty root downloads as an empty directory.
    assert os.listdir(repo.download_artifacts("", str(tmp_path / "empty"))) == []


def test_delete(repo: LocalArtifactRepository, src: Path, root: Path) -> None:
    repo.log_artifacts(str(src))
    repo.delete_artifacts("a.txt")
    repo.delete_artifacts("sub/deeper")
    repo.delete_artifacts("missing/thing")
    assert [f.path for f in repo.list_artifacts()] == ["sub"]
    assert [f.path for f in repo.list_artifacts("sub")] == ["sub/b.bin"]
    repo.delete_artifacts()
    assert not root.exists()
    repo.delete_artifacts()  # missing root is fine


def test_file_uri_root(tmp_path: Path, src: Path) -> None:
    root = tmp_path / "with space"
    repo = LocalArtifactRepository(root.as_uri())
    assert repo.root == str(root)
    repo.log_artifact(str(src / "a.txt"))
    assert (root / "a.txt").exists()
    assert local_path_from_uri(f"file://{root}") == str(root)
    assert local_path_from_uri(f"file://localhost{root}") == str(root)
    with pytest.raises(MltrailError):
        local_path_from_uri("file://otherhost/x")


def test_local_path(repo: LocalArtifactRepository, root: Path) -> None:
    assert repo.local_path() == str(root)
    assert repo.local_path("a/b.txt") == str(root / "a" / "b.txt")
    with pytest.raises(MltrailError):
        repo.local_path("../x")


# Path traversal on local disk: tests/store/artifacts/test_repository_suite.py (one suite for every backend).


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.txt").write_text("secret")
    return d


def test_symlinked_directory_cannot_escape(
    repo: LocalArtifactRepository, root: Path, src: Path, outside: Path, tmp_path: Path
) -> None:
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    for call in (
        lambda: repo.list_artifacts("link"),
        lambda: repo.download_artifacts("link/secret.txt", str(tmp_path / "dl")),
        lambda: repo.download_artifacts("link", str(tmp_path / "dl")),
        lambda: repo.log_artifact(str(src / "a.txt"), "link"),
        lambda: repo.log_artifacts(str(src), "link/sub"),
        lambda: repo.delete_artifacts("link/secret.txt"),
    ):
        with pytest.raises(MltrailError) as e:
            call()
        _invalid(e)
    assert repo.list_artifacts() == []  # the escaping link is not listed
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    # Deleting the link removes the link, never what it points to.
    repo.delete_artifacts("link")
    assert not (root / "link").exists()
    assert (outside / "secret.txt").read_text() == "secret"


def test_symlinked_file_cannot_escape(
    repo: LocalArtifactRepository, root: Path, src: Path, outside: Path, tmp_path: Path
) -> None:
    root.mkdir()
    (root / "a.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(MltrailError) as e:
        repo.download_artifacts("a.txt", str(tmp_path / "dl"))
    _invalid(e)
    assert repo.list_artifacts() == []
    # Logging a file of the same name must not write through the link.
    with pytest.raises(MltrailError):
        repo.log_artifact(str(src / "a.txt"))
    assert (outside / "secret.txt").read_text() == "secret"


def test_symlinked_root_ancestor_is_fine(tmp_path: Path, src: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    repo = LocalArtifactRepository(str(tmp_path / "alias" / "root"))
    repo.log_artifacts(str(src))
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "sub"]
    assert (real / "root" / "sub" / "b.bin").exists()


def test_symlink_inside_root_pointing_inside_is_allowed(repo: LocalArtifactRepository, root: Path, src: Path) -> None:
    repo.log_artifacts(str(src))
    (root / "alias").symlink_to(root / "sub", target_is_directory=True)
    assert [f.path for f in repo.list_artifacts("alias")] == ["alias/b.bin", "alias/deeper"]


def test_files_being_written_are_not_listed_and_copies_appear_whole(tmp_path):
    from mltrail.store.artifacts.local import TEMP_PREFIX

    repo = LocalArtifactRepository(str(tmp_path / "root"))
    src = tmp_path / "model.bin"
    src.write_bytes(b"x" * 1000)
    repo.log_artifact(str(src), "d")
    (tmp_path / "root" / "d" / f"{TEMP_PREFIX}abc").write_bytes(b"half")  # another process's upload, unfinished
    assert [(f.path, f.file_size) for f in repo.list_artifacts("d")] == [("d/model.bin", 1000)]
    assert sorted(p.name for p in (tmp_path / "root" / "d").iterdir()) == [f"{TEMP_PREFIX}abc", "model.bin"]


def test_deleting_what_another_process_deletes_is_no_error(tmp_path, monkeypatch):
    import shutil

    repo = LocalArtifactRepository(str(tmp_path / "root"))
    src = tmp_path / "f.txt"
    src.write_text("x")
    for folder in ("a", "a/b", "a/b/c"):
        repo.log_artifact(str(src), folder)
    real_unlink = os.unlink

    def racing_unlink(path, *args, **kwargs):  # the other process removed this file just before us
        real_unlink(path, *args, **kwargs)
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "unlink", racing_unlink)
    monkeypatch.setattr(shutil.os, "unlink", racing_unlink)
    repo.delete_artifacts("a")
    monkeypatch.undo()
    assert not (tmp_path / "root" / "a").exists()
