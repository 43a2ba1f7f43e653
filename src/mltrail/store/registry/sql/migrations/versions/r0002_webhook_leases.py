"""Webhook deliveries become a queue shared by server replicas: due time and lease columns.

Before this revision a delivery waited in the memory of the process that recorded it; one still open when that
process stopped was never going to be sent. Such rows are closed as FAILED here rather than sent now, possibly
long after the event (a receiver might act on a stale event); every other row gets its due time filled in.

Revision ID: r0002_webhook_leases
Revises: r0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mltrail.store.sql.columns import string

revision = "r0002_webhook_leases"
down_revision = "r0001_initial"
branch_labels = None
depends_on = None

_INTERRUPTED = "Not delivered: its server stopped before sending it (deliveries were kept in memory then)."


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.BigInteger))
        batch.add_column(sa.Column("lease_owner", string(64)))
        batch.add_column(sa.Column("lease_expires_at", sa.BigInteger))
    deliveries = sa.table(
        "webhook_deliveries",
        sa.column("status", sa.String),
        sa.column("error", sa.String),
        sa.column("last_updated_time", sa.BigInteger),
        sa.column("next_attempt_at", sa.BigInteger),
    )
    op.execute(
        deliveries.update()
        .where(deliveries.c.status.in_(("PENDING", "RETRYING")))
        .values(status="FAILED", error=sa.func.coalesce(deliveries.c.error, _INTERRUPTED))
    )
    op.execute(deliveries.update().values(next_attempt_at=deliveries.c.last_updated_time))
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", "webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
        batch.drop_column("next_attempt_at")
