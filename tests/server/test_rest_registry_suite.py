"""The shared registry-store suite, run through the REST store against a live mltrail server."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail.store.registry.rest import RestRegistryStore
from mltrail.store.registry.sql import tables as registry_tables
from mltrail.store.tracking.rest import RestTrackingStore
from mltrail.store.tracking.sql import tables as tracking_tables
from mltrail.store.tracking.sql.store import SqlTrackingStore
from tests.store.cleanup import empty_tables
from tests.store.registry.test_registry_suite import RegistryStoreSuite


@pytest.fixture
def registry_tracking_store(rest_server: tuple[str, str]) -> RestTrackingStore:
    """A REST tracking store on the live server, whose database was emptied for this test."""
    url, uri = rest_server
    empty_tables(uri, registry_tables.metadata, tracking_tables.metadata)
    SqlTrackingStore(uri, "mlflow-artifacts:/")  # recreates the Default experiment
    return RestTrackingStore(url)


@pytest.fixture
def registry_store(rest_server: tuple[str, str], registry_tracking_store: RestTrackingStore) -> RestRegistryStore:
    """A REST registry store on the live server."""
    return RestRegistryStore(rest_server[0])


class TestRestRegistryStore(RegistryStoreSuite):
    """Every shared suite test, over HTTP."""


def test_rest_store_is_picked_for_http_uris(rest_server: tuple[str, str], tmp_path: Path) -> None:
    from mltrail.store.uris import get_registry_store

    assert isinstance(get_registry_store(rest_server[0]), RestRegistryStore)
