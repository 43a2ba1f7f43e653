"""The tracking schema as SQLAlchemy Core tables.

The Alembic revisions in ``migrations/versions`` create the same schema; ``tests/store`` checks they agree.
String columns compare case-sensitively on every backend (:mod:`mltrail.store.sql.columns`).
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

from mltrail.store.sql.columns import string, table, text

metadata = sa.MetaData()
_table = functools.partial(table, metadata)


experiments = _table(
    "experiments",
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", string(500), nullable=False),
    sa.Column("artifact_location", string(2000)),
    sa.Column("lifecycle_stage", string(32), nullable=False),
    sa.Column("creation_time", sa.BigInteger),
    sa.Column("last_update_time", sa.BigInteger),
    sa.Column("deleted_time", sa.BigInteger),
    sa.UniqueConstraint("name", name="uq_experiments_name"),
)

experiment_tags = _table(
    "experiment_tags",
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("value", text()),
)

runs = _table(
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
    sa.Index("ix_runs_experiment_start", "experiment_id", "lifecycle_stage", "start_time"),
    sa.Index("ix_runs_parent", "parent_run_id"),
)

params = _table(
    "params",
    sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("value", text(), nullable=False),
    sqlite_with_rowid=False,
)

tags = _table(
    "tags",
    sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("value", text()),
    sqlite_with_rowid=False,
)

#: Every metric point. The primary key orders a run's history by key, step and timestamp and makes an
#: exactly repeated point a no-op, as in MLflow.
metrics = _table(
    "metrics",
    sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Float(precision=53), primary_key=True),
    sa.Column("is_nan", sa.Boolean(create_constraint=False), primary_key=True),
    sqlite_with_rowid=False,
)

#: One row per (run, key): the latest point (max by step, timestamp, value) and min/max/sum/count of the
#: non-NaN history, so search can filter and sort on last/min/max/avg with one join.
latest_metrics = _table(
    "latest_metrics",
    sa.Column("run_uuid", string(32), sa.ForeignKey("runs.run_uuid"), primary_key=True),
    sa.Column("key", string(250), primary_key=True),
    sa.Column("value", sa.Float(precision=53), nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("is_nan", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("min_value", sa.Float(precision=53)),
    sa.Column("max_value", sa.Float(precision=53)),
    sa.Column("sum_value", sa.Float(precision=53)),
    sa.Column("count_value", sa.BigInteger, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
    sqlite_with_rowid=False,
)

datasets = _table(
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
)

#: Edges: DATASET -> RUN (dataset inputs), RUN_INPUT -> MODEL_INPUT and RUN_OUTPUT -> MODEL_OUTPUT.
inputs = _table(
    "inputs",
    sa.Column("input_uuid", string(36), nullable=False),
    sa.Column("source_type", string(36), primary_key=True),
    sa.Column("source_id", string(36), primary_key=True),
    sa.Column("destination_type", string(36), primary_key=True),
    sa.Column("destination_id", string(36), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_inputs_input_uuid", "input_uuid", unique=True),
    sa.Index("ix_inputs_destination", "destination_type", "destination_id", "source_type"),
)

input_tags = _table(
    "input_tags",
    sa.Column("input_uuid", string(36), primary_key=True),
    sa.Column("name", string(255), primary_key=True),
    sa.Column("value", string(500), nullable=False),
)

logged_models = _table(
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
    sa.Index("ix_logged_models_experiment", "experiment_id", "creation_timestamp_ms"),
)

logged_model_params = _table(
    "logged_model_params",
    sa.Column("model_id", string(36), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("experiment_id", sa.Integer, nullable=False),
    sa.Column("param_key", string(255), primary_key=True),
    sa.Column("param_value", text(), nullable=False),
)

logged_model_tags = _table(
    "logged_model_tags",
    sa.Column("model_id", string(36), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("experiment_id", sa.Integer, nullable=False),
    sa.Column("tag_key", string(255), primary_key=True),
    sa.Column("tag_value", text(), nullable=False),
)

logged_model_metrics = _table(
    "logged_model_metrics",
    sa.Column("model_id", string(36), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("metric_name", string(500), primary_key=True),
    sa.Column("metric_timestamp_ms", sa.BigInteger, primary_key=True),
    sa.Column("metric_step", sa.BigInteger, primary_key=True),
    sa.Column("metric_value", sa.Float(precision=53)),
    sa.Column("experiment_id", sa.Integer, nullable=False),
    sa.Column("run_id", string(32), primary_key=True),
    sa.Column("dataset_uuid", string(36)),
    sa.Column("dataset_name", string(500)),
    sa.Column("dataset_digest", string(36)),
)

#: Tables holding a run's rows, children first: the order in which a purge deletes them.
RUN_CHILD_TABLES = (latest_metrics, metrics, params, tags)
