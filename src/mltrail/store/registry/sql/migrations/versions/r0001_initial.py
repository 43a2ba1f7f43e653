"""The initial registry schema: registered models, versions, tags, aliases, webhooks and their deliveries.

Revision ID: r0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mltrail.store.sql.columns import string, text

revision = "r0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_OPTS = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("rm_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", string(256), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("description", text()),
        sa.Column("user_id", string(256)),
        sa.Column("deployment_job_id", string(255)),
        sa.Column("next_version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
        **_OPTS,
    )
    op.create_index("ix_registered_models_creation", "registered_models", ["creation_time"])
    op.create_index("ix_registered_models_updated", "registered_models", ["last_updated_time"])
    op.create_table(
        "registered_model_tags",
        sa.Column("rm_id", sa.Integer, sa.ForeignKey("registered_models.rm_id"), primary_key=True),
        sa.Column("key", string(250), primary_key=True),
        sa.Column("value", text("medium"), nullable=False),
        **_OPTS,
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("rm_id", sa.Integer, sa.ForeignKey("registered_models.rm_id"), primary_key=True),
        sa.Column("alias", string(255), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        **_OPTS,
    )
    op.create_table(
        "model_versions",
        sa.Column("rm_id", sa.Integer, sa.ForeignKey("registered_models.rm_id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("description", text()),
        sa.Column("user_id", string(256)),
        sa.Column("current_stage", string(20), nullable=False),
        sa.Column("source", string(1000)),
        sa.Column("storage_location", string(1000)),
        sa.Column("run_id", string(32)),
        sa.Column("run_link", string(500)),
        sa.Column("status", string(20), nullable=False),
        sa.Column("status_message", string(500)),
        sa.Column("model_id", string(36)),
        **_OPTS,
    )
    op.create_index("ix_model_versions_updated", "model_versions", ["last_updated_time"])
    op.create_index("ix_model_versions_run", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_stage", "model_versions", ["rm_id", "current_stage", "version"])
    op.create_table(
        "model_version_tags",
        sa.Column("rm_id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", string(250), primary_key=True),
        sa.Column("value", text("medium"), nullable=False),
        sa.ForeignKeyConstraint(
            ["rm_id", "version"], ["model_versions.rm_id", "model_versions.version"], name="fk_mv_tags_version"
        ),
        **_OPTS,
    )
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", string(36), primary_key=True),
        sa.Column("name", string(256), nullable=False),
        sa.Column("url", string(2000), nullable=False),
        sa.Column("events", string(1000), nullable=False),
        sa.Column("secret", string(1000)),
        sa.Column("description", string(1000)),
        sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        **_OPTS,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", string(36), primary_key=True),
        sa.Column("webhook_id", string(36), sa.ForeignKey("webhooks.webhook_id"), nullable=False),
        sa.Column("event_id", string(36), nullable=False),
        sa.Column("event", string(100), nullable=False),
        sa.Column("payload", text("medium"), nullable=False),
        sa.Column("status", string(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("response_code", sa.Integer),
        sa.Column("error", string(1000)),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        **_OPTS,
    )
    op.create_index("ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "creation_time"])


def downgrade() -> None:
    for name in (
        "webhook_deliveries",
        "webhooks",
        "model_version_tags",
        "model_versions",
        "registered_model_aliases",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(name)
