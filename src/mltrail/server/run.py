"""Running the server: settings passed to worker processes through the environment, and uvicorn start-up."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from mltrail.server.app import create_app
from mltrail.server.auth.config import load_auth_config
from mltrail.server.auth.oidc import OidcConfig
from mltrail.server.auth.service import AuthService
from mltrail.server.context import ServerContext

_SETTINGS_ENV = "MLTRAIL_SERVER_SETTINGS"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class ServerSettings:
    """Everything ``mltrail server`` takes on its command line."""

    host: str = "127.0.0.1"
    port: int = 5000
    backend_store_uri: str = "sqlite:///mltrail.db"
    artifacts_destination: str = "./mltrail-artifacts"
    default_artifact_root: str | None = None
    serve_artifacts: bool = True
    workers: int = 1
    allowed_hosts: list[str] | None = None
    cors_origins: list[str] = field(default_factory=list)
    allowed_artifact_uris: list[str] = field(default_factory=list)
    max_body_mb: int = 64
    log_level: str = "warning"
    auth: bool = False
    auth_config: str | None = None
    artifacts_presigned_downloads: bool = False

    def resolved(self) -> ServerSettings:
        """A copy with relative paths made absolute and SQLite paths resolved against the current directory."""
        destination = self.artifacts_destination
        if "://" not in destination:
            destination = str(Path(destination).expanduser().resolve())
        uri = self.backend_store_uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////") and ":memory:" not in uri:
            uri = "sqlite:///" + str(Path(uri[len("sqlite:///") :]).resolve())
        auth_config = str(Path(self.auth_config).expanduser().resolve()) if self.auth_config else None
        return ServerSettings(
            **{
                **asdict(self),
                "artifacts_destination": destination,
                "backend_store_uri": uri,
                "auth_config": auth_config,
            }
        )

    def effective_allowed_hosts(self) -> list[str] | None:
        """Loopback names only for a loopback server; any host when listening on other interfaces, unless set."""
        if self.allowed_hosts:
            return self.allowed_hosts
        return None if self.host in _LOOPBACK else ["*"]


def server_context(settings: ServerSettings) -> ServerContext:
    """The context of a server with these settings.

    Every store opened for the server goes through here, so the first one to open a new database creates its
    Default experiment under the configured artifact root, as MLflow does (``--default-artifact-root``, else
    ``mlflow-artifacts:/`` when serving artifacts, else the artifacts destination).
    """
    return ServerContext(
        backend_store_uri=settings.backend_store_uri,
        artifacts_destination=settings.artifacts_destination,
        serve_artifacts=settings.serve_artifacts,
        default_artifact_root=settings.default_artifact_root,
        allowed_artifact_uris=tuple(settings.allowed_artifact_uris),
        presigned_downloads=settings.artifacts_presigned_downloads,
    )


def build_app(settings: ServerSettings) -> Starlette:
    """The ASGI app for these settings."""
    ctx = server_context(settings)
    if settings.auth:
        ctx.auth = open_auth(settings, ctx)
    return create_app(
        ctx,
        allowed_hosts=settings.effective_allowed_hosts(),
        cors_origins=settings.cors_origins,
        max_body_bytes=settings.max_body_mb * 1024 * 1024,
    )


def open_auth(settings: ServerSettings, ctx: ServerContext | None = None) -> AuthService:
    """The auth service of a server with ``--auth`` (its settings file read, its store opened).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad settings file or MLflow's default admin password.
    """
    config = load_auth_config(settings.auth_config)
    ctx = ctx or server_context(settings)
    return AuthService.open(config, settings.backend_store_uri, ctx.tracking_store, settings.artifacts_destination)


def app_from_environment() -> Starlette:
    """Factory used by worker processes: the settings come from ``MLTRAIL_SERVER_SETTINGS``."""
    raw = os.environ.get(_SETTINGS_ENV)
    settings = ServerSettings(**json.loads(raw)) if raw else ServerSettings().resolved()
    return build_app(settings)


def prepare(settings: ServerSettings) -> None:
    """Create or upgrade the schemas and the artifact folder once, before workers start (so they do not race).

    With auth on, also the auth schema and the configured admin; a server with no admin refuses to start. A
    database migrated by a newer mltrail stops the server here, with one line (see ``store.sql.schema``); replicas
    starting together on an old database wait while one of them migrates it.
    """
    if "://" not in settings.artifacts_destination:
        os.makedirs(settings.artifacts_destination, exist_ok=True)
    ctx = server_context(settings)
    ctx.tracking_store  # noqa: B018
    ctx.registry_store  # noqa: B018
    if settings.serve_artifacts:
        ctx.proxy_repository  # noqa: B018 - a bad destination (s3:// URI, S3 settings) stops start-up with one line
    if settings.auth:
        service = open_auth(settings)
        if service.config.oidc is not None:
            OidcConfig.from_mapping(service.config.oidc)  # a bad [oidc] section: one line here, not one per worker
        service.bootstrap_admin()


def uvicorn_protocol_settings() -> dict[str, Any]:
    """``uvicorn.Config`` settings for the HTTP layer.

    MLflow's JSON error body for requests uvicorn's parser refuses itself, and h11 (used when httptools is absent)
    buffering a long query string instead of refusing it at 16 KiB.
    """
    from mltrail.server.http_protocol import H11_MAX_INCOMPLETE_EVENT_SIZE, HTTP_PROTOCOL

    return {"http": HTTP_PROTOCOL, "h11_max_incomplete_event_size": H11_MAX_INCOMPLETE_EVENT_SIZE}


def serve(settings: ServerSettings) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    settings = settings.resolved()
    prepare(settings)
    os.environ[_SETTINGS_ENV] = json.dumps(asdict(settings))
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux: responses on keep-alive connections are not held back by
    # Nagle's algorithm waiting for the client's delayed ACK (MLflow's multi-worker trap, ~40 ms per call).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    config = uvicorn.Config(
        "mltrail.server.run:app_from_environment",
        factory=True,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=30,
        server_header=False,
        **uvicorn_protocol_settings(),
    )
    server = uvicorn.Server(config)
    if settings.workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])
