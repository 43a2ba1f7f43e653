"""Registry store fixtures: ``registry_store`` on SQLite, PostgreSQL and MySQL/MariaDB.

The registry shares the tracking database, but these tests get databases of their own per backend (so the
tracking schema checks never see registry tables); each test starts with every table emptied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mltrail.store.registry.sql import tables as registry_tables
from mltrail.store.registry.sql.store import SqlRegistryStore
from mltrail.store.sql import engines
from mltrail.store.tracking.sql import tables as tracking_tables
from mltrail.store.tracking.sql.store import SqlTrackingStore
from tests.store.cleanup import empty_tables
from tests.store.conftest import MYSQL_ADMIN_URI, PG_ADMIN_URI, _server_database, _unique_name

BACKENDS = ("sqlite", "postgresql", "mysql")


@pytest.fixture(scope="session")
def registry_sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / (_unique_name() + '.db')}"


@pytest.fixture(scope="session")
def registry_postgresql_uri() -> Iterator[str]:
    yield from _server_database(PG_ADMIN_URI, "postgresql")


@pytest.fixture(scope="session")
def registry_mysql_uri() -> Iterator[str]:
    yield from _server_database(MYSQL_ADMIN_URI, "mysql")


@pytest.fixture(params=BACKENDS)
def registry_db_uri(request: pytest.FixtureRequest) -> str:
    """This session's registry database for the parametrized backend, emptied for this test."""
    uri: str = request.getfixturevalue(f"registry_{request.param}_uri")
    if sa.inspect(engines.get_engine(uri)).has_table("registered_models"):
        empty_tables(uri, registry_tables.metadata, tracking_tables.metadata)
    return uri


@pytest.fixture
def registry_tracking_store(registry_db_uri: str, tmp_path: Path) -> SqlTrackingStore:
    """A tracking store on the registry's database (to log models that versions are made from)."""
    return SqlTrackingStore(registry_db_uri, str(tmp_path / "artifacts"))


@pytest.fixture
def registry_store(registry_db_uri: str, registry_tracking_store: SqlTrackingStore) -> SqlRegistryStore:
    """A :class:`SqlRegistryStore` on an empty database of each backend."""
    return SqlRegistryStore(registry_db_uri)
