"""The official mlflow client with artifacts in S3 (a moto server process), both ways MLflow knows:

- proxied: an mltrail server with ``--artifacts-destination s3://bucket/mlruns``; the client speaks only HTTP to
  the server (``mlflow-artifacts:/``), the server streams to and from the bucket;
- direct: an experiment whose ``artifact_location`` is ``s3://bucket/direct``; the client reads and writes the
  bucket itself (boto3, ``MLFLOW_S3_ENDPOINT_URL`` and ``AWS_*`` credentials), the server only lists and serves
  files for the UI with its own credentials.

Files, directory trees and a pyfunc model go up and come back byte-equal (the model loads and predicts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

from tests.s3_server import create_bucket, s3_client, s3_environment
from tests.server.live import live_server

_SIGNATURE = ModelSignature(inputs=Schema([ColSpec("double", "x")]), outputs=Schema([ColSpec("double")]))
_REQUIREMENTS = ["pandas"]  # skip pip inference (a subprocess per model): the list is not the point here
MiB = 1024 * 1024


class Doubler(PythonModel):
    """``2 * x`` per row."""

    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        """Score each row."""
        return model_input["x"] * 2.0


class Bucket:
    """The test store's bucket, looked at behind mltrail's back."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.name = name
        self.s3 = s3_client(endpoint)

    def objects(self, prefix: str = "") -> dict[str, int]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture(scope="module")
def s3_world(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Bucket]]:
    """``(url of a server proxying to s3://bucket/mlruns, the bucket)``, with the S3 environment set."""
    with s3_environment(s3_endpoint):
        bucket = Bucket(s3_endpoint, create_bucket(s3_endpoint, "compat"))
        root = tmp_path_factory.mktemp("compat-s3")
        with live_server(root, artifacts_destination=f"s3://{bucket.name}/mlruns") as url:
            yield url, bucket


@pytest.fixture
def proxied(s3_world: tuple[str, Bucket], monkeypatch: pytest.MonkeyPatch) -> tuple[mlflow.MlflowClient, Bucket]:
    """The official client pointed at the S3-backed server, with a fresh active experiment."""
    url, bucket = s3_world
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(f"s3-proxied-{os.urandom(4).hex()}")
    return mlflow.MlflowClient(tracking_uri=url), bucket


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    single = tmp_path / "weights.bin"
    single.write_bytes(os.urandom(300_000))
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "top.txt").write_text("top level\n")
    (tree / "sub" / "a.csv").write_text("x,y\n1,2\n")
    (tree / "sub" / "deeper" / "b.json").write_text('{"k": [1, 2, 3]}')
    return single, tree


def _log_and_check(client: mlflow.MlflowClient, tmp_path: Path) -> tuple[str, Any]:
    """Log files, a tree, text and a pyfunc model in a run; check they come back. Returns (run id, model info)."""
    single, tree = _files(tmp_path)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifacts(str(tree), artifact_path="data")
        mlflow.log_text("héllo\n", "notes/readme.txt")
        info = mlflow.pyfunc.log_model(
            name="doubler",
            python_model=Doubler(),
            signature=_SIGNATURE,
            input_example=pd.DataFrame({"x": [1.0]}),
            pip_requirements=_REQUIREMENTS,
        )
    run_id = run.info.run_id

    top = {f.path: f for f in client.list_artifacts(run_id)}
    assert {"weights.bin", "data", "notes"} <= set(top)
    assert top["weights.bin"].file_size == single.stat().st_size
    assert {f.path for f in client.list_artifacts(run_id, "data")} == {"data/top.txt", "data/sub"}

    out = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "back")))
    assert (out / "weights.bin").read_bytes() == single.read_bytes()
    assert _tree(out / "data") == _tree(tree)
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.txt") == "héllo\n"

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert list(loaded.predict(pd.DataFrame({"x": [1.0, 2.5]}))) == [2.0, 5.0]
    return run_id, info


def test_proxied_artifacts_and_model_live_in_the_bucket(
    proxied: tuple[mlflow.MlflowClient, Bucket], tmp_path: Path
) -> None:
    client, bucket = proxied
    run_id, info = _log_and_check(client, tmp_path)
    run = client.get_run(run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    relative = run.info.artifact_uri[len("mlflow-artifacts:/") :].strip("/")
    stored = bucket.objects(f"mlruns/{relative}/")
    assert stored[f"mlruns/{relative}/weights.bin"] == 300_000
    assert f"mlruns/{relative}/data/sub/deeper/b.json" in stored
    model_files = [k for k in bucket.objects("mlruns/") if info.model_id in k]
    assert any(k.endswith("/MLmodel") for k in model_files)


def test_proxied_multipart_upload_lands_in_the_bucket(
    proxied: tuple[mlflow.MlflowClient, Bucket], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's proxied multipart upload (5 MiB parts, S3's minimum) becomes one S3 object."""
    client, bucket = proxied
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MiB))
    blob = tmp_path / "big.bin"
    content = os.urandom(11 * MiB + 123)
    blob.write_bytes(content)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(blob), artifact_path="parts")
    relative = run.info.artifact_uri[len("mlflow-artifacts:/") :].strip("/")
    key = f"mlruns/{relative}/parts/big.bin"
    assert bucket.objects(key) == {key: len(content)}
    etag = bucket.s3.head_object(Bucket=bucket.name, Key=key)["ETag"]
    assert etag.strip('"').endswith("-3")  # three parts: it went up as a multipart upload
    local = client.download_artifacts(run.info.run_id, "parts/big.bin", str(tmp_path / "back"))
    assert Path(local).read_bytes() == content


def test_direct_s3_artifact_location(
    s3_world: tuple[str, Bucket], client: mlflow.MlflowClient, tmp_path: Path, server_url: str
) -> None:
    """An experiment on ``s3://bucket/direct``: the client writes the bucket itself; the server lists and serves."""
    _, bucket = s3_world
    experiment_id = client.create_experiment(
        f"s3-direct-{os.urandom(4).hex()}", artifact_location=f"s3://{bucket.name}/direct"
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    run_id, info = _log_and_check(client, tmp_path)
    artifact_uri = client.get_run(run_id).info.artifact_uri
    assert artifact_uri.startswith(f"s3://{bucket.name}/direct/")
    prefix = artifact_uri[len(f"s3://{bucket.name}/") :]
    assert bucket.objects(f"{prefix}/")[f"{prefix}/weights.bin"] == 300_000
    assert any(k.endswith("/MLmodel") and info.model_id in k for k in bucket.objects("direct/"))

    # The server reads the same bucket with its own credentials: the UI's listing and file download.
    listing = httpx.get(f"{server_url}/api/2.0/mlflow/artifacts/list", params={"run_id": run_id, "path": "data"})
    assert listing.status_code == 200, listing.text
    assert {f["path"] for f in listing.json()["files"]} == {"data/top.txt", "data/sub"}
    got = httpx.get(f"{server_url}/get-artifact", params={"run_id": run_id, "path": "data/sub/a.csv"})
    assert got.status_code == 200 and got.content == b"x,y\n1,2\n"
