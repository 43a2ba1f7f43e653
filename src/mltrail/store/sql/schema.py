"""Schema upgrades: each store's Alembic scripts run on first use, and are not even loaded when current."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mltrail.store.sql.retries import with_retries

_schema_ready: set[tuple[str, str]] = set()


class Migrations(Protocol):
    """A store's Alembic migrations: a ``migrations`` package with these three constants fits."""

    #: The newest revision id (checked without loading Alembic).
    HEAD: str
    #: The Alembic scripts, as ``package:folder`` or a path.
    SCRIPT_LOCATION: str
    #: The Alembic version table of this schema (each store keeps its own, so schemas can share a database).
    VERSION_TABLE: str


def current_revision(engine: Engine, version_table: str) -> str | None:
    """The revision recorded in ``version_table``, or None when the table is absent or empty."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(version_table):
            return None
        row = conn.execute(sa.text(f"SELECT version_num FROM {version_table}")).first()
        return None if row is None else str(row[0])


def ensure_schema(engine: Engine, migrations: Migrations) -> None:
    """Create or upgrade a schema with Alembic unless its version table already says head.

    Args:
        engine: the database.
        migrations: the schema's scripts, head revision and version table.
    """
    version_table, head = migrations.VERSION_TABLE, migrations.HEAD
    key = (engine.url.render_as_string(hide_password=False), version_table)
    if key in _schema_ready and engine.url.database not in (None, "", ":memory:"):
        return
    if with_retries(lambda: current_revision(engine, version_table), replayable=True) != head:
        with_retries(lambda: _upgrade(engine, migrations.SCRIPT_LOCATION, version_table, head), attempts=4)
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
