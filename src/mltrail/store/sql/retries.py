"""Which database errors are worth another try, and :func:`with_retries`, which gives it.

A lock, deadlock or serialization failure leaves nothing applied and is always retried. A lost connection (the
server restarted, a DBA killed the session, the network dropped) is retried on a fresh connection when that
cannot apply the work twice: the error came before COMMIT was sent (:func:`mark_uncommitted`), or the work is
replayable. Exhausted retries answer 503 TEMPORARILY_UNAVAILABLE; a COMMIT lost on work that is not replayable
answers 504 DEADLINE_EXCEEDED, since its outcome is unknown.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError

from mltrail.errors import DEADLINE_EXCEEDED, TEMPORARILY_UNAVAILABLE, MltrailError

_logger = logging.getLogger(__name__)

T = TypeVar("T")

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

    :func:`~mltrail.store.sql.engines.write_transaction` and ``read_transaction`` mark what their block raises;
    :func:`with_retries` then replays a transaction whose connection was lost even when the work is not idempotent.
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
    (marked by ``write_transaction``; the server rolls back a transaction whose connection is gone), or
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
