"""Fixtures for CLI tests: a fresh SQLite store per test, a CliRunner bound to it, helpers to make runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mltrail.cli.main import cli
from mltrail.entities import Metric, Param, RunTag
from mltrail.store.tracking.base import TrackingStore
from mltrail.store.uris import clear_tracking_store_cache, get_artifact_repository, get_tracking_store


@dataclass
class Env:
    """One test's tracking setup."""

    tmp: Path
    tracking_uri: str
    artifact_root: Path

    @property
    def store(self) -> TrackingStore:
        return get_tracking_store(self.tracking_uri)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """A tmp SQLite URI exported as MLTRAIL_TRACKING_URI, artifacts under tmp/artifacts."""
    uri = f"sqlite:///{tmp_path / 'mltrail.db'}"
    artifact_root = tmp_path / "artifacts"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLTRAIL_TRACKING_URI", uri)
    monkeypatch.setenv("MLTRAIL_ARTIFACT_ROOT", str(artifact_root))
    yield Env(tmp_path, uri, artifact_root)
    clear_tracking_store_cache()


@pytest.fixture
def invoke(env: Env) -> Callable[..., Result]:
    """Run ``mltrail <args>`` in-process; returns click's Result (stdout and stderr kept apart)."""
    runner = CliRunner()

    def _invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env={"MLTRAIL_TRACKING_URI": env.tracking_uri})

    return _invoke


@pytest.fixture
def make_run(env: Env) -> Callable[..., str]:
    """Create a run with params, metrics, tags and one artifact file; returns its id."""

    def _make_run(
        experiment_id: str = "0",
        name: str = "run",
        params: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        artifact: str | None = "model.txt",
    ) -> str:
        store = env.store
        run = store.create_run(experiment_id, "tester", 1_700_000_000_000, [RunTag("team", "cli")], name)
        run_id = run.info.run_id
        store.log_batch(
            run_id,
            metrics=[Metric(k, v, 1_700_000_000_000, 1) for k, v in (metrics or {}).items()],
            params=[Param(k, v) for k, v in (params or {}).items()],
        )
        if artifact:
            src = env.tmp / f"src-{run_id}"
            src.mkdir()
            (src / artifact).write_text("weights")
            get_artifact_repository(run.info.artifact_uri).log_artifact(str(src / artifact))
        return run_id

    return _make_run


def _artifact_dir(uri: str) -> Path:
    from mltrail.store.artifacts.local import local_path_from_uri

    return Path(local_path_from_uri(uri))


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def artifact_dir() -> Callable[[str], Path]:
    """The local directory of a ``file://`` or plain-path artifact URI."""
    return _artifact_dir


@pytest.fixture
def one_error_line() -> Callable[[Result], str]:
    """Assert a result failed with exactly one readable ``Error:`` line and no traceback; return it."""
    return _one_error_line
