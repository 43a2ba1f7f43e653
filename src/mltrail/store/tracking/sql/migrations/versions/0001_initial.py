"""The initial tracking schema: experiments, runs, params, tags, metrics, datasets, inputs, logged models.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mltrail.store.sql.columns import string, text

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_OPTS = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def _float() -> sa.Float:
    return sa.Float(precision=53)


def _bool() -> sa.Boolean:
    return sa.Boolean(create_constraint=False)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", string(500), nullable=False),
        sa.Column("artifact_location", string(2000)),
        sa.Column("lifecycle_stage", string(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger),
        sa.Column("last_update_time", sa.BigInteger),
        sa.Column("deleted_time", sa.BigInteger),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
        **_OPTS,
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
        sa.Column("key", string(250), primary_key=True),
        sa.Column("value", text()),
        **_OPTS,
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", string(32), primary_key=True),
        sa.Column("name", string(250)),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("user_id", string(256)),
        sa.Column("status", string(20), nullable=False),
        sa.Column("start_time", sa.BigInteger),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("deleted_time", sa.BigInteger),
        sa.Column("lifecycle_stage", string(20), nullable=False),
        sa.Column("artifact_uri", string(2000)),
        sa.Column("parent_run_id", string(32)),
        **_OPTS,
    )
    op.create_index("ix_runs_experiment_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"])
    op.create_index("ix_runs_parent", "runs", ["parent_run_id"])
    for name in ("params", "tags"):
        op.create_table(
            name,
            sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
            sa.Column("key", string(250), primary_key=True),
            sa.Column("value", text(), nullable=name == "tags"),
            sqlite_with_rowid=False,
            **_OPTS,
        )
    op.create_table(
        "metrics",
        sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
        sa.Column("key", string(250), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("value", _float(), primary_key=True),
        sa.Column("is_nan", _bool(), primary_key=True),
        sqlite_with_rowid=False,
        **_OPTS,
    )
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
        sa.Column("key", string(250), primary_key=True),
        sa.Column("value", _float(), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("is_nan", _bool(), nullable=False),
        sa.Column("min_value", _float()),
        sa.Column("max_value", _float()),
        sa.Column("sum_value", _float()),
        sa.Column("count_value", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
        **_OPTS,
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_table(
        "datasets",
        sa.Column("dataset_uuid", string(36), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("name", string(500), nullable=False),
        sa.Column("digest", string(36), nullable=False),
        sa.Column("dataset_source_type", string(36), nullable=False),
        sa.Column("dataset_source", text()),
        sa.Column("dataset_schema", text("medium")),
        sa.Column("dataset_profile", text("long")),
        sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"),
        **_OPTS,
    )
    op.create_table(
        "inputs",
        sa.Column("input_uuid", string(36), nullable=False),
        sa.Column("source_type", string(36), primary_key=True),
        sa.Column("source_id", string(36), primary_key=True),
        sa.Column("destination_type", string(36), primary_key=True),
        sa.Column("destination_id", string(36), primary_key=True),
        sa.Column("step", sa.BigInteger, nullable=False, server_default="0"),
        **_OPTS,
    )
    op.create_index("ix_inputs_input_uuid", "inputs", ["input_uuid"], unique=True)
    op.create_index("ix_inputs_destination", "inputs", ["destination_type", "destination_id", "source_type"])
    op.create_table(
        "input_tags",
        sa.Column("input_uuid", string(36), primary_key=True),
        sa.Column("name", string(255), primary_key=True),
        sa.Column("value", string(500), nullable=False),
        **_OPTS,
    )
    op.create_table(
        "logged_models",
        sa.Column("model_id", string(36), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("name", string(500), nullable=False),
        sa.Column("artifact_location", string(1000), nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("status", string(40), nullable=False),
        sa.Column("lifecycle_stage", string(32), nullable=False),
        sa.Column("model_type", string(500)),
        sa.Column("source_run_id", string(32)),
        sa.Column("status_message", string(1000)),
        **_OPTS,
    )
    op.create_index("ix_logged_models_experiment", "logged_models", ["experiment_id", "creation_timestamp_ms"])
    for name, key, value in (
        ("logged_model_params", "param_key", "param_value"),
        ("logged_model_tags", "tag_key", "tag_value"),
    ):
        op.create_table(
            name,
            sa.Column("model_id", string(36), sa.ForeignKey("logged_models.model_id"), primary_key=True),
            sa.Column("experiment_id", sa.Integer, nullable=False),
            sa.Column(key, string(255), primary_key=True),
            sa.Column(value, text(), nullable=False),
            **_OPTS,
        )
    op.create_table(
        "logged_model_metrics",
        sa.Column("model_id", string(36), sa.ForeignKey("logged_models.model_id"), primary_key=True),
        sa.Column("metric_name", string(500), primary_key=True),
        sa.Column("metric_timestamp_ms", sa.BigInteger, primary_key=True),
        sa.Column("metric_step", sa.BigInteger, primary_key=True),
        sa.Column("metric_value", _float()),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("run_id", string(32), primary_key=True),
        sa.Column("dataset_uuid", string(36)),
        sa.Column("dataset_name", string(500)),
        sa.Column("dataset_digest", string(36)),
        **_OPTS,
    )


def downgrade() -> None:
    for name in (
        "logged_model_metrics",
        "logged_model_tags",
        "logged_model_params",
        "logged_models",
        "input_tags",
        "inputs",
        "datasets",
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(name)
