"""The artifact proxy on a live server: upload, download, list, delete, headers and path safety."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import live_server

ART = "/api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("proxy")
    with live_server(root) as url:
        yield url, root / "artifacts"


@pytest.fixture
def http(served: tuple[str, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0], timeout=30) as client:
        yield client


def test_put_get_list_delete(http: httpx.Client, served: tuple[str, Path]) -> None:
    destination = served[1]
    assert http.put(f"{ART}/1/run/artifacts/model/MLmodel", content=b"flavors: {}\n").status_code == 200
    assert http.put(f"{ART}/1/run/artifacts/model/model.pkl", content=b"\x00\x01").status_code == 200
    assert (destination / "1/run/artifacts/model/MLmodel").read_bytes() == b"flavors: {}\n"

    got = http.get(f"{ART}/1/run/artifacts/model/MLmodel")
    assert got.status_code == 200
    assert got.content == b"flavors: {}\n"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith('attachment; filename="MLmodel"')
    assert http.get(f"{ART}/1/run/artifacts/model/model.pkl").headers["content-type"] == "application/octet-stream"

    listing = http.get(ART, params={"path": "1/run/artifacts/model"}).json()
    assert listing == {
        "files": [
            {"path": "MLmodel", "is_dir": False, "file_size": 12},
            {"path": "model.pkl", "is_dir": False, "file_size": 2},
        ]
    }
    assert http.get(ART, params={"path": "1/run/artifacts"}).json() == {"files": [{"path": "model", "is_dir": True}]}
    assert http.get(ART, params={"path": "1/run/artifacts/model/MLmodel"}).json() == {}
    assert http.get(ART, params={"path": "nothing/here"}).json() == {}

    assert http.delete(f"{ART}/1/run/artifacts/model/model.pkl").status_code == 200
    assert not (destination / "1/run/artifacts/model/model.pkl").exists()


def test_missing_file_is_404_and_directory_is_400(http: httpx.Client) -> None:
    missing = http.get(f"{ART}/nope/file.txt")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    http.put(f"{ART}/dir/a.txt", content=b"a")
    directory = http.get(f"{ART}/dir")
    assert directory.status_code == 400


@pytest.mark.parametrize(
    "path",
    ["../escape.txt", "a/../../escape.txt", "%2e%2e/escape.txt", "a/%2E%2E/%2e%2e/escape.txt", "%252e%252e/x"],
)
def test_traversal_is_rejected(http: httpx.Client, served: tuple[str, Path], path: str) -> None:
    response = http.put(f"{ART}/{path}", content=b"x")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert response.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}
    assert not (served[1].parent / "escape.txt").exists()
    listing = http.get(ART, params={"path": "../"})
    assert listing.status_code == 400


def test_absolute_path_in_listing_is_rejected(http: httpx.Client) -> None:
    assert http.get(ART, params={"path": "/etc"}).status_code == 400


def test_symlink_cannot_escape(http: httpx.Client, served: tuple[str, Path], tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    served[1].mkdir(parents=True, exist_ok=True)
    link = served[1] / "link"
    if not link.exists():
        os.symlink(tmp_path, link)
    response = http.get(f"{ART}/link/secret.txt")
    assert response.status_code in (400, 404)
    assert b"top secret" not in response.content


def test_large_upload_streams_to_disk(http: httpx.Client, served: tuple[str, Path]) -> None:
    chunk = os.urandom(1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(32):
            yield chunk

    assert http.put(f"{ART}/big/blob.bin", content=body()).status_code == 200
    stored = served[1] / "big/blob.bin"
    assert stored.stat().st_size == 32 * 1024 * 1024
    with http.stream("GET", f"{ART}/big/blob.bin") as response:
        total = sum(len(part) for part in response.iter_bytes())
    assert total == 32 * 1024 * 1024
    leftovers = [p for p in (served[1] / "big").iterdir() if p.name.startswith(".upload-")]
    assert leftovers == []


def test_multipart_upload_joins_parts_in_order(http: httpx.Client, served: tuple[str, Path]) -> None:
    created = http.post(f"{MPU}/create/mp", json={"path": "/home/me/file.bin", "num_parts": 3})
    assert created.status_code == 200, created.text
    body = created.json()
    assert [c["part_number"] for c in body["credentials"]] == [1, 2, 3]
    chunks = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    parts = []
    for credential, chunk in reversed(list(zip(body["credentials"], chunks, strict=True))):
        response = httpx.put(credential["url"], content=chunk, headers=credential["headers"])
        assert response.status_code == 200
        parts.append({"part_number": credential["part_number"], "etag": response.headers["etag"]})
    assert not (served[1] / "mp/file.bin").exists()  # nothing appears before complete
    done = http.post(
        f"{MPU}/complete/mp", json={"path": "/home/me/file.bin", "upload_id": body["upload_id"], "parts": parts}
    )
    assert done.status_code == 200, done.text
    assert (served[1] / "mp/file.bin").read_bytes() == b"".join(chunks)


def test_multipart_abort_and_bad_ids(http: httpx.Client, served: tuple[str, Path]) -> None:
    body = http.post(f"{MPU}/create/mp", json={"path": "aborted.bin", "num_parts": 1}).json()
    assert httpx.put(body["credentials"][0]["url"], content=b"x").status_code == 200
    assert http.post(f"{MPU}/abort/mp", json={"upload_id": body["upload_id"]}).status_code == 200
    gone = http.post(
        f"{MPU}/complete/mp",
        json={"path": "aborted.bin", "upload_id": body["upload_id"], "parts": [{"part_number": 1}]},
    )
    assert gone.status_code == 404
    assert not (served[1] / "mp/aborted.bin").exists()
    assert http.put(f"{MPU}/part/not-an-id/1", content=b"x").status_code == 400
    assert http.post(f"{MPU}/create/..", json={"path": "escape.bin", "num_parts": 1}).status_code in (400, 404)
    assert http.post(f"{MPU}/create/x", json={"path": "x.bin", "num_parts": 0}).status_code == 400
