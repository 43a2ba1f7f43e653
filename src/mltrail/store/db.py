"""Database engines for the SQL stores: URI -> SQLAlchemy engine, schema upgrades, retries.

Shared by the tracking and registry stores. SQLite runs in WAL mode with ``synchronous=NORMAL``, foreign keys
on and a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers wait for each
other instead of failing. ``postgresql://`` uses psycopg 3 and ``mysql://`` uses PyMySQL. The schema is created
or upgraded with Alembic on first use; when the version table already says head, Alembic is not loaded at all.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from mltrail.errors import DEADLINE_EXCEEDED, INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE, MltrailError

_logger = logging.getLogger(__name__)

T = TypeVar("T")

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
_engines_lock = threading.Lock()
_schema_ready: set[tuple[str, str]] = set()


def normalize_db_uri(db_uri: str) -> str:
    """Map a user's database URI to the driver mltrail uses.

    ``postgresql://`` -> ``postgresql+psycopg://``; ``mysql://`` and ``mariadb://`` -> ``mysql+pymysql://``;
    URIs that name a driver are kept.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported scheme.
    """
    scheme, sep, rest = db_uri.partition("://")
    if not sep:
        raise MltrailError(f"Invalid database URI: '{db_uri}'", INVALID_PARAMETER_VALUE)
    base, _, driver = scheme.partition("+")
    if base not in _SCHEMES:
        supported = ", ".join(sorted(_SCHEMES))
        raise MltrailError(
            f"Invalid database engine: '{base}'. Supported database engines are {supported}",
            INVALID_PARAMETER_VALUE,
        )
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


# ------------------------------------------------------------------------------------------------ retries
#: PostgreSQL SQLSTATEs of a lost connection: the 08 class, and the server shutting the session down
#: (57P01 ``terminating connection due to administrator command`` from pg_terminate_backend or a fast shutdown,
#: 57P02 crash shutdown, 57P03 cannot connect now).
_PG_DISCONNECT_STATES = ("57P01", "57P02", "57P03")
#: MySQL/MariaDB error numbers of a lost connection: server shutdown in progress, connection killed (``KILL``),
#: cannot connect, server has gone away, lost connection during query, commands out of sync, client-side variants.
_MYSQL_DISCONNECT_CODES = (1053, 1927, 2003, 2006, 2013, 2014, 2045, 2055, 4031)
_DISCONNECT_TEXT = (
    "terminating connection",
    "server closed the connection",
    "connection is closed",
    "connection already closed",
    "the connection is lost",
    "lost connection",
    "server has gone away",
    "connection was killed",
    "connection refused",
    "could not connect",
)
#: Attribute set on an error raised before a transaction's COMMIT was sent: nothing it did can have committed.
_UNCOMMITTED = "_mltrail_uncommitted"


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is worth retrying: a lock, a deadlock or a serialization failure."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return True
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in ("40001", "40P01"):
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in (1213, 1205):  # MySQL deadlock, lock wait timeout
        return True
    return isinstance(exc, OperationalError) and ("deadlock" in text or "could not serialize" in text)


def is_disconnect(exc: BaseException) -> bool:
    """Whether a database error means the connection was lost (killed, server restarted, network gone).

    SQLAlchemy's own verdict (``connection_invalidated``) is taken first; :func:`is_disconnect_error` also
    catches the cases where the driver reports the loss before it marks the connection broken.
    """
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or is_disconnect_error(exc.orig)


def is_disconnect_error(orig: BaseException | None) -> bool:
    """Whether a driver (DBAPI) error means the connection was lost.

    By SQLSTATE, error number and message: psycopg's ``AdminShutdown`` (pg_terminate_backend), MariaDB's
    ``KILL`` (1927), "Lost connection" (2013), "server has gone away" (2006), a refused new connection.
    """
    if orig is None:
        return False
    sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if sqlstate.startswith("08") or sqlstate in _PG_DISCONNECT_STATES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_DISCONNECT_CODES:
        return True
    text = str(orig).lower()
    return "(0, '')" in text or any(marker in text for marker in _DISCONNECT_TEXT)


def detect_disconnects(engine: Engine) -> None:
    """Make ``engine`` treat every error of :func:`is_disconnect_error` as a lost connection.

    SQLAlchemy then invalidates the connection (and the pool's older ones) instead of returning a dead connection
    to the pool, where the next checkout without a pre-ping would fail on it again.
    """

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if not context.is_disconnect and is_disconnect_error(context.original_exception):
            context.is_disconnect = True


def mark_uncommitted(exc: BaseException) -> None:
    """Record that ``exc`` was raised before COMMIT was sent, so a lost connection left nothing applied.

    :func:`write_transaction` and :func:`read_transaction` mark what their block raises; :func:`with_retries`
    then replays a transaction whose connection was lost even when the work is not idempotent.
    """
    setattr(exc, _UNCOMMITTED, True)


def _uncommitted(exc: BaseException) -> bool:
    return bool(getattr(exc, _UNCOMMITTED, False))


#: How many times :func:`with_retries` replayed work in this process, by cause (``lock``, ``disconnect``).
retry_counts: Counter[str] = Counter()
#: How long :func:`with_retries` keeps reconnecting after lost connections: long enough for a server restart or
#: a failover, or for a DBA killing sessions in a loop, yet well under a client's request timeout (MLflow: 120 s).
RECONNECT_SECONDS = 10.0


def with_retries(fn: Callable[[], T], attempts: int = 8, *, replayable: bool = False) -> T:
    """Run ``fn`` and retry it, with jittered backoff, on transient errors and lost connections.

    A lock, deadlock or serialization failure leaves nothing applied, so it is always retried (``attempts``
    tries). A lost connection is retried on a fresh one (the pool discards the dead ones), for up to
    :data:`RECONNECT_SECONDS`, when that cannot apply the work twice: the error was raised before COMMIT was sent
    (marked by :func:`write_transaction`; the server rolls back a transaction whose connection is gone), or
    ``fn`` is ``replayable``. When the connection was lost during COMMIT (or under a self-committing statement)
    the outcome is unknown, and work that is not replayable is not run again.

    Args:
        fn: a function that runs one whole transaction (or one self-committing statement).
        attempts: how many tries after lock errors before giving up.
        replayable: whether running ``fn`` again after it may have committed has the same effect as once: reads,
            and idempotent writes such as log-batch (exact repeats of points are skipped, params must keep their
            value, tags are upserted).

    Returns:
        What ``fn`` returns.

    Raises:
        MltrailError: TEMPORARILY_UNAVAILABLE (HTTP 503, which clients retry) when the database stays locked or
            unreachable through every try; DEADLINE_EXCEEDED (HTTP 504, retried by clients only for idempotent
            calls) when the connection was lost while committing work that is not replayable.
        DBAPIError: any other database error, unchanged.
    """
    locked = lost = 0
    deadline = 0.0  # set at the first lost connection
    while True:
        try:
            return fn()
        except DBAPIError as exc:
            if is_transient(exc):
                locked += 1
                if locked >= attempts:
                    raise MltrailError(
                        f"The database is locked, please retry: {exc.orig}", TEMPORARILY_UNAVAILABLE
                    ) from exc
                cause, tries = "lock", locked
                _logger.debug("Retrying a transaction after %s (try %d)", exc.orig, tries)
            elif is_disconnect(exc):
                if not (replayable or _uncommitted(exc)):
                    # Not 503: clients retry that for any call, trusting that the server did nothing.
                    raise MltrailError(
                        "The database connection was lost while committing; the change may or may not have been "
                        f"applied: {exc.orig}",
                        DEADLINE_EXCEEDED,
                    ) from exc
                lost += 1
                deadline = deadline or time.monotonic() + RECONNECT_SECONDS
                if time.monotonic() >= deadline:
                    raise MltrailError(
                        f"The database is unreachable, please retry: {exc.orig}", TEMPORARILY_UNAVAILABLE
                    ) from exc
                cause, tries = "disconnect", lost
                _logger.warning("Database connection lost (%s); retrying on a new one (try %d)", exc.orig, lost)
            else:
                raise
            retry_counts[cause] += 1
            time.sleep(min(0.5, 0.01 * (2 ** (tries - 1))) * (0.5 + random.random()))


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

    A database error raised in the block is marked with :func:`mark_uncommitted`, so :func:`with_retries` knows a
    lost connection there left nothing applied; an error from the COMMIT itself is not (its outcome is unknown).
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


# ------------------------------------------------------------------------------------------------ schema
def current_revision(engine: Engine, version_table: str) -> str | None:
    """The revision recorded in ``version_table``, or None when the table is absent or empty."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(version_table):
            return None
        row = conn.execute(sa.text(f"SELECT version_num FROM {version_table}")).first()
        return None if row is None else str(row[0])


def ensure_schema(engine: Engine, script_location: str, head: str, version_table: str) -> None:
    """Create or upgrade the schema with Alembic unless ``version_table`` already says ``head``.

    Args:
        engine: the database.
        script_location: the Alembic scripts, as ``package:folder`` or a path.
        head: the newest revision id (checked without loading Alembic).
        version_table: the Alembic version table of this schema (each store keeps its own).
    """
    key = (engine.url.render_as_string(hide_password=False), version_table)
    if key in _schema_ready and engine.url.database not in (None, "", ":memory:"):
        return
    if with_retries(lambda: current_revision(engine, version_table), replayable=True) != head:
        with_retries(lambda: _upgrade(engine, script_location, version_table, head), attempts=4)
    _schema_ready.add(key)


def _upgrade(engine: Engine, script_location: str, version_table: str, head: str) -> None:
    from alembic import command
    from alembic.config import Config

    if current_revision(engine, version_table) == head:
        return
    config = Config()
    config.set_main_option("script_location", script_location)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["version_table"] = version_table
        command.upgrade(config, "heads")
