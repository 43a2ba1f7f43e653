"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.llm import tiny_phi3
from tests.s3_server import s3_bucket, s3_endpoint, s3_env  # noqa: F401 - fixtures for every directory

TRACKING_ENV = (
    "MLTRAIL_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "MLTRAIL_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_ID",
    "MLTRAIL_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_NAME",
    "MLTRAIL_RUN_ID",
    "MLFLOW_RUN_ID",
    "MLTRAIL_ENABLE_ASYNC_LOGGING",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
    "MLTRAIL_RUN_CONTEXT",
    "MLFLOW_RUN_CONTEXT",
    "MLTRAIL_ARTIFACT_ROOT",
)


@pytest.fixture(autouse=True)
def _restore_tracking_env() -> Iterator[None]:
    """Put the tracking variables back after every test: MLflow's ``set_experiment`` writes
    ``MLFLOW_EXPERIMENT_ID`` into ``os.environ``, and a later test's subprocess would inherit it."""
    import os

    saved = {name: os.environ.get(name) for name in TRACKING_ENV}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def clean_fluent_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Tracking environment variables cleared (and restored), cwd in ``tmp_path``, fluent state reset around."""
    from mltrail.store.uris import clear_tracking_store_cache
    from mltrail.tracking import fluent

    for name in TRACKING_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    fluent._reset()
    try:
        yield tmp_path
    finally:
        fluent._reset()
        monkeypatch.delenv("MLTRAIL_TRACKING_URI", raising=False)
        monkeypatch.delenv("MLTRAIL_EXPERIMENT_ID", raising=False)
        clear_tracking_store_cache()


@pytest.fixture(scope="session")
def tiny_phi3_dirs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """``(hf_dir, onnx_dir)`` of the trained tiny Phi-3 (cached in pytest's cache folder when it is enabled).

    Shared by the LLM (ONNX GenAI) and transformers tests; built on first request only, so other tests never pay.
    """
    pytest.importorskip("transformers")
    pytest.importorskip("onnxruntime_genai")
    cache = getattr(request.config, "cache", None)
    root = cache.mkdir("mltrail-llm") if cache is not None else tmp_path_factory.getbasetemp() / "llm"
    return tiny_phi3.build(str(root))
