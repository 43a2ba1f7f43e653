"""PostgreSQL extended statistics on the (key, value) pairs of params and tags.

The planner otherwise multiplies the selectivities of ``key = 'p1'`` and ``value = 'x'`` as if they were
independent, underestimating a filter such as ``params.p1 = 'x'`` tenfold, and then sorts every match instead of
walking the sort key's index with an early LIMIT. Statistics objects exist only on PostgreSQL (they are filled by
ANALYZE); on SQLite and MySQL/MariaDB this revision changes nothing.

Revision ID: 0002_pg_key_value_stats
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_pg_key_value_stats"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_STATS = {"params": "stx_params_key_value", "tags": "stx_tags_key_value"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name in _STATS.items():
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (mcv) ON key, value FROM {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _STATS.values():
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
