"""Column types and tables that behave the same on every backend.

On MySQL/MariaDB every string column uses the ``utf8mb4_bin`` collation, so ``=`` and ``LIKE`` are
case-sensitive there as on PostgreSQL and SQLite; tables are InnoDB in ``utf8mb4``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

_MYSQL_COLLATION = "utf8mb4_bin"


def string(length: int) -> TypeEngine[str]:
    """A VARCHAR that compares case-sensitively on every backend."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation=_MYSQL_COLLATION), "mysql", "mariadb"
    )


def text(size: str = "text") -> TypeEngine[str]:
    """A TEXT column (``medium``/``long`` pick MySQL's bigger TEXT types) that compares case-sensitively."""
    mysql_type = {"text": mysql.TEXT, "medium": mysql.MEDIUMTEXT, "long": mysql.LONGTEXT}[size]
    return sa.Text().with_variant(mysql_type(charset="utf8mb4", collation=_MYSQL_COLLATION), "mysql", "mariadb")


def table(metadata: sa.MetaData, name: str, *items: sa.SchemaItem, **kwargs: object) -> sa.Table:
    """A table of ``metadata`` (InnoDB and ``utf8mb4`` on MySQL)."""
    return sa.Table(name, metadata, *items, mysql_charset="utf8mb4", mysql_engine="InnoDB", **kwargs)
