"""Model registry commands for ``mltrail models``: list, describe, register, versions, alias, stage, webhooks.

The ``models`` group itself lives in :mod:`mltrail.cli.models`; :func:`attach` adds these commands to it.
Each command prints a table, or stable JSON with ``--json``.

\b
Examples:
  mltrail models register runs:/<run_id>/model fraud
  mltrail models list --filter "name LIKE 'fraud%'"
  mltrail models versions fraud
  mltrail models alias fraud champion 3
  mltrail models stage fraud 3 Production --archive-existing
  mltrail models webhooks create ci https://ci.example/hook --event model_version.created --secret s3cret
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mltrail.cli._shared import json_option, resolve_tracking_uri, tracking_uri_option
from mltrail.cli.output import echo_json, echo_table, format_time, render_fields

if TYPE_CHECKING:
    from mltrail.entities import ModelVersion
    from mltrail.tracking.client import MltrailClient


def _client(tracking_uri: str | None) -> MltrailClient:
    from mltrail.tracking.client import MltrailClient

    return MltrailClient(resolve_tracking_uri(tracking_uri))


def _version_row(v: ModelVersion) -> list[Any]:
    return [v.name, v.version, v.current_stage, ",".join(v.aliases), format_time(v.creation_timestamp), v.source]


_VERSION_HEADERS = ["Name", "Version", "Stage", "Aliases", "Created", "Source"]


@click.command("list")
@click.option("--filter", "filter_string", metavar="FILTER", help="e.g. \"name LIKE 'fraud%' AND tags.team = 'risk'\"")
@click.option("--max-results", type=int, default=100, show_default=True)
@tracking_uri_option
@json_option
def list_models(filter_string: str | None, max_results: int, tracking_uri: str | None, as_json: bool) -> None:
    """List registered models."""
    client = _client(tracking_uri)
    models, token = [], None
    while len(models) < max_results:
        page = client.search_registered_models(filter_string, min(1000, max_results - len(models)), None, token)
        models += list(page)
        token = page.token
        if not token:
            break
    if as_json:
        echo_json([m.to_dict() for m in models])
        return
    rows = [
        [m.name, max((int(v.version) for v in m.latest_versions), default=""), ",".join(m.aliases), m.description or ""]
        for m in models
    ]
    echo_table(["Name", "Latest version", "Aliases", "Description"], rows, "No registered models.")


@click.command("describe")
@click.argument("name")
@tracking_uri_option
@json_option
def describe(name: str, tracking_uri: str | None, as_json: bool) -> None:
    """Show a registered model with its aliases, tags and latest versions."""
    model = _client(tracking_uri).get_registered_model(name)
    if as_json:
        echo_json(model.to_dict())
        return
    click.echo(
        render_fields(
            [
                ("Name", model.name),
                ("Description", model.description or ""),
                ("Created", format_time(model.creation_timestamp)),
                ("Updated", format_time(model.last_updated_timestamp)),
                ("Aliases", ", ".join(f"{a}={v}" for a, v in model.aliases.items())),
                ("Tags", ", ".join(f"{k}={v}" for k, v in model.tags.items())),
            ]
        )
    )
    if model.latest_versions:
        click.echo("")
        echo_table(_VERSION_HEADERS, [_version_row(v) for v in model.latest_versions], "")


@click.command("register")
@click.argument("model_uri")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A version tag (repeatable).")
@tracking_uri_option
@json_option
def register(model_uri: str, name: str, tags: tuple[str, ...], tracking_uri: str | None, as_json: bool) -> None:
    """Register MODEL_URI (runs:/..., models:/m-..., or an artifact URI) as a new version of NAME."""
    from mltrail.tracking.registry import register_model

    parsed = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="'--tag'")
        parsed[key] = value
    import mltrail

    mltrail.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    version = register_model(model_uri, name, tags=parsed or None)
    if as_json:
        echo_json(version.to_dict())
    else:
        click.echo(f"Registered version {version.version} of '{version.name}'.")


@click.command("versions")
@click.argument("name")
@click.option("--max-results", type=int, default=1000, show_default=True)
@tracking_uri_option
@json_option
def versions(name: str, max_results: int, tracking_uri: str | None, as_json: bool) -> None:
    """List the versions of a registered model, newest first."""
    escaped = name.replace("'", "\\'")
    found = _client(tracking_uri).search_model_versions(f"name = '{escaped}'", max_results, ["version_number DESC"])
    if as_json:
        echo_json([v.to_dict() for v in found])
        return
    echo_table(_VERSION_HEADERS, [_version_row(v) for v in found], f"No versions of '{name}'.")


@click.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead of setting it.")
@tracking_uri_option
@json_option
def alias(name: str, alias: str, version: str | None, delete: bool, tracking_uri: str | None, as_json: bool) -> None:
    """Point ALIAS of NAME at VERSION; without VERSION show where it points; --delete removes it."""
    client = _client(tracking_uri)
    if delete:
        client.delete_registered_model_alias(name, alias)
        click.echo(f"Deleted alias '{alias}' of '{name}'.") if not as_json else echo_json({"deleted": alias})
        return
    if version is not None:
        client.set_registered_model_alias(name, alias, version)
    mv = client.get_model_version_by_alias(name, alias)
    if as_json:
        echo_json(mv.to_dict())
    else:
        click.echo(f"{name}@{alias} -> version {mv.version}")


@click.command("stage")
@click.argument("name")
@click.argument("version")
@click.argument("stage", type=click.Choice(["None", "Staging", "Production", "Archived"], case_sensitive=False))
@click.option("--archive-existing", is_flag=True, help="Archive the other versions in STAGE.")
@tracking_uri_option
@json_option
def stage(name: str, version: str, stage: str, archive_existing: bool, tracking_uri: str | None, as_json: bool) -> None:
    """Move VERSION of NAME to STAGE (MLflow's legacy stages; prefer aliases)."""
    mv = _client(tracking_uri).transition_model_version_stage(name, version, stage, archive_existing)
    if as_json:
        echo_json(mv.to_dict())
    else:
        click.echo(f"Version {mv.version} of '{name}' is now in stage {mv.current_stage}.")


# ---------------------------------------------------------------------------------------------- webhooks
@click.group("webhooks")
def webhooks() -> None:
    """Registry webhooks: signed POSTs on version created, alias set/deleted, stage changed, tag set."""


@webhooks.command("create")
@click.argument("name")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, help="An event to send (repeatable; '*' for all).")
@click.option("--secret", help="Signs each delivery: X-Mltrail-Signature: sha256=<HMAC-SHA256 of the body>.")
@click.option("--description")
@tracking_uri_option
@json_option
def create_webhook(
    name: str,
    url: str,
    events: tuple[str, ...],
    secret: str | None,
    description: str | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Register URL for registry events."""
    hook = _client(tracking_uri).create_webhook(name, url, list(events), secret, description)
    echo_json(hook.to_dict()) if as_json else click.echo(f"Created webhook {hook.webhook_id}.")


@webhooks.command("list")
@tracking_uri_option
@json_option
def list_webhooks(tracking_uri: str | None, as_json: bool) -> None:
    """List webhooks."""
    hooks = _client(tracking_uri).list_webhooks()
    if as_json:
        echo_json([h.to_dict() for h in hooks])
        return
    rows = [[h.webhook_id, h.name, h.url, ",".join(h.events), "active" if h.active else "disabled"] for h in hooks]
    echo_table(["Id", "Name", "URL", "Events", "Status"], rows, "No webhooks.")


@webhooks.command("deliveries")
@click.argument("webhook_id")
@click.option("--max-results", type=int, default=50, show_default=True)
@tracking_uri_option
@json_option
def deliveries(webhook_id: str, max_results: int, tracking_uri: str | None, as_json: bool) -> None:
    """Show a webhook's delivery log, newest first."""
    log = _client(tracking_uri).list_webhook_deliveries(webhook_id, max_results)
    if as_json:
        echo_json([d.to_dict() for d in log])
        return
    rows = [
        [format_time(d.creation_timestamp), d.event, d.status, d.attempts, d.response_code or "", d.error or ""]
        for d in log
    ]
    echo_table(["Time", "Event", "Status", "Attempts", "Code", "Error"], rows, "No deliveries.")


@webhooks.command("delete")
@click.argument("webhook_id")
@tracking_uri_option
def delete_webhook(webhook_id: str, tracking_uri: str | None) -> None:
    """Delete a webhook and its delivery log."""
    _client(tracking_uri).delete_webhook(webhook_id)
    click.echo(f"Deleted webhook {webhook_id}.")


#: The commands :func:`attach` adds to the ``models`` group.
COMMANDS: tuple[click.Command, ...] = (list_models, describe, register, versions, alias, stage, webhooks)


def attach(group: click.Group) -> click.Group:
    """Add the registry commands to ``group`` (the ``mltrail models`` group); returns it."""
    for command in COMMANDS:
        group.add_command(command)
    return group
