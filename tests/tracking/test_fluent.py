"""The fluent API against a real SQLite store: experiments, runs, logging, search, URIs and process exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import mltrail
from mltrail.entities import Dataset, LifecycleStage, RunStatus
from mltrail.errors import INVALID_PARAMETER_VALUE, INVALID_STATE, MltrailError
from mltrail.tracking import fluent


# -------------------------------------------------------------------------------------- tracking URI
def test_tracking_uri_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLTRAIL_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    fluent._reset()
    try:
        assert mltrail.get_tracking_uri() == "sqlite:///mltrail.db"
        assert not mltrail.is_tracking_uri_set()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow-env.db")
        assert mltrail.get_tracking_uri() == "sqlite:///mlflow-env.db"
        monkeypatch.setenv("MLTRAIL_TRACKING_URI", "sqlite:///mltrail-env.db")
        assert mltrail.get_tracking_uri() == "sqlite:///mltrail-env.db"
        mltrail.set_tracking_uri("sqlite:///explicit.db")
        assert mltrail.get_tracking_uri() == "sqlite:///explicit.db"
        import os

        assert os.environ["MLTRAIL_TRACKING_URI"] == "sqlite:///explicit.db"  # inherited by subprocesses
        mltrail.set_tracking_uri(tmp_path)
        assert mltrail.get_tracking_uri() == tmp_path.resolve().as_uri()
    finally:
        fluent._reset()


def test_default_tracking_uri_is_sqlite_in_cwd(tracking_uri: str, tmp_path: Path) -> None:
    mltrail.set_tracking_uri(None)
    with mltrail.start_run() as run:
        mltrail.log_param("p", 1)
    assert (tmp_path / "mltrail.db").exists()
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(tmp_path / "artifacts")


def test_path_tracking_uri_is_a_clear_error(tracking_uri: str, tmp_path: Path) -> None:
    mltrail.set_tracking_uri(str(tmp_path / "mlruns"))
    with pytest.raises(MltrailError) as e:
        mltrail.start_run()
    assert "sqlite" in e.value.message


# ---------------------------------------------------------------------------------------- experiments
def test_set_experiment(tracking_uri: str) -> None:
    exp = mltrail.set_experiment("new-exp")
    assert mltrail.get_experiment_by_name("new-exp") == exp
    assert mltrail.set_experiment("new-exp").experiment_id == exp.experiment_id
    assert mltrail.set_experiment(experiment_id=exp.experiment_id).name == "new-exp"
    with mltrail.start_run() as run:
        pass
    assert run.info.experiment_id == exp.experiment_id
    with pytest.raises(MltrailError):
        mltrail.set_experiment()
    with pytest.raises(MltrailError):
        mltrail.set_experiment("a", "1")
    mltrail.delete_experiment(exp.experiment_id)
    with pytest.raises(MltrailError) as e:
        mltrail.set_experiment("new-exp")
    assert e.value.error_code == INVALID_PARAMETER_VALUE and "deleted" in e.value.message
    mltrail.restore_experiment(exp.experiment_id)
    assert mltrail.get_experiment(exp.experiment_id).lifecycle_stage == LifecycleStage.ACTIVE


def test_experiment_from_environment(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with mltrail.start_run() as run:
        pass
    exp = mltrail.get_experiment_by_name("from-env")
    assert exp is not None and run.info.experiment_id == exp.experiment_id
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    other = mltrail.create_experiment("by-id", tags={"k": "v"})
    monkeypatch.setenv("MLTRAIL_EXPERIMENT_ID", other)
    with mltrail.start_run() as run:
        pass
    assert run.info.experiment_id == other
    monkeypatch.setenv("MLTRAIL_EXPERIMENT_ID", "424242")
    with pytest.raises(MltrailError):
        mltrail.start_run()


def test_experiment_tags_and_search(tracking_uri: str) -> None:
    mltrail.set_experiment("tagged")
    mltrail.set_experiment_tag("a", 1)
    mltrail.set_experiment_tags({"b": "2", "c": "3"})
    mltrail.delete_experiment_tag("c")
    assert mltrail.get_experiment_by_name("tagged").tags == {"a": "1", "b": "2"}  # type: ignore[union-attr]
    for i in range(3):
        mltrail.create_experiment(f"more-{i}")
    assert len(mltrail.search_experiments()) == 5
    assert [e.name for e in mltrail.search_experiments(filter_string="name LIKE 'more-%'", order_by=["name"])] == [
        "more-0",
        "more-1",
        "more-2",
    ]
    assert len(mltrail.search_experiments(max_results=2)) == 2


# ----------------------------------------------------------------------------------------------- runs
def test_start_run_context_manager(tracking_uri: str) -> None:
    with mltrail.start_run(run_name="first", tags={"team": "ml"}, description="notes") as run:
        assert mltrail.active_run() is run
        assert run.info.status == RunStatus.RUNNING
    assert mltrail.active_run() is None
    got = mltrail.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED and got.info.end_time is not None
    assert got.info.run_name == "first" and got.info.experiment_id == "0"
    tags = got.data.tags
    assert tags["team"] == "ml" and tags["mlflow.note.content"] == "notes" and tags["mlflow.runName"] == "first"
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"] and tags["mlflow.source.name"]
    assert mltrail.last_active_run().info.status == RunStatus.FINISHED  # type: ignore[union-attr]


def test_exception_in_with_fails_the_run(tracking_uri: str) -> None:
    with pytest.raises(ZeroDivisionError), mltrail.start_run() as run:
        1 / 0  # noqa: B018
    assert mltrail.get_run(run.info.run_id).info.status == RunStatus.FAILED


def test_nested_runs(tracking_uri: str) -> None:
    with mltrail.start_run() as parent:
        with pytest.raises(MltrailError) as e:
            mltrail.start_run()
        assert e.value.error_code == INVALID_STATE
        with mltrail.start_run(nested=True) as child:
            assert mltrail.active_run() is child
            with mltrail.start_run(nested=True) as grandchild:
                pass
        assert mltrail.active_run() is parent
    assert mltrail.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert mltrail.get_run(grandchild.info.run_id).data.tags["mlflow.parentRunId"] == child.info.run_id
    assert mltrail.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]
    assert "mlflow.parentRunId" not in mltrail.get_run(parent.info.run_id).data.tags


def test_parent_run_id(tracking_uri: str) -> None:
    parent = mltrail.start_run()
    mltrail.end_run()
    with mltrail.start_run(parent_run_id=parent.info.run_id) as child:
        pass
    assert mltrail.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    with mltrail.start_run() as other, pytest.raises(MltrailError):
        mltrail.start_run(nested=True, parent_run_id=parent.info.run_id)
    assert other.info.run_id


def test_resume_run(tracking_uri: str) -> None:
    with mltrail.start_run() as run:
        mltrail.log_param("a", 1)
    with mltrail.start_run(run_id=run.info.run_id, run_name="again", tags={"x": "y"}) as resumed:
        assert resumed.info.status == RunStatus.RUNNING
        mltrail.log_metric("m", 1.0)
    got = mltrail.get_run(run.info.run_id)
    assert got.info.run_name == "again" and got.data.tags["x"] == "y"
    assert got.data.params == {"a": "1"} and got.data.metrics == {"m": 1.0}
    assert got.info.status == RunStatus.FINISHED


def test_resume_from_environment_once(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with mltrail.start_run() as run:
        pass
    monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
    with mltrail.start_run() as resumed:
        assert resumed.info.run_id == run.info.run_id
    with mltrail.start_run() as fresh:
        assert fresh.info.run_id != run.info.run_id


def test_resume_deleted_run_fails(tracking_uri: str) -> None:
    with mltrail.start_run() as run:
        pass
    mltrail.delete_run(run.info.run_id)
    with pytest.raises(MltrailError) as e:
        mltrail.start_run(run_id=run.info.run_id)
    assert "deleted" in e.value.message
    mltrail.restore_run(run.info.run_id)
    assert mltrail.get_run(run.info.run_id).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_description_conflict(tracking_uri: str) -> None:
    with pytest.raises(MltrailError):
        mltrail.start_run(description="a", tags={"mlflow.note.content": "b"})


def test_end_run_status(tracking_uri: str) -> None:
    run = mltrail.start_run()
    mltrail.end_run("KILLED")
    assert mltrail.get_run(run.info.run_id).info.status == RunStatus.KILLED
    mltrail.end_run()  # nothing active: no error


def test_logging_starts_a_run(tracking_uri: str) -> None:
    mltrail.log_param("auto", "yes")
    run = mltrail.active_run()
    assert run is not None
    mltrail.end_run()
    assert mltrail.get_run(run.info.run_id).data.params == {"auto": "yes"}


def test_active_run_is_per_thread(tracking_uri: str) -> None:
    seen: list[object] = []
    with mltrail.start_run():
        t = threading.Thread(target=lambda: seen.append(mltrail.active_run()))
        t.start()
        t.join()
    assert seen == [None]


def test_log_params_metrics_tags(tracking_uri: str) -> None:
    with mltrail.start_run() as run:
        assert mltrail.log_param("lr", 0.01) == 0.01
        mltrail.log_params({"depth": 3, "name": "x"})
        mltrail.log_metric("loss", 1.0, step=1, timestamp=5)
        mltrail.log_metric("loss", 0.5, step=2)
        mltrail.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        mltrail.set_tag("t", 1)
        mltrail.set_tags({"u": "v", "w": "z"})
        mltrail.delete_tag("w")
        ds = Dataset("d", "dig", "local", "{}")
        mltrail.log_metric("eval", 0.7, dataset=ds)
    got = mltrail.get_run(run.info.run_id)
    assert got.data.params == {"lr": "0.01", "depth": "3", "name": "x"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8, "eval": 0.7}
    assert got.data.tags["t"] == "1" and got.data.tags["u"] == "v" and "w" not in got.data.tags
    history = mltrail.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 1.0), (2, 0.5)] and history[0].timestamp == 5


def test_log_to_other_run_id(tracking_uri: str) -> None:
    with mltrail.start_run() as first:
        pass
    with mltrail.start_run():
        mltrail.log_metric("m", 3.0, run_id=first.info.run_id)
        mltrail.log_params({"p": 1}, run_id=first.info.run_id)
    got = mltrail.get_run(first.info.run_id)
    assert got.data.metrics == {"m": 3.0} and got.data.params == {"p": "1"}


def test_artifacts(tracking_uri: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    with mltrail.start_run() as run:
        mltrail.log_artifact(str(tmp_path / "f.txt"), "a")
        mltrail.log_artifacts(str(_tree(tmp_path)), "tree")
        mltrail.log_text("hi", "t/hi.txt")
        mltrail.log_dict({"a": 1}, "d.yml")
        mltrail.log_table({"c": [1, 2]}, "table.json")
        import numpy as np

        mltrail.log_image(np.zeros((2, 2, 3), dtype=np.uint8), "img.png")
        mltrail.log_image(np.zeros((2, 2, 3), dtype=np.uint8), key="k", step=1)
        uri = mltrail.get_artifact_uri()
        assert mltrail.get_artifact_uri("a/f.txt") == uri + "/a/f.txt"
    paths = [f.path for f in mltrail.MlflowClient().list_artifacts(run.info.run_id)]
    assert paths == ["a", "d.yml", "images", "img.png", "t", "table.json", "tree"]


def _tree(tmp_path: Path) -> Path:
    d = tmp_path / "tree_src"
    (d / "s").mkdir(parents=True)
    (d / "s" / "f").write_text("1")
    return d


def test_log_figure(tracking_uri: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    with mltrail.start_run() as run:
        mltrail.log_figure(fig, "fig.png")
    plt.close(fig)
    assert [f.path for f in mltrail.MlflowClient().list_artifacts(run.info.run_id)] == ["fig.png"]


def test_log_input(tracking_uri: str) -> None:
    class MlflowLikeDataset:
        def _to_mlflow_entity(self) -> Dataset:
            return Dataset("mlflow-ds", "d1", "code", "{}")

    with mltrail.start_run() as run:
        mltrail.log_input(Dataset("train", "abc", "local", "{}"), context="training", tags={"k": "v"})
        mltrail.log_inputs(
            [MlflowLikeDataset(), {"name": "dict-ds", "digest": "d2", "source_type": "s", "source": "x"}],
            ["eval", None],
            [None, None],
        )
        with pytest.raises(MltrailError):
            mltrail.log_inputs([Dataset("x", "y", "z", "w")], [], [])
        with pytest.raises(MltrailError):
            mltrail.log_input(object())
    inputs = mltrail.get_run(run.info.run_id).inputs.dataset_inputs
    got = sorted((d.dataset.name, d.context) for d in inputs)
    assert got == [("dict-ds", None), ("mlflow-ds", "eval"), ("train", "training")]


# --------------------------------------------------------------------------------------------- search
def _make_runs() -> list[str]:
    ids = []
    for i in range(3):
        with mltrail.start_run(run_name=f"r{i}") as run:
            mltrail.log_metric("loss", float(i))
            mltrail.log_param("i", i)
            if i == 2:
                mltrail.set_tag("best", "no")
        ids.append(run.info.run_id)
    return ids


def test_search_runs_pandas(tracking_uri: str) -> None:
    import pandas as pd

    ids = _make_runs()
    df = mltrail.search_runs(order_by=["metrics.loss ASC"])
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert {"metrics.loss", "params.i", "tags.best", "tags.mlflow.runName"} <= set(df.columns)
    assert list(df["run_id"]) == ids
    assert list(df["metrics.loss"]) == [0.0, 1.0, 2.0]
    assert list(df["params.i"]) == ["0", "1", "2"]
    assert df["tags.best"].isna().tolist() == [True, True, False]
    assert list(df["status"]) == ["FINISHED"] * 3
    assert str(df["start_time"].dt.tz) == "UTC"
    run = mltrail.get_run(ids[0])
    assert df["start_time"][0] == pd.Timestamp(run.info.start_time, unit="ms", tz="UTC")
    filtered = mltrail.search_runs(filter_string="metrics.loss >= 1", order_by=["metrics.loss DESC"])
    assert list(filtered["run_id"]) == [ids[2], ids[1]]


def test_search_runs_list_names_and_empty(tracking_uri: str) -> None:
    ids = _make_runs()
    runs = mltrail.search_runs(output_format="list", max_results=2, order_by=["params.i DESC"])
    assert [r.info.run_id for r in runs] == [ids[2], ids[1]]
    assert len(mltrail.search_runs(experiment_names=["Default", "missing"], output_format="list")) == 3
    other = mltrail.create_experiment("other")
    empty = mltrail.search_runs(experiment_ids=[other])
    assert list(empty.columns) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert len(empty) == 0
    assert len(mltrail.search_runs(search_all_experiments=True, output_format="list")) == 3
    with pytest.raises(MltrailError):
        mltrail.search_runs(experiment_ids=["0"], experiment_names=["Default"])
    with pytest.raises(MltrailError):
        mltrail.search_runs(output_format="csv")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ exit hook
EXIT_SCRIPT = """
import sys
import mltrail

mltrail.set_tracking_uri(sys.argv[1])
parent = mltrail.start_run()
child = mltrail.start_run(nested=True)
mltrail.log_param("p", 1)
print(parent.info.run_id, child.info.run_id, flush=True)
{tail}
"""


@pytest.mark.parametrize(
    ("tail", "status", "rc"),
    [("", RunStatus.FINISHED, 0), ("raise ValueError('bad')", RunStatus.FAILED, 1)],
)
def test_runs_active_at_exit_are_ended(
    tracking_uri: str, tmp_path: Path, tail: str, status: RunStatus, rc: int
) -> None:
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT.replace("{tail}", tail)))
    done = subprocess.run([sys.executable, str(script), tracking_uri], capture_output=True, text=True, timeout=60)
    assert done.returncode == rc, done.stderr
    client = mltrail.MlflowClient(tracking_uri)
    for run_id in done.stdout.split():
        run = client.get_run(run_id)
        assert run.info.status == status and run.info.end_time is not None
