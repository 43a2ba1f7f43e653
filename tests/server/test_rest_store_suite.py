"""The shared tracking-store suite, run through the REST store against a live mltrail server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mltrail.store.sql import engines
from mltrail.store.tracking.rest import RestTrackingStore
from mltrail.store.tracking.sql.store import SqlTrackingStore
from mltrail.store.tracking.sql.tables import metadata
from tests.server.live import live_server
from tests.store.tracking.test_store_suite import TrackingStoreSuite


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("rest-suite")
    uri = f"sqlite:///{root / 'server.db'}"
    with live_server(root, backend_store_uri=uri) as url:
        yield url, uri


@pytest.fixture
def tracking_store(rest_server: tuple[str, str]) -> RestTrackingStore:
    """A REST store on a live server whose database was emptied for this test (Default experiment only)."""
    url, uri = rest_server
    engine = engines.get_engine(uri)
    present = set(sa.inspect(engine).get_table_names())
    with engines.write_transaction(engine) as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name in present:
                conn.execute(table.delete())
    SqlTrackingStore(uri, "mlflow-artifacts:/")  # recreates the Default experiment
    return RestTrackingStore(url)


class TestRestTrackingStore(TrackingStoreSuite):
    """Every shared suite test, over HTTP."""


def test_rest_store_reports_server_paths(tmp_path: Path, tracking_store: RestTrackingStore) -> None:
    experiment = tracking_store.get_experiment("0")
    assert experiment.artifact_location == "mlflow-artifacts:/0"
