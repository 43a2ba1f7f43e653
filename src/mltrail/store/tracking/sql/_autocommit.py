"""Autocommit connections for the single-statement metric writes (PostgreSQL).

A metrics-only log call is one statement that is atomic by itself (see :mod:`._metrics`), so it runs without
``BEGIN``/``COMMIT``. It gets its own engine, created in autocommit mode: a connection taken from the store's
main pool would switch its isolation level on every checkout and back on return, and pay ``pool_pre_ping``'s
round trip, together about a third of a single ``log-metric`` call's time in the store.

Without the pre-ping a pooled connection the server has dropped fails on first use; the statement is then run
once more on a fresh connection. That is safe because the write is idempotent: an exactly repeated point is
skipped, and the summary merge only counts points that were actually inserted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

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
        return engine


def run(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """Run ``fn`` (one idempotent, self-committing statement) on an autocommit connection.

    Transient lock errors are retried as everywhere (:func:`db.with_retries`); a dropped connection is
    replaced and ``fn`` run once more.
    """

    def attempt() -> T:
        with engine.connect() as conn:
            return fn(conn)

    try:
        return db.with_retries(attempt)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return db.with_retries(attempt)
