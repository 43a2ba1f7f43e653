"""Concurrent writers through a real multi-process server on SQLite: nothing lost, no "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import server_process
from tests.server.load import API, Writer, check_acknowledged, create_runs, run_writers

WRITERS = 8
BATCHES = 15
POINTS_PER_BATCH = 100


@pytest.fixture(scope="module")
def multi_worker_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mltrail server --workers 2`` as a subprocess, so two processes write one SQLite file."""
    with server_process(tmp_path_factory.mktemp("concurrency"), workers=2) as server:
        yield server.url


def _history_length(client: httpx.Client, run_id: str, key: str) -> int:
    response = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key})
    assert response.status_code == 200, response.text
    return len(response.json().get("metrics", []))


def _write(url: str, run_ids: list[str]) -> None:
    """Every writer writes all its rounds, each write answered 200, each acknowledged write stored."""
    writers = [Writer(url, run_ids[w % len(run_ids)], w, POINTS_PER_BATCH) for w in range(WRITERS)]
    acknowledged = run_writers(writers, rounds=BATCHES)
    assert [f for w in writers for f in w.failures] == []
    assert sum(w.transport_errors for w in writers) == 0
    with httpx.Client(base_url=url, timeout=60) as client:
        check_acknowledged(client, acknowledged)


def test_many_writers_to_many_runs(multi_worker_server: str) -> None:
    with httpx.Client(base_url=multi_worker_server, timeout=60) as client:
        run_ids = create_runs(client, "many-runs", WRITERS)
        _write(multi_worker_server, run_ids)
        for writer, run_id in enumerate(run_ids):
            assert _history_length(client, run_id, f"w{writer}") == BATCHES * POINTS_PER_BATCH
            assert _history_length(client, run_id, "single") == BATCHES


def test_many_writers_to_one_run(multi_worker_server: str) -> None:
    with httpx.Client(base_url=multi_worker_server, timeout=60) as client:
        [run_id] = create_runs(client, "one-run", 1)
        _write(multi_worker_server, [run_id])
        for writer in range(WRITERS):
            assert _history_length(client, run_id, f"w{writer}") == BATCHES * POINTS_PER_BATCH
        assert _history_length(client, run_id, "single") == WRITERS * BATCHES
        run = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert all(tags[f"t{w}.{BATCHES - 1}"] == str(BATCHES - 1) for w in range(WRITERS))
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
