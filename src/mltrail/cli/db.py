"""``mltrail db``: upgrade a database's schemas ahead of a new release, and show their revisions.

MLflow's ``mlflow db upgrade URL``, with the URI also accepted as ``--backend-store-uri``. A server upgrades an
older schema by itself when it starts (one replica migrates, the others wait); this command does it ahead of
time, for instance from a deploy job before the new servers roll out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mltrail.cli.output import echo_json

if TYPE_CHECKING:
    from mltrail.store.schemas import SchemaUpgrade
    from mltrail.store.sql.schema import SchemaState

F = TypeVar("F", bound=Callable[..., Any])


def _uri_options(func: F) -> F:
    func = click.option(
        "--backend-store-uri",
        envvar="MLTRAIL_BACKEND_STORE_URI",
        metavar="URI",
        help="The server's database: sqlite:///path.db, postgresql://user@host/db, mysql+pymysql://user@host/db "
        "[env: MLTRAIL_BACKEND_STORE_URI].",
    )(func)
    func = click.argument("uri", required=False, metavar="[URI]")(func)
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


def _database_uri(uri: str | None, backend_store_uri: str | None) -> str:
    if uri and backend_store_uri and uri != backend_store_uri:
        raise click.UsageError("Give the database URI once: as URI or as --backend-store-uri.")
    chosen = uri or backend_store_uri
    if not chosen:
        raise click.UsageError("Missing the database URI (URI or --backend-store-uri).")
    return chosen


@click.group("db")
def db() -> None:
    """Upgrade the database schemas of a server, or show their revisions.

    \b
    Examples:
      mltrail db current --backend-store-uri postgresql://mltrail@db/mltrail
      mltrail db upgrade --backend-store-uri postgresql://mltrail@db/mltrail
      mltrail db upgrade sqlite:///mltrail.db
    """


@db.command("upgrade")
@click.option("--auth", is_flag=True, help="Also create the auth schema when absent (for `mltrail server --auth`).")
@_uri_options
def upgrade(uri: str | None, backend_store_uri: str | None, auth: bool, as_json: bool) -> None:
    """Upgrade the tracking, registry and auth schemas of a database to this mltrail's revisions.

    Creates the tracking and registry schemas on an empty database; upgrades the auth schema where it
    exists. Refuses (and changes nothing) when a schema is newer than this mltrail. Safe to run while
    servers start: one process migrates, the others wait.
    """
    from mltrail.store.schemas import upgrade_database

    done = upgrade_database(_database_uri(uri, backend_store_uri), auth=auth)
    if as_json:
        echo_json([{"schema": u.name, "from": u.before, "to": u.after, "changed": u.changed} for u in done])
        return
    for item in done:
        click.echo(f"{item.name}: {_describe_upgrade(item)}")


@db.command("current")
@_uri_options
def current(uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """Show each schema's revision in a database, and whether it is this mltrail's newest."""
    from mltrail.store.schemas import database_states

    states = database_states(_database_uri(uri, backend_store_uri))
    if as_json:
        echo_json(
            [
                {"schema": s.name, "revision": s.revision, "head": s.head, "current": s.current, "newer": s.newer}
                for s in states
            ]
        )
        return
    for state in states:
        click.echo(f"{state.name}: {_describe_state(state)}")


def _describe_upgrade(item: SchemaUpgrade) -> str:
    if item.after is None:
        return "absent, left so (--auth creates it)"
    if item.before is None:
        return f"created at {item.after}"
    if item.changed:
        return f"upgraded {item.before} -> {item.after}"
    return f"{item.after} (already current)"


def _describe_state(state: SchemaState) -> str:
    if state.revision is None:
        flag = " --auth" if state.name == "auth" else ""
        return f"absent (mltrail db upgrade{flag} creates it at {state.head})"
    if state.current:
        return f"{state.revision} (current)"
    if state.newer:
        return f"{state.revision} (newer than this mltrail, which knows up to {state.head}: upgrade mltrail)"
    return f"{state.revision} (behind {state.head}: run mltrail db upgrade)"
