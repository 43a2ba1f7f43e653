"""What differs between SQLite, PostgreSQL and MySQL/MariaDB: upserts, LIKE, autocommit, infinities, locks.

A :class:`Dialect` is a property of a :class:`~mltrail.store.sql.database.Database` (``db.dialect``), one shared
instance per backend: code asks it (``dialect.upsert(...)``, ``dialect.like(...)``) instead of comparing names.
Row locks need no dialect: ``select(...).with_for_update()`` compiles to nothing on SQLite, whose write
transactions (``BEGIN IMMEDIATE``) already run one at a time. A database-wide lock does
(:meth:`Dialect.exclusive`: an advisory lock, ``GET_LOCK`` or SQLite's write lock), for schema migrations that
several server replicas would otherwise start at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from mltrail import errors
from mltrail.store.sql.engines import SQLITE_BUSY_TIMEOUT_MS, WRITE_OPTION

#: MySQL cannot store infinities in DOUBLE columns; they are stored as the largest finite doubles.
_DOUBLE_MAX = 1.7976931348623157e308


class Dialect:
    """The behaviour of one backend. Subclasses: :class:`SQLite`, :class:`PostgreSQL`, :class:`MySQL`."""

    __slots__ = ()

    #: ``sqlite``, ``postgresql`` or ``mysql`` (MariaDB included).
    name: str = ""
    #: Whether reads and single-statement writes run on an autocommit pool (see ``Database.read``).
    autocommit_reads: bool = False
    #: Whether metric points and their summaries are written in one statement (data-modifying CTEs, ``unnest``).
    #: Not SQLite (neither feature, and no round trips to save) nor MySQL (``ON DUPLICATE KEY UPDATE`` assigns
    #: columns left to right, each seeing the previous ones' new values).
    merges_metrics_in_one_statement: bool = False
    #: Whether stored infinities are clamped to +/-max double (MySQL), so loaded values need :meth:`load_float`.
    clamps_infinities: bool = False
    _insert: Callable[[sa.Table], Any] = staticmethod(sqlite.insert)

    def __repr__(self) -> str:
        return f"<Dialect {self.name}>"

    def upsert(
        self,
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
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns), set_={c: stmt.excluded[c] for c in update_columns}
        )
        conn.execute(stmt, list(rows))

    def insert_ignore(
        self, conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], any_column: str
    ) -> None:
        """Insert ``rows``, silently skipping those whose primary key already exists."""
        if rows:
            conn.execute(self._insert(table).on_conflict_do_nothing(), list(rows))

    def like(self, column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        """A case-sensitive ``LIKE`` (PostgreSQL's is; mltrail's MySQL columns use a binary collation)."""
        return column.like(pattern)

    def ilike(self, column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        """A case-insensitive ``LIKE``."""
        return sa.func.lower(column).like(pattern.lower())

    def store_float(self, value: float) -> tuple[float, bool]:
        """A metric value as stored: ``(value, is_nan)``; NaN stores 0."""
        if math.isnan(value):
            return 0.0, True
        return float(value), False

    def load_float(self, value: float | None, is_nan: bool) -> float:
        """The inverse of :meth:`store_float` (NULL loads as NaN)."""
        if is_nan or value is None:
            return math.nan
        return float(value)

    def clamp(self, value: float | None) -> float | None:
        """Keep an aggregate storable (see :meth:`MySQL.clamp`)."""
        return value

    @contextlib.contextmanager
    def exclusive(self, engine: Engine, name: str, timeout_s: float) -> Iterator[Connection]:
        """A connection in a write transaction that holds the database-wide lock ``name`` (commits on success).

        Other processes, on any host, that ask for the same lock on the same database wait until the transaction
        ends. On SQLite the lock is the database's write lock (``BEGIN IMMEDIATE``, waiting up to ``timeout_s``
        instead of the usual busy timeout), so nothing else writes meanwhile.

        Raises:
            MltrailError: TEMPORARILY_UNAVAILABLE when the lock is still held by another after ``timeout_s``.
        """
        with engine.connect() as conn:
            timeout_ms = max(1, int(timeout_s * 1000))
            conn.exec_driver_sql(f"PRAGMA busy_timeout={timeout_ms}")
            conn.commit()  # the PRAGMA began a (read) transaction of its own
            try:
                conn.execution_options(**{WRITE_OPTION: True})
                try:
                    txn = conn.begin()
                except DBAPIError as exc:
                    if "locked" not in str(exc.orig):
                        raise
                    raise _lock_timeout(name, timeout_s) from exc
                with txn:
                    yield conn
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class SQLite(Dialect):
    """SQLite: its LIKE ignores ASCII case."""

    __slots__ = ()
    name = "sqlite"

    def like(self, column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        """A case-sensitive match: the LIKE pattern as an equivalent ``GLOB``."""
        return column.op("GLOB")(like_to_glob(pattern))


class PostgreSQL(Dialect):
    """PostgreSQL: autocommit reads, metric writes in one statement, a native ``ILIKE``."""

    __slots__ = ()
    name = "postgresql"
    autocommit_reads = True
    merges_metrics_in_one_statement = True
    _insert = staticmethod(postgresql.insert)

    def ilike(self, column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        """``ILIKE``."""
        return column.ilike(pattern)

    @contextlib.contextmanager
    def exclusive(self, engine: Engine, name: str, timeout_s: float) -> Iterator[Connection]:
        """See :meth:`Dialect.exclusive`: ``pg_advisory_xact_lock``, released when the transaction ends.

        Advisory locks belong to one database, so ``name`` need not say which; it is hashed to the lock's 64-bit key.
        """
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(timeout_s * 1000))}")
            try:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                raise _lock_timeout(name, timeout_s) from exc
            conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
            yield conn


class MySQL(Dialect):
    """MySQL and MariaDB: ``ON DUPLICATE KEY UPDATE``, and infinities stored as +/-max double."""

    __slots__ = ()
    name = "mysql"
    clamps_infinities = True

    def upsert(
        self,
        conn: Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        key_columns: Sequence[str],
        update_columns: Sequence[str],
    ) -> None:
        """See :meth:`Dialect.upsert` (the key is the table's primary or unique key here)."""
        if not rows:
            return
        stmt = mysql.insert(table)
        conn.execute(stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update_columns}), list(rows))

    def insert_ignore(
        self, conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], any_column: str
    ) -> None:
        """See :meth:`Dialect.insert_ignore` (a duplicate sets ``any_column`` to itself)."""
        if rows:
            stmt = mysql.insert(table).on_duplicate_key_update({any_column: table.c[any_column]})
            conn.execute(stmt, list(rows))

    def store_float(self, value: float) -> tuple[float, bool]:
        """As :meth:`Dialect.store_float`, with +/-Inf stored as +/-max double."""
        if math.isnan(value):
            return 0.0, True
        if math.isinf(value):
            return (_DOUBLE_MAX if value > 0 else -_DOUBLE_MAX), False
        return float(value), False

    def load_float(self, value: float | None, is_nan: bool) -> float:
        """As :meth:`Dialect.load_float`, with +/-max double loaded as +/-Inf."""
        if is_nan or value is None:
            return math.nan
        if abs(value) >= _DOUBLE_MAX:
            return math.inf if value > 0 else -math.inf
        return float(value)

    def clamp(self, value: float | None) -> float | None:
        """MySQL cannot hold infinities: they become +/-max double."""
        if value is None or not math.isinf(value):
            return value
        return _DOUBLE_MAX if value > 0 else -_DOUBLE_MAX

    @contextlib.contextmanager
    def exclusive(self, engine: Engine, name: str, timeout_s: float) -> Iterator[Connection]:
        """See :meth:`Dialect.exclusive`: ``GET_LOCK``, held by the session until ``RELEASE_LOCK``.

        Such locks are server-wide, so the lock's name includes the database's (hashed when over MySQL's 64
        characters). DDL commits by itself here: the lock, not the transaction, keeps other processes out.
        """
        full = f"{name}:{engine.url.database or ''}"
        lock = full if len(full) <= 64 else f"{name[:23]}:{hashlib.sha256(full.encode()).hexdigest()[:40]}"
        with engine.connect() as conn:
            params = {"name": lock, "timeout": int(timeout_s)}
            got = conn.execute(sa.text("SELECT GET_LOCK(:name, :timeout)"), params).scalar()
            conn.commit()
            if got != 1:
                raise _lock_timeout(name, timeout_s)
            try:
                with conn.begin():
                    yield conn
            finally:
                with contextlib.suppress(DBAPIError):  # a lost session has released its locks already
                    conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": lock})
                    conn.commit()


def _lock_timeout(name: str, timeout_s: float) -> errors.MltrailError:
    return errors.MltrailError(
        f"Gave up after {timeout_s:g} s waiting for the database lock '{name}' (another process holds it).",
        errors.TEMPORARILY_UNAVAILABLE,
    )


SQLITE, POSTGRESQL, MYSQL = SQLite(), PostgreSQL(), MySQL()
_BY_NAME: dict[str, Dialect] = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "mysql": MYSQL, "mariadb": MYSQL}


def dialect_of(bind: Engine | Connection) -> Dialect:
    """The :class:`Dialect` of an engine or connection (MariaDB is :data:`MYSQL`)."""
    return _BY_NAME[bind.dialect.name]


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
