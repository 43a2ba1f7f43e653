"""The example project (examples/sklearn_project), run from a local git repository at a given commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail.entities import RunStatus
from mltrail.projects import run
from mltrail.tracking.client import MltrailClient


def _check_example_run(client: MltrailClient, run_id: str, commit: str, alpha: str) -> None:
    import mltrail.pyfunc

    got = client.get_run(run_id)
    assert got.info.status == RunStatus.FINISHED
    assert got.data.params == {"alpha": alpha, "l1_ratio": "0.1", "max_iter": "1000", "test_size": "0.25"}
    assert set(got.data.metrics) == {"rmse", "mae", "r2"} and got.data.metrics["rmse"] > 0
    assert got.data.tags["mlflow.source.git.commit"] == commit
    assert got.data.tags["mlflow.source.type"] == "PROJECT"
    logs = [f.path for f in client.list_artifacts(run_id, "project_logs")]
    assert logs == ["project_logs/stderr.txt", "project_logs/stdout.txt"]
    model = mltrail.pyfunc.load_model(f"runs:/{run_id}/model")
    from sklearn.datasets import load_diabetes

    features, _ = load_diabetes(return_X_y=True, as_frame=True)
    assert len(model.predict(features.head(4))) == 4


def test_example_from_git_at_a_commit_local_store(tracking_uri: str, example_repo: tuple[Path, str, str]) -> None:
    repo, first, second = example_repo
    client = MltrailClient(tracking_uri)
    at_first = run(f"file://{repo}#sklearn_project", version=first, env_manager="local", experiment_name="example")
    _check_example_run(client, at_first.run_id, first, "0.5")  # the first commit's default alpha
    at_second = run(f"{repo}#sklearn_project", version=second, parameters={"l1_ratio": 0.1}, env_manager="local")
    _check_example_run(client, at_second.run_id, second, "0.9")


def test_example_from_git_against_a_live_server(
    clean_fluent_state: Path, example_repo: tuple[Path, str, str], tmp_path: Path
) -> None:
    import mltrail
    from tests.server.live import live_server

    repo, first, _ = example_repo
    with live_server(tmp_path / "server") as url:
        mltrail.set_tracking_uri(url)  # for loading the model back through runs:/
        submitted = run(
            f"file://{repo}#sklearn_project",
            version=first,
            parameters={"alpha": 0.25},
            env_manager="local",
            tracking_uri=url,
            experiment_name="served",
        )
        client = MltrailClient(url)
        _check_example_run(client, submitted.run_id, first, "0.25")
        assert client.get_experiment_by_name("served") is not None
        mltrail.set_tracking_uri(None)


@pytest.mark.slow
def test_example_in_its_virtualenv(
    tracking_uri: str, example_repo: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example's python_env.yaml builds (about 20-40 s the first time) and trains in its own environment."""
    monkeypatch.setenv("MLTRAIL_ENV_ROOT", str(tmp_path / "envs"))
    repo, _, second = example_repo
    submitted = run(f"{repo}#sklearn_project", version=second, parameters={"alpha": 0.3})
    client = MltrailClient(tracking_uri)
    _check_example_run(client, submitted.run_id, second, "0.3")
    assert client.get_run(submitted.run_id).data.tags["mlflow.project.env"] == "virtualenv"
