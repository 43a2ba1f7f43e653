"""A realistic tracking workflow through the official ``mlflow`` fluent API and ``MlflowClient``."""

from __future__ import annotations

import time

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME


def test_set_experiment_creates_then_reuses(experiment_name: str, client: mlflow.MlflowClient) -> None:
    """``set_experiment`` creates a missing experiment and returns the same one on the next call."""
    created = mlflow.set_experiment(experiment_name)
    assert created.name == experiment_name
    assert created.lifecycle_stage == "active"
    assert created.artifact_location == f"mlflow-artifacts:/{created.experiment_id}"

    again = mlflow.set_experiment(experiment_name)
    assert again.experiment_id == created.experiment_id
    by_id = mlflow.set_experiment(experiment_id=created.experiment_id)
    assert by_id.name == experiment_name
    assert client.get_experiment_by_name(experiment_name).experiment_id == created.experiment_id
    assert client.get_experiment_by_name(f"{experiment_name}-missing") is None


def test_default_experiment_exists(client: mlflow.MlflowClient) -> None:
    """Experiment ``0`` named ``Default`` is there for runs started without an experiment."""
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert client.get_experiment_by_name("Default").experiment_id == "0"
    with mlflow.start_run() as run:
        mlflow.log_param("where", "default")
    assert run.info.experiment_id == "0"
    assert mlflow.last_active_run().info.run_id == run.info.run_id
    assert client.get_run(run.info.run_id).data.params == {"where": "default"}


def test_run_with_params_metrics_and_tags(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Everything logged through the fluent API reads back through ``MlflowClient.get_run``."""
    with mlflow.start_run(run_name="train-1", tags={"team": "vision", "stage": "dev"}) as run:
        run_id = run.info.run_id
        assert run.info.run_name == "train-1"
        assert run.info.status == "RUNNING"
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"epochs": 3, "optimizer": "adam", "empty": ""})
        for step, loss in enumerate([1.5, 0.9, 0.4]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"acc": 0.75, "f1": 0.5}, step=2)
        mlflow.set_tag("note", "first try")
        mlflow.set_tags({"framework": "numpy", "gpu": "none"})

    fetched = client.get_run(run_id)
    info, data = fetched.info, fetched.data
    assert info.experiment_id == experiment_id
    assert info.run_name == "train-1"
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "active"
    assert info.end_time is not None and info.end_time >= info.start_time
    assert info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert data.params == {"lr": "0.01", "epochs": "3", "optimizer": "adam", "empty": ""}
    assert data.metrics == {"loss": 0.4, "acc": 0.75, "f1": 0.5}
    assert data.tags["team"] == "vision"
    assert data.tags["stage"] == "dev"
    assert data.tags["note"] == "first try"
    assert data.tags["framework"] == "numpy"
    assert data.tags[MLFLOW_RUN_NAME] == "train-1"
    assert data.tags["mlflow.user"]
    assert data.tags["mlflow.source.type"] == "LOCAL"

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.5), (1, 0.9), (2, 0.4)]


def test_log_batch_through_client(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """``MlflowClient.log_batch`` writes metrics, params and tags in one call."""
    run = client.create_run(experiment_id, run_name="batch", tags={"source": "client"})
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), now + i, i) for i in range(10)] + [Metric("other", -1.25, now, 0)],
        params=[Param("p1", "a"), Param("p2", "b")],
        tags=[RunTag("t1", "x"), RunTag("t2", "")],
        synchronous=True,
    )
    client.set_terminated(run_id, status="KILLED")

    fetched = client.get_run(run_id)
    assert fetched.info.status == "KILLED"
    assert fetched.data.metrics == {"m": 9.0, "other": -1.25}
    assert fetched.data.params == {"p1": "a", "p2": "b"}
    assert fetched.data.tags["t1"] == "x"
    assert fetched.data.tags["t2"] == ""
    assert fetched.data.tags["source"] == "client"
    history = client.get_metric_history(run_id, "m")
    assert [(m.step, m.value, m.timestamp) for m in history] == [(i, float(i), now + i) for i in range(10)]


def test_asynchronous_logging(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Values queued with ``synchronous=False`` arrive once the returned futures (or the run's end) flush them."""
    with mlflow.start_run() as run:
        pending = [mlflow.log_metric("async_loss", 1.0 / (s + 1), step=s, synchronous=False) for s in range(20)]
        pending.append(mlflow.log_params({"mode": "async"}, synchronous=False))
        pending.append(mlflow.set_tag("queued", "yes", synchronous=False))
        for operation in pending:
            operation.wait()
    data = client.get_run(run.info.run_id).data
    assert data.params == {"mode": "async"}
    assert data.tags["queued"] == "yes"
    history = client.get_metric_history(run.info.run_id, "async_loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(20)]


def test_special_metric_values(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """NaN and infinities survive the round trip (MLflow allows them)."""
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("inf", float("inf"))
        mlflow.log_metric("neg_inf", float("-inf"))
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["nan"] != metrics["nan"]
    assert metrics["inf"] == float("inf")
    assert metrics["neg_inf"] == float("-inf")


def test_nested_runs_and_end_status(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Nested runs carry the ``mlflow.parentRunId`` tag; ``end_run`` sets the status it is given."""
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-ok", nested=True) as child_ok:
            mlflow.log_metric("score", 1.0)
        child_failed = mlflow.start_run(run_name="child-failed", nested=True)
        mlflow.end_run(status="FAILED")
        assert mlflow.active_run().info.run_id == parent.info.run_id

    parent_id = parent.info.run_id
    assert MLFLOW_PARENT_RUN_ID not in client.get_run(parent_id).data.tags
    ok = client.get_run(child_ok.info.run_id)
    failed = client.get_run(child_failed.info.run_id)
    assert ok.data.tags[MLFLOW_PARENT_RUN_ID] == parent_id
    assert failed.data.tags[MLFLOW_PARENT_RUN_ID] == parent_id
    assert ok.info.status == "FINISHED"
    assert failed.info.status == "FAILED"
    assert client.get_run(parent_id).info.status == "FINISHED"

    children = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}'",
        output_format="list",
    )
    assert {r.info.run_name for r in children} == {"child-ok", "child-failed"}


def test_run_failing_inside_context_is_marked_failed(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """An exception inside ``with start_run()`` ends the run as FAILED."""
    with pytest.raises(RuntimeError), mlflow.start_run() as run:
        raise RuntimeError("boom")
    assert client.get_run(run.info.run_id).info.status == RunStatus.to_string(RunStatus.FAILED)


def test_update_run_name_and_tag_rename(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Renaming a run through ``update_run`` or the ``mlflow.runName`` tag changes ``run_name``."""
    run = client.create_run(experiment_id, run_name="before")
    run_id = run.info.run_id
    client.update_run(run_id, name="after")
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == "after"
    assert fetched.data.tags[MLFLOW_RUN_NAME] == "after"
    assert fetched.info.status == "RUNNING"

    client.set_tag(run_id, MLFLOW_RUN_NAME, "by-tag")
    assert client.get_run(run_id).info.run_name == "by-tag"

    client.set_tag(run_id, "temp", "1")
    client.delete_tag(run_id, "temp")
    assert "temp" not in client.get_run(run_id).data.tags


def test_delete_and_restore_run(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """A deleted run leaves default searches and comes back when restored."""
    with mlflow.start_run() as run:
        mlflow.log_param("x", 1)
    run_id = run.info.run_id

    mlflow.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert mlflow.search_runs([experiment_id], output_format="list") == []
    deleted_only = client.search_runs([experiment_id], run_view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted_only] == [run_id]

    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in mlflow.search_runs([experiment_id], output_format="list")] == [run_id]


def test_delete_restore_and_rename_experiment(experiment_name: str, client: mlflow.MlflowClient) -> None:
    """Experiment lifecycle: delete, restore, rename and tags."""
    experiment_id = client.create_experiment(experiment_name, tags={"owner": "compat"})
    client.set_experiment_tag(experiment_id, "purpose", "testing")

    run_id = client.create_run(experiment_id).info.run_id

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert client.get_experiment_by_name(experiment_name).lifecycle_stage == "deleted"
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"  # deleting an experiment deletes its runs
    with pytest.raises(MlflowException, match="deleted experiment"):
        mlflow.set_experiment(experiment_name)
    active_names = {e.name for e in client.search_experiments(filter_string=f"name = '{experiment_name}'")}
    assert active_names == set()
    deleted = client.search_experiments(
        view_type=mlflow.entities.ViewType.DELETED_ONLY, filter_string=f"name = '{experiment_name}'"
    )
    assert [e.experiment_id for e in deleted] == [experiment_id]

    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert client.get_run(run_id).info.lifecycle_stage == "active"

    new_name = f"{experiment_name}-renamed"
    client.rename_experiment(experiment_id, new_name)
    renamed = client.get_experiment(experiment_id)
    assert renamed.name == new_name
    assert renamed.tags == {"owner": "compat", "purpose": "testing"}
    assert client.get_experiment_by_name(experiment_name) is None
    assert client.get_experiment_by_name(new_name).experiment_id == experiment_id

    client.delete_experiment_tag(experiment_id, "purpose")
    assert client.get_experiment(experiment_id).tags == {"owner": "compat"}


def test_resume_run_and_unicode_values(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """A finished run resumed with ``start_run(run_id=...)`` is RUNNING again; non-ASCII values round-trip."""
    with mlflow.start_run(run_name="résumé") as run:
        mlflow.log_param("sprache", "Grüße, 世界 🌍")
        mlflow.log_metric("loss", 1.0, step=0, timestamp=1_700_000_000_000)
    run_id = run.info.run_id
    assert client.get_run(run_id).info.status == "FINISHED"

    with mlflow.start_run(run_id=run_id) as resumed:
        assert client.get_run(run_id).info.status == "RUNNING"
        mlflow.log_metric("loss", 0.5, step=1, timestamp=1_700_000_001_000)
        mlflow.set_tag("note", "naïve ☕")
    assert resumed.info.run_id == run_id

    fetched = client.get_run(run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.info.run_name == "résumé"
    assert fetched.data.params["sprache"] == "Grüße, 世界 🌍"
    assert fetched.data.tags["note"] == "naïve ☕"
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (0, 1.0, 1_700_000_000_000),
        (1, 0.5, 1_700_000_001_000),
    ]
    assert mlflow.get_parent_run(run_id) is None
