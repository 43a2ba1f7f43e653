"""Autocommit connections for reads and single-statement metric writes (PostgreSQL).

A metrics-only log call is one statement that is atomic by itself (see :mod:`._metrics`), so it runs without
``BEGIN``/``COMMIT``; reads run the same way (under READ COMMITTED each statement has its own snapshot in a
transaction too). They get their own engine, created in autocommit mode: a connection taken from the store's
main pool would switch its isolation level on every checkout and back on return, and pay ``pool_pre_ping``'s
round trip, together about a third of a single ``log-metric`` call's time in the store.

Without the pre-ping a pooled connection the server has dropped fails on first use, and a connection can be
killed under a running statement, whose self-commit then may or may not have happened. Either way the call is
run again on a fresh connection (:func:`db.with_retries` with ``replayable``, a few times with backoff). That is
safe because reads have no effect and the write is idempotent: an exactly repeated point is skipped, and the
summary merge only counts points that were actually inserted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from mltrail.store import db

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(db_uri: str) -> Engine:
    """The process-wide autocommit engine for ``db_uri`` (created on first use)."""
    with _lock:
        engine = _engines.get(db_uri)
        if engine is None:
            engine = _engines[db_uri] = sa.create_engine(
                db.normalize_db_uri(db_uri),
                isolation_level="AUTOCOMMIT",
                pool_size=10,
                max_overflow=20,
                pool_recycle=3600,
            )
            db.detect_disconnects(engine)
        return engine


def run(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """Run ``fn`` (reads, or one idempotent self-committing write) on an autocommit connection.

    Transient lock errors are retried as everywhere (:func:`db.with_retries`); a dropped connection is
    replaced and ``fn`` run again.
    """

    def attempt() -> T:
        with engine.connect() as conn:
            return fn(conn)

    return run_attempts(attempt)


def first_row(engine: Engine, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of one idempotent, self-committing statement, straight through the driver.

    For the hottest call (a single ``log-metric``): a SQLAlchemy connection and result around one statement
    cost about a tenth of it. Driver errors are raised as SQLAlchemy's :class:`DBAPIError` wrappers, so lock
    errors are retried (:func:`db.with_retries`) and a dropped connection is replaced, as in :func:`run`.
    """
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
            dropped = engine.dialect.is_disconnect(exc, raw.dbapi_connection, cursor) or db.is_disconnect_error(exc)
            if dropped:  # the server went away: its other pooled connections are likely dead too
                raw.invalidate(exc)
                engine.dispose()
            raise DBAPIError.instance(
                sql, params, exc, base_error, connection_invalidated=dropped, dialect=engine.dialect
            ) from exc
        finally:
            raw.close()

    return run_attempts(attempt)


def run_attempts(attempt: Callable[[], T]) -> T:
    """``attempt()`` (replayable: a read or an idempotent write) with :func:`db.with_retries`.

    Raises:
        MltrailError: TEMPORARILY_UNAVAILABLE when the database stays locked or unreachable through every try.
    """
    return db.with_retries(attempt, replayable=True)
