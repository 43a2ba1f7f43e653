"""One artifact-repository suite for every storage: local disk and S3 (a moto server process) alike.

Each test runs once per backend through the ``repo`` fixture. Where storages differ by nature the test says so
(S3 keeps no empty directories). Local-only behaviour (symlinks, ``file://`` URIs) is in ``test_local.py``, S3
configuration in ``test_s3.py``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mltrail.entities import FileInfo
from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.artifacts.base import ArtifactRepository
from mltrail.store.uris import get_artifact_repository
from tests.s3_server import s3_client

MiB = 1024 * 1024
BACKENDS = ["local", "s3"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def repo(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> ArtifactRepository:
    """An empty repository rooted below the storage's top (a prefix in a fresh bucket for S3)."""
    if backend == "local":
        return get_artifact_repository(str(tmp_path / "root"))
    bucket = request.getfixturevalue("s3_bucket")
    return get_artifact_repository(f"s3://{bucket}/some/prefix")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    d = tmp_path / "src"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "a.txt").write_text("aaa")
    (d / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    (d / "sub" / "deeper" / "c.txt").write_text("c")
    return d


def _code(excinfo: pytest.ExceptionInfo[MltrailError]) -> str:
    return excinfo.value.error_code


# ------------------------------------------------------------------------------------------ upload, list
def test_log_artifact_lists_with_sizes_sorted(repo: ArtifactRepository, src: Path) -> None:
    repo.log_artifact(str(src / "sub" / "b.bin"))
    repo.log_artifact(str(src / "a.txt"), "dir/x")
    assert repo.list_artifacts() == [FileInfo("b.bin", False, 10), FileInfo("dir", True, None)]
    assert repo.list_artifacts("dir") == [FileInfo("dir/x", True, None)]
    assert repo.list_artifacts("dir/x") == [FileInfo("dir/x/a.txt", False, 3)]
    assert repo.list_artifacts("dir/x/") == [FileInfo("dir/x/a.txt", False, 3)]


def test_list_of_file_or_missing_is_empty(repo: ArtifactRepository, src: Path) -> None:
    assert repo.list_artifacts() == []
    repo.log_artifact(str(src / "a.txt"))
    assert repo.list_artifacts("a.txt") == []
    assert repo.list_artifacts("nope") == []
    assert repo.list_artifacts("a") == []  # a prefix of a name is not a directory


def test_log_artifacts_copies_a_tree(repo: ArtifactRepository, src: Path) -> None:
    repo.log_artifacts(str(src), "model")
    assert [f.path for f in repo.list_artifacts("model")] == ["model/a.txt", "model/sub"]
    assert repo.list_artifacts("model/sub") == [
        FileInfo("model/sub/b.bin", False, 10),
        FileInfo("model/sub/deeper", True, None),
    ]
    repo.log_artifacts(str(src))
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "model", "sub"]


def test_empty_directories(repo: ArtifactRepository, backend: str, tmp_path: Path) -> None:
    """Local disk keeps empty directories; S3 has no directories, only keys, so an empty one is not kept."""
    tree = tmp_path / "tree"
    (tree / "empty").mkdir(parents=True)
    (tree / "full").mkdir()
    (tree / "full" / "f.txt").write_text("f")
    repo.log_artifacts(str(tree), "t")
    listed = [f.path for f in repo.list_artifacts("t")]
    assert listed == (["t/empty", "t/full"] if backend == "local" else ["t/full"])
    assert repo.list_artifacts("t/empty") == []
    # Deleting a directory's last file: local disk keeps the directory, S3 forgets it.
    repo.delete_artifacts("t/full/f.txt")
    assert repo.list_artifacts("t/full") == []
    expected = {"local": ["t/empty", "t/full"], "s3": []}[backend]
    assert [f.path for f in repo.list_artifacts("t")] == expected


def test_overwrites_existing_file(repo: ArtifactRepository, tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("one")
    repo.log_artifact(str(f))
    f.write_text("second")
    repo.log_artifact(str(f))
    assert repo.list_artifacts() == [FileInfo("f.txt", False, 6)]


def test_missing_local_sources(repo: ArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(MltrailError) as e:
        repo.log_artifact(str(tmp_path / "nope"))
    assert _code(e) == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MltrailError):
        repo.log_artifacts(str(tmp_path / "nope"))


def test_large_file_goes_up_and_down_whole(repo: ArtifactRepository, tmp_path: Path) -> None:
    """A file larger than the transfer part size (8 MiB): parallel parts on S3, byte-equal back."""
    big = tmp_path / "big.bin"
    content = os.urandom(9 * MiB + 17)
    big.write_bytes(content)
    repo.log_artifact(str(big), "weights")
    assert repo.list_artifacts("weights") == [FileInfo("weights/big.bin", False, len(content))]
    back = Path(repo.download_artifacts("weights/big.bin", str(tmp_path / "dl")))
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(content).digest()


# ---------------------------------------------------------------------------------------- pagination
def test_listing_and_tree_operations_page_through(repo: ArtifactRepository, tmp_path: Path) -> None:
    """With 3 keys per listing page, listing, downloading and deleting still see everything."""
    repo.list_page_size = 3  # type: ignore[attr-defined]  # only S3 pages; local disk ignores it
    tree = tmp_path / "many"
    for i in range(11):
        (tree / f"d{i:02d}").mkdir(parents=True)
        (tree / f"d{i:02d}" / "x.txt").write_text(str(i))
        (tree / f"f{i:02d}.txt").write_text("y" * i)
    repo.log_artifacts(str(tree), "many")
    listed = repo.list_artifacts("many")
    assert [f.path for f in listed] == sorted(
        [f"many/d{i:02d}" for i in range(11)] + [f"many/f{i:02d}.txt" for i in range(11)]
    )
    assert {f.path: f.file_size for f in listed if not f.is_dir}["many/f07.txt"] == 7
    out = Path(repo.download_artifacts("many", str(tmp_path / "dl")))
    assert len(list(out.rglob("*.txt"))) == 22
    repo.delete_artifacts("many")
    assert repo.list_artifacts() == []


def test_listing_beyond_one_thousand_keys(repo: ArtifactRepository, tmp_path: Path) -> None:
    """1,005 files in one directory: more than one page at S3's own page size (1,000)."""
    tree = tmp_path / "thousand"
    tree.mkdir()
    for i in range(1005):
        (tree / f"{i:04d}").write_bytes(b"z")
    repo.log_artifacts(str(tree), "k")
    listed = repo.list_artifacts("k")
    assert len(listed) == 1005
    assert listed[0] == FileInfo("k/0000", False, 1) and listed[-1].path == "k/1004"
    repo.delete_artifacts("k")
    assert repo.list_artifacts("k") == []


# -------------------------------------------------------------------------------------------- download
def test_download_file_dir_and_everything(repo: ArtifactRepository, src: Path, tmp_path: Path) -> None:
    repo.log_artifacts(str(src))
    out = tmp_path / "out"
    path = repo.download_artifacts("sub/deeper/c.txt", str(out))
    assert Path(path) == out / "sub" / "deeper" / "c.txt"
    assert Path(path).read_text() == "c"
    path = repo.download_artifacts("sub", str(tmp_path / "out2"))
    assert Path(path) == tmp_path / "out2" / "sub"
    assert sorted(p.relative_to(path).as_posix() for p in Path(path).rglob("*")) == ["b.bin", "deeper", "deeper/c.txt"]
    everything = repo.download_artifacts("")
    assert (Path(everything) / "a.txt").read_text() == "aaa"
    assert (Path(everything) / "sub" / "deeper" / "c.txt").exists()


def test_download_missing(repo: ArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(MltrailError) as e:
        repo.download_artifacts("nope.txt", str(tmp_path))
    assert _code(e) == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MltrailError) as e:
        repo._download_file("nope.txt", str(tmp_path / "x"))
    assert _code(e) == RESOURCE_DOES_NOT_EXIST
    # An empty root downloads as an empty directory.
    assert os.listdir(repo.download_artifacts("", str(tmp_path / "empty"))) == []


# ---------------------------------------------------------------------------------------------- delete
def test_delete_file_prefix_and_root(repo: ArtifactRepository, src: Path) -> None:
    repo.log_artifacts(str(src))
    repo.log_artifact(str(src / "a.txt"), "sub2")  # shares a name prefix with "sub": must survive
    repo.delete_artifacts("a.txt")
    repo.delete_artifacts("sub/deeper")
    repo.delete_artifacts("missing/thing")
    assert [f.path for f in repo.list_artifacts()] == ["sub", "sub2"]
    assert [f.path for f in repo.list_artifacts("sub")] == ["sub/b.bin"]
    repo.delete_artifacts("sub")
    assert [f.path for f in repo.list_artifacts()] == ["sub2"]
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    repo.delete_artifacts()  # a missing root is fine


def test_delete_stays_inside_the_root(backend: str, tmp_path: Path, src: Path, request: pytest.FixtureRequest) -> None:
    """Deleting a whole root leaves its siblings (``root`` vs ``root2``) alone."""
    base = str(tmp_path) if backend == "local" else f"s3://{request.getfixturevalue('s3_bucket')}"
    one, two = get_artifact_repository(f"{base}/root"), get_artifact_repository(f"{base}/root2")
    one.log_artifacts(str(src))
    two.log_artifacts(str(src))
    one.delete_artifacts()
    assert one.list_artifacts() == []
    assert [f.path for f in two.list_artifacts()] == ["a.txt", "sub"]


# --------------------------------------------------------------------------------------------- streams
def test_stat(repo: ArtifactRepository, src: Path) -> None:
    repo.log_artifacts(str(src), "m")
    assert repo.stat("") == FileInfo("", True, None)
    assert repo.stat("m") == FileInfo("m", True, None)
    assert repo.stat("m/sub/b.bin") == FileInfo("m/sub/b.bin", False, 10)
    assert repo.stat("m/nope") is None
    assert repo.stat("m/su") is None


def _chunks(content: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


@pytest.mark.parametrize("length", [0, 5, 11 * MiB + 3])
def test_write_stream_then_open_read(repo: ArtifactRepository, length: int) -> None:
    repo.part_size = 5 * MiB  # type: ignore[attr-defined]  # S3: three parts for the large case
    content = os.urandom(length)
    assert repo.write_stream("s/blob.bin", _chunks(content, 700_000)) == length
    assert repo.stat("s/blob.bin") == FileInfo("s/blob.bin", False, length)
    with repo.open_read("s/blob.bin", chunk_size=MiB) as stream:
        assert stream.size == length
        pieces = list(stream)
    assert b"".join(pieces) == content
    assert all(len(p) <= MiB for p in pieces)
    # Replacing it works, and an early close of a read releases it.
    assert repo.write_stream("s/blob.bin", iter([b"new"])) == 3
    stream = repo.open_read("s/blob.bin")
    stream.close()
    stream.close()
    assert b"".join(repo.open_read("s/blob.bin")) == b"new"


def test_failed_stream_leaves_nothing(repo: ArtifactRepository, backend: str, tmp_path: Path) -> None:
    """A stream that breaks half-way (a client going away) stores nothing and leaves no upload behind."""
    repo.part_size = 5 * MiB  # type: ignore[attr-defined]

    def broken() -> Iterator[bytes]:
        yield os.urandom(6 * MiB)  # more than a part: on S3 a multipart upload has started
        yield os.urandom(6 * MiB)
        raise ConnectionError("client went away")

    with pytest.raises((ConnectionError, MltrailError)):
        repo.write_stream("x/partial.bin", broken())
    assert repo.stat("x/partial.bin") is None
    assert repo.list_artifacts("x") == []  # local disk may keep the (empty) parent directory
    if backend == "s3":
        s3 = s3_client(os.environ["MLTRAIL_S3_ENDPOINT_URL"])
        assert s3.list_multipart_uploads(Bucket=repo.bucket).get("Uploads", []) == []  # type: ignore[attr-defined]
    else:
        assert not any(p.name.startswith(".upload-") for p in (tmp_path / "root").rglob("*"))


def test_open_read_errors(repo: ArtifactRepository, src: Path) -> None:
    repo.log_artifacts(str(src), "m")
    with pytest.raises(MltrailError) as e:
        repo.open_read("m/missing.txt")
    assert _code(e) == RESOURCE_DOES_NOT_EXIST
    for directory in ("m", "m/sub", ""):
        with pytest.raises(MltrailError) as e:
            repo.open_read(directory)
        assert _code(e) == INVALID_PARAMETER_VALUE


# ------------------------------------------------------------------------------------------- multipart
def test_multipart_upload_parts_in_any_order(repo: ArtifactRepository) -> None:
    parts_content = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
    upload_id = repo.create_multipart_upload("mp/file.bin")
    assert upload_id.isascii() and "/" not in upload_id
    etags: dict[int, str] = {}
    for number in (3, 1, 2):
        data = parts_content[number - 1]
        etags[number] = repo.upload_part(upload_id, number, _chunks(data, 256 * 1024), len(data))
    repo.upload_part(upload_id, 3, iter([b"tail"]), None)  # sent again (without a size): replaces part 3
    assert repo.stat("mp/file.bin") is None  # nothing appears before complete
    with pytest.raises(MltrailError) as e:
        repo.complete_multipart_upload("mp/other.bin", upload_id, sorted(etags.items()))
    assert _code(e) == INVALID_PARAMETER_VALUE
    repo.complete_multipart_upload("mp/file.bin", upload_id, [(1, etags[1]), (2, ""), (3, "")])  # "": looked up
    with repo.open_read("mp/file.bin") as stream:
        assert hashlib.sha256(b"".join(stream)).digest() == hashlib.sha256(b"".join(parts_content)).digest()
    with pytest.raises(MltrailError) as e:
        repo.upload_part(upload_id, 1, iter([b"late"]), 4)
    # S3 answers NoSuchUpload (404); moto answers 500 here, which a streamed part cannot retry: 503, retry later.
    assert _code(e) in (RESOURCE_DOES_NOT_EXIST, "TEMPORARILY_UNAVAILABLE")


def test_multipart_abort_and_bad_ids(repo: ArtifactRepository) -> None:
    upload_id = repo.create_multipart_upload("mp/aborted.bin")
    repo.upload_part(upload_id, 1, iter([b"x"]), 1)
    repo.abort_multipart_upload("mp/aborted.bin", upload_id)
    with pytest.raises(MltrailError) as e:
        repo.complete_multipart_upload("mp/aborted.bin", upload_id, [(1, "")])
    assert _code(e) == RESOURCE_DOES_NOT_EXIST
    assert repo.stat("mp/aborted.bin") is None
    for bad in ("not-an-id", "", "s3.bm90IGpzb24", "0" * 32 + "/.."):
        with pytest.raises(MltrailError) as e:
            repo.upload_part(bad, 1, iter([b"x"]), 1)
        assert _code(e) in (INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST)
    upload_id = repo.create_multipart_upload("mp/n.bin")
    for number in (0, 10_001):
        with pytest.raises(MltrailError) as e:
            repo.upload_part(upload_id, number, iter([b"x"]), 1)
        assert _code(e) == INVALID_PARAMETER_VALUE
    with pytest.raises(MltrailError) as e:
        repo.complete_multipart_upload("mp/n.bin", upload_id, [(1, "")])  # never uploaded
    assert _code(e) == INVALID_PARAMETER_VALUE
    repo.abort_multipart_upload("mp/n.bin", upload_id)


def test_multipart_part_too_small_is_refused_on_s3(repo: ArtifactRepository, backend: str) -> None:
    """S3 wants every part but the last to be 5 MiB or more; local disk takes any size."""
    upload_id = repo.create_multipart_upload("small/parts.bin")
    tags = [(n, repo.upload_part(upload_id, n, iter([b"p" * 10]), 10)) for n in (1, 2)]
    if backend == "local":
        repo.complete_multipart_upload("small/parts.bin", upload_id, tags)
        assert b"".join(repo.open_read("small/parts.bin")) == b"p" * 20
        return
    with pytest.raises(MltrailError) as e:
        repo.complete_multipart_upload("small/parts.bin", upload_id, tags)
    assert _code(e) == INVALID_PARAMETER_VALUE
    assert "5 MiB" in e.value.message
    repo.abort_multipart_upload("small/parts.bin", upload_id)


# ----------------------------------------------------------------------------------------- presigning
def test_presigned_download(repo: ArtifactRepository, backend: str, src: Path) -> None:
    repo.log_artifact(str(src / "a.txt"), "p")
    url = repo.presigned_url("p/a.txt", 60, filename="a.txt", content_type="text/plain")
    if backend == "local":
        assert url is None
        return
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"aaa"
    assert response.headers["content-disposition"].startswith('attachment; filename="a.txt"')
    assert response.headers["content-type"].startswith("text/plain")


# ------------------------------------------------------------------------------------------ traversal
TRAVERSALS = [
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "..",
    "%2e%2e/outside",
    "%2E%2E%2Foutside",
    "%252e%252e/outside",
    "..%2foutside",
    "a\\..\\..\\outside",
    "%2fetc/passwd",
    "C:/windows",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_refused_everywhere(repo: ArtifactRepository, src: Path, tmp_path: Path, path: str) -> None:
    repo.log_artifact(str(src / "a.txt"))
    calls = [
        lambda: repo.list_artifacts(path),
        lambda: repo.download_artifacts(path, str(tmp_path / "dl")),
        lambda: repo.log_artifact(str(src / "a.txt"), path),
        lambda: repo.log_artifacts(str(src), path),
        lambda: repo.delete_artifacts(path),
        lambda: repo._download_file(path, str(tmp_path / "x")),
        lambda: repo.stat(path),
        lambda: repo.open_read(path),
        lambda: repo.write_stream(path, iter([b"x"])),
        lambda: repo.create_multipart_upload(path),
    ]
    for call in calls:
        with pytest.raises(MltrailError) as e:
            call()
        assert _code(e) == INVALID_PARAMETER_VALUE
        assert e.value.message == "Invalid path"
    assert not (tmp_path / "outside").exists()
    assert [f.path for f in repo.list_artifacts()] == ["a.txt"]
