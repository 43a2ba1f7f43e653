"""Database URIs -> SQLAlchemy engines, one per URI and process, and the transactions the stores run in.

SQLite runs in WAL mode with ``synchronous=NORMAL``, foreign keys on and a busy timeout; write transactions start
with ``BEGIN IMMEDIATE`` so concurrent writers wait for each other instead of failing. ``postgresql://`` uses
psycopg 3 and ``mysql://`` uses PyMySQL (READ COMMITTED, ``utf8mb4``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from mltrail import errors
from mltrail.store.sql.retries import detect_disconnects, mark_uncommitted

#: Execution option that marks a connection's transaction as a writer (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "mltrail_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}
_engines: dict[str, Engine] = {}
_autocommit_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_db_uri(db_uri: str) -> str:
    """Map a user's database URI to the driver mltrail uses.

    ``postgresql://`` -> ``postgresql+psycopg://``; ``mysql://`` and ``mariadb://`` -> ``mysql+pymysql://``;
    URIs that name a driver are kept.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported scheme.
    """
    scheme, sep, rest = db_uri.partition("://")
    if not sep:
        raise errors.invalid(f"Invalid database URI: '{db_uri}'")
    base, _, driver = scheme.partition("+")
    if base not in _SCHEMES:
        supported = ", ".join(sorted(_SCHEMES))
        raise errors.invalid(f"Invalid database engine: '{base}'. Supported database engines are {supported}")
    if driver:
        return db_uri if base != "mariadb" else f"mysql+{driver}://{rest}"
    return f"{_SCHEMES[base]}://{rest}"


def create_engine(db_uri: str) -> Engine:
    """Create a new engine for ``db_uri``, configured for mltrail's access pattern.

    Args:
        db_uri: ``sqlite:///path``, ``sqlite://`` (memory), ``postgresql://...``, ``mysql[+pymysql]://...``.

    Returns:
        A SQLAlchemy engine whose pool is safe to share across threads.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported URI.
    """
    url = make_url(normalize_db_uri(db_uri))
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    # pool_pre_ping costs one cheap round trip per checkout but replaces a connection the server dropped while it
    # sat in the pool before any work is sent on it. One lost during the work is retried by with_retries (which
    # knows whether COMMIT was sent, so a replay never applies a transaction twice).
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20, "pool_recycle": 3600}
    if backend == "mysql":
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
        kwargs["isolation_level"] = "READ COMMITTED"
    engine = sa.create_engine(url, **kwargs)
    detect_disconnects(engine)
    return engine


def get_engine(db_uri: str) -> Engine:
    """Return the process-wide engine for ``db_uri``, creating it on first use (in-memory SQLite excepted)."""
    if _is_memory(db_uri):
        return create_engine(db_uri)
    with _engines_lock:
        engine = _engines.get(db_uri)
        if engine is None:
            engine = _engines[db_uri] = create_engine(db_uri)
        return engine


def autocommit_engine(db_uri: str) -> Engine:
    """The process-wide autocommit engine for ``db_uri`` (PostgreSQL), created on first use.

    Reads and single-statement metric writes run on it (see :class:`~mltrail.store.sql.database.Database`). It is
    an engine of its own, not the main pool's connections switched to autocommit: that switch on every checkout
    and back on return, with ``pool_pre_ping``'s round trip, cost about a third of a single ``log-metric`` call's
    time in the store. Without the pre-ping a pooled connection the server has dropped fails on first use; the
    work is then run again on a fresh one, which is safe because only replayable work runs here.
    """
    with _engines_lock:
        engine = _autocommit_engines.get(db_uri)
        if engine is None:
            engine = _autocommit_engines[db_uri] = sa.create_engine(
                normalize_db_uri(db_uri),
                isolation_level="AUTOCOMMIT",
                pool_size=10,
                max_overflow=20,
                pool_recycle=3600,
            )
            detect_disconnects(engine)
        return engine


def _is_memory(db_uri: str) -> bool:
    return db_uri.startswith("sqlite") and (db_uri.rstrip("/").endswith(":") or ":memory:" in db_uri)


def _sqlite_engine(url: sa.URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(pool_size=8, max_overflow=16)
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below decide how transactions start.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# ------------------------------------------------------------------------------------------- transactions
@contextmanager
def _connect(engine: Engine) -> Iterator[Connection]:
    """``engine.connect()``, with a failure to connect marked as uncommitted (nothing was sent yet)."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        mark_uncommitted(exc)
        raise
    with conn:
        yield conn


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a write transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success.

    A database error raised in the block is marked with :func:`~mltrail.store.sql.retries.mark_uncommitted`, so
    ``with_retries`` knows a lost connection there left nothing applied; an error from the COMMIT itself is not
    (its outcome is unknown).
    """
    with _connect(engine) as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        committing = False
        try:
            with conn.begin():
                yield conn
                committing = True
        except DBAPIError as exc:
            if not committing:  # raised by the block, or by the rollback after it: COMMIT was never sent
                mark_uncommitted(exc)
            raise


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a read transaction, rolled back at the end."""
    with _connect(engine) as conn, conn.begin() as txn:
        yield conn
        txn.rollback()
