"""Alembic migrations of the auth schema (run by :func:`mltrail.store.sql.schema.ensure_schema`)."""

#: The newest revision; the store skips Alembic entirely when the version table already records it.
HEAD = "a0001_initial"
#: Where Alembic finds these scripts.
SCRIPT_LOCATION = "mltrail.store.auth.sql:migrations"
#: The auth schema's own Alembic version table (tracking and registry keep theirs in the same database).
VERSION_TABLE = "mltrail_auth_version"
