"""Run artifacts through the official client: uploads via the mltrail artifact proxy, listing and downloads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import yaml


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as ``{relative posix path: bytes}``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_log_and_download_artifacts_byte_equal(experiment_id: str, client: mlflow.MlflowClient, tmp_path: Path) -> None:
    """Files, a directory tree, text and dicts come back byte-equal; listings show run-relative paths."""
    single = tmp_path / "model.bin"
    single.write_bytes(os.urandom(200_000) + b"\x00\xff" * 10)
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "top.txt").write_text("top level\n")
    (tree / "sub" / "a.csv").write_text("x,y\n1,2\n")
    (tree / "sub" / "deeper" / "b.json").write_text('{"k": [1, 2, 3]}')
    (tree / "sub" / "deeper" / "empty.dat").write_bytes(b"")
    payload = {"alpha": 0.5, "layers": [64, 32], "name": "net"}

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="copies")
        mlflow.log_artifacts(str(tree), artifact_path="data")
        mlflow.log_text("héllo wörld\n", "notes/readme.txt")
        mlflow.log_dict(payload, "config/params.json")
        mlflow.log_dict(payload, "config/params.yaml")
    run_id = run.info.run_id

    top = {f.path: f for f in client.list_artifacts(run_id)}
    assert set(top) == {"model.bin", "copies", "data", "notes", "config"}
    assert not top["model.bin"].is_dir and top["model.bin"].file_size == single.stat().st_size
    assert top["data"].is_dir
    data_listing = {f.path: f.is_dir for f in client.list_artifacts(run_id, "data")}
    assert data_listing == {"data/top.txt": False, "data/sub": True}
    deeper = {f.path: f.file_size for f in client.list_artifacts(run_id, "data/sub/deeper")}
    assert deeper == {"data/sub/deeper/b.json": 16, "data/sub/deeper/empty.dat": 0}

    out = tmp_path / "download"
    out.mkdir()
    local_root = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(out)))
    assert (local_root / "model.bin").read_bytes() == single.read_bytes()
    assert (local_root / "copies" / "model.bin").read_bytes() == single.read_bytes()
    assert _tree(local_root / "data") == _tree(tree)
    assert (local_root / "notes" / "readme.txt").read_text(encoding="utf-8") == "héllo wörld\n"
    assert json.loads((local_root / "config" / "params.json").read_text()) == payload
    assert yaml.safe_load((local_root / "config" / "params.yaml").read_text()) == payload
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/params.json") == payload

    one = client.download_artifacts(run_id, "data/sub/a.csv", str(tmp_path))
    assert Path(one).read_text() == "x,y\n1,2\n"
    assert mlflow.artifacts.load_text(f"{run.info.artifact_uri}/notes/readme.txt") == "héllo wörld\n"


def test_artifacts_of_client_created_run(experiment_id: str, client: mlflow.MlflowClient, tmp_path: Path) -> None:
    """``MlflowClient.log_artifact`` / ``log_text`` work on a run that is not active in the fluent API."""
    run_id = client.create_run(experiment_id).info.run_id
    source = tmp_path / "weights.npy"
    source.write_bytes(bytes(range(256)) * 40)
    client.log_artifact(run_id, str(source), artifact_path="w")
    client.log_text(run_id, "plain", "t.txt")
    client.set_terminated(run_id)

    assert {f.path for f in client.list_artifacts(run_id)} == {"w", "t.txt"}
    assert client.list_artifacts(run_id, "missing") == []
    downloaded = Path(client.download_artifacts(run_id, "w/weights.npy", str(tmp_path / "dl")))
    assert downloaded.read_bytes() == source.read_bytes()


def test_log_table_and_image(experiment_id: str, client: mlflow.MlflowClient, tmp_path: Path) -> None:
    """``log_table`` and ``log_image`` store their files and the ``mlflow.loggedArtifacts`` / image tags."""
    import numpy as np
    import pandas as pd

    table = pd.DataFrame({"question": ["a?", "b?"], "score": [0.5, 0.75]})
    image = (np.arange(12 * 10 * 3) % 255).astype(np.uint8).reshape(12, 10, 3)
    with mlflow.start_run() as run:
        mlflow.log_table(table, "eval/results.json")
        mlflow.log_image(image, "pics/gradient.png")
        mlflow.log_image(image, key="progress", step=3)
    run_id = run.info.run_id

    loaded = mlflow.load_table("eval/results.json", run_ids=[run_id])
    assert list(loaded["question"]) == ["a?", "b?"]
    assert list(loaded["score"]) == [0.5, 0.75]
    tags = client.get_run(run_id).data.tags
    assert json.loads(tags["mlflow.loggedArtifacts"]) == [{"path": "eval/results.json", "type": "table"}]
    assert tags["mlflow.loggedImages"] == "True"  # the client sends str(True)

    png = Path(client.download_artifacts(run_id, "pics/gradient.png", str(tmp_path)))
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(png)), image)
    assert any(f.path.startswith("images/progress") for f in client.list_artifacts(run_id, "images"))


def test_multipart_upload_through_the_proxy(
    experiment_id: str, client: mlflow.MlflowClient, tmp_path: Path, monkeypatch
) -> None:
    """With MLflow's proxy multipart switched on, a file goes up in parallel parts and comes back whole."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(256 * 1024))
    blob = tmp_path / "big.bin"
    content = os.urandom(1024 * 1024 + 123)
    blob.write_bytes(content)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(blob), artifact_path="parts")
    local = client.download_artifacts(run.info.run_id, "parts/big.bin", str(tmp_path / "back"))
    assert Path(local).read_bytes() == content
