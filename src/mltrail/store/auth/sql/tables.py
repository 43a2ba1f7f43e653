"""The auth schema as SQLAlchemy Core tables (prefixed ``auth_``), by default in the tracking database.

Users and groups have integer ids that grants, memberships and tokens point at, so a user's rows go with one
``user_id``. A grant names exactly one of a user or a group; the unique keys ``(resource, user_id)`` and
``(resource, group_id)`` hold one grant per holder and resource (NULLs never collide, so a user's and a group's
grant on the same resource coexist). Experiment ids are kept as the decimal strings the API uses, model names as
names (a rename moves the grants). Token and session secrets are stored as SHA-256 digests under a unique index:
the lookup of every token-authenticated request. Indexed strings stay within 256 characters, so every key fits
MySQL's 3072-byte limit in ``utf8mb4``. The Alembic revisions in ``migrations/versions`` create the same schema.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

from mltrail.store.sql.columns import string, table, text

metadata = sa.MetaData()
_table = functools.partial(table, metadata)

#: Longest user, group and token name.
NAME_LENGTH = 255
#: Longest registered model name (as the registry allows).
MODEL_NAME_LENGTH = 256
#: Longest experiment id (decimal digits; the tracking store's ids are 64-bit integers at most).
EXPERIMENT_ID_LENGTH = 32


def _bool() -> sa.Boolean:
    return sa.Boolean(create_constraint=False)


#: A 64-bit autoincrement key (SQLite's INTEGER PRIMARY KEY is its 64-bit rowid already).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

users = _table(
    "auth_users",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", string(NAME_LENGTH), nullable=False),
    sa.Column("password_hash", string(255)),
    sa.Column("is_admin", _bool(), nullable=False),
    sa.Column("source", string(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("username", name="uq_auth_users_username"),
)

groups = _table(
    "auth_groups",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", string(NAME_LENGTH), nullable=False),
    sa.UniqueConstraint("name", name="uq_auth_groups_name"),
)

group_members = _table(
    "auth_group_members",
    sa.Column("group_id", sa.Integer, sa.ForeignKey("auth_groups.id"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id"), primary_key=True),
    sa.Index("ix_auth_group_members_user", "user_id"),
)

experiment_permissions = _table(
    "auth_experiment_permissions",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("experiment_id", string(EXPERIMENT_ID_LENGTH), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id")),
    sa.Column("group_id", sa.Integer, sa.ForeignKey("auth_groups.id")),
    sa.Column("permission", string(32), nullable=False),
    sa.UniqueConstraint("experiment_id", "user_id", name="uq_auth_experiment_permissions_user"),
    sa.UniqueConstraint("experiment_id", "group_id", name="uq_auth_experiment_permissions_group"),
    sa.Index("ix_auth_experiment_permissions_user", "user_id"),
    sa.Index("ix_auth_experiment_permissions_group", "group_id"),
)

registered_model_permissions = _table(
    "auth_registered_model_permissions",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", string(MODEL_NAME_LENGTH), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id")),
    sa.Column("group_id", sa.Integer, sa.ForeignKey("auth_groups.id")),
    sa.Column("permission", string(32), nullable=False),
    sa.UniqueConstraint("name", "user_id", name="uq_auth_registered_model_permissions_user"),
    sa.UniqueConstraint("name", "group_id", name="uq_auth_registered_model_permissions_group"),
    sa.Index("ix_auth_registered_model_permissions_user", "user_id"),
    sa.Index("ix_auth_registered_model_permissions_group", "group_id"),
)

tokens = _table(
    "auth_tokens",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id"), nullable=False),
    sa.Column("name", string(NAME_LENGTH), nullable=False),
    sa.Column("kind", string(16), nullable=False),
    sa.Column("secret_digest", string(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger),
    sa.Column("last_used_at", sa.BigInteger),
    sa.UniqueConstraint("user_id", "kind", "name", name="uq_auth_tokens_user_kind_name"),
    sa.Index("ix_auth_tokens_secret_digest", "secret_digest", unique=True),
)

audit_log = _table(
    "auth_audit_log",
    sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("username", string(NAME_LENGTH)),
    sa.Column("method", string(16), nullable=False),
    sa.Column("path", text(), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("address", string(255)),
    sa.Column("action", string(255), nullable=False),
    sa.Column("target", text(), nullable=False),
    sa.Index("ix_auth_audit_log_timestamp", "timestamp", "id"),
    sa.Index("ix_auth_audit_log_username", "username", "timestamp", "id"),
)
