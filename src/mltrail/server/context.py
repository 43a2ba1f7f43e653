"""What handlers share: the stores and the artifact settings of one server process."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from mltrail import errors
from mltrail.server.uri_policy import ArtifactUriPolicy

if TYPE_CHECKING:
    from mltrail.server.auth.service import AuthService
    from mltrail.store.artifacts.base import ArtifactRepository
    from mltrail.store.registry.base import RegistryStore
    from mltrail.store.tracking.base import TrackingStore

PROXY_SCHEME = "mlflow-artifacts:"


@dataclass
class ServerContext:
    """Settings and lazily opened stores for one server process.

    Args:
        backend_store_uri: the tracking database URI, e.g. ``sqlite:///mltrail.db``.
        artifacts_destination: where proxied artifacts (``mlflow-artifacts:/...``) are stored.
        serve_artifacts: whether the artifact proxy is on; new experiments then get ``mlflow-artifacts:/<id>``.
        default_artifact_root: the artifact root for new experiments (defaults to ``mlflow-artifacts:/`` when
            serving artifacts, else to ``artifacts_destination``).
        allowed_artifact_uris: URI prefixes (or local folders) the operator allows as artifact locations and
            model sources beyond the server's own storage (see :mod:`mltrail.server.uri_policy`).
        auth: authentication and permissions (``mltrail server --auth``); None leaves the server open.
        presigned_downloads: answer GETs of large artifact files with a 302 to a presigned URL where the storage
            has them (object stores), so the bytes bypass the server (``--artifacts-presigned-downloads``).
    """

    backend_store_uri: str
    artifacts_destination: str
    serve_artifacts: bool = True
    default_artifact_root: str | None = None
    allowed_artifact_uris: tuple[str, ...] = ()
    auth: AuthService | None = None
    presigned_downloads: bool = False

    @property
    def artifact_root(self) -> str:
        """The artifact root handed to the tracking store for new experiments."""
        if self.default_artifact_root:
            return self.default_artifact_root
        return "mlflow-artifacts:/" if self.serve_artifacts else self.artifacts_destination

    @cached_property
    def uri_policy(self) -> ArtifactUriPolicy:
        """Which artifact locations and model sources this server accepts and opens."""
        return ArtifactUriPolicy.for_roots(
            (self.artifacts_destination, self.default_artifact_root), self.allowed_artifact_uris
        )

    @cached_property
    def tracking_store(self) -> TrackingStore:
        """The tracking store, opened on first use."""
        from mltrail.store.tracking.sql.store import SqlTrackingStore

        return SqlTrackingStore(self.backend_store_uri, self.artifact_root)

    @cached_property
    def registry_store(self) -> RegistryStore:
        """The model registry store (same database as tracking), opened on first use."""
        from mltrail.store.registry.sql.store import SqlRegistryStore

        return SqlRegistryStore(self.backend_store_uri)

    @cached_property
    def proxy_repository(self) -> ArtifactRepository:
        """The repository behind ``/api/2.0/mlflow-artifacts`` (the artifacts destination)."""
        from mltrail.store.uris import get_artifact_repository

        return get_artifact_repository(self.artifacts_destination)

    def start_background_work(self) -> None:
        """Start what this server process runs beside requests (at start-up, in every worker of every replica).

        The webhook dispatcher: each process's competes for due deliveries in the database, so a delivery is sent
        once, by whichever replica claims it, and retried by another when its replica dies mid-delivery.
        """
        from mltrail.store.registry.sql.store import SqlRegistryStore

        store = self.registry_store
        if isinstance(store, SqlRegistryStore):
            store.dispatcher.start()

    def stop_background_work(self) -> None:
        """Stop what :meth:`start_background_work` started (at shutdown)."""
        store = self.__dict__.get("registry_store")  # only a store that was opened
        dispatcher = getattr(store, "dispatcher", None)
        if dispatcher is not None:
            dispatcher.stop()

    def repository_for(self, artifact_uri: str) -> tuple[ArtifactRepository, str]:
        """The repository and root-relative prefix that hold ``artifact_uri`` (a run's or a model's root).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a location the server's URI policy does not open (an
                ``http://`` location stored by an import, a local path outside the artifact roots, ...).
        """
        self.uri_policy.check(artifact_uri)
        if artifact_uri.startswith(PROXY_SCHEME):
            if not self.serve_artifacts:
                raise errors.invalid("This server does not serve artifacts (started with --no-serve-artifacts).")
            relative = artifact_uri[len(PROXY_SCHEME) :].lstrip("/")
            return self.proxy_repository, relative
        from mltrail.store.uris import get_artifact_repository

        return get_artifact_repository(artifact_uri), ""

    def list_artifacts_under(self, artifact_uri: str, path: str) -> list[dict[str, object]]:
        """The wire listing of ``path`` (already validated) under a run's or a model's artifact root.

        Paths in the result are relative to ``artifact_uri``, as MLflow's ``artifacts/list`` returns them.
        """
        repo, prefix = self.repository_for(artifact_uri)
        listed = posixpath.join(prefix, path) if prefix and path else (prefix or path)
        files = repo.list_artifacts(listed or None)
        strip = len(prefix) + 1 if prefix else 0
        return [{**f.to_dict(), "path": f.path[strip:]} for f in files]
