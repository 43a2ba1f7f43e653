"""Emptying a test database between tests: one helper for the store suites and the REST suites beside them."""

from __future__ import annotations

import sqlalchemy as sa

from mltrail.store.sql import engines


def empty_tables(uri: str, *metadatas: sa.MetaData) -> None:
    """Delete every row of the tables of ``metadatas`` that exist in the database at ``uri``, in one transaction.

    Each schema's tables are emptied children first (reverse dependency order), the schemas in the order given, so
    foreign keys never block a delete. Tables the database does not have yet are passed over.

    Args:
        uri: The database URI (SQLite, PostgreSQL or MySQL/MariaDB).
        metadatas: The SQLAlchemy schemas whose tables to empty, dependants' schemas first (registry before tracking).
    """
    engine = engines.get_engine(uri)
    present = set(sa.inspect(engine).get_table_names())
    with engines.write_transaction(engine) as conn:
        for metadata in metadatas:
            for table in reversed(metadata.sorted_tables):
                if table.name in present:
                    conn.execute(table.delete())
