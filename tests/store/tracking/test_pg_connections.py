"""PostgreSQL: reads and single-statement metric writes run on autocommit connections without a pre-ping.

When the server drops those pooled connections (a restart, an idle timeout, a DBA's pg_terminate_backend), the
next call must still succeed on a fresh connection and write its points exactly once.
"""

from __future__ import annotations

from pathlib import Path

from mltrail.entities import Metric, Param, ViewType
from mltrail.store.tracking.sql.store import SqlTrackingStore
from tests.store.connections import ConnectionKiller


def _terminate_other_backends(uri: str) -> int:
    killer = ConnectionKiller(uri)
    try:
        return killer.kill()
    finally:
        killer.close()


def test_dropped_connections_are_replaced(postgresql_uri: str, tmp_path: Path) -> None:
    store = SqlTrackingStore(postgresql_uri, str(tmp_path))
    exp_id = store.create_experiment("reconnect")
    run_id = store.create_run(exp_id, "u", 0, [], "r").info.run_id
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    store.log_batch(run_id, [Metric("m", 2.0, 2, 1), Metric("m", 3.0, 3, 2)])
    assert store.search_runs([exp_id])[0].data.metrics == {"m": 3.0}

    assert _terminate_other_backends(postgresql_uri) > 0
    store.log_metric(run_id, Metric("m", 4.0, 4, 3))  # single point: straight through the driver
    assert _terminate_other_backends(postgresql_uri) > 0
    store.log_batch(run_id, [Metric("m", 5.0, 5, 4), Metric("m", 6.0, 6, 5)])  # batch statement
    assert _terminate_other_backends(postgresql_uri) > 0
    runs = store.search_runs([exp_id], "metrics.m > 5", ViewType.ACTIVE_ONLY, order_by=["metrics.m DESC"])
    assert [r.info.run_id for r in runs] == [run_id]
    assert _terminate_other_backends(postgresql_uri) > 0
    store.log_batch(run_id, params=[Param("p", "1")])  # a transaction on the main pool (pre-pinged)

    history = store.get_metric_history(run_id, "m")
    assert [(m.step, m.value) for m in history] == [(i, float(i + 1)) for i in range(6)]
    assert store.search_runs([exp_id], "avg(metrics.m) = 3.5 and params.p = '1'")  # each point counted once
