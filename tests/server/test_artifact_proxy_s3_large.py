"""1 GiB up and down through an ``mltrail server`` process whose artifacts live in S3, with bounded memory.

The file is generated on the fly (never written to disk on the client side) and checked by hash on the way
back; the server process's resident memory is sampled throughout. moto (the S3 server process) keeps the object
on its own disk and in its own memory: only the mltrail server is measured.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.s3_server import create_bucket, s3_client, s3_environment
from tests.server.live import server_process

ART = "/api/2.0/mlflow-artifacts/artifacts"
MiB = 1024 * 1024
SIZE = 1024 * MiB
#: Allowed growth of the server's resident memory over its warmed-up level.
MAX_GROWTH = 100 * MiB


def _rss(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process from /proc, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for {pid}")


class PeakSampler:
    """Samples a process's resident memory every 20 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = _rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss(self.pid))

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss(self.pid))


def _generated(size: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """``size`` bytes in 1 MiB chunks, each distinct (a random block with the chunk's number in front)."""
    block = os.urandom(MiB)
    for number in range(size // MiB):
        chunk = number.to_bytes(8, "big") + block[8:]
        digest.update(chunk)
        yield chunk


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory figures from /proc")
@pytest.mark.slow
def test_one_gib_up_and_down_with_bounded_server_memory(s3_endpoint: str, tmp_path: Path) -> None:
    bucket = create_bucket(s3_endpoint, "large")
    with (
        s3_environment(s3_endpoint),
        server_process(tmp_path, artifacts_destination=f"s3://{bucket}/big") as server,
        httpx.Client(base_url=server.url, timeout=300) as http,
    ):
        assert server.process is not None
        pid = server.process.pid
        # Warm up: boto3 imported, clients and connection pools made, part threads started once.
        warm = hashlib.sha256()
        assert http.put(f"{ART}/warm.bin", content=_generated(24 * MiB, warm)).status_code == 200
        with http.stream("GET", f"{ART}/warm.bin") as response:
            for _ in response.iter_bytes():
                pass
        baseline = _rss(pid)

        sent = hashlib.sha256()
        with PeakSampler(pid) as up:
            started = time.monotonic()
            response = http.put(f"{ART}/run/one-gib.bin", content=_generated(SIZE, sent))
            upload_s = time.monotonic() - started
        assert response.status_code == 200, response.text
        head = s3_client(s3_endpoint).head_object(Bucket=bucket, Key="big/run/one-gib.bin")
        assert head["ContentLength"] == SIZE

        received = hashlib.sha256()
        size = 0
        with PeakSampler(pid) as down:
            started = time.monotonic()
            with http.stream("GET", f"{ART}/run/one-gib.bin") as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes(MiB):
                    received.update(chunk)
                    size += len(chunk)
            download_s = time.monotonic() - started
        assert size == SIZE
        assert received.digest() == sent.digest()

    growth_up, growth_down = up.peak - baseline, down.peak - baseline
    print(
        f"\n1 GiB through the S3 proxy: upload {upload_s:.1f} s ({SIZE / MiB / upload_s:.0f} MiB/s), download "
        f"{download_s:.1f} s ({SIZE / MiB / download_s:.0f} MiB/s); server RSS {baseline / MiB:.0f} MiB warm, "
        f"+{growth_up / MiB:.1f} MiB peak during upload, +{growth_down / MiB:.1f} MiB during download"
    )
    assert growth_up < MAX_GROWTH
    assert growth_down < MAX_GROWTH
