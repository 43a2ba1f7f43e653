"""``mltrail groups`` (groups of users share permissions) and ``mltrail audit`` (who wrote what, when)."""

from __future__ import annotations

import time
from datetime import datetime

import click

from mltrail import errors
from mltrail.cli._auth import describe_resource, open_backend, target_options
from mltrail.cli.output import echo_json, echo_table, format_time, render_fields
from mltrail.entities.auth import RESOURCE_EXPERIMENT, RESOURCE_REGISTERED_MODEL

#: The most events the server returns per page.
_AUDIT_PAGE = 1000


@click.group("groups")
def groups() -> None:
    """Create and delete groups, add and remove members (admins).

    A permission granted to a group (`mltrail permissions grant --group ...`) applies to every member.

    \b
    Examples:
      mltrail groups create risk-team
      mltrail groups add-member risk-team bob
      mltrail permissions grant --group risk-team --experiment-id 12 EDIT
      mltrail groups list
    """


@groups.command("create")
@click.argument("name")
@target_options
def create_group(name: str, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """Create the empty group NAME.

    \b
    Examples:
      mltrail groups create risk-team
    """
    group = open_backend(tracking_uri, backend_store_uri).create_group(name)
    if as_json:
        echo_json({"group": group.to_dict()})
    else:
        click.echo(f"Created group {group.name!r}.")


@groups.command("list")
@target_options
def list_groups(tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """List groups with their members.

    \b
    Examples:
      mltrail groups list --json
    """
    found = open_backend(tracking_uri, backend_store_uri).list_groups()
    if as_json:
        echo_json({"groups": [g.to_dict() for g in found]})
        return
    echo_table(["ID", "NAME", "MEMBERS"], [[g.id, g.name, ",".join(g.members)] for g in found], "No groups.")


@groups.command("describe")
@click.argument("name")
@target_options
def describe_group(name: str, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """Show the group NAME: its members and its permissions.

    \b
    Examples:
      mltrail groups describe risk-team
    """
    group = open_backend(tracking_uri, backend_store_uri).get_group(name)
    if as_json:
        echo_json({"group": group.to_dict()})
        return
    grants = [
        describe_resource(RESOURCE_EXPERIMENT, p.experiment_id) + f": {p.permission}"
        for p in group.experiment_permissions
    ]
    grants += [
        describe_resource(RESOURCE_REGISTERED_MODEL, p.name) + f": {p.permission}"
        for p in group.registered_model_permissions
    ]
    click.echo(
        render_fields([("Name", group.name), ("Members", ", ".join(group.members)), ("Permissions", "; ".join(grants))])
    )


@groups.command("delete")
@click.argument("name")
@target_options
def delete_group(name: str, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """Delete the group NAME with its memberships and permissions (the users stay).

    \b
    Examples:
      mltrail groups delete risk-team
    """
    open_backend(tracking_uri, backend_store_uri).delete_group(name)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Deleted group {name!r}.")


@groups.command("add-member")
@click.argument("group")
@click.argument("username")
@target_options
def add_member(
    group: str, username: str, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool
) -> None:
    """Add USERNAME to GROUP.

    \b
    Examples:
      mltrail groups add-member risk-team bob
    """
    open_backend(tracking_uri, backend_store_uri).add_group_member(group, username)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Added {username!r} to group {group!r}.")


@groups.command("remove-member")
@click.argument("group")
@click.argument("username")
@target_options
def remove_member(
    group: str, username: str, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool
) -> None:
    """Remove USERNAME from GROUP.

    \b
    Examples:
      mltrail groups remove-member risk-team bob
    """
    open_backend(tracking_uri, backend_store_uri).remove_group_member(group, username)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Removed {username!r} from group {group!r}.")


def parse_time(text: str, option: str) -> int:
    """A point in time as epoch milliseconds: a duration ago (``2h``, ``7d``), an ISO date or date-time (local
    time unless it names an offset), or epoch milliseconds.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for anything else.
    """
    from mltrail.tracking.gc import parse_duration

    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        pass
    try:
        return int(time.time() * 1000) - parse_duration(value)
    except errors.MltrailError:
        raise errors.invalid(
            f"Invalid {option} {text!r}: use a duration ago (30m, 2h, 7d), an ISO date or time "
            "(2026-01-31, 2026-01-31T09:00) or epoch milliseconds."
        ) from None


@click.command("audit")
@click.option("--user", "username", metavar="USER", help="Only this user's requests.")
@click.option(
    "--since", metavar="TIME", help="Only events at or after TIME: 2h, 7d (ago), 2026-01-31, 2026-01-31T09:00."
)
@click.option("--until", metavar="TIME", help="Only events before TIME (same forms as --since).")
@click.option("--max-results", default=100, show_default=True, type=click.IntRange(min=1), help="Most events to show.")
@click.option("--page-token", metavar="TOKEN", help="Continue from a previous listing.")
@target_options
def audit(
    username: str | None,
    since: str | None,
    until: str | None,
    max_results: int,
    page_token: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Show the audit log, newest first: every write through the server (admins).

    \b
    Examples:
      mltrail audit --since 24h --tracking-uri https://mltrail.example.com
      mltrail audit --user bob --since 2026-01-01 --max-results 500 --json
    """
    since_ms = parse_time(since, "--since") if since else None
    until_ms = parse_time(until, "--until") if until else None
    backend = open_backend(tracking_uri, backend_store_uri)
    events, token = [], page_token
    while len(events) < max_results:
        page, token = backend.search_audit(
            username, since_ms, until_ms, min(_AUDIT_PAGE, max_results - len(events)), token
        )
        events += page
        if not token or not page:
            break
    if as_json:
        echo_json({"events": [e.to_dict() for e in events], "next_page_token": token})
        return
    rows = [
        [format_time(e.timestamp), e.username or "", e.method, e.path, e.status, e.address or "", e.action, e.target]
        for e in events
    ]
    echo_table(["TIME", "USER", "METHOD", "PATH", "STATUS", "ADDRESS", "ACTION", "TARGET"], rows, "No audit events.")
    if token:
        click.echo(f"More events: add --page-token {token}", err=True)
