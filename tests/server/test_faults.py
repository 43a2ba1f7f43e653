"""Faults under load, through a real ``mltrail server`` process: a SIGKILL mid-load, database connections killed.

8 client threads write (log-batch, log-metric, set-tag, log-param) and record each write the server answered 200.
Afterwards every acknowledged write must be stored, each metric point exactly once, and each metric summary must
count exactly the points of its history (a replayed write must not count its points twice). Each test runs on a
database of its own (PostgreSQL and MariaDB ones are created and dropped, as the store suites do).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from mltrail.store.sql import engines
from mltrail.store.tracking.sql.tables import latest_metrics, metrics
from tests.server.live import ServerProcess
from tests.server.load import Acknowledged, Writer, check_acknowledged, create_runs, run_writers
from tests.store.conftest import MYSQL_ADMIN_URI, PG_ADMIN_URI, _server_database
from tests.store.connections import ConnectionKiller

WRITERS = 8
RUNS = 4  # two writers per run: their log-batches contend for the run's lock
POINTS_PER_BATCH = 20
LOAD_SECONDS = 2.0
KILL_EVERY_SECONDS = 0.1
RETRY_LOG = "Database connection lost"


def _database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        yield from _server_database(PG_ADMIN_URI if backend == "postgresql" else MYSQL_ADMIN_URI, backend)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def any_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each backend."""
    yield from _database(request.param, tmp_path)


@pytest.fixture(params=["postgresql", "mysql"])
def server_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database on each database server."""
    yield from _database(request.param, tmp_path)


def _load(
    server: ServerProcess, during: float, then: Callable[[], object], start: Callable[[], object] = lambda: None
) -> tuple[list[Writer], Acknowledged]:
    """Create the runs, call ``start``, run the writers for ``during`` seconds, call ``then`` under load, stop them.

    Returns:
        The writers (their answers) and the writes the server acknowledged.
    """
    with httpx.Client(base_url=server.url, timeout=30) as client:
        run_ids = create_runs(client, "faults", RUNS)
    start()
    writers = [Writer(server.url, run_ids[w % RUNS], w, POINTS_PER_BATCH) for w in range(WRITERS)]
    stop = threading.Event()
    done: list[Acknowledged] = []
    thread = threading.Thread(target=lambda: done.append(run_writers(writers, stop=stop)), daemon=True)
    thread.start()
    time.sleep(during)
    then()
    stop.set()
    thread.join(timeout=60)
    assert done, "the writers did not finish"
    return writers, done[0]


def _check_database(uri: str) -> None:
    """The database opens, and each metric summary counts exactly the points of its history (sum included)."""
    engine = engines.create_engine(uri)
    try:
        with engine.connect() as conn:
            if uri.startswith("sqlite"):
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            history = {
                (run, key): (int(n), float(total))
                for run, key, n, total in conn.execute(
                    sa.select(
                        metrics.c.run_uuid, metrics.c.key, sa.func.count(), sa.func.sum(metrics.c.value)
                    ).group_by(metrics.c.run_uuid, metrics.c.key)
                )
            }
            summaries = {
                (run, key): (int(n), float(total))
                for run, key, n, total in conn.execute(
                    sa.select(
                        latest_metrics.c.run_uuid,
                        latest_metrics.c.key,
                        latest_metrics.c.count_value,
                        latest_metrics.c.sum_value,
                    )
                )
            }
    finally:
        engine.dispose()
    assert history and summaries == history


def _report(name: str, writers: list[Writer], acknowledged: Acknowledged, **figures: object) -> None:
    requests = sum(sum(w.statuses.values()) for w in writers)
    extra = ", ".join(f"{k}={v}" for k, v in figures.items())
    print(f"\n{name}: {requests} answered requests, {acknowledged.writes} acknowledged writes, {extra}")


def test_sigkill_under_writers(any_uri: str, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, any_uri, workers=2)
    server.start()
    try:
        writers, acknowledged = _load(server, LOAD_SECONDS / 2, server.kill)
        # Every answer before the kill was a 200; the kill itself only shows as transport errors.
        assert [f for w in writers for f in w.failures] == []
        assert acknowledged.writes > 0

        server.start()  # the same database and artifacts
        with httpx.Client(base_url=server.url, timeout=30) as client:
            check_acknowledged(client, acknowledged)
    finally:
        server.stop()
    _check_database(any_uri)
    _report(
        "sigkill",
        writers,
        acknowledged,
        transport_errors=sum(w.transport_errors for w in writers),
        retries=server.output().count(RETRY_LOG),
    )


def test_terminated_connections_under_writers(server_uri: str, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, server_uri, workers=2)
    server.start()
    killer = ConnectionKiller(server_uri)
    try:
        stop = threading.Event()

        def kill_repeatedly() -> None:
            while not stop.wait(KILL_EVERY_SECONDS):
                killer.kill(wait=False)

        thread = threading.Thread(target=kill_repeatedly, daemon=True)
        writers, acknowledged = _load(server, LOAD_SECONDS, lambda: (stop.set(), thread.join()), thread.start)
        assert [f for w in writers for f in w.failures] == []  # no 5xx (nor anything else but 200)
        assert sum(w.transport_errors for w in writers) == 0
        assert killer.kills > 0 and acknowledged.writes > 0
        with httpx.Client(base_url=server.url, timeout=30) as client:
            check_acknowledged(client, acknowledged)
    finally:
        killer.close()
        server.stop()
    _check_database(server_uri)
    _report("terminate", writers, acknowledged, kills=killer.kills, retries=server.output().count(RETRY_LOG))
