"""The SQL tracking store: SQLAlchemy Core tables, Alembic migrations and the search compiler.

Import :class:`mltrail.store.tracking.sql.store.SqlTrackingStore` from its module; this package does not import
SQLAlchemy by itself.
"""
