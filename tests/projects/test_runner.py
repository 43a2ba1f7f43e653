"""``mltrail.projects.run``: environment variables, tags, parameters, logs, statuses, cancel, URIs."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest

from mltrail.entities import RunStatus
from mltrail.errors import MltrailError
from mltrail.projects import ExecutionError, run
from mltrail.tracking.client import MltrailClient
from tests.projects.conftest import commit_all, git, write_project

SCRIPTS = {
    "show_env.py": (
        "import json, os, sys\n"
        "keys = [f'{p}_{k}' for p in ('MLTRAIL', 'MLFLOW') for k in ('RUN_ID', 'TRACKING_URI', 'EXPERIMENT_ID')]\n"
        "print(json.dumps({k: os.environ.get(k) for k in keys}))\n"
        "print('to stderr', file=sys.stderr)\n"
        "print('argv', sys.argv[1:])\n"
    ),
    "fluent.py": (
        "import mltrail\n"
        "with mltrail.start_run() as run:\n"
        "    mltrail.log_metric('m', 1.5)\n"
        "    print('fluent run', run.info.run_id)\n"
    ),
    "fail.py": "import sys\nprint('about to fail')\nsys.exit(3)\n",
    "sleep.py": (
        "import pathlib, sys, time\npathlib.Path(sys.argv[1]).write_text('up')\nprint('sleeping', flush=True)\n"
        "time.sleep(60)\n"
    ),
}
MLPROJECT = """
name: probe
entry_points:
  main:
    parameters:
      n: {type: int, default: 1}
      word: {type: string, default: hello}
    command: "python show_env.py --n {n} --word {word}"
  fluent:
    command: "python fluent.py"
  fail:
    command: "python fail.py"
  sleep:
    parameters:
      marker: string
    command: "python sleep.py {marker}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "probe", MLPROJECT, SCRIPTS)


def _log(client: MltrailClient, run_id: str, name: str, tmp_path: Path) -> str:
    return Path(client.download_artifacts(run_id, f"project_logs/{name}", str(tmp_path))).read_text()


def test_child_gets_run_variables_and_logs_are_kept(
    tracking_uri: str, project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    submitted = run(str(project), parameters={"n": 2, "extra": "x y"}, env_manager="local")
    assert submitted.get_status() == "FINISHED" and submitted.wait()
    client = MltrailClient(tracking_uri)
    stdout = _log(client, submitted.run_id, "stdout.txt", tmp_path)
    seen = json.loads(stdout.splitlines()[0])
    run_info = client.get_run(submitted.run_id).info
    for prefix in ("MLTRAIL", "MLFLOW"):
        assert seen[f"{prefix}_RUN_ID"] == submitted.run_id
        assert seen[f"{prefix}_TRACKING_URI"] == tracking_uri
        assert seen[f"{prefix}_EXPERIMENT_ID"] == run_info.experiment_id == "0"
    assert "argv ['--n', '2', '--word', 'hello', '--extra', 'x y']" in stdout
    assert _log(client, submitted.run_id, "stderr.txt", tmp_path) == "to stderr\n"
    streamed = capfd.readouterr()
    assert submitted.run_id in streamed.out and "to stderr" in streamed.err  # streamed live as well


def test_project_tags_and_params(tracking_uri: str, project: Path) -> None:
    git(project, "init", "--quiet")
    commit = commit_all(project, "probe")
    submitted = run(str(project), parameters={"n": "5", "extra": 1}, run_name="tagged", env_manager="local")
    got = MltrailClient(tracking_uri).get_run(submitted.run_id)
    assert got.data.params == {"n": "5", "word": "hello", "extra": "1"}
    tags = got.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(project.resolve())
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    assert tags["mlflow.project.backend"] == "local"
    assert tags["mlflow.runName"] == "tagged" and got.info.run_name == "tagged"
    assert tags["mlflow.user"]
    assert "mlflow.parentRunId" not in tags


def test_parent_run_experiment_name_and_existing_run(tracking_uri: str, project: Path) -> None:
    import mltrail

    client = MltrailClient(tracking_uri)
    with mltrail.start_run() as parent:
        child = run(str(project), experiment_name="proj-exp", env_manager="local")
    got = client.get_run(child.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert got.info.experiment_id == client.get_experiment_by_name("proj-exp").experiment_id
    existing = client.create_run("0")
    again = run(str(project), run_id=existing.info.run_id, env_manager="local")
    assert again.run_id == existing.info.run_id
    assert client.get_run(existing.info.run_id).info.status == RunStatus.FINISHED
    with pytest.raises(MltrailError, match="only one of experiment_name and experiment_id"):
        run(str(project), experiment_name="a", experiment_id="0")


def test_fluent_start_run_in_the_child_continues_the_run(tracking_uri: str, project: Path) -> None:
    submitted = run(str(project), entry_point="fluent", env_manager="local")
    client = MltrailClient(tracking_uri)
    got = client.get_run(submitted.run_id)
    assert got.data.metrics == {"m": 1.5}
    assert got.info.status == RunStatus.FINISHED
    assert len(client.search_runs(["0"])) == 1  # no second run was created


def test_fluent_start_run_reads_mlflow_run_id(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import mltrail

    created = MltrailClient(tracking_uri).create_run("0")
    monkeypatch.setenv("MLFLOW_RUN_ID", created.info.run_id)
    with mltrail.start_run() as active:
        assert active.info.run_id == created.info.run_id


def test_failure_is_failed(tracking_uri: str, project: Path) -> None:
    with pytest.raises(ExecutionError, match="failed") as caught:
        run(str(project), entry_point="fail", env_manager="local")
    run_id = caught.value.run_id
    assert run_id is not None
    assert MltrailClient(tracking_uri).get_run(run_id).info.status == RunStatus.FAILED
    submitted = run(str(project), entry_point="fail", env_manager="local", synchronous=False)
    assert submitted.wait() is False and submitted.get_status() == "FAILED"
    assert submitted.returncode == 3


def test_cancel_is_killed(tracking_uri: str, project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    submitted = run(
        str(project), entry_point="sleep", parameters={"marker": str(marker)}, env_manager="local", synchronous=False
    )
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, "the project never started"
        time.sleep(0.05)
    assert submitted.get_status() == "RUNNING"
    started = time.monotonic()
    submitted.cancel()
    assert time.monotonic() - started < 5
    assert submitted.get_status() == "KILLED" and submitted.wait() is False
    client = MltrailClient(tracking_uri)
    assert client.get_run(submitted.run_id).info.status == RunStatus.KILLED
    assert _log(client, submitted.run_id, "stdout.txt", tmp_path) == "sleeping\n"


def test_errors_before_a_run_leave_no_run(tracking_uri: str, project: Path) -> None:
    with pytest.raises(MltrailError, match="must be an integer"):
        run(str(project), parameters={"n": "many"}, env_manager="local")
    with pytest.raises(MltrailError, match="Unknown env manager 'pip'"):
        run(str(project), env_manager="pip")
    with pytest.raises(MltrailError, match="Unsupported backend"):
        run(str(project), backend="kubernetes")
    assert MltrailClient(tracking_uri).search_runs(["0"]) == []


def test_run_from_git_at_a_commit_with_subdir(tracking_uri: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_project(repo / "proj", "entry_points: {main: {command: 'python -c \"print(1)\"'}}\n")
    git(repo, "init", "--quiet")
    first = commit_all(repo, "prints 1")
    (repo / "proj" / "MLproject").write_text("entry_points: {main: {command: 'python -c \"print(2)\"'}}\n")
    commit_all(repo, "prints 2")
    submitted = run(f"file://{repo}#proj", version=first, env_manager="local")
    client = MltrailClient(tracking_uri)
    tags = client.get_run(submitted.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == first
    assert tags["mlflow.source.git.repoURL"] == str(repo.resolve())
    assert _log(client, submitted.run_id, "stdout.txt", tmp_path) == "1\n"
    branch_run = run(f"{repo}#proj", version="main", env_manager="local")
    assert client.get_run(branch_run.run_id).data.tags["mlflow.source.git.branch"] == "main"


def test_run_from_zip(tracking_uri: str, tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("job.sh", 'echo from-zip "$@"\n')
    submitted = run(str(archive), entry_point="job.sh", parameters={"k": "v"})
    client = MltrailClient(tracking_uri)
    assert _log(client, submitted.run_id, "stdout.txt", tmp_path) == "from-zip --k v\n"
    assert client.get_run(submitted.run_id).data.tags["mlflow.source.name"] == str(archive)
