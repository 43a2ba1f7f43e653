"""Fixtures for tracking tests: a fresh SQLite tracking URI per test and clean fluent state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tracking_uri(clean_fluent_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tmp SQLite tracking URI set with ``set_tracking_uri``; artifacts under ``tmp_path/artifacts``.

    The working directory is ``tmp_path``; tracking environment variables are cleared and restored, and the
    fluent API's global state is reset before and after (``clean_fluent_state``).
    """
    from mltrail.tracking import fluent

    tmp_path = clean_fluent_state
    monkeypatch.setenv("MLTRAIL_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    uri = f"sqlite:///{tmp_path / 'mltrail.db'}"
    fluent.set_tracking_uri(uri)
    yield uri
