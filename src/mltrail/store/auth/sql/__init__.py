"""The SQL auth store: tables, migrations and :class:`~mltrail.store.auth.sql.store.SqlAuthStore`."""
