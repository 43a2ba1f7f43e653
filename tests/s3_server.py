"""A real S3 server for tests: moto's server mode (``moto[server]``) in its own process on a loopback port.

There is no MinIO binary on the development machines; moto speaks the S3 REST API over HTTP, so boto3, the
official mlflow client and an ``mltrail server`` process all talk to it as to any S3-compatible store. It runs
in a separate process so that it does not share the GIL (or the memory measurements) of the code under test.

Fixtures (imported by ``tests/conftest.py``, so every test directory can use them):

- ``s3_endpoint`` (session): the endpoint URL of the one moto server of the test session;
- ``s3_env`` (function): ``MLTRAIL_S3_ENDPOINT_URL``/``MLFLOW_S3_ENDPOINT_URL`` and test credentials set in
  ``os.environ`` for one test (restored afterwards); yields the endpoint;
- ``s3_bucket`` (function): a fresh, empty bucket for one test, with ``s3_env`` set; yields its name.

Module- or session-scoped fixtures use :func:`s3_environment` and :func:`create_bucket` directly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: What the test store accepts (moto checks no credentials, but boto3 needs some to sign).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"
#: Variables that would point boto3 at a real account or another endpoint.
_UNSET = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "MLTRAIL_S3_REGION",
    "MLTRAIL_S3_ADDRESSING_STYLE",
    "MLTRAIL_S3_IGNORE_TLS",
    "MLFLOW_S3_IGNORE_TLS",
    "MLTRAIL_S3_UPLOAD_EXTRA_ARGS",
    "MLFLOW_S3_UPLOAD_EXTRA_ARGS",
    "MLTRAIL_S3_PRESIGN_ENDPOINT_URL",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server(log_dir: Path) -> Iterator[str]:
    """Run ``python -m moto.server`` on a free loopback port; yields its endpoint URL.

    Raises:
        RuntimeError: when it does not answer within 30 s (with its output).
    """
    port = _free_port()
    log = log_dir / "moto.log"
    env = {**os.environ, **CREDENTIALS}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: {log.read_text(errors='replace')}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def environment(endpoint: str) -> dict[str, str]:
    """The variables that point mltrail, boto3 and the mlflow client at the test store."""
    return {
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "MLTRAIL_S3_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }


@contextmanager
def s3_environment(endpoint: str) -> Iterator[str]:
    """Set :func:`environment` in ``os.environ`` (and unset what would point elsewhere) for the block."""
    saved = dict(os.environ)
    for name in _UNSET:
        os.environ.pop(name, None)
    os.environ.update(environment(endpoint))
    try:
        yield endpoint
    finally:
        os.environ.clear()
        os.environ.update(saved)


def s3_client(endpoint: str) -> Any:
    """A plain boto3 client on the test store (to look at buckets behind mltrail's back)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def create_bucket(endpoint: str, prefix: str = "test") -> str:
    """Create a bucket with a fresh name on the test store; returns the name."""
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of the session's moto S3 server (started on first use)."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def s3_env(s3_endpoint: str) -> Iterator[str]:
    """The test store's variables set for one test; yields the endpoint URL."""
    from mltrail.store.artifacts.s3 import clear_client_cache

    with s3_environment(s3_endpoint):
        yield s3_endpoint
    clear_client_cache()


@pytest.fixture
def s3_bucket(s3_env: str) -> str:
    """A fresh, empty bucket on the test store (with :func:`s3_env` set)."""
    return create_bucket(s3_env)
