"""Fixtures for model tests: a fresh SQLite tracking URI with artifacts under ``tmp_path``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tracking_uri(clean_fluent_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tmp SQLite tracking URI set with ``set_tracking_uri``; cwd is ``tmp_path``."""
    from mltrail.tracking import fluent

    tmp_path = clean_fluent_state
    monkeypatch.setenv("MLTRAIL_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    uri = f"sqlite:///{tmp_path / 'mltrail.db'}"
    fluent.set_tracking_uri(uri)
    yield uri
