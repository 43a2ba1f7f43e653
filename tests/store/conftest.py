"""Store fixtures: ``tracking_store`` runs each test on SQLite, PostgreSQL and MySQL/MariaDB.

Each test session creates its own database per backend (``mltrail_t_<pid>_<random>``) and drops it at the
end; each test starts from an empty schema (every table emptied, then the store recreates the Default
experiment), so parallel sessions never collide. A server that cannot be reached is skipped with the reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mltrail.store.sql import engines
from mltrail.store.tracking.base import TrackingStore
from mltrail.store.tracking.sql.store import SqlTrackingStore
from mltrail.store.tracking.sql.tables import metadata
from tests.store.cleanup import empty_tables

PG_ADMIN_URI = os.environ.get("MLTRAIL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URI = os.environ.get("MLTRAIL_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
BACKENDS = ("sqlite", "postgresql", "mysql")


def _unique_name() -> str:
    return f"mltrail_t_{os.getpid()}_{secrets.token_hex(4)}"


def _server_database(admin_uri: str, backend: str) -> Iterator[str]:
    """Create a fresh database on a server, yield its URI, drop it afterwards (or skip if unreachable)."""
    name = _unique_name()
    try:
        admin = sa.create_engine(engines.normalize_db_uri(admin_uri), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as exc:
        reason = f"{backend} server at {admin_uri} is unreachable: {type(exc).__name__}: {exc}"
        if os.environ.get("MLTRAIL_TEST_REQUIRE_DBS"):  # CI: a missing database is a failure, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    uri = str(sa.make_url(admin_uri).set(database=name).render_as_string(hide_password=False))
    try:
        yield uri
    finally:
        engines.get_engine(uri).dispose()
        with admin.connect() as conn:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / f"{_unique_name()}.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgresql_uri() -> Iterator[str]:
    yield from _server_database(PG_ADMIN_URI, "postgresql")


@pytest.fixture(scope="session")
def mysql_uri() -> Iterator[str]:
    yield from _server_database(MYSQL_ADMIN_URI, "mysql")


@pytest.fixture(params=BACKENDS)
def db_uri(request: pytest.FixtureRequest) -> str:
    """The URI of this session's database for the parametrized backend, emptied for this test."""
    uri: str = request.getfixturevalue(f"{request.param}_uri")
    if sa.inspect(engines.get_engine(uri)).has_table("experiments"):
        empty_tables(uri, metadata)
    return uri


@pytest.fixture
def store_factory(db_uri: str, tmp_path: Path) -> Callable[[], TrackingStore]:
    """Make another store on the same database (several stores share one database in real use)."""
    root = str(tmp_path / "artifacts")
    return lambda: SqlTrackingStore(db_uri, root)


@pytest.fixture
def tracking_store(store_factory: Callable[[], TrackingStore]) -> TrackingStore:
    """A :class:`SqlTrackingStore` on an empty database of each backend."""
    return store_factory()
