"""The artifact proxy on S3 (``--artifacts-destination s3://bucket/prefix``) against a moto server process.

Upload, download, listing and deletes land in the bucket; MLflow's proxied multipart protocol maps onto an S3
multipart upload (parts stream straight into it, any replica can serve any step); an upload the client breaks
off leaves neither an object nor an open multipart upload; presigned downloads redirect large files.
The 1 GB memory test is in ``test_artifact_proxy_s3_large.py``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.s3_server import create_bucket, s3_client, s3_environment
from tests.server.live import ADMIN, live_server, write_auth_config

ART = "/api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"
MiB = 1024 * 1024
PREFIX = "proxy/root"


class Proxy:
    """A live server whose artifacts destination is ``s3://<bucket>/proxy/root``."""

    def __init__(self, url: str, bucket: str, s3: Any) -> None:
        self.url = url
        self.bucket = bucket
        self.s3 = s3

    def objects(self) -> dict[str, int]:
        """Every key in the bucket with its size."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    def object(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def open_uploads(self) -> list[dict[str, Any]]:
        return self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])


@pytest.fixture(scope="module")
def proxy(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    with s3_environment(s3_endpoint):
        bucket = create_bucket(s3_endpoint, "proxy")
        with live_server(tmp_path_factory.mktemp("s3proxy"), artifacts_destination=f"s3://{bucket}/{PREFIX}") as url:
            yield Proxy(url, bucket, s3_client(s3_endpoint))


@pytest.fixture
def http(proxy: Proxy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=60) as client:
        yield client


def test_put_get_list_delete(http: httpx.Client, proxy: Proxy) -> None:
    assert http.put(f"{ART}/1/run/artifacts/model/MLmodel", content=b"flavors: {}\n").status_code == 200
    assert http.put(f"{ART}/1/run/artifacts/model/model.pkl", content=b"\x00\x01").status_code == 200
    assert proxy.object(f"{PREFIX}/1/run/artifacts/model/MLmodel") == b"flavors: {}\n"

    got = http.get(f"{ART}/1/run/artifacts/model/MLmodel")
    assert got.status_code == 200
    assert got.content == b"flavors: {}\n"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-length"] == "12"
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
    assert f"{PREFIX}/1/run/artifacts/model/model.pkl" not in proxy.objects()
    assert http.delete(f"{ART}/1/run").status_code == 200  # a whole prefix
    assert not [k for k in proxy.objects() if k.startswith(f"{PREFIX}/1/")]


def test_missing_file_is_404_and_directory_is_400(http: httpx.Client) -> None:
    missing = http.get(f"{ART}/nope/file.txt")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    http.put(f"{ART}/dir/a.txt", content=b"a")
    directory = http.get(f"{ART}/dir")
    assert directory.status_code == 400
    assert directory.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", "%2e%2e/escape.txt", "%252e%252e/x"])
def test_traversal_is_rejected(http: httpx.Client, proxy: Proxy, path: str) -> None:
    response = http.put(f"{ART}/{path}", content=b"x")
    assert response.status_code in (400, 404)
    assert not [k for k in proxy.objects() if not k.startswith(f"{PREFIX}/")]
    assert http.get(ART, params={"path": "../"}).status_code == 400


def test_large_upload_streams_into_one_object(http: httpx.Client, proxy: Proxy) -> None:
    """40 MiB in 1 MiB request chunks: a multipart upload of ~8 MiB parts behind the scenes, one object after."""
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for _ in range(40):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            yield chunk

    assert http.put(f"{ART}/big/blob.bin", content=body()).status_code == 200
    assert proxy.objects()[f"{PREFIX}/big/blob.bin"] == 40 * MiB
    etag = proxy.s3.head_object(Bucket=proxy.bucket, Key=f"{PREFIX}/big/blob.bin")["ETag"]
    assert 4 <= int(etag.strip('"').rsplit("-", 1)[1]) <= 5  # parts of 8 MiB or a little more
    back = hashlib.sha256()
    with http.stream("GET", f"{ART}/big/blob.bin") as response:
        assert response.headers["content-length"] == str(40 * MiB)
        for part in response.iter_bytes():
            back.update(part)
    assert back.digest() == digest.digest()
    assert proxy.open_uploads() == []


def test_broken_upload_leaves_nothing(proxy: Proxy) -> None:
    """A client that goes away after 20 MiB: no object, and the multipart upload begun for it is aborted."""

    def body() -> Iterator[bytes]:
        for _ in range(20):
            yield os.urandom(MiB)
        raise RuntimeError("the client gives up")

    with pytest.raises(RuntimeError), httpx.Client(base_url=proxy.url, timeout=60) as client:
        client.put(f"{ART}/broken/blob.bin", content=body(), headers={"Content-Length": str(64 * MiB)})
    deadline = time.monotonic() + 10
    while proxy.open_uploads() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proxy.open_uploads() == []
    assert f"{PREFIX}/broken/blob.bin" not in proxy.objects()


def _multipart(http: httpx.Client, parts: list[bytes], name: str) -> dict:
    created = http.post(f"{MPU}/create/mp", json={"path": f"/home/me/{name}", "num_parts": len(parts)})
    assert created.status_code == 200, created.text
    body = created.json()
    assert [c["part_number"] for c in body["credentials"]] == list(range(1, len(parts) + 1))
    return body


def test_multipart_upload_lands_in_the_bucket(http: httpx.Client, proxy: Proxy) -> None:
    chunks = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail" * 10]
    body = _multipart(http, chunks, "file.bin")
    assert len(proxy.open_uploads()) >= 1  # an S3 multipart upload, not a staging folder
    parts = []
    for credential, chunk in reversed(list(zip(body["credentials"], chunks, strict=True))):
        response = httpx.put(credential["url"], content=chunk, headers=credential["headers"], timeout=60)
        assert response.status_code == 200, response.text
        parts.append({"part_number": credential["part_number"], "etag": response.headers["etag"]})
    assert f"{PREFIX}/mp/file.bin" not in proxy.objects()  # nothing appears before complete
    done = http.post(
        f"{MPU}/complete/mp", json={"path": "/home/me/file.bin", "upload_id": body["upload_id"], "parts": parts}
    )
    assert done.status_code == 200, done.text
    assert proxy.object(f"{PREFIX}/mp/file.bin") == b"".join(chunks)
    assert all(u["Key"] != f"{PREFIX}/mp/file.bin" for u in proxy.open_uploads())


def test_multipart_steps_on_different_replicas(proxy: Proxy, tmp_path: Path, http: httpx.Client) -> None:
    """create on one server, parts on another, complete on the first: no state lives in a server process."""
    with live_server(tmp_path, artifacts_destination=f"s3://{proxy.bucket}/{PREFIX}") as other:
        chunks = [os.urandom(5 * MiB), b"end"]
        body = _multipart(http, chunks, "replicated.bin")
        parts = []
        for credential, chunk in zip(body["credentials"], chunks, strict=True):
            url = credential["url"].replace(proxy.url, other)
            response = httpx.put(url, content=chunk, timeout=60)
            assert response.status_code == 200, response.text
            parts.append({"part_number": credential["part_number"], "etag": response.headers["etag"]})
        done = httpx.post(
            f"{other}{MPU}/complete/mp",
            json={"path": "replicated.bin", "upload_id": body["upload_id"], "parts": parts},
            timeout=60,
        )
        assert done.status_code == 200, done.text
    assert proxy.object(f"{PREFIX}/mp/replicated.bin") == b"".join(chunks)


def test_multipart_abort_and_bad_ids(http: httpx.Client, proxy: Proxy) -> None:
    body = http.post(f"{MPU}/create/mp", json={"path": "aborted.bin", "num_parts": 1}).json()
    assert httpx.put(body["credentials"][0]["url"], content=b"x").status_code == 200
    assert http.post(f"{MPU}/abort/mp", json={"upload_id": body["upload_id"]}).status_code == 200
    gone = http.post(
        f"{MPU}/complete/mp",
        json={"path": "aborted.bin", "upload_id": body["upload_id"], "parts": [{"part_number": 1}]},
    )
    assert gone.status_code == 404
    assert f"{PREFIX}/mp/aborted.bin" not in proxy.objects()
    assert http.put(f"{MPU}/part/not-an-id/1", content=b"x").status_code == 400
    assert http.post(f"{MPU}/create/..", json={"path": "escape.bin", "num_parts": 1}).status_code in (400, 404)
    assert http.post(f"{MPU}/create/x", json={"path": "x.bin", "num_parts": 0}).status_code == 400
    # An upload id of one path cannot complete another.
    other = http.post(f"{MPU}/create/mp", json={"path": "one.bin", "num_parts": 1}).json()
    wrong = http.post(
        f"{MPU}/complete/mp", json={"path": "two.bin", "upload_id": other["upload_id"], "parts": [{"part_number": 1}]}
    )
    assert wrong.status_code == 400
    http.post(f"{MPU}/abort/mp", json={"upload_id": other["upload_id"]})


def test_presigned_downloads_redirect_large_files(proxy: Proxy, tmp_path: Path) -> None:
    destination = f"s3://{proxy.bucket}/{PREFIX}"
    with live_server(tmp_path, artifacts_destination=destination, artifacts_presigned_downloads=True) as url:
        large = os.urandom(2 * MiB)
        assert httpx.put(f"{url}{ART}/pre/large.bin", content=large, timeout=60).status_code == 200
        assert httpx.put(f"{url}{ART}/pre/small.txt", content=b"small").status_code == 200
        redirect = httpx.get(f"{url}{ART}/pre/large.bin")
        assert redirect.status_code == 302
        location = redirect.headers["location"]
        assert location.startswith(os.environ.get("MLTRAIL_S3_ENDPOINT_URL", "http://127.0.0.1"))
        assert "X-Amz-Signature=" in location
        followed = httpx.get(f"{url}{ART}/pre/large.bin", follow_redirects=True, timeout=60)
        assert followed.status_code == 200 and followed.content == large
        assert followed.headers["content-disposition"].startswith('attachment; filename="large.bin"')
        small = httpx.get(f"{url}{ART}/pre/small.txt")
        assert small.status_code == 200 and small.content == b"small"  # small files stream: one round trip
        assert httpx.get(f"{url}{ART}/pre/missing.bin").status_code == 404
        # Both clients follow the redirect (and send no credentials to the store).
        from mltrail.store.uris import get_artifact_repository

        ours = get_artifact_repository(f"{url}{ART}/pre")
        assert Path(ours.download_artifacts("large.bin", str(tmp_path / "ours"))).read_bytes() == large
        mlflow_http = pytest.importorskip("mlflow.store.artifact.http_artifact_repo")
        theirs = mlflow_http.HttpArtifactRepository(f"{url}{ART}/pre")
        (tmp_path / "theirs").mkdir()
        assert Path(theirs.download_artifacts("large.bin", str(tmp_path / "theirs"))).read_bytes() == large
    # Off by default: the module's server streams the same file itself.
    assert httpx.get(f"{proxy.url}{ART}/pre/large.bin", timeout=60).status_code == 200


def test_model_sources_in_the_bucket_are_checked_like_proxy_paths(proxy: Proxy, tmp_path: Path) -> None:
    """With --auth, a model version's s3:// source inside the destination needs READ on the experiment it names
    (the server would serve those files with its own credentials)."""
    config = write_auth_config(tmp_path / "auth.toml", default_permission="NO_PERMISSIONS")
    destination = f"s3://{proxy.bucket}/{PREFIX}"
    with live_server(tmp_path, artifacts_destination=destination, auth=True, auth_config=str(config)) as url:
        mallory = ("mallory", "mallory-passphrase-1")
        httpx.post(
            f"{url}/api/2.0/mlflow/users/create", json={"username": mallory[0], "password": mallory[1]}, auth=ADMIN
        )
        secret = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "s"}, auth=ADMIN).json()
        with httpx.Client(base_url=url, auth=mallory, timeout=30) as client:
            mine = client.post("/api/2.0/mlflow/experiments/create", json={"name": "m"}).json()["experiment_id"]
            assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "grab"}).status_code == 200
            for source in (
                f"{destination}/{secret['experiment_id']}/run/artifacts/model",
                f"{destination}//{secret['experiment_id']}/run",
                f"s3://{proxy.bucket}/{PREFIX}/./{secret['experiment_id']}",
                destination,
                f"{destination}/",
            ):
                refused = client.post("/api/2.0/mlflow/model-versions/create", json={"name": "grab", "source": source})
                assert refused.status_code in (400, 403), (source, refused.text)
            allowed = client.post(
                "/api/2.0/mlflow/model-versions/create",
                json={"name": "grab", "source": f"{destination}/{mine}/x/model"},
            )
            assert allowed.status_code == 200, allowed.text
