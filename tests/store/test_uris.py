"""The scheme registry: built-in schemes, clear errors, plugins, caching and the default artifact root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.store import uris
from mltrail.store.artifacts.local import LocalArtifactRepository


@pytest.fixture(autouse=True)
def _isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uris, "_tracking_factories", {})
    monkeypatch.setattr(uris, "_artifact_factories", {})
    monkeypatch.setattr(uris, "_entry_points_loaded", set())
    monkeypatch.setattr(uris, "_tracking_store_cache", {})


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("sqlite:///x.db", "sqlite"),
        ("mysql+pymysql://u@h/db", "mysql+pymysql"),
        ("HTTP://host", "http"),
        ("/abs/path", ""),
        ("rel/path", ""),
        ("C:\\Users\\x", ""),
        ("file:///tmp/x", "file"),
        ("s3://bucket/key", "s3"),
        ("weird/dir:name", ""),
    ],
)
def test_get_uri_scheme(uri: str, scheme: str) -> None:
    assert uris.get_uri_scheme(uri) == scheme


def test_http_tracking_uri_gives_the_rest_store() -> None:
    from mltrail.store.tracking.rest import RestTrackingStore

    store = uris.get_tracking_store("http://localhost:5000")
    assert isinstance(store, RestTrackingStore)
    assert store.base_url == "http://localhost:5000"


def test_proxy_artifact_uris_resolve_against_the_tracking_server() -> None:
    from mltrail.store.artifacts.http import HttpArtifactRepository

    repo = uris.get_artifact_repository("mlflow-artifacts:/1/abc/artifacts", "http://127.0.0.1:5000")
    assert isinstance(repo, HttpArtifactRepository)
    assert repo.artifact_uri == "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
    with pytest.raises(MltrailError) as e:
        uris.get_artifact_repository("mlflow-artifacts:/1/abc/artifacts", "sqlite:///x.db")
    assert e.value.error_code == INVALID_PARAMETER_VALUE


@pytest.mark.parametrize("uri", ["/tmp/mlruns", "./mlruns", "file:///tmp/mlruns"])
def test_path_tracking_uri_suggests_sqlite(uri: str) -> None:
    with pytest.raises(MltrailError) as e:
        uris.get_tracking_store(uri)
    assert "sqlite:///" in e.value.message


def test_unknown_tracking_scheme() -> None:
    with pytest.raises(MltrailError) as e:
        uris.get_tracking_store("nosuch://x")
    assert "nosuch" in e.value.message and "sqlite" in e.value.message


def test_registered_factories_and_cache(tmp_path: Path) -> None:
    made: list[str] = []

    def factory(uri: str) -> object:
        made.append(uri)
        return object()

    uris.register_tracking_store("mine", factory)
    first = uris.get_tracking_store("mine://a")
    assert uris.get_tracking_store("mine://a") is first
    assert uris.get_tracking_store("MINE://b") is not first
    assert made == ["mine://a", "MINE://b"]
    uris.clear_tracking_store_cache()
    assert uris.get_tracking_store("mine://a") is not first


def test_entry_points_are_loaded_lazily(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class FakeEntryPoint:
        name = "plug"
        value = "plugin.module:Repo"
        loads = 0

        def load(self) -> object:
            FakeEntryPoint.loads += 1
            return LocalArtifactRepository

    groups: list[str] = []

    def entry_points(group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return [FakeEntryPoint()] if group == uris.ARTIFACT_REPOSITORY_ENTRY_POINT_GROUP else []

    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert isinstance(uris.get_artifact_repository(str(tmp_path)), LocalArtifactRepository)
    assert groups == []  # built-in schemes never read package metadata
    assert FakeEntryPoint.loads == 0
    repo = uris.get_artifact_repository("plug://somewhere")
    assert isinstance(repo, LocalArtifactRepository)
    assert FakeEntryPoint.loads == 1
    uris.get_artifact_repository("plug://elsewhere")
    assert FakeEntryPoint.loads == 1 and groups == [uris.ARTIFACT_REPOSITORY_ENTRY_POINT_GROUP]


def test_broken_plugin_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name = "bad"
        value = "missing.module:Store"

        def load(self) -> object:
            raise ImportError("No module named 'missing'")

    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [Broken()])
    with pytest.raises(MltrailError) as e:
        uris.get_tracking_store("bad://x")
    assert "missing.module:Store" in e.value.message


def test_artifact_repository_for_paths_and_file_uris(tmp_path: Path) -> None:
    for uri in (str(tmp_path), tmp_path.as_uri(), "relative/dir"):
        assert isinstance(uris.get_artifact_repository(uri), LocalArtifactRepository)
    with pytest.raises(MltrailError) as e:
        uris.get_artifact_repository("gs://bucket/x")
    assert e.value.error_code == INVALID_PARAMETER_VALUE and "gs" in e.value.message


def test_default_artifact_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(uris.ARTIFACT_ROOT_ENV, raising=False)
    assert uris.default_artifact_root() == str(tmp_path / "mltrail-artifacts")
    monkeypatch.setenv(uris.ARTIFACT_ROOT_ENV, "elsewhere")
    assert uris.default_artifact_root() == str(tmp_path / "elsewhere")
    monkeypatch.setenv(uris.ARTIFACT_ROOT_ENV, "s3://bucket/root")
    assert uris.default_artifact_root() == "s3://bucket/root"


def test_sqlite_uri_gives_a_cached_sql_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mltrail.store.tracking.sql.store import SqlTrackingStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(uris.ARTIFACT_ROOT_ENV, raising=False)
    store = uris.get_tracking_store("sqlite:///relative.db")
    assert isinstance(store, SqlTrackingStore)
    assert uris.get_tracking_store("sqlite:///relative.db") is store
    assert (tmp_path / "relative.db").exists()
    location = store.get_experiment("0").artifact_location
    assert location.removeprefix("file://").startswith(str(tmp_path / "mltrail-artifacts"))
    # Another working directory means another database for the same relative URI.
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    assert uris.get_tracking_store("sqlite:///relative.db") is not store
    uris.clear_tracking_store_cache()
