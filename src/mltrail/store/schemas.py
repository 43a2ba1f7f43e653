"""Every mltrail schema of one database, for ``mltrail db``: where each stands, and upgrading them all.

A server's database holds the tracking and registry schemas, and the auth schema when it runs with ``--auth``
(which may also keep auth in a database of its own). Each schema has its own Alembic version table; stores
upgrade theirs when they open (:func:`mltrail.store.sql.schema.ensure_schema`), so running
:func:`upgrade_database` first is optional: it does the same work ahead of time, and says what it did.
"""

from __future__ import annotations

from dataclasses import dataclass

from mltrail.store.auth.sql import migrations as auth_migrations
from mltrail.store.registry.sql import migrations as registry_migrations
from mltrail.store.sql import engines, schema
from mltrail.store.tracking.sql import migrations as tracking_migrations

#: The schemas in the order they are upgraded (the registry's tables sit beside the tracking ones).
SCHEMAS: tuple[schema.Migrations, ...] = (tracking_migrations, registry_migrations, auth_migrations)
_AUTH = schema.schema_name(auth_migrations)


@dataclass(frozen=True)
class SchemaUpgrade:
    """What :func:`upgrade_database` did to one schema.

    Attributes:
        name: ``tracking``, ``registry`` or ``auth``.
        before: the revision before; None when the schema was absent.
        after: the revision after; None when the schema was absent and left so (auth, unless asked for).
    """

    name: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        """Whether the schema was created or migrated."""
        return self.before != self.after


def database_states(db_uri: str) -> list[schema.SchemaState]:
    """Where each mltrail schema of the database at ``db_uri`` stands (absent ones included).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported URI.
    """
    engine = engines.get_engine(db_uri)
    return [schema.schema_state(engine, migrations) for migrations in SCHEMAS]


def upgrade_database(db_uri: str, *, auth: bool = False) -> list[SchemaUpgrade]:
    """Create or upgrade the mltrail schemas of a database to this mltrail's head revisions.

    Tracking and registry are created when absent, unless the database holds the auth schema alone (a separate
    auth database); auth is upgraded when present, and created when absent only with ``auth``. Nothing is changed
    when any schema is newer than this mltrail.

    Args:
        db_uri: the database, e.g. ``postgresql://user@host/db``.
        auth: also create the auth schema when it is absent.

    Returns:
        What happened to each schema, in :data:`SCHEMAS` order.

    Raises:
        MltrailError: INVALID_STATE when a schema is newer than this mltrail; TEMPORARILY_UNAVAILABLE when another
            process's migration holds the lock too long; INVALID_PARAMETER_VALUE for an unsupported URI.
    """
    engine = engines.get_engine(db_uri)
    states = [schema.schema_state(engine, migrations) for migrations in SCHEMAS]
    for state in states:
        if state.newer:
            raise schema.newer_schema_error(engine, state)
    auth_only = all((state.revision is None) == (state.name != _AUTH) for state in states)
    done = []
    for migrations, state in zip(SCHEMAS, states, strict=True):
        wanted = auth if state.name == _AUTH else not auth_only
        if state.revision is None and not wanted:
            done.append(SchemaUpgrade(state.name, None, None))
            continue
        before, after = schema.upgrade(engine, migrations)
        done.append(SchemaUpgrade(state.name, before, after))
    return done
