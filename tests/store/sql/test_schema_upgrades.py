"""Schema upgrades on SQLite, PostgreSQL and MariaDB: from the first released schema, by replicas starting at once
(one migrates under a database lock, the others wait), and refusing a database newer than this mltrail.

Each test gets a database of its own (the shared store fixtures keep one per session, already at head).
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mltrail.cli.main import cli
from mltrail.entities import Metric
from mltrail.errors import INVALID_STATE, TEMPORARILY_UNAVAILABLE, MltrailError
from mltrail.store.auth.sql import migrations as auth_migrations
from mltrail.store.auth.sql.store import SqlAuthStore
from mltrail.store.registry.sql import migrations as registry_migrations
from mltrail.store.registry.sql.store import SqlRegistryStore
from mltrail.store.schemas import SCHEMAS, upgrade_database
from mltrail.store.sql import engines, schema
from mltrail.store.sql.dialect import dialect_of
from mltrail.store.tracking.sql import migrations as tracking_migrations
from mltrail.store.tracking.sql.store import SqlTrackingStore
from tests.store.conftest import BACKENDS, MYSQL_ADMIN_URI, PG_ADMIN_URI, _server_database

RUN_ID = "0123456789abcdef0123456789abcdef"
T0 = 1_700_000_000_000


@pytest.fixture(params=BACKENDS)
def fresh_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own for this test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        engines.get_engine(f"sqlite:///{tmp_path / 'fresh.db'}").dispose()
        return
    admin = PG_ADMIN_URI if request.param == "postgresql" else MYSQL_ADMIN_URI
    yield from _server_database(admin, request.param)


def _version_rows(uri: str, migrations: schema.Migrations) -> list[str]:
    with engines.get_engine(uri).connect() as conn:
        return [str(r[0]) for r in conn.execute(sa.text(f"SELECT version_num FROM {migrations.VERSION_TABLE}"))]


# ------------------------------------------------------------------------------ from the first released schema
def _create_first_schemas(uri: str) -> None:
    """Each schema at its first revision, as the first release of mltrail created it."""
    engine = engines.get_engine(uri)
    for migrations in SCHEMAS:
        first = schema.revisions(migrations)[0]
        assert schema.upgrade(engine, migrations, to=first) == (None, first)
        assert _version_rows(uri, migrations) == [first]


def _insert_legacy_rows(uri: str) -> None:
    """Representative rows written straight into the first schemas (ad-hoc tables, not today's store code)."""
    from mltrail.store.auth.passwords import hash_password

    run, t1 = {"run_uuid": RUN_ID}, T0 + 1000
    rows: list[tuple[str, dict[str, Any]]] = [
        ("experiments", {"experiment_id": 1, "name": "legacy-exp", "artifact_location": "/srv/artifacts/1",
                         "lifecycle_stage": "active", "creation_time": T0, "last_update_time": T0}),
        ("experiment_tags", {"experiment_id": 1, "key": "owner", "value": "ml-team"}),
        ("runs", {**run, "name": "legacy-run", "experiment_id": 1, "user_id": "ada", "status": "FINISHED",
                  "start_time": T0, "end_time": T0 + 5000, "lifecycle_stage": "active",
                  "artifact_uri": f"/srv/artifacts/1/{RUN_ID}/artifacts"}),
        ("params", {**run, "key": "lr", "value": "0.1"}),
        ("tags", {**run, "key": "team", "value": "vision"}),
        ("metrics", {**run, "key": "acc", "step": 0, "timestamp": T0, "value": 0.5, "is_nan": False}),
        ("metrics", {**run, "key": "acc", "step": 1, "timestamp": t1, "value": 0.9, "is_nan": False}),
        ("latest_metrics", {**run, "key": "acc", "value": 0.9, "timestamp": t1, "step": 1, "is_nan": False,
                            "min_value": 0.5, "max_value": 0.9, "sum_value": 1.4, "count_value": 2}),
        ("registered_models", {"rm_id": 1, "name": "legacy-model", "creation_time": T0, "last_updated_time": T0,
                               "description": "first model", "user_id": "ada", "next_version": 2}),
        ("registered_model_tags", {"rm_id": 1, "key": "domain", "value": "vision"}),
        ("model_versions", {"rm_id": 1, "version": 1, "creation_time": T0, "last_updated_time": T0,
                            "user_id": "ada", "current_stage": "Production", "source": f"runs:/{RUN_ID}/model",
                            "run_id": RUN_ID, "status": "READY"}),
        ("registered_model_aliases", {"rm_id": 1, "alias": "champion", "version": 1}),
        ("auth_users", {"username": "alice", "password_hash": hash_password("alice-password-1"), "is_admin": True,
                        "source": "local", "created_at": T0}),
    ]  # fmt: skip
    with engines.get_engine(uri).begin() as conn:
        for table, row in rows:
            conn.execute(sa.table(table, *map(sa.column, row)).insert(), row)


def _check_legacy_rows(uri: str, tmp_path: Path) -> None:
    tracking = SqlTrackingStore(uri, str(tmp_path / "artifacts"))
    exp = tracking.get_experiment("1")
    assert (exp.name, exp.artifact_location, exp.tags) == ("legacy-exp", "/srv/artifacts/1", {"owner": "ml-team"})
    run = tracking.get_run(RUN_ID)
    assert (run.info.run_name, run.info.user_id, run.info.end_time) == ("legacy-run", "ada", T0 + 5000)
    assert str(run.info.status).endswith("FINISHED")
    assert run.data.params == {"lr": "0.1"}
    assert run.data.metrics == {"acc": 0.9}
    assert run.data.tags["team"] == "vision"
    history = tracking.get_metric_history(RUN_ID, "acc")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.9)]
    found = tracking.search_runs(["1"], "metrics.acc > 0.8 and params.lr = '0.1' and tags.team = 'vision'")
    assert [r.info.run_id for r in found] == [RUN_ID]
    tracking.log_batch(RUN_ID, metrics=[Metric("acc", 0.95, T0 + 2000, 2)])  # and it still takes writes
    assert tracking.get_run(RUN_ID).data.metrics == {"acc": 0.95}
    assert tracking.get_experiment("0").name == "Default"  # made by the store once the schema is current

    registry = SqlRegistryStore(uri)
    model = registry.get_registered_model("legacy-model")
    assert (model.description, model.tags) == ("first model", {"domain": "vision"})
    version = registry.get_model_version("legacy-model", 1)
    assert (version.source, version.current_stage, version.run_id) == (f"runs:/{RUN_ID}/model", "Production", RUN_ID)
    assert registry.get_model_version_by_alias("legacy-model", "champion").version == "1"
    assert registry.create_model_version("legacy-model", "s3://bucket/m2").version == "2"

    auth = SqlAuthStore(uri)
    assert auth.get_user("alice").is_admin
    assert auth.authenticate_user("alice", "alice-password-1") is not None

    for migrations in SCHEMAS:
        assert _version_rows(uri, migrations) == [migrations.HEAD]


@pytest.mark.parametrize("via", ["stores", "cli"])
def test_upgrade_from_the_first_released_schema(fresh_uri: str, via: str, tmp_path: Path) -> None:
    # Upgrades every schema from its first revision to head (tracking: 0001 -> 0002 today). Where a schema still
    # has a single revision (auth today) this runs the path end to end anyway, and catches its first real
    # migration when it lands.
    _create_first_schemas(fresh_uri)
    _insert_legacy_rows(fresh_uri)
    if via == "cli":
        result = CliRunner().invoke(cli, ["db", "upgrade", "--backend-store-uri", fresh_uri])
        assert result.exit_code == 0, result.output
        first = {schema.schema_name(m): (schema.revisions(m)[0], m.HEAD) for m in SCHEMAS}
        for name, (old, head) in first.items():
            expected = f"upgraded {old} -> {head}" if old != head else f"{head} (already current)"
            assert f"{name}: {expected}" in result.stdout
    _check_legacy_rows(fresh_uri, tmp_path)


def test_upgrade_database_reports_and_is_idempotent(fresh_uri: str) -> None:
    done = upgrade_database(fresh_uri)
    assert [(u.name, u.before, u.after) for u in done] == [
        ("tracking", None, tracking_migrations.HEAD),
        ("registry", None, registry_migrations.HEAD),
        ("auth", None, None),
    ]
    again = upgrade_database(fresh_uri, auth=True)
    assert [(u.before, u.after, u.changed) for u in again] == [
        (tracking_migrations.HEAD, tracking_migrations.HEAD, False),
        (registry_migrations.HEAD, registry_migrations.HEAD, False),
        (None, auth_migrations.HEAD, True),
    ]


def test_a_separate_auth_database_gets_no_tracking_tables(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'auth.db'}"
    SqlAuthStore(uri)
    done = upgrade_database(uri)
    assert [(u.name, u.after) for u in done] == [("tracking", None), ("registry", None), ("auth", auth_migrations.HEAD)]
    assert not sa.inspect(engines.get_engine(uri)).has_table("experiments")


# ----------------------------------------------------------------------------------- replicas starting at once
def _start_replica(uri: str, root: str, index: int, barrier: Any, results: Any) -> None:
    """A server replica starting: ``prepare()`` (even index) or the store constructors (odd), then auth."""
    try:
        from mltrail.server.run import ServerSettings, prepare

        barrier.wait(timeout=60)
        if index % 2 == 0:
            prepare(ServerSettings(backend_store_uri=uri, artifacts_destination=root))
        else:
            SqlRegistryStore(uri)
            SqlTrackingStore(uri, root)
        SqlAuthStore(uri)
        results.put((index, "ok"))
    except BaseException:
        results.put((index, traceback.format_exc()))


def test_replicas_starting_at_once_migrate_once(fresh_uri: str, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_start_replica, args=(fresh_uri, str(tmp_path / "artifacts"), i, barrier, results))
        for i in range(4)
    ]
    for proc in procs:
        proc.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
    assert outcomes == {i: "ok" for i in range(4)}, "\n".join(str(o) for o in outcomes.values())
    assert all(proc.exitcode == 0 for proc in procs)
    for migrations in SCHEMAS:
        assert _version_rows(fresh_uri, migrations) == [migrations.HEAD]
    with engines.get_engine(fresh_uri).connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM experiments")).scalars().all() == ["Default"]


def _upgrade_in_child(uri: str, results: Any) -> None:
    try:
        started = time.monotonic()
        SqlTrackingStore(uri, "/tmp/unused-artifacts")
        results.put(("ok", time.monotonic() - started))
    except BaseException:
        results.put((traceback.format_exc(), 0.0))


def test_a_migration_waits_for_the_lock_then_finds_head(fresh_uri: str) -> None:
    engine = engines.get_engine(fresh_uri)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(target=_upgrade_in_child, args=(fresh_uri, results))
    with dialect_of(engine).exclusive(engine, schema.LOCK_NAME, 60) as conn:
        child.start()
        time.sleep(3)  # the child has imported, found no schema and is waiting for the lock
        assert results.empty()
        # Migrate while holding the lock, as another replica would: the child must not migrate again.
        config_revision = schema.revisions(tracking_migrations)[-1]
        schema._run_alembic(conn, tracking_migrations, config_revision)
    outcome, waited = results.get(timeout=60)
    child.join(timeout=30)
    assert outcome == "ok"
    assert waited > 1
    assert _version_rows(fresh_uri, tracking_migrations) == [tracking_migrations.HEAD]


def test_waiting_too_long_for_the_lock_is_a_clear_error(fresh_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engines.get_engine(fresh_uri)
    monkeypatch.setattr(schema, "LOCK_TIMEOUT_S", 1.0)
    with dialect_of(engine).exclusive(engine, schema.LOCK_NAME, 60), pytest.raises(MltrailError) as info:
        schema.upgrade(engine, tracking_migrations)
    assert info.value.error_code == TEMPORARILY_UNAVAILABLE
    assert "waiting for the database lock" in info.value.message


# ------------------------------------------------------------------------------------- a newer database refused
@pytest.mark.parametrize("migrations", SCHEMAS, ids=schema.schema_name)
def test_a_schema_newer_than_this_mltrail_is_refused(
    fresh_uri: str, migrations: schema.Migrations, tmp_path: Path
) -> None:
    upgrade_database(fresh_uri, auth=True)
    with engines.get_engine(fresh_uri).begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = 'z9999_from_the_future'"))
    schema._schema_ready.clear()
    openers = {
        "tracking": lambda: SqlTrackingStore(fresh_uri, str(tmp_path)),
        "registry": lambda: SqlRegistryStore(fresh_uri),
        "auth": lambda: SqlAuthStore(fresh_uri),
    }
    name = schema.schema_name(migrations)
    for opener in (openers[name], lambda: upgrade_database(fresh_uri)):
        with pytest.raises(MltrailError) as info:
            opener()
        assert info.value.error_code == INVALID_STATE
        message = info.value.message
        assert f"has schema revision z9999_from_the_future of the {name} store" in message
        assert f"newer than this mltrail (knows up to {migrations.HEAD})" in message
        assert "Upgrade mltrail, or point it at another database." in message
        assert "\n" not in message and "***" not in message
    assert _version_rows(fresh_uri, migrations) == ["z9999_from_the_future"]  # left as it was
