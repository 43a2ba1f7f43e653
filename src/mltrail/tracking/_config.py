"""Process-wide tracking configuration: the tracking URI and the environment variables that steer tracking.

Each setting reads an ``MLTRAIL_*`` variable first and MLflow's ``MLFLOW_*`` name second, so scripts and
launchers written for MLflow keep working.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///mltrail.db"

TRACKING_URI_ENV = ("MLTRAIL_TRACKING_URI", "MLFLOW_TRACKING_URI")
EXPERIMENT_ID_ENV = ("MLTRAIL_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")
EXPERIMENT_NAME_ENV = ("MLTRAIL_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
RUN_ID_ENV = ("MLTRAIL_RUN_ID", "MLFLOW_RUN_ID")
ASYNC_LOGGING_ENV = ("MLTRAIL_ENABLE_ASYNC_LOGGING", "MLFLOW_ENABLE_ASYNC_LOGGING")
TRACKING_USERNAME_ENV = ("MLTRAIL_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME")
RUN_CONTEXT_ENV = ("MLTRAIL_RUN_CONTEXT", "MLFLOW_RUN_CONTEXT")

_lock = threading.Lock()
_tracking_uri: str | None = None


def env_value(names: tuple[str, ...]) -> str | None:
    """The value of the first of ``names`` that is set to a non-empty string, else None."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def env_flag(names: tuple[str, ...], default: bool = False) -> bool:
    """A boolean environment setting ("true"/"1"/"yes" are true, "false"/"0"/"no" false)."""
    value = env_value(names)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def unset_env(names: tuple[str, ...]) -> None:
    """Remove every one of ``names`` from the environment."""
    for name in names:
        os.environ.pop(name, None)


def set_tracking_uri(uri: str | Path | None) -> None:
    """Set the tracking URI for this process and the subprocesses it starts.

    Args:
        uri: a store URI such as ``sqlite:///mltrail.db`` or ``postgresql://...``; a :class:`~pathlib.Path`
            becomes a ``file://`` URI (which the store factory then rejects with advice to use SQLite).
            None goes back to the environment and the default.
    """
    global _tracking_uri
    if isinstance(uri, os.PathLike):
        from pathlib import Path

        uri = Path(uri).absolute().resolve().as_uri()
    with _lock:
        _tracking_uri = uri
        if uri is None:
            os.environ.pop(TRACKING_URI_ENV[0], None)
        else:
            os.environ[TRACKING_URI_ENV[0]] = uri  # subprocesses inherit it, as with MLflow


def get_tracking_uri() -> str:
    """The tracking URI in effect.

    Returns:
        ``set_tracking_uri``'s value, else ``$MLTRAIL_TRACKING_URI``, else ``$MLFLOW_TRACKING_URI``, else
        ``sqlite:///mltrail.db`` (a database in the working directory).
    """
    return _tracking_uri or env_value(TRACKING_URI_ENV) or DEFAULT_TRACKING_URI


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was set explicitly or through the environment."""
    return bool(_tracking_uri or env_value(TRACKING_URI_ENV))


def async_logging_default() -> bool:
    """Whether ``synchronous=None`` means asynchronous (``$MLTRAIL_ENABLE_ASYNC_LOGGING``; default False)."""
    return env_flag(ASYNC_LOGGING_ENV, default=False)
