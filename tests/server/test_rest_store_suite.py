"""The shared tracking-store suite, run through the REST store against a live mltrail server."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail.store.tracking.rest import RestTrackingStore
from mltrail.store.tracking.sql.store import SqlTrackingStore
from mltrail.store.tracking.sql.tables import metadata
from tests.store.cleanup import empty_tables
from tests.store.tracking.test_store_suite import TrackingStoreSuite


@pytest.fixture
def tracking_store(rest_server: tuple[str, str]) -> RestTrackingStore:
    """A REST store on a live server whose database was emptied for this test (Default experiment only)."""
    url, uri = rest_server
    empty_tables(uri, metadata)
    SqlTrackingStore(uri, "mlflow-artifacts:/")  # recreates the Default experiment
    return RestTrackingStore(url)


class TestRestTrackingStore(TrackingStoreSuite):
    """Every shared suite test, over HTTP."""


def test_rest_store_reports_server_paths(tmp_path: Path, tracking_store: RestTrackingStore) -> None:
    experiment = tracking_store.get_experiment("0")
    assert experiment.artifact_location == "mlflow-artifacts:/0"
