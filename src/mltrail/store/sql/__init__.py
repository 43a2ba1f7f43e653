"""The SQL seam under every SQL store: one :class:`~mltrail.store.sql.database.Database` per store.

A store opens its database, makes sure its tables exist, and runs each call as one ``read`` or ``write`` of a
function of a connection; everything backend-specific is asked of ``db.dialect``::

    from mltrail.store.sql.database import Database
    from mltrail.store.auth.sql import migrations          # HEAD, SCRIPT_LOCATION, VERSION_TABLE
    from mltrail.store.auth.sql.tables import users

    class SqlAuthStore:
        def __init__(self, db_uri: str) -> None:
            self.db = Database(db_uri)
            self.db.ensure_schema(migrations)

        def get_user(self, name: str) -> User:
            return self.db.read(lambda conn: _load_user(conn, name))

        def set_password(self, name: str, hashed: str) -> None:
            row = {"name": name, "password_hash": hashed}
            self.db.write(lambda conn: self.db.dialect.upsert(conn, users, [row], ["name"], ["password_hash"]))

``write`` runs its function in one transaction; ``read`` runs one that only reads. Either may run it again after
a lock error or a lost connection, so it must do nothing but database work; when retrying cannot help, the call
fails with 503 TEMPORARILY_UNAVAILABLE (504 DEADLINE_EXCEEDED when the COMMIT of a write that is not
``replayable`` was lost: it may or may not have been applied).
A write locks the rows it depends on first with ``select(...).with_for_update()`` (SQLite compiles that to
nothing: its write transactions, ``BEGIN IMMEDIATE``, run one at a time).

Modules: :mod:`.database` (``Database``), :mod:`.dialect` (what differs between SQLite, PostgreSQL and
MySQL/MariaDB), :mod:`.columns` (case-sensitive string columns, tables), :mod:`.compare` (search comparisons),
:mod:`.engines` (URI -> engine, transactions), :mod:`.retries` (which errors to retry), :mod:`.schema` (Alembic).
This package does not import SQLAlchemy by itself.
"""
