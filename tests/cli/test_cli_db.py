"""``mltrail db upgrade`` and ``mltrail db current`` (on SQLite; tests/store/sql/test_schema_upgrades.py runs
the upgrade on PostgreSQL and MariaDB too), and ``mltrail server`` refusing a database newer than itself."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result

from mltrail.store.auth.sql import migrations as auth_migrations
from mltrail.store.registry.sql import migrations as registry_migrations
from mltrail.store.sql import engines, schema
from mltrail.store.tracking.sql import migrations as tracking_migrations

TRACKING_HEAD, REGISTRY_HEAD, AUTH_HEAD = tracking_migrations.HEAD, registry_migrations.HEAD, auth_migrations.HEAD
FUTURE = "0999_from_a_newer_mltrail"

Invoke = Callable[..., Result]


@pytest.fixture
def db_uri(env, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("MLTRAIL_BACKEND_STORE_URI", raising=False)
    return f"sqlite:///{env.tmp / 'server.db'}"


def _set_revision(uri: str, version_table: str, revision: str) -> None:
    with engines.get_engine(uri).begin() as conn:
        conn.execute(sa.text(f"UPDATE {version_table} SET version_num = :r"), {"r": revision})
    schema._schema_ready.clear()


def _mltrail(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mltrail.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_help(invoke: Invoke) -> None:
    assert "db" in invoke("--help").stdout
    result = invoke("db", "--help")
    assert result.exit_code == 0
    assert "upgrade" in result.stdout and "current" in result.stdout and "Examples" in result.stdout


def test_current_on_an_empty_database(invoke: Invoke, db_uri: str) -> None:
    result = invoke("db", "current", "--backend-store-uri", db_uri)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"tracking: absent (mltrail db upgrade creates it at {TRACKING_HEAD})",
        f"registry: absent (mltrail db upgrade creates it at {REGISTRY_HEAD})",
        f"auth: absent (mltrail db upgrade --auth creates it at {AUTH_HEAD})",
    ]


def test_upgrade_creates_then_reports_current(invoke: Invoke, db_uri: str) -> None:
    result = invoke("db", "upgrade", db_uri)  # MLflow's spelling: the URI as an argument
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"tracking: created at {TRACKING_HEAD}",
        f"registry: created at {REGISTRY_HEAD}",
        "auth: absent, left so (--auth creates it)",
    ]
    result = invoke("db", "upgrade", "--backend-store-uri", db_uri, "--auth")
    assert result.stdout.splitlines() == [
        f"tracking: {TRACKING_HEAD} (already current)",
        f"registry: {REGISTRY_HEAD} (already current)",
        f"auth: created at {AUTH_HEAD}",
    ]
    result = invoke("db", "current", db_uri, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"schema": "tracking", "revision": TRACKING_HEAD, "head": TRACKING_HEAD, "current": True, "newer": False},
        {"schema": "registry", "revision": REGISTRY_HEAD, "head": REGISTRY_HEAD, "current": True, "newer": False},
        {"schema": "auth", "revision": AUTH_HEAD, "head": AUTH_HEAD, "current": True, "newer": False},
    ]


def test_upgrade_from_an_older_revision(invoke: Invoke, db_uri: str) -> None:
    first = schema.revisions(tracking_migrations)[0]
    assert first != TRACKING_HEAD  # the tracking schema has had a migration since its first release
    schema.upgrade(engines.get_engine(db_uri), tracking_migrations, to=first)
    current = invoke("db", "current", "--backend-store-uri", db_uri)
    assert f"tracking: {first} (behind {TRACKING_HEAD}: run mltrail db upgrade)" in current.stdout
    result = invoke("db", "upgrade", "--backend-store-uri", db_uri, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[:2] == [
        {"schema": "tracking", "from": first, "to": TRACKING_HEAD, "changed": True},
        {"schema": "registry", "from": None, "to": REGISTRY_HEAD, "changed": True},
    ]
    assert "tracking: " + f"{TRACKING_HEAD} (current)" in invoke("db", "current", db_uri).stdout


def test_uri_is_required_once(invoke: Invoke, db_uri: str, tmp_path: Path) -> None:
    missing = invoke("db", "upgrade")
    assert missing.exit_code == 2 and "Missing the database URI" in missing.stderr
    other = f"sqlite:///{tmp_path / 'other.db'}"
    twice = invoke("db", "current", db_uri, "--backend-store-uri", other)
    assert twice.exit_code == 2 and "Give the database URI once" in twice.stderr
    same = invoke("db", "current", db_uri, "--backend-store-uri", db_uri)
    assert same.exit_code == 0


def test_unsupported_uri_is_one_line(invoke: Invoke, one_error_line: Callable[[Result], str]) -> None:
    assert "Invalid database engine: 'oracle'" in one_error_line(invoke("db", "current", "oracle://u@h/d"))


def test_a_newer_database_is_refused_and_left_alone(
    invoke: Invoke, db_uri: str, one_error_line: Callable[[Result], str]
) -> None:
    invoke("db", "upgrade", db_uri)
    _set_revision(db_uri, registry_migrations.VERSION_TABLE, FUTURE)
    line = one_error_line(invoke("db", "upgrade", db_uri, "--auth"))
    assert line == (
        f"Error: The database at {db_uri} has schema revision {FUTURE} of the registry store, newer than this "
        f"mltrail (knows up to {REGISTRY_HEAD}). Upgrade mltrail, or point it at another database."
    )
    assert not sa.inspect(engines.get_engine(db_uri)).has_table(auth_migrations.VERSION_TABLE)  # nothing done
    current = invoke("db", "current", db_uri)
    assert current.exit_code == 0
    assert f"registry: {FUTURE} (newer than this mltrail, which knows up to {REGISTRY_HEAD}" in current.stdout


@pytest.mark.parametrize("command", ["server", "db-upgrade"])
def test_processes_exit_with_one_line_on_a_newer_database(invoke: Invoke, db_uri: str, command: str) -> None:
    invoke("db", "upgrade", db_uri)
    _set_revision(db_uri, tracking_migrations.VERSION_TABLE, FUTURE)
    tmp = Path(db_uri.removeprefix("sqlite:///")).parent
    if command == "server":
        args = ["server", "--backend-store-uri", db_uri, "--port", "0", "--artifacts-destination", str(tmp / "a")]
    else:
        args = ["db", "upgrade", "--backend-store-uri", db_uri]
    done = _mltrail(*args, cwd=tmp)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert errors == [
        f"Error: The database at {db_uri} has schema revision {FUTURE} of the tracking store, newer than this "
        f"mltrail (knows up to {TRACKING_HEAD}). Upgrade mltrail, or point it at another database."
    ]
