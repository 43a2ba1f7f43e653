"""The :class:`~mltrail.store.sql.database.Database` seam on SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail.entities import Metric
from mltrail.store.sql.columns import string, table, text
from mltrail.store.sql.database import Database
from mltrail.store.tracking.sql import migrations
from mltrail.store.tracking.sql._metrics import one_point_statement

_metadata = sa.MetaData()
_items = table(
    _metadata,
    "mltrail_test_seam_items",
    sa.Column("key", string(50), primary_key=True),
    sa.Column("value", text()),
)


@pytest.fixture
def db(db_uri: str) -> Iterator[Database]:
    database = Database(db_uri)
    _metadata.create_all(database.engine)
    try:
        yield database
    finally:
        _metadata.drop_all(database.engine)


def _values(db: Database) -> dict[str, str]:
    return dict(db.read(lambda conn: conn.execute(sa.select(_items.c.key, _items.c.value)).all()))


def test_a_write_commits_and_a_failed_one_leaves_nothing(db: Database) -> None:
    db.write(lambda conn: conn.execute(_items.insert(), [{"key": "a", "value": "1"}]))

    def half(conn: Connection) -> None:
        conn.execute(_items.insert(), [{"key": "b", "value": "2"}])
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        db.write(half)
    assert _values(db) == {"a": "1"}


def test_upsert_and_insert_ignore(db: Database) -> None:
    def write(conn: Connection) -> None:
        db.dialect.upsert(conn, _items, [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}], ["key"], ["value"])
        db.dialect.upsert(conn, _items, [{"key": "a", "value": "3"}], ["key"], ["value"])
        db.dialect.insert_ignore(conn, _items, [{"key": "b", "value": "4"}, {"key": "c", "value": "5"}], "value")
        db.dialect.upsert(conn, _items, [], ["key"], ["value"])

    db.write(write)
    assert _values(db) == {"a": "3", "b": "2", "c": "5"}


def test_like_is_case_sensitive_and_ilike_is_not(db: Database) -> None:
    db.write(lambda conn: conn.execute(_items.insert(), [{"key": k, "value": ""} for k in ("Abc", "abc", "a_c")]))

    def keys(condition: sa.ColumnElement[bool]) -> list[str]:
        return sorted(db.read(lambda conn: conn.execute(sa.select(_items.c.key).where(condition)).scalars().all()))

    assert keys(db.dialect.like(_items.c.key, "A%")) == ["Abc"]
    assert keys(db.dialect.like(_items.c.key, "a_c")) == ["a_c", "abc"]
    assert keys(db.dialect.ilike(_items.c.key, "ABC")) == ["Abc", "abc"]


def test_reads_run_on_the_autocommit_pool_only_on_postgresql(db: Database) -> None:
    seen = db.read(lambda conn: (conn.engine, conn.in_transaction()))
    if db.dialect.autocommit_reads:
        assert db.autocommit_engine is not None and seen == (db.autocommit_engine, False)
    else:
        assert db.autocommit_engine is None and seen == (db.engine, True)
        with pytest.raises(RuntimeError, match="no autocommit pool"):
            db.autocommit(lambda conn: None)


def test_autocommit_statements_commit_by_themselves(db: Database) -> None:
    if not db.dialect.autocommit_reads:
        pytest.skip("PostgreSQL only")
    db.autocommit(lambda conn: conn.execute(_items.insert(), [{"key": "a", "value": "1"}]))
    assert _values(db) == {"a": "1"}
    db.ensure_schema(migrations)
    sql, params = one_point_statement("no-such-run", Metric("m", 1.0, 1, 0))
    assert db.autocommit_row(sql, params) is None  # an unknown run: no row, nothing written
