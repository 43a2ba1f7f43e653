"""Concurrent writers through a real multi-process server on SQLite: nothing lost, no "database is locked"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.server.live import free_port

API = "/api/2.0/mlflow"
WRITERS = 8
BATCHES = 15
POINTS_PER_BATCH = 100


@pytest.fixture(scope="module")
def multi_worker_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mltrail server --workers 2`` as a subprocess, so two processes write one SQLite file."""
    root = tmp_path_factory.mktemp("concurrency")
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from mltrail.cli.main import main; main()",
        "server",
        "--port",
        str(port),
        "--workers",
        "2",
        "--backend-store-uri",
        f"sqlite:///{root / 'db.sqlite'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"server did not start: {output}")
        time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _post(client: httpx.Client, path: str, body: dict) -> dict:
    response = client.post(f"{API}{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _writer(url: str, run_id: str, writer: int) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        for batch in range(BATCHES):
            metrics = [
                {"key": f"w{writer}", "value": float(i), "timestamp": batch * 1000 + i, "step": batch * 1000 + i}
                for i in range(POINTS_PER_BATCH)
            ]
            _post(client, "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
            _post(
                client,
                "/runs/log-metric",
                {"run_id": run_id, "key": "single", "value": writer, "timestamp": batch, "step": writer * 100 + batch},
            )
            _post(client, "/runs/set-tag", {"run_id": run_id, "key": f"tag{writer}", "value": str(batch)})


def _history_length(client: httpx.Client, run_id: str, key: str) -> int:
    response = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key})
    assert response.status_code == 200, response.text
    return len(response.json().get("metrics", []))


def test_many_writers_to_many_runs(multi_worker_server: str) -> None:
    with httpx.Client(base_url=multi_worker_server, timeout=60) as client:
        experiment_id = _post(client, "/experiments/create", {"name": "many-runs"})["experiment_id"]
        run_ids = [
            _post(client, "/runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
            for _ in range(WRITERS)
        ]
        with ThreadPoolExecutor(WRITERS) as pool:
            for future in [pool.submit(_writer, multi_worker_server, run_ids[w], w) for w in range(WRITERS)]:
                future.result()
        for writer, run_id in enumerate(run_ids):
            assert _history_length(client, run_id, f"w{writer}") == BATCHES * POINTS_PER_BATCH
            assert _history_length(client, run_id, "single") == BATCHES


def test_many_writers_to_one_run(multi_worker_server: str) -> None:
    with httpx.Client(base_url=multi_worker_server, timeout=60) as client:
        experiment_id = _post(client, "/experiments/create", {"name": "one-run"})["experiment_id"]
        run_id = _post(client, "/runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
        with ThreadPoolExecutor(WRITERS) as pool:
            for future in [pool.submit(_writer, multi_worker_server, run_id, w) for w in range(WRITERS)]:
                future.result()
        for writer in range(WRITERS):
            assert _history_length(client, run_id, f"w{writer}") == BATCHES * POINTS_PER_BATCH
        assert _history_length(client, run_id, "single") == WRITERS * BATCHES
        run = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert all(tags[f"tag{w}"] == str(BATCHES - 1) for w in range(WRITERS))
        latest = {m["key"]: m for m in run["data"]["metrics"]}
        assert latest["w0"]["step"] == (BATCHES - 1) * 1000 + POINTS_PER_BATCH - 1


def test_cli_server_starts_fast_and_reports_a_taken_port(multi_worker_server: str, tmp_path: Path) -> None:
    port = multi_worker_server.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-c", "from mltrail.cli.main import main; main()", "server", "--port", port],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
