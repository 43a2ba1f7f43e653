"""What every command shares: the ``--tracking-uri`` and ``--json`` options, opening the store."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mltrail import errors

if TYPE_CHECKING:
    from mltrail.entities import Experiment, ViewType
    from mltrail.store.artifacts.base import ArtifactRepository
    from mltrail.store.tracking.base import TrackingStore

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TRACKING_URI = "sqlite:///mltrail.db"
DEFAULT_ARTIFACT_ROOT = "./mltrail-artifacts"

VIEW_CHOICE = click.Choice(["active", "deleted", "all"], case_sensitive=False)


def tracking_uri_option(func: F) -> F:
    """``--tracking-uri`` (env ``MLTRAIL_TRACKING_URI``), stored as the ``tracking_uri`` argument."""
    return click.option(
        "--tracking-uri",
        envvar="MLTRAIL_TRACKING_URI",
        metavar="URI",
        help=(
            "Where runs are stored, e.g. sqlite:///mltrail.db or postgresql://... "
            "[env: MLTRAIL_TRACKING_URI, then MLFLOW_TRACKING_URI; default: sqlite:///mltrail.db]"
        ),
    )(func)


def json_option(func: F) -> F:
    """``--json``: print machine-readable JSON instead of a table, stored as ``as_json``."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print stable machine-readable JSON instead of a table."
    )(func)


def resolve_tracking_uri(explicit: str | None) -> str:
    """The tracking URI: ``--tracking-uri``, else the fluent API's, else the env chain, else the default."""
    if explicit:
        return explicit
    try:
        import mltrail

        getter = getattr(mltrail, "get_tracking_uri", None)
        if callable(getter):
            return str(getter())
    except ImportError:  # the fluent API is optional here; fall back to the documented chain
        pass
    env = os.environ
    return env.get("MLTRAIL_TRACKING_URI") or env.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def open_store(tracking_uri: str | None) -> TrackingStore:
    """Open the tracking store for ``tracking_uri`` (resolved as :func:`resolve_tracking_uri` says)."""
    from mltrail.store.uris import get_tracking_store

    return get_tracking_store(resolve_tracking_uri(tracking_uri))


def artifact_repository(uri: str, tracking_uri: str | None = None) -> ArtifactRepository:
    """The artifact repository for ``uri`` (any scheme the store registry knows; ``mlflow-artifacts:/`` URIs
    resolve against ``tracking_uri``)."""
    from mltrail.store.uris import get_artifact_repository

    return get_artifact_repository(uri, tracking_uri)


def view_type(view: str) -> ViewType:
    """``active``/``deleted``/``all`` -> :class:`ViewType`."""
    from mltrail.entities import ViewType

    return {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}[view.lower()]


def resolve_experiment(store: TrackingStore, ref: str, by_name: bool) -> Experiment:
    """The experiment with id ``ref`` (or name, when ``by_name``), deleted ones included.

    Raises:
        MltrailError: RESOURCE_DOES_NOT_EXIST when there is none.
    """

    if not by_name:
        return store.get_experiment(ref)
    experiment = store.get_experiment_by_name(ref)
    if experiment is None:
        raise errors.not_found(f"No experiment named {ref!r}")
    return experiment


def split_csv(values: tuple[str, ...] | list[str] | str | None) -> list[str]:
    """Flatten repeated and comma-separated option values: ``("a,b", "c")`` -> ``["a", "b", "c"]``."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
