"""S3ArtifactRepository specifics: configuration from the environment, URIs, shared clients, upload arguments, and
mltrail's own client writing an ``s3://`` experiment directly. The storage-neutral behaviour is in
``test_repository_suite.py``, which runs on local disk and S3 alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.artifacts.s3 import S3ArtifactRepository, S3Config, parse_s3_uri, s3_client
from mltrail.store.uris import get_artifact_repository
from tests.s3_server import s3_client as raw_client


def test_uris() -> None:
    assert parse_s3_uri("s3://bucket") == ("bucket", "")
    assert parse_s3_uri("s3://bucket/") == ("bucket", "")
    assert parse_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert parse_s3_uri("S3://bucket/a//b") == ("bucket", "a/b")
    for bad in ("s3://", "s3:///key", "s3://b/../x", "s3://b/x?y=1", "gs://b/x", "s3:/b"):
        with pytest.raises(MltrailError) as e:
            parse_s3_uri(bad)
        assert e.value.error_code == INVALID_PARAMETER_VALUE


def test_scheme_is_registered(s3_env: str) -> None:
    repo = get_artifact_repository("s3://some-bucket/runs/1")
    assert isinstance(repo, S3ArtifactRepository)
    assert (repo.bucket, repo.prefix) == ("some-bucket", "runs/1")


def test_config_from_env_with_mlflow_fallbacks() -> None:
    assert S3Config.from_env({}) == S3Config(credentials=(None, None, None, None))
    mlflow_names = S3Config.from_env(
        {
            "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
            "AWS_REGION": "eu-west-3",
            "MLFLOW_S3_IGNORE_TLS": "true",
            "MLFLOW_S3_UPLOAD_EXTRA_ARGS": '{"ServerSideEncryption": "AES256"}',
        }
    )
    assert mlflow_names.endpoint_url == "http://minio:9000"
    assert mlflow_names.region == "eu-west-3"
    assert mlflow_names.verify_tls is False
    assert mlflow_names.extra_args == {"ServerSideEncryption": "AES256"}
    ours = S3Config.from_env(
        {
            "MLTRAIL_S3_ENDPOINT_URL": "https://r2.example.com",
            "MLFLOW_S3_ENDPOINT_URL": "http://ignored:9000",
            "MLTRAIL_S3_REGION": "auto",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLTRAIL_S3_ADDRESSING_STYLE": "Path",
            "MLTRAIL_S3_IGNORE_TLS": "false",
            "MLTRAIL_S3_PRESIGN_ENDPOINT_URL": "https://public.example.com",
        }
    )
    assert (ours.endpoint_url, ours.region, ours.addressing_style) == ("https://r2.example.com", "auto", "path")
    assert ours.verify_tls is True
    assert ours.presign_endpoint_url == "https://public.example.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MLTRAIL_S3_ADDRESSING_STYLE": "sideways"}, "MLTRAIL_S3_ADDRESSING_STYLE"),
        ({"MLTRAIL_S3_UPLOAD_EXTRA_ARGS": "not json"}, "JSON object"),
        ({"MLFLOW_S3_UPLOAD_EXTRA_ARGS": "[1, 2]"}, "JSON object"),
    ],
)
def test_bad_config_is_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(MltrailError) as e:
        S3Config.from_env(env)
    assert e.value.error_code == INVALID_PARAMETER_VALUE
    assert message in e.value.message


def test_clients_are_shared_per_configuration() -> None:
    one = S3Config(endpoint_url="http://127.0.0.1:1", region="us-east-1", addressing_style="path")
    same = S3Config(endpoint_url="http://127.0.0.1:1", region="us-east-1", addressing_style="path")
    other = S3Config(endpoint_url="http://127.0.0.1:2", region="us-east-1", verify_tls=False)
    assert s3_client(one) is s3_client(same)
    assert s3_client(one) is not s3_client(other)
    assert s3_client(one).meta.config.s3["addressing_style"] == "path"
    assert s3_client(other).meta.endpoint_url == "http://127.0.0.1:2"
    assert s3_client(other)._endpoint.http_session._verify is False
    presign = S3Config(endpoint_url="http://inside:9000", presign_endpoint_url="https://outside.example.com")
    assert s3_client(presign, "presign").meta.endpoint_url == "https://outside.example.com"
    assert s3_client(presign).meta.endpoint_url == "http://inside:9000"


def test_upload_extra_args_apply_to_every_upload(
    s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MLTRAIL_S3_UPLOAD_EXTRA_ARGS`` reaches files, trees, streams (single and multipart) and proxy uploads."""
    monkeypatch.setenv(
        "MLTRAIL_S3_UPLOAD_EXTRA_ARGS", '{"Metadata": {"owner": "team-a"}, "StorageClass": "STANDARD_IA"}'
    )
    repo = get_artifact_repository(f"s3://{s3_bucket}/x")
    repo.part_size = 5 * 1024 * 1024  # type: ignore[attr-defined]
    (tmp_path / "f.txt").write_text("f")
    repo.log_artifact(str(tmp_path / "f.txt"))
    repo.write_stream("small.bin", iter([b"s"]))
    repo.write_stream("large.bin", iter([os.urandom(6 * 1024 * 1024)]))
    upload_id = repo.create_multipart_upload("mpu.bin")
    etag = repo.upload_part(upload_id, 1, iter([b"m"]), 1)
    repo.complete_multipart_upload("mpu.bin", upload_id, [(1, etag)])
    s3 = raw_client(os.environ["MLTRAIL_S3_ENDPOINT_URL"])
    for key in ("x/f.txt", "x/small.bin", "x/large.bin", "x/mpu.bin"):
        head = s3.head_object(Bucket=s3_bucket, Key=key)
        assert head["Metadata"] == {"owner": "team-a"}, key
        assert head.get("StorageClass") == "STANDARD_IA", key


def test_missing_bucket_is_not_found(s3_env: str, tmp_path: Path) -> None:
    repo = get_artifact_repository("s3://no-such-bucket-here/x")
    (tmp_path / "f.txt").write_text("f")
    for call in (
        repo.list_artifacts,
        lambda: repo.log_artifact(str(tmp_path / "f.txt")),
        lambda: repo.write_stream("a.bin", iter([b"a"])),
    ):
        with pytest.raises(MltrailError) as e:
            call()
        assert e.value.error_code == RESOURCE_DOES_NOT_EXIST
        assert "no-such-bucket-here" in e.value.message


def test_folder_markers_and_odd_keys_are_tolerated(s3_bucket: str, tmp_path: Path) -> None:
    """Keys written by other tools: ``dir/`` folder markers and ``..`` segments never surface as paths."""
    s3 = raw_client(os.environ["MLTRAIL_S3_ENDPOINT_URL"])
    for key in ("root/dir/", "root/dir/f.txt", "root/empty/", "root/a/../b.txt"):
        s3.put_object(Bucket=s3_bucket, Key=key, Body=b"" if key.endswith("/") else b"x")
    repo = get_artifact_repository(f"s3://{s3_bucket}/root")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("a", True), ("dir", True), ("empty", True)]
    assert [f.path for f in repo.list_artifacts("dir")] == ["dir/f.txt"]
    out = Path(repo.download_artifacts("", str(tmp_path / "out")))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["dir/f.txt"]


def test_mltrail_client_writes_an_s3_experiment_directly(
    s3_bucket: str, tmp_path: Path, clean_fluent_state: Path
) -> None:
    """mltrail's own fluent API and client with an ``s3://`` artifact location (no server involved)."""
    import mltrail
    from mltrail.tracking.client import MltrailClient as Client

    mltrail.set_tracking_uri(f"sqlite:///{tmp_path / 'db.sqlite'}")
    client = Client()
    experiment_id = client.create_experiment("direct", artifact_location=f"s3://{s3_bucket}/exp")
    (tmp_path / "model.bin").write_bytes(b"\x01" * 1000)
    with mltrail.start_run(experiment_id=experiment_id) as run:
        mltrail.log_artifact(str(tmp_path / "model.bin"), "weights")
        mltrail.log_text("hi", "notes.txt")
    run_id = run.info.run_id
    assert client.get_run(run_id).info.artifact_uri.startswith(f"s3://{s3_bucket}/exp/")
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "weights")] == [("weights/model.bin", 1000)]
    local = client.download_artifacts(run_id, "notes.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hi"


def test_chunk_reader_reads_and_seeks_like_a_file() -> None:
    """Stream parts go to boto3 as a seekable view of their chunks (no joined copy); it must act like BytesIO."""
    import io
    import random

    from mltrail.store.artifacts.s3 import _ChunkReader

    rng = random.Random(7)
    for _ in range(300):
        chunks = [rng.randbytes(rng.randint(0, 40)) for _ in range(rng.randint(0, 6))]
        reader, reference = _ChunkReader(chunks), io.BytesIO(b"".join(chunks))
        assert len(reader) == len(reference.getvalue())
        for _ in range(20):
            if rng.random() < 0.6:
                size = rng.choice([-1, 0, 1, 5, 64])
                assert reader.read(size) == reference.read(size)
            else:
                whence = rng.choice([0, 1, 2])
                offset = {0: rng.randint(0, 50), 1: rng.randint(-5, 5), 2: -rng.randint(0, 30)}[whence]
                base = {0: 0, 1: reference.tell(), 2: len(reference.getvalue())}[whence]
                target = max(0, min(len(reference.getvalue()), base + offset))
                assert reader.seek(offset, whence) == reference.seek(target)
            assert reader.tell() == reference.tell()


def test_streamed_part_must_match_its_content_length() -> None:
    from mltrail.store.artifacts.s3 import _BodyReader

    assert _BodyReader(iter([b"ab", b"cd"]), 4).read(3) == b"abc"
    with pytest.raises(MltrailError, match="ended before"):
        _BodyReader(iter([b"ab"]), 4).read()
    with pytest.raises(MltrailError, match="longer than"):
        _BodyReader(iter([b"ab", b"cd"]), 3).read()
