"""Schema upgrades: each store's Alembic scripts run on first use, and are not even loaded when current.

Several processes (server replicas on different hosts, a server's workers, a ``mltrail db upgrade``) may find an
old or empty database at the same moment. One of them migrates it while holding a database-wide lock
(:meth:`~mltrail.store.sql.dialect.Dialect.exclusive`); the others wait for the lock, read the revision again,
find head and go on. A database whose revision these scripts do not know was migrated by a newer mltrail: it is
refused (INVALID_STATE), never downgraded or written to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mltrail import errors
from mltrail.store.sql.dialect import dialect_of
from mltrail.store.sql.retries import with_retries

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

_logger = logging.getLogger(__name__)

_schema_ready: set[tuple[str, str]] = set()
#: The database-wide lock that migrations run under (one for every mltrail schema of a database).
LOCK_NAME = "mltrail_schema_migration"
#: How long a process waits for another one's migration before giving up (a big table can take minutes).
LOCK_TIMEOUT_S = 600.0


class Migrations(Protocol):
    """A store's Alembic migrations: a ``migrations`` package with these three constants fits."""

    #: The newest revision id (checked without loading Alembic).
    HEAD: str
    #: The Alembic scripts, as ``package:folder`` or a path.
    SCRIPT_LOCATION: str
    #: The Alembic version table of this schema (each store keeps its own, so schemas can share a database).
    VERSION_TABLE: str


@dataclass(frozen=True)
class SchemaState:
    """Where one schema of a database stands.

    Attributes:
        name: the schema's name (``tracking``, ``registry``, ``auth``).
        revision: the revision its version table records; None when the schema is absent.
        head: the newest revision this mltrail knows.
        known: whether these scripts know ``revision`` (False: a newer mltrail migrated it).
    """

    name: str
    revision: str | None
    head: str
    known: bool = True

    @property
    def current(self) -> bool:
        """Whether the schema is at head."""
        return self.revision == self.head

    @property
    def newer(self) -> bool:
        """Whether the schema was migrated by a newer mltrail (its revision is unknown here)."""
        return self.revision is not None and not self.known


def schema_name(migrations: Migrations) -> str:
    """The schema's short name, from its version table (``mltrail_tracking_version`` -> ``tracking``)."""
    return migrations.VERSION_TABLE.removeprefix("mltrail_").removesuffix("_version")


def display_url(engine: Engine) -> str:
    """The engine's database as a user would write its URI: no driver name, no password."""
    url = engine.url.set(drivername=engine.url.get_backend_name())
    return url.render_as_string(hide_password=True)


def current_revision(bind: Engine | Connection, version_table: str) -> str | None:
    """The revision recorded in ``version_table``, or None when the table is absent or empty."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return current_revision(conn, version_table)
    if not sa.inspect(bind).has_table(version_table):
        return None
    row = bind.execute(sa.text(f"SELECT version_num FROM {version_table}")).first()
    return None if row is None else str(row[0])


def revisions(migrations: Migrations) -> list[str]:
    """Every revision of these scripts, oldest first (loads Alembic)."""
    return list(reversed([script.revision for script in _scripts(migrations.SCRIPT_LOCATION).walk_revisions()]))


def schema_state(engine: Engine, migrations: Migrations) -> SchemaState:
    """Where the schema of ``migrations`` stands in this database (Alembic is loaded only when not at head)."""
    revision = with_retries(lambda: current_revision(engine, migrations.VERSION_TABLE), replayable=True)
    return _state(migrations, revision)


def newer_schema_error(engine: Engine, state: SchemaState) -> errors.MltrailError:
    """The error for a schema migrated by a newer mltrail: what it is, and what to do."""
    return errors.invalid_state(
        f"The database at {display_url(engine)} has schema revision {state.revision} of the {state.name} store, "
        f"newer than this mltrail (knows up to {state.head}). Upgrade mltrail, or point it at another database."
    )


def ensure_schema(engine: Engine, migrations: Migrations) -> None:
    """Create or upgrade a schema with Alembic unless its version table already says head.

    Args:
        engine: the database.
        migrations: the schema's scripts, head revision and version table.

    Raises:
        MltrailError: INVALID_STATE when a newer mltrail migrated the schema; TEMPORARILY_UNAVAILABLE when another
            process's migration held the lock for longer than :data:`LOCK_TIMEOUT_S`.
    """
    key = (engine.url.render_as_string(hide_password=False), migrations.VERSION_TABLE)
    if key in _schema_ready and engine.url.database not in (None, "", ":memory:"):
        return
    state = schema_state(engine, migrations)
    if not state.current:
        upgrade(engine, migrations)
    _schema_ready.add(key)


def upgrade(engine: Engine, migrations: Migrations, to: str | None = None) -> tuple[str | None, str]:
    """Upgrade a schema to head (or to revision ``to``) under the migration lock; nothing to do at head.

    The revision is read again once the lock is held: another process may have migrated meanwhile.

    Returns:
        The revisions before and after (before is None when the schema was created).

    Raises:
        MltrailError: as :func:`ensure_schema`.
    """
    target = to or migrations.HEAD
    state = schema_state(engine, migrations)
    if state.newer:  # refused before waiting for a lock
        raise newer_schema_error(engine, state)
    if state.revision == target:
        return state.revision, target

    def attempt() -> tuple[str | None, str]:
        with dialect_of(engine).exclusive(engine, LOCK_NAME, LOCK_TIMEOUT_S) as conn:
            locked = _state(migrations, current_revision(conn, migrations.VERSION_TABLE))
            if locked.newer:
                raise newer_schema_error(engine, locked)
            if locked.revision != target:
                _run_alembic(conn, migrations, target)
            return locked.revision, target

    before, after = with_retries(attempt, attempts=4)
    if before != after:
        _logger.info("Migrated the %s schema of %s: %s -> %s", state.name, display_url(engine), before, after)
    return before, after


def _state(migrations: Migrations, revision: str | None) -> SchemaState:
    known = revision in (None, migrations.HEAD) or _is_known(migrations.SCRIPT_LOCATION, revision)
    return SchemaState(schema_name(migrations), revision, migrations.HEAD, known)


def _run_alembic(conn: Connection, migrations: Migrations, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", migrations.SCRIPT_LOCATION)
    config.attributes["connection"] = conn
    config.attributes["version_table"] = migrations.VERSION_TABLE
    command.upgrade(config, target)


@cache
def _scripts(script_location: str) -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", script_location)
    return ScriptDirectory.from_config(config)


def _is_known(script_location: str, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return _scripts(script_location).get_revision(revision) is not None
    except CommandError:
        return False
