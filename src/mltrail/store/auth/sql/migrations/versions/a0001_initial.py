"""The initial auth schema: users, groups, memberships, permissions, tokens and sessions, the audit log.

Revision ID: a0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mltrail.store.sql.columns import string, text

revision = "a0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_OPTS = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def _bool() -> sa.Boolean:
    return sa.Boolean(create_constraint=False)


def upgrade() -> None:
    op.create_table(
        "auth_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", string(255), nullable=False),
        sa.Column("password_hash", string(255)),
        sa.Column("is_admin", _bool(), nullable=False),
        sa.Column("source", string(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("username", name="uq_auth_users_username"),
        **_OPTS,
    )
    op.create_table(
        "auth_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", string(255), nullable=False),
        sa.UniqueConstraint("name", name="uq_auth_groups_name"),
        **_OPTS,
    )
    op.create_table(
        "auth_group_members",
        sa.Column("group_id", sa.Integer, sa.ForeignKey("auth_groups.id"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id"), primary_key=True),
        **_OPTS,
    )
    op.create_index("ix_auth_group_members_user", "auth_group_members", ["user_id"])
    for resource, key, length in (
        ("experiment_permissions", "experiment_id", 32),
        ("registered_model_permissions", "name", 256),
    ):
        name = f"auth_{resource}"
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(key, string(length), nullable=False),
            sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id")),
            sa.Column("group_id", sa.Integer, sa.ForeignKey("auth_groups.id")),
            sa.Column("permission", string(32), nullable=False),
            sa.UniqueConstraint(key, "user_id", name=f"uq_{name}_user"),
            sa.UniqueConstraint(key, "group_id", name=f"uq_{name}_group"),
            **_OPTS,
        )
        op.create_index(f"ix_{name}_user", name, ["user_id"])
        op.create_index(f"ix_{name}_group", name, ["group_id"])
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id"), nullable=False),
        sa.Column("name", string(255), nullable=False),
        sa.Column("kind", string(16), nullable=False),
        sa.Column("secret_digest", string(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("last_used_at", sa.BigInteger),
        sa.UniqueConstraint("user_id", "kind", "name", name="uq_auth_tokens_user_kind_name"),
        **_OPTS,
    )
    op.create_index("ix_auth_tokens_secret_digest", "auth_tokens", ["secret_digest"], unique=True)
    op.create_table(
        "auth_audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("username", string(255)),
        sa.Column("method", string(16), nullable=False),
        sa.Column("path", text(), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("address", string(255)),
        sa.Column("action", string(255), nullable=False),
        sa.Column("target", text(), nullable=False),
        **_OPTS,
    )
    op.create_index("ix_auth_audit_log_timestamp", "auth_audit_log", ["timestamp", "id"])
    op.create_index("ix_auth_audit_log_username", "auth_audit_log", ["username", "timestamp", "id"])


def downgrade() -> None:
    for name in (
        "auth_audit_log",
        "auth_tokens",
        "auth_registered_model_permissions",
        "auth_experiment_permissions",
        "auth_group_members",
        "auth_groups",
        "auth_users",
    ):
        op.drop_table(name)
