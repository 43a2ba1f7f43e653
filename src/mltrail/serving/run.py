"""Running the scoring server: settings, model loading, uvicorn on a socket that keeps ``TCP_NODELAY``.

The address is bound before the model loads (a port in use is reported at once) and listened on once it has
loaded: until then connections are refused, and with one worker the first ``/ping`` 200 means the model is ready.
With several, each uvicorn worker process loads it (settings travel in ``MLTRAIL_SCORING_SETTINGS``) and they share
one listening socket.

Slow or oversized requests are cut off at three points: the header block (``header_timeout``, 64 KiB; in the HTTP
protocol, :class:`~mltrail.serving.connection.GuardedHTTPProtocol`), the body (``max_body_mb``, ``body_timeout``; in
the app, :mod:`mltrail.serving.limits`) and the prediction (``timeout``). uvicorn's ``limit_concurrency`` is left
off: it answers 503 to every request once that many connections are open, ``/ping`` included, which is just what a
client holding many slow connections would want.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, replace
from typing import Any

from starlette.applications import Starlette

from mltrail.serving.app import AppOptions, create_app
from mltrail.serving.limits import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY_MB, MIB, HeaderLimits

_SETTINGS_ENV = "MLTRAIL_SCORING_SETTINGS"
_BACKLOG = 2048
TIMEOUT_ENV = "MLTRAIL_SCORING_SERVER_REQUEST_TIMEOUT"
_MLFLOW_TIMEOUT_ENV = "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"


def default_timeout() -> float:
    """Request timeout from the environment (mltrail's variable, then MLflow's), else 60 s."""
    raw = os.environ.get(TIMEOUT_ENV) or os.environ.get(_MLFLOW_TIMEOUT_ENV)
    try:
        return float(raw) if raw else 60.0
    except ValueError:
        return 60.0


@dataclass
class ScoringSettings:
    """Everything ``mltrail models serve`` takes for the server itself."""

    model_uri: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    timeout: float = 60.0
    enable_batching: bool = False
    max_batch_size: int = 64
    max_batch_wait_ms: float = 2.0
    log_level: str = "warning"
    max_body_mb: float = DEFAULT_MAX_BODY_MB
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    model_name: str | None = None

    def app_options(self) -> AppOptions:
        """The app's options from these settings."""
        return AppOptions(
            timeout=self.timeout,
            enable_batching=self.enable_batching,
            max_batch_size=self.max_batch_size,
            max_batch_wait_ms=self.max_batch_wait_ms,
            max_body_bytes=int(self.max_body_mb * MIB),
            body_timeout=self.body_timeout,
            model_name=self.model_name,
        )

    def header_limits(self) -> HeaderLimits:
        """The HTTP protocol's limits on request headers."""
        return HeaderLimits(header_timeout=self.header_timeout)


def registered_model_name(model_uri: str, tracking_uri: str | None = None) -> str | None:
    """``<name>/<version>`` for a registry URI (``models:/<name>/<version>``, ``models:/<name>@<alias>``,
    ``models:/<name>/latest``, ``models:/<name>/<stage>``; aliases, stages and ``latest`` resolved to the version
    they point at now), else None: the name a model from the registry is served under.

    Raises:
        MltrailError: the registered model, version or alias does not exist.
    """
    from mltrail.models.uris import parse_models_uri
    from mltrail.store.uris import get_uri_scheme

    if get_uri_scheme(str(model_uri)) != "models":
        return None
    parsed = parse_models_uri(str(model_uri))
    if parsed.name is None:  # models:/<model_id>: a logged model, named by its id
        return None
    if parsed.version is not None:
        return f"{parsed.name}/{parsed.version}"
    from mltrail.tracking.client import MltrailClient

    client = MltrailClient(tracking_uri)
    if parsed.alias is not None:
        return f"{parsed.name}/{client.get_model_version_by_alias(parsed.name, parsed.alias).version}"
    latest = client.get_latest_versions(parsed.name, None if parsed.stage is None else [parsed.stage])
    if not latest:
        return None  # loading the model reports it
    return f"{parsed.name}/{max(int(v.version) for v in latest)}"


def load_model(model_uri: str) -> Any:
    """Load a model for serving through :func:`mltrail.pyfunc.load_model`."""
    from mltrail.pyfunc import load_model as pyfunc_load_model

    return pyfunc_load_model(model_uri)


def build_app(settings: ScoringSettings, model: Any | None = None) -> Starlette:
    """The scoring app for ``settings`` (loading the model unless given)."""
    return create_app(model if model is not None else load_model(settings.model_uri), settings.app_options())


def app_from_environment() -> Starlette:
    """Factory used by uvicorn worker processes: settings come from ``MLTRAIL_SCORING_SETTINGS``."""
    raw = os.environ.get(_SETTINGS_ENV)
    if not raw:
        raise RuntimeError(f"{_SETTINGS_ENV} is not set")
    return build_app(ScoringSettings(**json.loads(raw)))


def bind_socket(host: str, port: int, listen: bool = True) -> socket.socket:
    """A listening socket whose accepted connections inherit ``TCP_NODELAY`` (no delayed-ACK stalls).

    ``listen=False`` only binds it (the port is checked and held; connections are refused rather than queued
    while the model loads): :func:`serve` starts listening once the model is ready.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    if listen:
        sock.listen(_BACKLOG)
    sock.set_inheritable(True)
    return sock


def serve(settings: ScoringSettings, sock: socket.socket | None = None) -> None:
    """Load the model and serve it in the foreground until interrupted.

    Args:
        settings: the server's settings; without a ``model_name``, a model from the registry is served under
            ``<name>/<version>`` (see :func:`registered_model_name`).
        sock: the socket, bound by the caller before the (slow) model load (listening or not: see
            :func:`bind_socket`); default: bound here, also before the model loads.

    Raises:
        MltrailError: the model cannot be loaded.
        OSError: the address cannot be bound.
    """
    import uvicorn

    from mltrail.serving.connection import GuardedHTTPProtocol

    common: dict[str, Any] = {
        "log_level": settings.log_level,
        "access_log": False,
        "timeout_keep_alive": 30,
        "server_header": False,
        "http": GuardedHTTPProtocol.factory(settings.header_limits()),
        "proxy_headers": False,  # the app never reads the client address or scheme: skip rewriting them per request
    }
    if sock is None:  # a port in use is reported before the model loads
        sock = bind_socket(settings.host, settings.port, listen=False)
    if settings.model_name is None:
        settings = replace(settings, model_name=registered_model_name(settings.model_uri))
    if settings.workers > 1:
        from uvicorn.supervisors import Multiprocess

        load_model(settings.model_uri)  # fail fast, with one readable error, before forking workers
        os.environ[_SETTINGS_ENV] = json.dumps(asdict(settings))
        sock.listen(_BACKLOG)
        config = uvicorn.Config(
            "mltrail.serving.run:app_from_environment", factory=True, workers=settings.workers, **common
        )
        Multiprocess(config, sockets=[sock]).run()
        return
    app = build_app(settings)
    sock.listen(_BACKLOG)  # the first /ping answered means the model is ready
    uvicorn.Server(uvicorn.Config(app, **common)).run(sockets=[sock])
