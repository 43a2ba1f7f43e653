"""One :class:`AuthService` per server process: the auth store, the caches and the checks built on them."""

from __future__ import annotations

import os
import time
from functools import cached_property
from typing import TYPE_CHECKING

from mltrail import errors
from mltrail.entities.auth import User
from mltrail.errors import REQUEST_LIMIT_EXCEEDED, MltrailError
from mltrail.server.auth.audit import AuditWriter
from mltrail.server.auth.cache import TtlCache
from mltrail.server.auth.config import AuthConfig
from mltrail.server.auth.credentials import CredentialCache, Credentials, LoginLimiter, unauthenticated
from mltrail.server.auth.identity import Caller
from mltrail.server.auth.permissions import PermissionResolver
from mltrail.store.artifacts.local import local_path_from_uri
from mltrail.store.artifacts.s3 import parse_s3_uri
from mltrail.store.auth.base import AuthStore
from mltrail.store.uris import get_uri_scheme

if TYPE_CHECKING:
    from mltrail.store.tracking.base import TrackingStore


class LoginLimited(MltrailError):
    """429 for a user or address over the failed sign-in limit; ``retry_after`` seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {retry_after} seconds.", REQUEST_LIMIT_EXCEEDED
        )
        self.retry_after = retry_after


def caller_for(user: User, via: str) -> Caller:
    """The request identity of a stored user."""
    return Caller(user.id, user.username, user.is_admin, via)


def _object_store_root(destination: str | None) -> tuple[str, str] | None:
    """``(bucket, prefix)`` of an ``s3://`` artifacts destination, else None."""
    if not destination or get_uri_scheme(destination) != "s3":
        return None
    try:
        return parse_s3_uri(destination)
    except MltrailError:
        return None


class AuthService:
    """Authentication, authorization lookups, sessions and the audit log of one server process.

    Args:
        config: the auth settings.
        store: the auth store (users, tokens, permissions, audit).
        tracking_store: where a run's or a logged model's experiment is looked up (called on first use).
        artifact_root: the artifact proxy's destination (``--artifacts-destination``: a local folder or an
            ``s3://`` URI), whose top-level folders are experiments: a model source inside it is checked against
            the experiment it names.
    """

    def __init__(
        self,
        config: AuthConfig,
        store: AuthStore,
        tracking_store: TrackingStore | None = None,
        artifact_root: str | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._tracking_store = tracking_store
        self.artifact_root = os.path.realpath(artifact_root) if artifact_root and "://" not in artifact_root else None
        self._object_root = _object_store_root(artifact_root)
        self.credentials = CredentialCache(config.credential_cache_seconds)
        self.limiter = LoginLimiter(config.login_max_failures, config.login_window_seconds)
        self.permissions = PermissionResolver(store, config.default_permission, config.permission_cache_seconds)
        self.audit = AuditWriter(store)
        ttl = max(config.permission_cache_seconds, 1.0)
        self._run_experiments: TtlCache[str, str] = TtlCache(ttl * 6)
        self._model_experiments: TtlCache[str, str] = TtlCache(ttl * 6)

    @classmethod
    def open(
        cls,
        config: AuthConfig,
        tracking_db_uri: str,
        tracking_store: TrackingStore | None = None,
        artifact_root: str | None = None,
    ) -> AuthService:
        """The service on ``config.database_uri`` (the tracking database when unset)."""
        from mltrail.store.auth.sql.store import SqlAuthStore

        return cls(config, SqlAuthStore(config.database_uri or tracking_db_uri), tracking_store, artifact_root)

    @cached_property
    def tracking_store(self) -> TrackingStore:
        """The tracking store used to find the experiment of a run or a logged model."""
        if self._tracking_store is None:
            raise RuntimeError("AuthService has no tracking store")
        return self._tracking_store

    # --- start-up ----------------------------------------------------------------------------------------
    def bootstrap_admin(self) -> None:
        """Create the configured admin when missing; refuse to run with no admin at all.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE (one line for the command line) when no admin exists and none
                is configured.
        """
        name, password = self.config.admin_username, self.config.admin_password
        if name and password and not self.store.has_user(name):
            self.store.create_user(name, password, is_admin=True)
        if not any(user.is_admin for user in self.store.list_users()):
            raise errors.invalid(
                "Authentication is on but there is no admin user: set MLTRAIL_AUTH_ADMIN_USERNAME and "
                "MLTRAIL_AUTH_ADMIN_PASSWORD, or run `mltrail users create NAME --admin --backend-store-uri URI`."
            )

    # --- authentication ----------------------------------------------------------------------------------
    def authenticate(self, credentials: Credentials, address: str | None) -> Caller:
        """The caller these credentials belong to.

        Raises:
            MltrailError: UNAUTHENTICATED for wrong or expired credentials; :class:`LoginLimited` (429) when this
                user or address failed too often recently.
        """
        key = credentials.cache_key()
        cached = self.credentials.get(key)
        if cached is not None:
            return cached
        limited_name = credentials.username if credentials.kind == "basic" else None
        wait = self.limiter.retry_after(limited_name, address)
        if wait:
            raise LoginLimited(wait)
        if credentials.kind == "basic":
            user = self.store.authenticate_user(credentials.username, credentials.secret)
        else:
            user = self.store.user_for_token(credentials.secret, int(time.time() * 1000), kind=credentials.kind)
        if user is None:
            self.limiter.failed(limited_name, address)
            if credentials.kind == "session":
                raise unauthenticated("Your session has ended; sign in again.")
            raise unauthenticated(
                "Invalid username or password." if credentials.kind == "basic" else "Invalid or expired token."
            )
        if credentials.kind == "basic":
            self.limiter.succeeded(user.username)
        caller = caller_for(user, credentials.kind)
        self.credentials.put(key, caller)
        return caller

    def start_session(self, username: str) -> str:
        """A new web sign-in for ``username``: the session secret for the cookie."""
        expires = int((time.time() + self.config.session_hours * 3600) * 1000)
        name = f"web-{int(time.time() * 1000)}-{time.monotonic_ns() % 1_000_000}"
        _, secret = self.store.create_token(username, name, expires_at=expires, kind="session")
        return secret

    def end_session(self, secret: str) -> None:
        """Sign a session out (here at once, in other processes within the credential cache time)."""
        self.store.revoke_session(secret)
        self.credentials.forget(Credentials("session", secret=secret).cache_key())

    def user_changed(self, username: str) -> None:
        """Forget what this process cached about a user (password, admin flag, tokens, deletion)."""
        self.credentials.forget_user(username)
        self.permissions.forget()

    # --- resources ---------------------------------------------------------------------------------------
    def experiment_of_run(self, run_id: str) -> str:
        """The experiment id of a run (RESOURCE_DOES_NOT_EXIST for an unknown run)."""
        return self._run_experiments.get_or_load(run_id, self.tracking_store.experiment_id_of_run)

    def experiment_of_logged_model(self, model_id: str) -> str:
        """The experiment id of a logged model (RESOURCE_DOES_NOT_EXIST for an unknown one)."""
        return self._model_experiments.get_or_load(
            model_id, lambda m: self.tracking_store.get_logged_model(m, allow_deleted=True).experiment_id
        )

    def relative_to_artifact_root(self, location: str) -> str | None:
        """``location`` (a path or ``file:`` URI) relative to the artifact root, or None when it is not inside."""
        if self.artifact_root is None:
            return None
        try:
            path = os.path.realpath(local_path_from_uri(location))
        except (MltrailError, ValueError, OSError):
            return None
        if path == self.artifact_root or not path.startswith(self.artifact_root + os.sep):
            return None
        return os.path.relpath(path, self.artifact_root).replace(os.sep, "/")

    def relative_to_object_store_root(self, location: str) -> str | None:
        """``location`` relative to an ``s3://`` artifacts destination ("" for the destination itself or a URI that
        cannot be read safely), or None when the destination is not in object storage or ``location`` is not in it.

        Keys are compared normalised (``s3://b/root//1/x`` is ``root/1/x``), as the S3 repository opens them.
        """
        if self._object_root is None or get_uri_scheme(location) != "s3":
            return None
        bucket, prefix = self._object_root
        try:
            other_bucket, key = parse_s3_uri(location)
        except MltrailError:
            return ""  # not a URI the repository would open as written: refuse rather than guess
        if other_bucket != bucket:
            return None
        if not prefix:
            return key
        if key == prefix:
            return ""
        return key[len(prefix) + 1 :] if key.startswith(prefix + "/") else None

    def runs_moved(self, run_ids: list[str]) -> None:
        """Forget the cached experiment of runs that moved."""
        for run_id in run_ids:
            self._run_experiments.forget(run_id)
