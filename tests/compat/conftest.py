"""Fixtures for the compatibility suite: the official ``mlflow`` client talking to a live mltrail server.

One server runs for the whole directory (a session-scoped fixture; starting it once keeps the suite fast). Every
test gets ``MLFLOW_TRACKING_URI`` pointing at it, a fresh experiment name, and a clean fluent state: no active run
is left behind and MLflow's experiment/run environment variables are cleared.

The directory is skipped when ``mlflow`` cannot be imported; CI installs ``mlflow-skinny`` so it always runs there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.live import live_server

try:
    import mlflow
except ImportError:  # pragma: no cover - CI installs the client
    mlflow = None  # type: ignore[assignment]

#: Why the directory is skipped, or None when the official client is importable.
SKIP_REASON = (
    "the official mlflow client is not installed (pip install mlflow-skinny==3.17.2); CI installs it"
    if mlflow is None
    else None
)


class _SkippedModule(pytest.Module):
    """A test module reported as skipped (with :data:`SKIP_REASON`) instead of failing to import ``mlflow``."""

    def collect(self) -> list[pytest.Item]:
        """Skip the whole module."""
        pytest.skip(SKIP_REASON or "")


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Without ``mlflow``, every test module of this directory is collected as a skip with a clear reason."""
    if SKIP_REASON is None:
        return None
    return _SkippedModule.from_parent(parent, path=module_path)


#: Environment variables that would point the fluent API at another server, experiment or run.
_MLFLOW_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of one mltrail server shared by the whole compat suite."""
    with live_server(tmp_path_factory.mktemp("compat-server")) as url:
        yield url


@pytest.fixture(autouse=True)
def tracking_uri(server_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point the official client at the live server for one test, and leave no fluent state behind."""
    import mlflow

    for name in _MLFLOW_ENV:
        monkeypatch.setenv(name, "")  # records the original value (or its absence) so teardown restores it
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_url)
    # The client asks git for source details of the calling script; that is noise here and costs subprocesses.
    monkeypatch.setenv("GIT_PYTHON_REFRESH", "quiet")
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(server_url)
    _reset_fluent_state()
    try:
        yield server_url
    finally:
        _reset_fluent_state()
        mlflow.set_tracking_uri(None)


def _reset_fluent_state() -> None:
    """End every run the fluent API still holds and forget the active experiment."""
    import mlflow
    from mlflow.tracking import fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    fluent._active_experiment_id = None
    fluent._last_active_run_id.set(None)
    fluent._last_logged_model_id.set(None)


@pytest.fixture
def client(tracking_uri: str) -> mlflow.MlflowClient:
    """An ``MlflowClient`` bound to the live server."""
    import mlflow

    return mlflow.MlflowClient(tracking_uri=tracking_uri)


@pytest.fixture
def experiment_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses on the shared server."""
    return f"{request.node.name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def experiment_id(experiment_name: str) -> str:
    """A new experiment made active with ``mlflow.set_experiment``."""
    import mlflow

    return mlflow.set_experiment(experiment_name).experiment_id
