"""What differs between SQLite, PostgreSQL and MySQL/MariaDB: upserts, insert-or-ignore, LIKE, infinities."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

#: MySQL cannot store infinities in DOUBLE columns; they are stored as the largest finite doubles.
_DOUBLE_MAX = 1.7976931348623157e308


def dialect_name(conn: Connection) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB reports ``mysql`` through PyMySQL)."""
    name = conn.dialect.name
    return "mysql" if name == "mariadb" else name


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert ``rows``; where a row with the same key exists, overwrite ``update_columns`` (one statement).

    Rows must not repeat a key (PostgreSQL rejects touching one row twice in a statement).
    """
    if not rows:
        return
    name = dialect_name(conn)
    if name == "mysql":
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update_columns})
    else:
        module = postgresql if name == "postgresql" else sqlite
        stmt = module.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns), set_={c: stmt.excluded[c] for c in update_columns}
        )
    conn.execute(stmt, list(rows))


def insert_ignore(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], any_column: str) -> None:
    """Insert ``rows``, silently skipping those whose primary key already exists."""
    if not rows:
        return
    name = dialect_name(conn)
    if name == "mysql":
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update({any_column: table.c[any_column]})
    else:
        module = postgresql if name == "postgresql" else sqlite
        stmt = module.insert(table).on_conflict_do_nothing()
    conn.execute(stmt, list(rows))


def like(column: ColumnElement[Any], pattern: str, dialect: str) -> ColumnElement[bool]:
    """A case-sensitive ``LIKE`` on every backend.

    PostgreSQL's LIKE is case-sensitive, and mltrail's MySQL columns use a binary collation. SQLite's LIKE
    ignores ASCII case, so there the pattern becomes an equivalent (case-sensitive) GLOB.
    """
    if dialect == "sqlite":
        return column.op("GLOB")(like_to_glob(pattern))
    return column.like(pattern)


def ilike(column: ColumnElement[Any], pattern: str, dialect: str) -> ColumnElement[bool]:
    """A case-insensitive ``LIKE`` on every backend."""
    if dialect == "postgresql":
        return column.ilike(pattern)
    return sa.func.lower(column).like(pattern.lower())


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``) to a SQLite GLOB pattern matching the same strings."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def store_float(value: float, dialect: str) -> tuple[float, bool]:
    """A metric value as stored: ``(value, is_nan)``; NaN stores 0, and MySQL stores +/-Inf as +/-max double."""
    if math.isnan(value):
        return 0.0, True
    if dialect == "mysql" and math.isinf(value):
        return (_DOUBLE_MAX if value > 0 else -_DOUBLE_MAX), False
    return float(value), False


def load_float(value: float | None, is_nan: bool, dialect: str) -> float:
    """The inverse of :func:`store_float`."""
    if is_nan:
        return math.nan
    if value is None:
        return math.nan
    if dialect == "mysql" and abs(value) >= _DOUBLE_MAX:
        return math.inf if value > 0 else -math.inf
    return float(value)


def needs_load_float(dialect: str) -> bool:
    """Whether a stored non-NaN metric value needs :func:`load_float` (MySQL's clamped infinities)."""
    return dialect == "mysql"


def clamp_for_dialect(value: float | None, dialect: str) -> float | None:
    """Keep an aggregate storable: MySQL cannot hold infinities, so they become +/-max double."""
    if value is None or dialect != "mysql" or not math.isinf(value):
        return value
    return _DOUBLE_MAX if value > 0 else -_DOUBLE_MAX


def merges_metrics_in_one_statement(dialect: str) -> bool:
    """Whether metric points and their summaries can be written in one statement (data-modifying CTEs).

    PostgreSQL only: SQLite lacks ``unnest`` and writable CTEs (and has no round trips to save); MySQL's
    ``ON DUPLICATE KEY UPDATE`` assigns columns left to right, each seeing the previous ones' new values.
    """
    return dialect == "postgresql"


def dialect_name_for_engine(engine: sa.Engine) -> str:
    """Like :func:`dialect_name`, for an engine."""
    name = engine.dialect.name
    return "mysql" if name == "mariadb" else name


_PYFORMAT_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _pg_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value >= 0 else f"({value})"  # "-%(x)s" must not become a "--" comment
    if isinstance(value, float):
        if math.isnan(value):
            return "'NaN'::float8"
        if math.isinf(value):
            return "'Infinity'::float8" if value > 0 else "'-Infinity'::float8"
        return f"'{value!r}'::float8"
    if isinstance(value, str) and "\x00" not in value:
        # An escape string literal reads backslashes the same whatever standard_conforming_strings says.
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    raise TypeError(type(value).__name__)


def pg_inline_literals(sql: str, params: Mapping[str, Any]) -> str | None:
    """``sql`` (psycopg ``%(name)s`` placeholders) with every parameter written in as a PostgreSQL literal.

    PostgreSQL plans a prepared statement without parameters once and reuses the plan, where a parameterized one
    is planned again on every execution (its generic plan cannot see the values, and for searches it is far
    worse). The result is meant to be executed without parameters (``%%`` is turned back into ``%``). None when a
    value has no safe literal form (then the statement keeps its parameters).
    """
    try:
        return _PYFORMAT_PLACEHOLDER.sub(lambda m: _pg_literal(params[m.group(1)]) if m.group(1) else "%", sql)
    except (TypeError, KeyError):
        return None
