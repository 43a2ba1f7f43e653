"""Killing a database's connections from outside, as a DBA or a server restart would (PostgreSQL, MariaDB).

PostgreSQL: ``pg_terminate_backend`` (the session ends with "terminating connection due to administrator
command"); MySQL/MariaDB: ``KILL <id>`` ("Connection was killed" / "Lost connection" on the client).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from mltrail.store.sql import engines
from tests.store.conftest import MYSQL_ADMIN_URI, PG_ADMIN_URI


def backend_id(dbapi_connection: Any) -> int:
    """The server-side id of a driver connection: PostgreSQL's backend pid or MySQL's thread id."""
    info = getattr(dbapi_connection, "info", None)
    if info is not None and hasattr(info, "backend_pid"):  # psycopg 3
        return int(info.backend_pid)
    return int(dbapi_connection.thread_id())  # PyMySQL


class ConnectionKiller:
    """Kills the sessions connected to one database, through an admin connection of its own.

    Args:
        uri: the database whose sessions are killed (``postgresql://...`` or ``mysql+pymysql://...``).
    """

    def __init__(self, uri: str) -> None:
        url = sa.make_url(engines.normalize_db_uri(uri))
        self.database = url.database
        self.postgresql = url.get_backend_name() == "postgresql"
        admin = PG_ADMIN_URI if self.postgresql else MYSQL_ADMIN_URI
        self._admin = sa.create_engine(engines.normalize_db_uri(admin), isolation_level="AUTOCOMMIT", pool_size=1)
        self.kills = 0

    def sessions(self) -> list[int]:
        """The ids of the sessions on the database now (the admin's own excluded)."""
        with self._admin.connect() as conn:
            if self.postgresql:
                sql = "SELECT pid FROM pg_stat_activity WHERE datname = %(name)s AND pid <> pg_backend_pid()"
            else:
                sql = "SELECT id FROM information_schema.processlist WHERE db = %(name)s AND id <> CONNECTION_ID()"
            return [int(row[0]) for row in conn.exec_driver_sql(sql, {"name": self.database})]

    def kill(self, ids: Iterable[int] | None = None, wait: bool = True) -> int:
        """Kill the given sessions (default: every session on the database); return how many were killed.

        Args:
            ids: server-side session ids (:func:`backend_id`), or None for all of the database's sessions.
            wait: whether to wait (up to 5 s) until the killed sessions are gone from the server's list.
        """
        targets = self.sessions() if ids is None else list(ids)
        killed = []
        with self._admin.connect() as conn:
            for session in targets:
                if self.postgresql:
                    done = conn.exec_driver_sql("SELECT pg_terminate_backend(%(pid)s)", {"pid": session}).scalar()
                    if done:
                        killed.append(session)
                else:
                    with contextlib.suppress(DBAPIError):  # 1094 unknown thread id: it ended meanwhile
                        conn.exec_driver_sql(f"KILL {int(session)}")
                        killed.append(session)
        deadline = time.monotonic() + 5
        while wait and killed and set(killed) & set(self.sessions()) and time.monotonic() < deadline:
            time.sleep(0.005)
        self.kills += len(killed)
        return len(killed)

    def close(self) -> None:
        """Close the admin connection."""
        self._admin.dispose()
