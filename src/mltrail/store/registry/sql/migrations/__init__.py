"""Alembic migrations of the registry schema (run by :func:`mltrail.store.sql.schema.ensure_schema`)."""

#: The newest revision; the store skips Alembic entirely when the version table already records it.
HEAD = "r0002_webhook_leases"
#: Where Alembic finds these scripts.
SCRIPT_LOCATION = "mltrail.store.registry.sql:migrations"
#: The registry schema's own Alembic version table (the tracking schema keeps another in the same database).
VERSION_TABLE = "mltrail_registry_version"
