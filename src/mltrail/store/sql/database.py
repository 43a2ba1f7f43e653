"""The :class:`Database` every SQL store runs its transactions through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from mltrail.store.sql import engines, schema
from mltrail.store.sql.dialect import Dialect, dialect_of
from mltrail.store.sql.retries import is_disconnect_error, with_retries

T = TypeVar("T")


class Database:
    """One database as a store sees it: its engine and dialect, and how work runs on it.

    Every store call is one :meth:`read` or :meth:`write` of a function ``fn(conn)``, which may run more than
    once: transient lock errors are retried, and so is a lost connection when that cannot apply the work twice
    (see :func:`~mltrail.store.sql.retries.with_retries`). So ``fn`` must do nothing but database work.

    On PostgreSQL reads (and single-statement, idempotent writes: :meth:`autocommit`, :meth:`autocommit_row`) run
    on a pool of autocommit connections without ``BEGIN``, ``ROLLBACK`` or a pre-ping: under READ COMMITTED every
    statement sees its own snapshot, in a transaction or not, so they give the same answers for fewer round trips.
    A pooled connection the server dropped then fails on first use and the call runs again on a fresh one.

    Args:
        uri: ``sqlite:///path.db``, ``sqlite://`` (memory), ``postgresql://...`` or ``mysql[+pymysql]://...``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported URI.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        #: The main pool: transactions (pre-pinged on PostgreSQL and MySQL).
        self.engine: Engine = engines.get_engine(uri)
        self.dialect: Dialect = dialect_of(self.engine)
        #: The autocommit pool of :meth:`read` and :meth:`autocommit` (PostgreSQL only; None elsewhere).
        self.autocommit_engine: Engine | None = (
            engines.autocommit_engine(uri) if self.dialect.autocommit_reads else None
        )

    def ensure_schema(self, migrations: schema.Migrations) -> None:
        """Create or upgrade the tables of ``migrations`` (a no-op once its version table says head)."""
        schema.ensure_schema(self.engine, migrations)

    def write(self, fn: Callable[[Connection], T], *, replayable: bool = False) -> T:
        """Run ``fn`` in one write transaction (``BEGIN IMMEDIATE`` on SQLite), committed when it returns.

        Retried on lock errors and on a connection lost before COMMIT. ``replayable`` work (running it twice does
        what running it once does) is also retried when the connection was lost during COMMIT, whose outcome is
        unknown; other work then fails with DEADLINE_EXCEEDED.

        Raises:
            MltrailError: TEMPORARILY_UNAVAILABLE when retries run out; DEADLINE_EXCEEDED (see above).
        """
        engine = self.engine

        def attempt() -> T:
            with engines.write_transaction(engine) as conn:
                return fn(conn)

        return with_retries(attempt, replayable=replayable)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` (reads only): on an autocommit connection on PostgreSQL, else in a rolled-back transaction.

        Retried on lock errors and lost connections.

        Raises:
            MltrailError: TEMPORARILY_UNAVAILABLE when retries run out.
        """
        if self.autocommit_engine is not None:
            return self.autocommit(fn)
        engine = self.engine

        def attempt() -> T:
            with engines.read_transaction(engine) as conn:
                return fn(conn)

        return with_retries(attempt, replayable=True)

    def autocommit(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` (reads, or one idempotent self-committing statement) on an autocommit connection.

        PostgreSQL only (:attr:`Dialect.autocommit_reads`). A dropped connection is replaced and ``fn`` run again.
        """
        engine = self._autocommit()

        def attempt() -> T:
            with engine.connect() as conn:
                return fn(conn)

        return with_retries(attempt, replayable=True)

    def autocommit_row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of one idempotent, self-committing statement, straight through the driver.

        For the hottest call (a single ``log-metric``): a SQLAlchemy connection and result around one statement
        cost about a tenth of it. Driver errors are raised as SQLAlchemy's :class:`DBAPIError` wrappers, so lock
        errors are retried and a dropped connection is replaced, as in :meth:`autocommit`. PostgreSQL only.
        """
        engine = self._autocommit()
        base_error = engine.dialect.loaded_dbapi.Error

        def attempt() -> tuple[Any, ...] | None:
            raw = engine.raw_connection()
            cursor = None
            try:
                cursor = raw.cursor()
                cursor.execute(sql, params)
                row = cursor.fetchone()
                cursor.close()
                return row  # type: ignore[no-any-return]
            except base_error as exc:
                dropped = engine.dialect.is_disconnect(exc, raw.dbapi_connection, cursor) or is_disconnect_error(exc)
                if dropped:  # the server went away: its other pooled connections are likely dead too
                    raw.invalidate(exc)
                    engine.dispose()
                raise DBAPIError.instance(
                    sql, params, exc, base_error, connection_invalidated=dropped, dialect=engine.dialect
                ) from exc
            finally:
                raw.close()

        return with_retries(attempt, replayable=True)

    def _autocommit(self) -> Engine:
        if self.autocommit_engine is None:
            raise RuntimeError(f"{self.dialect.name} has no autocommit pool (PostgreSQL only)")
        return self.autocommit_engine
