"""URIs pick store implementations: a scheme registry that Python entry points can extend.

Built in:

- tracking: ``sqlite``, ``postgresql``, ``mysql``, ``mysql+pymysql``, ``mssql`` (and their ``+driver`` forms)
  -> :class:`~mltrail.store.tracking.sql.store.SqlTrackingStore`;
- artifacts: plain local paths and ``file://`` -> :class:`~mltrail.store.artifacts.local.LocalArtifactRepository`;
  ``s3://bucket/prefix`` -> :class:`~mltrail.store.artifacts.s3.S3ArtifactRepository` (the ``s3`` extra).

Plugins add schemes with entry points in the groups ``mltrail.tracking_store`` and
``mltrail.artifact_repository``; the entry point's name is the scheme and its object a factory (a class or a
function) called with the URI. Entry points are read lazily, on the first URI whose scheme is neither
registered with :func:`register_tracking_store` / :func:`register_artifact_repository` nor built in (explicit
registrations may replace a built-in scheme; entry points only add schemes).

Tracking stores are cached per URI (and artifact root): SQL engines and their pools are expensive.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from mltrail import errors
from mltrail.errors import MltrailError

if TYPE_CHECKING:
    from mltrail.store.artifacts.base import ArtifactRepository
    from mltrail.store.registry.base import RegistryStore
    from mltrail.store.tracking.base import TrackingStore

TrackingStoreFactory = Callable[[str], "TrackingStore"]
ArtifactRepositoryFactory = Callable[[str], "ArtifactRepository"]

TRACKING_STORE_ENTRY_POINT_GROUP = "mltrail.tracking_store"
ARTIFACT_REPOSITORY_ENTRY_POINT_GROUP = "mltrail.artifact_repository"

#: Environment variable overriding the default artifact root of SQL tracking stores.
ARTIFACT_ROOT_ENV = "MLTRAIL_ARTIFACT_ROOT"
DEFAULT_ARTIFACT_DIR = "mltrail-artifacts"

SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
_REST_SCHEMES = ("http", "https")

_lock = threading.RLock()
_tracking_factories: dict[str, TrackingStoreFactory] = {}
_artifact_factories: dict[str, ArtifactRepositoryFactory] = {}
_entry_points_loaded: set[str] = set()
_tracking_store_cache: dict[tuple[str, str, str], TrackingStore] = {}


# ---------------------------------------------------------------------------------------------- schemes
def get_uri_scheme(uri: str) -> str:
    """The lower-cased scheme of ``uri``; "" for plain paths (including Windows drive paths like ``C:\\x``)."""
    head, sep, _ = uri.partition(":")
    if not sep or len(head) == 1 or not head or not (head[0].isalpha() and _is_scheme_chars(head)):
        return ""
    return head.lower()


def _is_scheme_chars(text: str) -> bool:
    return all(c.isalnum() or c in "+-." for c in text)


def _base_scheme(scheme: str) -> str:
    """``postgresql+psycopg`` -> ``postgresql``."""
    return scheme.split("+", 1)[0]


# --------------------------------------------------------------------------------------------- registry
def register_tracking_store(scheme: str, factory: TrackingStoreFactory) -> None:
    """Register (or replace) the tracking store factory for a URI scheme.

    Args:
        scheme: the scheme, such as ``"mydb"`` (case-insensitive).
        factory: called with the full URI; returns a :class:`TrackingStore`.
    """
    with _lock:
        _tracking_factories[scheme.lower()] = factory


def register_artifact_repository(scheme: str, factory: ArtifactRepositoryFactory) -> None:
    """Register (or replace) the artifact repository factory for a URI scheme.

    Args:
        scheme: the scheme, such as ``"s3"`` (case-insensitive).
        factory: called with the full URI; returns an :class:`ArtifactRepository`.
    """
    with _lock:
        _artifact_factories[scheme.lower()] = factory


def _load_entry_points(group: str, into: dict[str, Callable[[str], object]]) -> None:
    """Add the factories that installed packages declare in ``group`` (once per process)."""
    with _lock:
        if group in _entry_points_loaded:
            return
        _entry_points_loaded.add(group)
        from importlib.metadata import entry_points

        for ep in entry_points(group=group):
            scheme = ep.name.lower()
            if scheme in into:
                continue
            into[scheme] = _LazyEntryPoint(ep)


class _LazyEntryPoint:
    """A factory that imports its entry point's object on first call."""

    def __init__(self, entry_point: object) -> None:
        self._entry_point = entry_point
        self._loaded: Callable[[str], object] | None = None

    def __call__(self, uri: str) -> object:
        if self._loaded is None:
            try:
                self._loaded = self._entry_point.load()  # type: ignore[attr-defined]
            except Exception as exc:
                name = getattr(self._entry_point, "value", self._entry_point)
                raise MltrailError(f"Could not load the store plugin {name!r}: {exc}") from exc
        return self._loaded(uri)  # type: ignore[misc]


def _find_factory(
    scheme: str,
    factories: dict[str, Callable[[str], object]],
    group: str,
    builtin: Callable[[str], Callable[[str], object] | None],
) -> Callable | None:
    """Explicit registrations first, then the built-in implementations, then entry points.

    Built-ins come before entry points so that the common schemes never pay for reading package metadata
    (importing ``importlib.metadata`` alone costs tens of milliseconds).
    """
    with _lock:
        factory = factories.get(scheme) or factories.get(_base_scheme(scheme)) or builtin(scheme)
        if factory is None:
            _load_entry_points(group, factories)
            factory = factories.get(scheme) or factories.get(_base_scheme(scheme))
        return factory


# ------------------------------------------------------------------------------------- tracking stores
def default_artifact_root() -> str:
    """Where a SQL store puts artifacts by default: ``$MLTRAIL_ARTIFACT_ROOT`` or ``./mltrail-artifacts``.

    Returns:
        An absolute path (or the environment variable's value, which may be any artifact URI).
    """
    configured = os.environ.get(ARTIFACT_ROOT_ENV)
    if configured:
        return configured if get_uri_scheme(configured) else os.path.abspath(configured)
    return os.path.abspath(DEFAULT_ARTIFACT_DIR)


def _sql_store(uri: str) -> TrackingStore:
    from mltrail.store.tracking.sql.store import SqlTrackingStore

    return SqlTrackingStore(uri, default_artifact_root())


def _builtin_tracking(scheme: str) -> TrackingStoreFactory | None:
    return _sql_store if _base_scheme(scheme) in SQL_SCHEMES else None


def _rest_store(uri: str) -> TrackingStore:
    from mltrail.store.http import shared_client
    from mltrail.store.tracking.rest import RestTrackingStore

    return RestTrackingStore(uri, shared_client(uri))


def _path_store(uri: str) -> TrackingStore:
    raise errors.invalid(
        f"Tracking URI {uri!r} is a local path: mltrail does not keep runs in plain files (MLflow's file "
        "store). Use a SQLite database instead, for example 'sqlite:///mltrail.db' "
        f"(or 'sqlite:///{os.path.join(local_dir_of(uri), 'mltrail.db')}')."
    )


def local_dir_of(uri: str) -> str:
    """The local directory named by a path or ``file://`` URI (absolute)."""
    from mltrail.store.artifacts.local import local_path_from_uri

    return local_path_from_uri(uri)


def _cache_key(uri: str) -> tuple[str, str, str]:
    # A relative SQLite path ("sqlite:///mltrail.db") depends on the working directory; the artifact root
    # depends on the environment. Both belong in the key.
    return (uri, os.getcwd(), default_artifact_root())


def get_tracking_store(uri: str) -> TrackingStore:
    """The tracking store for ``uri``, created once per URI and then reused.

    Args:
        uri: ``sqlite:///path.db``, ``postgresql://...``, ``mysql+pymysql://...``, ``mssql://...``, or a
            scheme that a plugin registered.

    Returns:
        A :class:`~mltrail.store.tracking.base.TrackingStore`.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported scheme, an ``http(s)`` URI (the REST store is
            not available yet) or a plain path (use SQLite).
    """
    uri = str(uri)
    key = _cache_key(uri)
    with _lock:
        cached = _tracking_store_cache.get(key)
        if cached is not None:
            return cached
        scheme = get_uri_scheme(uri)
        factory = _find_factory(scheme, _tracking_factories, TRACKING_STORE_ENTRY_POINT_GROUP, _builtin_tracking)
        if factory is None:
            if scheme in _REST_SCHEMES:
                factory = _rest_store
            elif scheme in ("", "file"):
                factory = _path_store
            else:
                raise errors.invalid(
                    f"Unsupported tracking URI {uri!r}: no tracking store for scheme {scheme!r}. Supported: "
                    f"{', '.join(supported_tracking_schemes())}."
                )
        store = factory(uri)
        _tracking_store_cache[key] = store
        return store


def supported_tracking_schemes() -> list[str]:
    """The tracking URI schemes known now (built in and registered), sorted."""
    with _lock:
        _load_entry_points(TRACKING_STORE_ENTRY_POINT_GROUP, _tracking_factories)
        return sorted({*SQL_SCHEMES, "mysql+pymysql", *_tracking_factories})


def clear_tracking_store_cache() -> None:
    """Forget cached tracking stores (their engines are disposed of when they have a ``dispose`` method)."""
    with _lock:
        stores = list(_tracking_store_cache.values())
        _tracking_store_cache.clear()
    for store in stores:
        dispose = getattr(store, "dispose", None) or getattr(getattr(store, "engine", None), "dispose", None)
        if callable(dispose):
            with contextlib.suppress(Exception):  # best effort clean-up
                dispose()


# ------------------------------------------------------------------------------------- registry stores
_registry_store_cache: dict[tuple[str, str], RegistryStore] = {}


def get_registry_store(uri: str) -> RegistryStore:
    """The model registry store for ``uri`` (the tracking URI by default), created once per URI.

    Args:
        uri: a SQL database URI (the registry shares the tracking database) or an ``http(s)`` server.

    Returns:
        A :class:`~mltrail.store.registry.base.RegistryStore`.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a scheme without a registry store.
    """
    uri = str(uri)
    key = (uri, os.getcwd())
    with _lock:
        cached = _registry_store_cache.get(key)
        if cached is not None:
            return cached
        scheme = get_uri_scheme(uri)
        store: RegistryStore
        if _base_scheme(scheme) in SQL_SCHEMES:
            from mltrail.store.registry.sql.store import SqlRegistryStore

            store = SqlRegistryStore(uri)
        elif scheme in _REST_SCHEMES:
            from mltrail.store.http import shared_client
            from mltrail.store.registry.rest import RestRegistryStore

            store = RestRegistryStore(uri, shared_client(uri))
        else:
            raise errors.invalid(
                f"Unsupported registry URI {uri!r}: the model registry needs a SQL database URI (sqlite, "
                "postgresql, mysql) or an http(s) tracking server."
            )
        _registry_store_cache[key] = store
        return store


def clear_registry_store_cache() -> None:
    """Forget cached registry stores."""
    with _lock:
        _registry_store_cache.clear()


# --------------------------------------------------------------------------------- artifact repositories
def _local_repository(uri: str) -> ArtifactRepository:
    from mltrail.store.artifacts.local import LocalArtifactRepository

    return LocalArtifactRepository(uri)


def _http_repository(uri: str) -> ArtifactRepository:
    from mltrail.store.artifacts.http import HttpArtifactRepository, server_root
    from mltrail.store.http import shared_client

    return HttpArtifactRepository(uri, shared_client(server_root(uri)))


def _s3_repository(uri: str) -> ArtifactRepository:
    from mltrail.store.artifacts.s3 import S3ArtifactRepository

    return S3ArtifactRepository(uri)


def _builtin_artifacts(scheme: str) -> ArtifactRepositoryFactory | None:
    if scheme in ("", "file"):
        return _local_repository
    if scheme == "s3":
        return _s3_repository
    return _http_repository if scheme in _REST_SCHEMES else None


def get_artifact_repository(uri: str, tracking_uri: str | None = None) -> ArtifactRepository:
    """The artifact repository for ``uri``.

    Args:
        uri: a local path, a ``file://`` URI, ``s3://bucket/prefix``, a server's artifact proxy
            (``mlflow-artifacts:/...`` or ``http(s)://host/api/2.0/mlflow-artifacts/artifacts/...``), or a scheme
            that a plugin registered.
        tracking_uri: the tracking server that ``mlflow-artifacts:/`` URIs resolve against (default: the
            ``MLTRAIL_TRACKING_URI`` / ``MLFLOW_TRACKING_URI`` environment variables).

    Returns:
        An :class:`~mltrail.store.artifacts.base.ArtifactRepository` rooted at ``uri``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a scheme without a repository.
    """
    uri = str(uri)
    scheme = get_uri_scheme(uri)
    if scheme == "mlflow-artifacts":
        from mltrail.store.artifacts.http import resolve_proxy_uri

        server = tracking_uri or os.environ.get("MLTRAIL_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI") or ""
        uri, scheme = resolve_proxy_uri(uri, server), "http"
    factory = _find_factory(scheme, _artifact_factories, ARTIFACT_REPOSITORY_ENTRY_POINT_GROUP, _builtin_artifacts)
    if factory is not None:
        return factory(uri)
    raise errors.invalid(
        f"Unsupported artifact URI {uri!r}: no artifact repository for scheme {scheme!r} in this version of "
        "mltrail (local paths, file:// and s3:// are built in; plugins add more through the "
        f"{ARTIFACT_REPOSITORY_ENTRY_POINT_GROUP!r} entry point group)."
    )
