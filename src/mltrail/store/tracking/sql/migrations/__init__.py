"""Alembic migrations of the tracking schema (run by :func:`mltrail.store.sql.schema.ensure_schema`)."""

#: The newest revision; the store skips Alembic entirely when the version table already records it.
HEAD = "0002_pg_key_value_stats"
#: Where Alembic finds these scripts.
SCRIPT_LOCATION = "mltrail.store.tracking.sql:migrations"
#: The tracking schema's own Alembic version table, so other schemas can share the database.
VERSION_TABLE = "mltrail_tracking_version"
