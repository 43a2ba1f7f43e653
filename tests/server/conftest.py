"""Live-server fixtures shared by the server tests: one server per test module, and an HTTP client on it.

Modules that need a server set up differently (other settings, a database of their own) keep their own fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import live_server


def _module_folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def live_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a live mltrail server (default SQLite store) shared by the tests of one module."""
    with live_server(_module_folder(request, tmp_path_factory)) as url:
        yield url


@pytest.fixture
def live_http(live_url: str) -> Iterator[httpx.Client]:
    """An HTTP client on the module's live server (a new one per test)."""
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def rest_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(url, database_uri)`` of a live server on a SQLite database that the tests may also open (to empty it)."""
    root = _module_folder(request, tmp_path_factory)
    uri = f"sqlite:///{root / 'server.db'}"
    with live_server(root, backend_store_uri=uri) as url:
        yield url, uri
