"""Connections lost in the middle of a write (PostgreSQL, MariaDB): retried once on a fresh connection, never twice.

A connection killed before COMMIT leaves nothing applied, so the transaction is run again. A connection lost
while committing leaves the outcome unknown: log-batch is replayable (exact repeats are skipped and not counted
again), other writes answer DEADLINE_EXCEEDED (504) instead of risking a second copy.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from mltrail.entities import Metric, Param, RunTag
from mltrail.errors import DEADLINE_EXCEEDED, TEMPORARILY_UNAVAILABLE, MltrailError
from mltrail.store.sql import engines, retries
from mltrail.store.tracking.sql.store import SqlTrackingStore
from mltrail.store.tracking.sql.tables import latest_metrics
from mltrail.store.tracking.sql.tables import metrics as metrics_table
from tests.store.connections import ConnectionKiller, backend_id

_INSERT_POINTS = re.compile(r"^\s*INSERT INTO [`\"]?metrics[`\"]? ", re.IGNORECASE)


@pytest.fixture(params=["postgresql", "mysql"])
def server_uri(request: pytest.FixtureRequest) -> str:
    """This session's database on each server backend (tests use their own experiments)."""
    uri: str = request.getfixturevalue(f"{request.param}_uri")
    return uri


@pytest.fixture
def killer(server_uri: str) -> Iterator[ConnectionKiller]:
    killer = ConnectionKiller(server_uri)
    try:
        yield killer
    finally:
        killer.close()


@contextmanager
def kill_before(engine: Engine, killer: ConnectionKiller, matches: Callable[[str], bool], times: int) -> Iterator[None]:
    """Kill the connection about to run a matching statement, the first ``times`` times."""

    def before(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if killer.kills < times and matches(statement):
            killer.kill([backend_id(conn.connection.dbapi_connection)])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _new_run(store: SqlTrackingStore, name: str) -> str:
    exp_id = store.create_experiment(f"{name}-{uuid.uuid4().hex}")
    return store.create_run(exp_id, "u", 0, [], name).info.run_id


def _points_and_summary(store: SqlTrackingStore, run_id: str, key: str) -> tuple[int, int, float]:
    """The stored points of a key, and the count and sum its summary row says it has."""
    with store.engine.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).where(metrics_table.c.run_uuid == run_id, metrics_table.c.key == key)
        ).scalar_one()
        count, total = conn.execute(
            sa.select(latest_metrics.c.count_value, latest_metrics.c.sum_value).where(
                latest_metrics.c.run_uuid == run_id, latest_metrics.c.key == key
            )
        ).one()
    return int(stored), int(count), float(total)


def _batch(n: int) -> list[Metric]:
    return [Metric("m", float(i), 1000 + i, i) for i in range(n)]


def test_log_batch_killed_mid_transaction_is_replayed_once(
    server_uri: str, killer: ConnectionKiller, tmp_path: Path
) -> None:
    store = SqlTrackingStore(server_uri, str(tmp_path))
    run_id = _new_run(store, "mid-transaction")
    before = retries.retry_counts["disconnect"]
    # After the run lock and the params, before the points: the transaction is cut off half way.
    with kill_before(store.engine, killer, lambda sql: bool(_INSERT_POINTS.match(sql)), times=1):
        store.log_batch(run_id, _batch(50), [Param("p", "1")], [RunTag("t", "x")])
    assert killer.kills == 1
    assert retries.retry_counts["disconnect"] == before + 1
    assert _points_and_summary(store, run_id, "m") == (50, 50, sum(range(50)))
    run = store.get_run(run_id)
    assert run.data.params == {"p": "1"} and run.data.tags["t"] == "x"
    assert [m.step for m in store.get_metric_history(run_id, "m")] == list(range(50))


def test_a_create_killed_before_commit_is_retried(server_uri: str, killer: ConnectionKiller, tmp_path: Path) -> None:
    store = SqlTrackingStore(server_uri, str(tmp_path))
    name = f"created-after-a-kill-{uuid.uuid4().hex}"
    inserts = re.compile(r"^\s*INSERT INTO [`\"]?(experiments|runs)[`\"]? ", re.IGNORECASE)
    with kill_before(store.engine, killer, lambda sql: bool(inserts.match(sql)), times=2):
        exp_id = store.create_experiment(name)  # not replayable, but nothing was committed: run again
        run_id = store.create_run(exp_id, "u", 0, [], "r").info.run_id
    assert killer.kills == 2
    assert store.get_experiment_by_name(name) is not None
    assert [r.info.run_id for r in store.search_runs([exp_id])] == [run_id]  # one run, not two


def test_metrics_only_batch_on_a_killed_autocommit_connection(
    server_uri: str, killer: ConnectionKiller, tmp_path: Path
) -> None:
    store = SqlTrackingStore(server_uri, str(tmp_path))
    run_id = _new_run(store, "metrics-only")
    # PostgreSQL writes a metrics-only batch as one self-committing statement on the autocommit engine.
    engine = engines.autocommit_engine(server_uri) if killer.postgresql else store.engine
    with kill_before(engine, killer, lambda sql: "metrics" in sql.lower(), times=2):
        store.log_batch(run_id, _batch(20))
    assert killer.kills == 2
    assert _points_and_summary(store, run_id, "m") == (20, 20, sum(range(20)))


def test_commit_applied_but_its_answer_lost(
    server_uri: str, killer: ConnectionKiller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlTrackingStore(server_uri, str(tmp_path))
    run_id = _new_run(store, "lost-commit")
    dialect = store.engine.dialect
    commit = dialect.do_commit
    lost = []

    def commit_then_lose_the_connection(dbapi_connection: Any) -> None:
        commit(dbapi_connection)  # the server has applied the transaction ...
        if not lost:
            raw = dbapi_connection.dbapi_connection
            lost.append(killer.kill([backend_id(raw)]))
            with raw.cursor() as cursor:  # ... but the client only sees a dead connection
                cursor.execute("SELECT 1")

    monkeypatch.setattr(dialect, "do_commit", commit_then_lose_the_connection)
    store.log_batch(run_id, _batch(30), [Param("p", "1")])  # replayable: run again, repeats skipped
    assert lost == [1]
    assert _points_and_summary(store, run_id, "m") == (30, 30, sum(range(30)))  # each point counted once

    lost.clear()
    name = f"created-once-{uuid.uuid4().hex}"
    with pytest.raises(MltrailError) as info:  # not replayable: a second attempt could create a second one
        store.create_experiment(name)
    assert lost == [1]
    assert info.value.error_code == DEADLINE_EXCEEDED  # not 503: that promises the server did nothing
    assert "may or may not have been applied" in info.value.message
    assert store.get_experiment_by_name(name) is not None


def test_retries_exhausted_answer_temporarily_unavailable(
    server_uri: str, killer: ConnectionKiller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlTrackingStore(server_uri, str(tmp_path))
    run_id = _new_run(store, "exhausted")
    monkeypatch.setattr(retries, "RECONNECT_SECONDS", 0.5)
    with (
        kill_before(store.engine, killer, lambda sql: bool(_INSERT_POINTS.match(sql)), times=1000),
        pytest.raises(MltrailError) as info,
    ):
        store.log_batch(run_id, _batch(5), [Param("p", "1")])
    assert info.value.error_code == TEMPORARILY_UNAVAILABLE and info.value.http_status == 503
    assert killer.kills >= 4  # every try, for half a second
    assert store.get_run(run_id).data.params == {}  # nothing half-written
