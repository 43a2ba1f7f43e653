"""1 GB through the artifact proxy into S3: mltrail's proxy against MLflow's, on the same S3 server (issue 15).

Starts an S3-compatible server (moto's server mode, in its own process: no MinIO binary is reachable here), one
bucket, and each side's ``server --artifacts-destination s3://bucket/<side>`` in turn (SQLite, one worker). Then
the same client uploads a file streamed from disk with one PUT and downloads it streamed to disk, as
``bench/tracking_server.py``'s artifact scenario does, while the server's process tree RSS is sampled.

    .venv/bin/python bench/s3_proxy.py [--mb 1024] [--markdown]     # after bash bench/setup.sh
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import MLTRAIL_PYTHON, machine_info, render_table
from _server_harness import Backend, Server
from tracking_server import make_artifact, scenario_artifact

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET = "bench"


def start_s3(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server on a free loopback port; (process, endpoint URL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MLTRAIL_PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, endpoint
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"the S3 server did not start: {log.read_text(errors='replace')}") from None
            time.sleep(0.1)


def s3_client(endpoint: str) -> Any:
    """A boto3 client on the bench S3 server."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )


def run_side(side: str, endpoint: str, source: Path, workdir: Path) -> dict[str, Any]:
    """Start ``side``'s server on s3://bench/<side>, push ``source`` through its proxy and back."""
    backend = Backend("sqlite", f"s3-{side}", workdir).create()
    server = Server.start(side, backend.uri, f"s3://{BUCKET}/{side}", workers=1, use_cli=True)
    try:
        result = scenario_artifact(server, None, source, workdir)  # type: ignore[arg-type]  # sizes unused there
        stored = s3_client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{side}/")
        result["stored_bytes"] = sum(o["Size"] for o in stored.get("Contents", []))
        return result
    finally:
        server.stop()
        backend.drop()
        client = s3_client(endpoint)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{side}/"):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=BUCKET, Key=item["Key"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        workdir = Path(tmp)
        proc, endpoint = start_s3(workdir / "moto.log")
        saved = {k: os.environ.get(k) for k in (*CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL", "MLTRAIL_S3_ENDPOINT_URL")}
        os.environ.update({**CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": endpoint, "MLTRAIL_S3_ENDPOINT_URL": endpoint})
        try:
            s3_client(endpoint).create_bucket(Bucket=BUCKET)
            source = make_artifact(workdir / "big.bin", args.mb)
            results = {side: run_side(side, endpoint, source, workdir) for side in ("mltrail", "mlflow")}
        finally:
            proc.terminate()
            proc.wait(30)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    size_mb = args.mb
    rows = []
    for phase in ("upload", "download"):
        a, b = results["mltrail"][phase], results["mlflow"][phase]
        rows.append(
            [
                f"{phase} {size_mb} MiB",
                f"{size_mb / a['seconds']:.0f} MiB/s",
                f"{size_mb / b['seconds']:.0f} MiB/s",
                f"{b['seconds'] / a['seconds']:.2f}x",
                f"{a['growth_mb']:.0f} MB",
                f"{b['growth_mb']:.0f} MB",
            ]
        )
    headers = [
        "S3 proxy (moto)",
        "mltrail",
        "MLflow 3.17.2",
        "MLflow time / mltrail",
        "mltrail RSS growth",
        "MLflow RSS growth",
    ]
    print(render_table(headers, rows, markdown=args.markdown))
    for side in ("mltrail", "mlflow"):
        print(f"{side}: {results[side]['stored_bytes']} bytes in the bucket")


if __name__ == "__main__":
    sys.exit(main())
