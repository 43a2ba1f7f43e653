"""The SQL tracking schema: Alembic migrations match ``tables.py``, and opening a current schema is cheap."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mltrail.store.sql import engines, schema
from mltrail.store.tracking.sql import migrations
from mltrail.store.tracking.sql.store import SqlTrackingStore
from mltrail.store.tracking.sql.tables import metadata


def _relevant(diff: object) -> bool:
    # Type spellings differ per backend (FLOAT(53) vs DOUBLE); tables, columns, keys and indexes must match.
    return not (isinstance(diff, list) and diff and diff[0][0] == "modify_type")


def test_migrations_match_tables(tracking_store: SqlTrackingStore) -> None:
    with tracking_store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE})
        diffs = [d for d in compare_metadata(context, metadata) if _relevant(d)]
    assert diffs == []


def test_version_table_records_head(tracking_store: SqlTrackingStore) -> None:
    assert schema.current_revision(tracking_store.engine, migrations.VERSION_TABLE) == migrations.HEAD


def test_opening_a_current_schema_skips_alembic(db_uri: str, tmp_path: object) -> None:
    SqlTrackingStore(db_uri, str(tmp_path))
    schema._schema_ready.clear()
    start = time.perf_counter()
    store = SqlTrackingStore(db_uri, str(tmp_path))
    assert time.perf_counter() - start < 0.5
    assert store.get_experiment("0").name == "Default"


def test_fresh_sqlite_file_gets_schema_and_default_experiment(tmp_path: object) -> None:
    uri = f"sqlite:///{tmp_path}/fresh.db"
    store = SqlTrackingStore(uri, str(tmp_path))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == engines.SQLITE_BUSY_TIMEOUT_MS
    assert store.get_experiment("0").artifact_location == f"{tmp_path}/0"
    assert set(sa.inspect(store.engine).get_table_names()) >= {t.name for t in metadata.sorted_tables}


def test_in_memory_sqlite() -> None:
    store = SqlTrackingStore("sqlite://", "s3://bucket/root")
    exp_id = store.create_experiment("mem")
    assert store.get_experiment(exp_id).artifact_location == f"s3://bucket/root/{exp_id}"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("mysql://u@h/d", "mysql+pymysql://u@h/d"),
        ("mysql+pymysql://u@h/d", "mysql+pymysql://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_db_uri(uri: str, expected: str) -> None:
    assert engines.normalize_db_uri(uri) == expected


def test_unsupported_db_uri() -> None:
    from mltrail.errors import MltrailError

    with pytest.raises(MltrailError, match="Invalid database engine: 'oracle'"):
        engines.normalize_db_uri("oracle://u@h/d")
