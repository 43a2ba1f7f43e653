"""mltrail's own client and fluent API against a live server (REST store + HTTP artifact repository)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.http import HttpClient
from tests.server.live import free_port, live_server


@pytest.fixture
def server(clean_fluent_state: Path) -> Iterator[str]:
    with live_server(clean_fluent_state) as url:
        mltrail.set_tracking_uri(url)
        yield url


def test_fluent_workflow_over_http(server: str, tmp_path: Path) -> None:
    mltrail.set_experiment("over-http")
    with mltrail.start_run(run_name="parent") as parent:
        mltrail.log_params({"alpha": 0.5, "layers": 3})
        for step in range(20):
            mltrail.log_metric("loss", 1.0 / (step + 1), step=step)
        mltrail.set_tag("team", "vision")
        mltrail.log_text("hello", "notes/hello.txt")
        mltrail.log_dict({"a": 1}, "config.json")
        with mltrail.start_run(run_name="child", nested=True) as child:
            mltrail.log_metric("acc", 0.9)

    run = mltrail.get_run(parent.info.run_id)
    assert run.info.status.value == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert run.data.params == {"alpha": "0.5", "layers": "3"}
    assert run.data.metrics["loss"] == pytest.approx(1 / 20)
    assert mltrail.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id

    client = mltrail.Client()
    history = client.get_metric_history(parent.info.run_id, "loss")
    assert [m.step for m in history] == list(range(20))
    listed = sorted(f.path for f in client.list_artifacts(parent.info.run_id))
    assert listed == ["config.json", "notes"]
    local = client.download_artifacts(parent.info.run_id, "notes/hello.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hello"

    found = mltrail.search_runs(filter_string="metrics.loss < 0.1", output_format="list")
    assert [r.info.run_id for r in found] == [parent.info.run_id]


def test_directory_upload_and_download_over_http(server: str, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub/deeper").mkdir(parents=True)
    for i in range(6):
        (source / f"f{i}.txt").write_text(str(i))
    (source / "sub/deeper/x.bin").write_bytes(b"\x00" * 1000)
    with mltrail.start_run() as run:
        mltrail.log_artifacts(str(source), "tree")
    client = mltrail.Client()
    out = Path(client.download_artifacts(run.info.run_id, "tree", str(tmp_path / "out")))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "f0.txt",
        "f1.txt",
        "f2.txt",
        "f3.txt",
        "f4.txt",
        "f5.txt",
        "sub/deeper/x.bin",
    ]


def test_errors_come_back_as_mltrail_errors(server: str) -> None:
    client = mltrail.Client()
    with pytest.raises(MltrailError) as info:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert client.get_experiment_by_name("does-not-exist") is None


def test_move_runs_over_http(server: str) -> None:
    client = mltrail.Client()
    source = client.create_experiment("from")
    target = client.create_experiment("to")
    run = client.create_run(source)
    client.move_runs([run.info.run_id], target)
    assert client.get_run(run.info.run_id).info.experiment_id == target


def test_unreachable_server_gives_one_clear_error() -> None:
    client = HttpClient(f"http://127.0.0.1:{free_port()}", max_retries=1, backoff_factor=0.01)
    with pytest.raises(MltrailError) as info:
        client.call("GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": "0"})
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "Cannot reach the tracking server" in info.value.message


def test_gc_through_the_server_removes_rows_and_proxied_artifacts(server: str, clean_fluent_state: Path) -> None:
    from mltrail.cli.main import main

    with mltrail.start_run() as run:
        mltrail.log_text("bye", "doomed.txt")
    client = mltrail.Client()
    experiment_id = run.info.experiment_id
    stored = clean_fluent_state / "artifacts" / experiment_id / run.info.run_id
    assert (stored / "artifacts/doomed.txt").read_text() == "bye"
    client.delete_run(run.info.run_id)
    with pytest.raises(SystemExit) as exit_info:
        main(["gc", "--tracking-uri", server, "--run-ids", run.info.run_id])
    assert exit_info.value.code == 0
    assert not stored.exists()
    with pytest.raises(MltrailError) as info:
        client.get_run(run.info.run_id)
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
