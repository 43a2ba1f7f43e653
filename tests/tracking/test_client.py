"""MltrailClient against a real SQLite store: experiments, runs, logging, search and artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mltrail
from mltrail.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LifecycleStage,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.tracking.client import MlflowClient, MltrailClient


@pytest.fixture
def client(tracking_uri: str) -> MltrailClient:
    return MltrailClient(tracking_uri)


@pytest.fixture
def run_id(client: MltrailClient) -> str:
    exp = client.create_experiment("exp")
    return client.create_run(exp, run_name="r").info.run_id


def test_aliases_and_default_uri(tracking_uri: str) -> None:
    assert MlflowClient is MltrailClient is mltrail.Client
    assert MltrailClient().tracking_uri == tracking_uri


def test_experiments(client: MltrailClient) -> None:
    exp_id = client.create_experiment("a", tags={"team": "ml", "n": 1})
    exp = client.get_experiment(exp_id)
    assert exp.name == "a" and exp.tags == {"team": "ml", "n": "1"}
    assert client.get_experiment_by_name("a") == exp
    assert client.get_experiment_by_name("missing") is None
    with pytest.raises(MltrailError) as e:
        client.create_experiment("a")
    assert e.value.error_code == RESOURCE_ALREADY_EXISTS
    client.rename_experiment(exp_id, "b")
    client.set_experiment_tag(exp_id, "k", "v")
    client.delete_experiment_tag(exp_id, "team")
    exp = client.get_experiment(exp_id)
    assert exp.name == "b" and exp.tags == {"n": "1", "k": "v"}
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == LifecycleStage.DELETED
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)] == ["b"]
    client.restore_experiment(exp_id)
    names = [e.name for e in client.search_experiments(filter_string="name = 'b'")]
    assert names == ["b"]
    page = client.search_experiments(max_results=1, order_by=["name ASC"])
    assert [e.name for e in page] == ["Default"] and page.token
    assert [e.name for e in client.search_experiments(max_results=1, order_by=["name ASC"], page_token=page.token)] == [
        "b"
    ]
    with pytest.raises(MltrailError) as e:
        client.get_experiment("12345")
    assert e.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_run_lifecycle(client: MltrailClient) -> None:
    exp = client.create_experiment("exp")
    run = client.create_run(exp, start_time=123, tags={"mlflow.user": "alice", "k": 1}, run_name="first")
    assert run.info.status == RunStatus.RUNNING and run.info.start_time == 123
    assert run.info.user_id == "alice" and run.info.run_name == "first"
    assert run.data.tags["k"] == "1" and run.data.tags["mlflow.runName"] == "first"
    rid = run.info.run_id
    client.update_run(rid, name="renamed")
    assert client.get_run(rid).info.run_name == "renamed"
    assert client.get_run(rid).data.tags["mlflow.runName"] == "renamed"
    client.set_terminated(rid, "KILLED", end_time=456)
    info = client.get_run(rid).info
    assert info.status == RunStatus.KILLED and info.end_time == 456
    client.update_run(rid, status="RUNNING")
    assert client.get_run(rid).info.status == RunStatus.RUNNING
    client.set_terminated(rid)
    assert client.get_run(rid).info.status == RunStatus.FINISHED
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == LifecycleStage.DELETED
    assert list(client.search_runs([exp])) == []
    client.restore_run(rid)
    assert [r.info.run_id for r in client.search_runs(exp)] == [rid]


def test_params_metrics_tags(client: MltrailClient, run_id: str) -> None:
    assert client.log_param(run_id, "alpha", 0.5) == 0.5
    client.log_metric(run_id, "loss", 2, timestamp=10, step=1)
    client.log_metric(run_id, "loss", 1.5, timestamp=20, step=2)
    client.log_metric(run_id, "nan", float("nan"))
    client.set_tag(run_id, "t", 1)
    client.set_tag(run_id, "gone", "x")
    client.delete_tag(run_id, "gone")
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.9, 30, 3)],
        params=[Param("beta", "b")],
        tags=[RunTag("u", "v")],
    )
    run = client.get_run(run_id)
    assert run.data.params == {"alpha": "0.5", "beta": "b"}
    assert run.data.metrics["loss"] == 1.5 and run.data.metrics["acc"] == 0.9
    assert run.data.tags["t"] == "1" and run.data.tags["u"] == "v" and "gone" not in run.data.tags
    history = client.get_metric_history(run_id, "loss")
    assert [(m.value, m.step, m.timestamp) for m in history] == [(2.0, 1, 10), (1.5, 2, 20)]


def test_invalid_metric_values(client: MltrailClient, run_id: str) -> None:
    for bad in (True, "1.0", None, 1j):
        with pytest.raises(MltrailError) as e:
            client.log_metric(run_id, "m", bad)  # type: ignore[arg-type]
        assert e.value.error_code == INVALID_PARAMETER_VALUE
    import numpy as np

    client.log_metric(run_id, "np", np.float32(0.25))
    client.log_metric(run_id, "npi", np.int64(3))
    assert client.get_run(run_id).data.metrics == {"np": 0.25, "npi": 3.0}


def test_param_immutability_error(client: MltrailClient, run_id: str) -> None:
    client.log_param(run_id, "a", "1")
    with pytest.raises(MltrailError) as e:
        client.log_param(run_id, "a", "2")
    assert e.value.error_code == INVALID_PARAMETER_VALUE


def test_large_sync_batches_are_split(client: MltrailClient, run_id: str) -> None:
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), i, i) for i in range(2500)],
        params=[Param(f"p{i}", "v") for i in range(250)],
        tags=[RunTag(f"t{i}", "v") for i in range(120)],
    )
    run = client.get_run(run_id)
    assert len(run.data.params) == 250 and sum(k.startswith("t") for k in run.data.tags) == 120
    assert len(client.get_metric_history(run_id, "m")) == 2500


def test_search_runs(client: MltrailClient) -> None:
    exp = client.create_experiment("exp")
    ids = []
    for i in range(5):
        rid = client.create_run(exp).info.run_id
        client.log_metric(rid, "loss", float(i))
        client.log_param(rid, "i", i)
        ids.append(rid)
    found = client.search_runs([exp], "metrics.loss < 2", order_by=["metrics.loss DESC"])
    assert [r.info.run_id for r in found] == [ids[1], ids[0]]
    page = client.search_runs([exp], max_results=2, order_by=["params.i ASC"])
    assert [r.data.params["i"] for r in page] == ["0", "1"] and page.token
    rest = client.search_runs([exp], max_results=10, order_by=["params.i ASC"], page_token=page.token)
    assert [r.data.params["i"] for r in rest] == ["2", "3", "4"]
    client.delete_run(ids[0])
    assert len(client.search_runs([exp], run_view_type=ViewType.ALL)) == 5
    assert len(client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)) == 1


def test_parent_run_and_move_runs(client: MltrailClient) -> None:
    a = client.create_experiment("a")
    b = client.create_experiment("b")
    parent = client.create_run(a).info.run_id
    child = client.create_run(a, tags={"mlflow.parentRunId": parent}).info.run_id
    assert client.get_parent_run(child).info.run_id == parent  # type: ignore[union-attr]
    assert client.get_parent_run(parent) is None
    client.move_runs([parent], b)
    assert {r.info.run_id for r in client.search_runs([b])} == {parent, child}


def test_log_inputs(client: MltrailClient, run_id: str) -> None:
    ds = Dataset("train", "abc123", "local", '{"uri": "data.csv"}')
    client.log_inputs(run_id, [DatasetInput(ds, (InputTag("mlflow.data.context", "training"),))])
    inputs = client.get_run(run_id).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest, d.context) for d in inputs] == [("train", "abc123", "training")]


# ----------------------------------------------------------------------------------------- artifacts
def test_artifacts(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("hello")
    d = tmp_path / "model"
    (d / "sub").mkdir(parents=True)
    (d / "MLmodel").write_text("x")
    (d / "sub" / "w.bin").write_bytes(b"123")
    client.log_artifact(run_id, tmp_path / "f.txt")
    client.log_artifact(run_id, str(tmp_path / "f.txt"), "docs")
    client.log_artifact(run_id, str(d), "dirs")  # a directory goes in under its own name
    client.log_artifacts(run_id, str(d), "flat")
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [
        ("dirs", True),
        ("docs", True),
        ("f.txt", False),
        ("flat", True),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "dirs/model")] == ["dirs/model/MLmodel", "dirs/model/sub"]
    assert [f.path for f in client.list_artifacts(run_id, "flat")] == ["flat/MLmodel", "flat/sub"]
    local = client.download_artifacts(run_id, "flat", str(tmp_path / "dl"))
    assert (Path(local) / "sub" / "w.bin").read_bytes() == b"123"
    run = client.get_run(run_id)
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(tmp_path / "artifacts")
    with pytest.raises(MltrailError):
        client.list_artifacts(run_id, "../..")


def test_log_text_and_dict(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    client.log_text(run_id, "héllo", "notes/readme.md")
    client.log_dict(run_id, {"b": [1, 2], "a": {"x": 1}}, "cfg/config.json")
    client.log_dict(run_id, {"b": [1, 2], "a": {"x": 1}}, "cfg/config.yaml")
    dl = Path(client.download_artifacts(run_id, "", str(tmp_path / "dl")))
    assert (dl / "notes" / "readme.md").read_text(encoding="utf-8") == "héllo"
    assert json.loads((dl / "cfg" / "config.json").read_text()) == {"b": [1, 2], "a": {"x": 1}}
    import yaml

    assert yaml.safe_load((dl / "cfg" / "config.yaml").read_text()) == {"b": [1, 2], "a": {"x": 1}}


def test_log_figure(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    client.log_figure(run_id, fig, "plots/line.png")
    client.log_figure(run_id, fig, "plots/line.svg", save_kwargs={"transparent": True})
    plt.close(fig)
    assert [f.path for f in client.list_artifacts(run_id, "plots")] == ["plots/line.png", "plots/line.svg"]
    png = Path(client.download_artifacts(run_id, "plots/line.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError):
        client.log_figure(run_id, object(), "x.png")


def test_log_image_file_form(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    client.log_image(run_id, np.zeros((4, 6, 3), dtype=np.uint8), "img/zeros.png")
    client.log_image(run_id, np.ones((4, 6), dtype=np.float64), "img/gray.png")
    client.log_image(run_id, Image.new("RGBA", (3, 2)), "img/pil.png")
    assert [f.path for f in client.list_artifacts(run_id, "img")] == ["img/gray.png", "img/pil.png", "img/zeros.png"]
    with Image.open(client.download_artifacts(run_id, "img/zeros.png", str(tmp_path))) as im:
        assert im.size == (6, 4) and im.mode == "RGB"
    with Image.open(client.download_artifacts(run_id, "img/gray.png", str(tmp_path))) as im:
        assert im.mode == "L" and im.getpixel((0, 0)) == 255
    with pytest.raises(ValueError):
        client.log_image(run_id, np.full((2, 2), 300, dtype=np.int64), "bad.png")
    with pytest.raises(ValueError):
        client.log_image(run_id, np.zeros((2, 2, 2)), "bad.png")
    with pytest.raises(TypeError):
        client.log_image(run_id, "not an image", "bad.png")
    with pytest.raises(TypeError):
        client.log_image(run_id, np.zeros((2, 2)), "x.png", key="k")
    with pytest.raises(TypeError):
        client.log_image(run_id, np.zeros((2, 2)))
    with pytest.warns(UserWarning):
        client.log_image(run_id, np.array([[0.0, 2.0]]), "img/scaled.png")


def test_log_image_stepped_form(client: MltrailClient, run_id: str) -> None:
    import numpy as np

    client.log_image(run_id, np.zeros((512, 300, 3), dtype=np.uint8), key="samples/dog", step=3, timestamp=99)
    files = [f.path for f in client.list_artifacts(run_id, "images")]
    assert len(files) == 2
    png = next(f for f in files if f.endswith(".png"))
    webp = next(f for f in files if f.endswith(".webp"))
    assert png.startswith("images/samples~dog+step+3+timestamp+99+")
    assert webp == png[: -len(".png")] + "+compressed.webp"
    assert client.get_run(run_id).data.tags["mlflow.loggedImages"] == "True"
    with pytest.raises(ValueError):
        client.log_image(run_id, np.zeros((2, 2)), key="bad#key")


def _read_json(client: MltrailClient, run_id: str, path: str, tmp_path: Path) -> dict:
    return json.loads(Path(client.download_artifacts(run_id, path, str(tmp_path / "t"))).read_text())


def test_log_table_dict_appends(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    client.log_table(run_id, {"q": ["a", "b"], "score": [1, 2.5]}, "eval/results.json")
    client.log_table(run_id, {"q": "c", "extra": True}, "eval/results.json")
    table = _read_json(client, run_id, "eval/results.json", tmp_path)
    assert table == {
        "columns": ["q", "score", "extra"],
        "data": [["a", 1, None], ["b", 2.5, None], ["c", None, True]],
    }
    tag = json.loads(client.get_run(run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "eval/results.json", "type": "table"}]
    with pytest.raises(ValueError):
        client.log_table(run_id, {"a": [1]}, "bad:name.json")
    with pytest.raises(ValueError):
        client.log_table(run_id, {"a": [1]}, "table.csv")
    with pytest.raises(MltrailError):
        client.log_table(run_id, [1, 2], "t.json")  # type: ignore[arg-type]


def test_log_table_dataframe_matches_pandas_split(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    import pandas as pd

    df = pd.DataFrame({"x": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "s": ["a", None]})
    client.log_table(run_id, df, "t.json")
    expected = json.loads(df.to_json(orient="split", index=False, date_format="iso"))
    assert _read_json(client, run_id, "t.json", tmp_path) == {"columns": expected["columns"], "data": expected["data"]}


def test_log_table_image_column(client: MltrailClient, run_id: str, tmp_path: Path) -> None:
    from PIL import Image

    client.log_table(run_id, {"prompt": ["dog"], "image": [Image.new("RGB", (8, 8))]}, "gen.json")
    table = _read_json(client, run_id, "gen.json", tmp_path)
    cell = table["data"][0][1]
    assert cell["type"] == "image" and cell["filepath"].startswith("table_images/gen/")
    listed = {f.path for f in client.list_artifacts(run_id, posix_dir(cell["filepath"]))}
    assert cell["filepath"] in listed and cell["compressed_filepath"] in listed
    with pytest.raises(ValueError):
        client.log_table(run_id, {"mixed": [Image.new("RGB", (2, 2)), 1]}, "m.json")


def posix_dir(path: str) -> str:
    return path.rsplit("/", 1)[0]
