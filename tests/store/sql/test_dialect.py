"""The per-backend behaviour of :mod:`mltrail.store.sql.dialect`, without a database."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from mltrail.store.sql.dialect import (
    MYSQL,
    POSTGRESQL,
    SQLITE,
    Dialect,
    dialect_of,
    like_to_glob,
    pg_inline_literals,
)

_column = sa.column("name", sa.String)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", SQLITE),
        ("postgresql+psycopg://u@h/d", POSTGRESQL),
        ("mysql+pymysql://u@h/d", MYSQL),
        ("mariadb+pymysql://u@h/d", MYSQL),
    ],
)
def test_dialect_of_an_engine(url: str, expected: Dialect) -> None:
    assert dialect_of(sa.create_engine(url)) is expected  # no connection is made


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [("a%", "a*"), ("_b", "?b"), ("100%_*", "100*?[*]"), ("x[y]?", "x[[]y][?]"), ("plain", "plain")],
)
def test_like_to_glob(pattern: str, glob: str) -> None:
    assert like_to_glob(pattern) == glob


def test_sqlite_like_is_a_case_sensitive_glob() -> None:
    sql = str(SQLITE.like(_column, "Ab%").compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert sql == "name GLOB 'Ab*'"
    assert "LIKE" in str(POSTGRESQL.like(_column, "Ab%")) and "LIKE" in str(MYSQL.like(_column, "Ab%"))


def test_ilike() -> None:
    assert "ILIKE" in str(POSTGRESQL.ilike(_column, "Ab%").compile(dialect=sa.dialects.postgresql.dialect()))
    for dialect in (SQLITE, MYSQL):
        assert str(dialect.ilike(_column, "Ab%")) == "lower(name) LIKE :lower_1"


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL, MYSQL], ids=lambda d: d.name)
def test_floats_round_trip(dialect: Dialect) -> None:
    for value in (0.0, -1.5, 1e300, math.inf, -math.inf):
        stored, is_nan = dialect.store_float(value)
        assert not is_nan and dialect.load_float(stored, False) == value
    assert dialect.store_float(math.nan) == (0.0, True)
    assert math.isnan(dialect.load_float(0.0, True))
    assert math.isnan(dialect.load_float(None, False))


def test_mysql_stores_infinities_as_the_largest_doubles() -> None:
    assert MYSQL.store_float(math.inf) == (1.7976931348623157e308, False)
    assert MYSQL.clamp(-math.inf) == -1.7976931348623157e308
    assert MYSQL.clamps_infinities and not POSTGRESQL.clamps_infinities
    assert POSTGRESQL.store_float(math.inf) == (math.inf, False) and POSTGRESQL.clamp(math.inf) == math.inf


def test_only_postgresql_reads_in_autocommit_and_merges_metrics_in_one_statement() -> None:
    assert [d.autocommit_reads for d in (SQLITE, POSTGRESQL, MYSQL)] == [False, True, False]
    assert [d.merges_metrics_in_one_statement for d in (SQLITE, POSTGRESQL, MYSQL)] == [False, True, False]


def test_pg_inline_literals() -> None:
    sql = "SELECT %(a)s, -%(b)s, %(c)s, %(d)s, %(e)s WHERE x LIKE 'a%%'"
    params = {"a": "it's a \\ test", "b": -3, "c": 1.5, "d": math.nan, "e": True}
    assert pg_inline_literals(sql, params) == (
        "SELECT E'it''s a \\\\ test', -(-3), '1.5'::float8, 'NaN'::float8, true WHERE x LIKE 'a%'"
    )
    assert pg_inline_literals("SELECT %(a)s", {"a": "nul\x00"}) is None  # no safe literal: keep the parameter
    assert pg_inline_literals("SELECT %(a)s", {"a": b"bytes"}) is None
    assert pg_inline_literals("SELECT %(a)s", {}) is None
