"""The registry schema as SQLAlchemy Core tables, in the same database as tracking.

A registered model has a surrogate integer id, so a rename updates one row and versions, tags and aliases
never move. ``next_version`` on the model row numbers versions: it is read and bumped under the model row's lock,
so a deleted version's number is never reused. Webhooks and their delivery log live here too; the log is also the
delivery queue that every server replica's dispatcher claims from (``next_attempt_at``, ``lease_owner``,
``lease_expires_at``: see :mod:`mltrail.store.registry.webhooks`). The Alembic
revisions in ``migrations/versions`` create the same schema (``tests/store/registry`` checks they agree).
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

from mltrail.store.sql.columns import string, table, text

metadata = sa.MetaData()
_table = functools.partial(table, metadata)


registered_models = _table(
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
    sa.Index("ix_registered_models_creation", "creation_time"),
    sa.Index("ix_registered_models_updated", "last_updated_time"),
)

registered_model_tags = _table(
    "registered_model_tags",
    sa.Column("rm_id", sa.Integer, sa.ForeignKey("registered_models.rm_id"), primary_key=True),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("value", text("medium"), nullable=False),
)

registered_model_aliases = _table(
    "registered_model_aliases",
    sa.Column("rm_id", sa.Integer, sa.ForeignKey("registered_models.rm_id"), primary_key=True),
    sa.Column("alias", string(255), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

model_versions = _table(
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
    sa.Index("ix_model_versions_updated", "last_updated_time"),
    sa.Index("ix_model_versions_run", "run_id"),
    sa.Index("ix_model_versions_stage", "rm_id", "current_stage", "version"),
)

model_version_tags = _table(
    "model_version_tags",
    sa.Column("rm_id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("value", text("medium"), nullable=False),
    sa.ForeignKeyConstraint(
        ["rm_id", "version"], ["model_versions.rm_id", "model_versions.version"], name="fk_mv_tags_version"
    ),
)

webhooks = _table(
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
)

webhook_deliveries = _table(
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
    sa.Column("next_attempt_at", sa.BigInteger),
    sa.Column("lease_owner", string(64)),
    sa.Column("lease_expires_at", sa.BigInteger),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "creation_time"),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)
