"""``log_input`` with an MLflow dataset, read back from ``run.inputs`` and searched by dataset."""

from __future__ import annotations

import json

import mlflow
import mlflow.data
import pandas as pd


def test_log_input_and_read_back(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """A pandas dataset logged with contexts and tags comes back with name, digest, schema, profile and tags."""
    train_frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    eval_frame = pd.DataFrame({"x": [4.0, 5.0], "label": [1, 1]})
    train = mlflow.data.from_pandas(train_frame, source="s3://bucket/train.parquet", name="train-set", targets="label")
    evaluation = mlflow.data.from_pandas(eval_frame, name="eval-set")

    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training", tags={"version": "v1"})
        mlflow.log_input(evaluation, context="eval")
        mlflow.log_metric("rmse", 0.25, dataset=evaluation)

    inputs = client.get_run(run.info.run_id).inputs
    by_name = {d.dataset.name: d for d in inputs.dataset_inputs}
    assert set(by_name) == {"train-set", "eval-set"}

    logged_train = by_name["train-set"]
    stored = logged_train.dataset
    assert stored.digest == train.digest
    assert stored.source_type == "s3"
    assert json.loads(stored.source) == {"uri": "s3://bucket/train.parquet"}
    assert json.loads(stored.profile) == {"num_rows": 3, "num_elements": 6}
    # The schema is whatever the client computed (None when mlflow-skinny runs without scipy).
    assert stored.schema == train.to_dict()["schema"]
    sent = {k: v for k, v in train.to_dict().items() if v is not None}
    assert {k: getattr(stored, k) for k in sent} == sent
    tags = {t.key: t.value for t in logged_train.tags}
    assert tags == {"mlflow.data.context": "training", "version": "v1"}
    assert {t.key: t.value for t in by_name["eval-set"].tags} == {"mlflow.data.context": "eval"}

    # The dataset source rebuilds from what the server stored.
    source = mlflow.data.get_source(logged_train)
    assert source.uri == "s3://bucket/train.parquet"

    # Like MLflow, a run's metric history does not keep the dataset a point was computed on.
    assert [m.value for m in client.get_metric_history(run.info.run_id, "rmse")] == [0.25]

    found = mlflow.search_runs(
        [experiment_id],
        filter_string="datasets.name = 'train-set' and datasets.context = 'training'",
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]
    none = mlflow.search_runs([experiment_id], filter_string="datasets.context = 'testing'", output_format="list")
    assert none == []


def test_logging_the_same_dataset_twice_is_idempotent(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """The same dataset and context logged twice in a run is recorded once."""
    dataset = mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2]}), name="dup")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in inputs] == [("dup", dataset.digest)]
