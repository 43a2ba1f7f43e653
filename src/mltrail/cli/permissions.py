"""``mltrail permissions``: grant, revoke and list permissions of users and groups on experiments and models.

Permissions are MLflow's: READ < USE < EDIT < MANAGE, and NO_PERMISSIONS (names are case-insensitive here).
Granting needs MANAGE on the resource (admins may do anything).
"""

from __future__ import annotations

import click

from mltrail.cli._auth import (
    describe_resource,
    echo_note,
    open_backend,
    permission_name,
    principal_of,
    resource_of,
    target_options,
)
from mltrail.cli.output import echo_json, echo_table

_user_option = click.option("--user", "username", metavar="USER", help="The user.")
_group_option = click.option("--group", metavar="GROUP", help="The group (every member gets the permission).")
_experiment_option = click.option("--experiment-id", metavar="ID", help="The experiment, by id.")
_model_option = click.option("--model", metavar="NAME", help="The registered model, by name.")


@click.group("permissions")
def permissions() -> None:
    """Grant, revoke and list permissions (READ, USE, EDIT, MANAGE, NO_PERMISSIONS).

    \b
    Examples:
      mltrail permissions grant --user bob --experiment-id 12 EDIT
      mltrail permissions grant --group risk-team --model fraud READ
      mltrail permissions revoke --user bob --experiment-id 12
      mltrail permissions list --experiment-id 12
      mltrail permissions list --user bob
    """


@permissions.command("grant")
@click.argument("permission")
@_user_option
@_group_option
@_experiment_option
@_model_option
@target_options
def grant(
    permission: str,
    username: str | None,
    group: str | None,
    experiment_id: str | None,
    model: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Give a user or a group PERMISSION on an experiment or a model, replacing what they had there.

    \b
    Examples:
      mltrail permissions grant --user bob --experiment-id 12 EDIT
      mltrail permissions grant --group risk-team --model fraud READ
    """
    kind, name = principal_of(username, group)
    resource_type, resource_id = resource_of(experiment_id, model)
    level = permission_name(permission)
    open_backend(tracking_uri, backend_store_uri).grant(
        resource_type, resource_id, level, username=username, group=group
    )
    if as_json:
        echo_json({})
    else:
        click.echo(f"Granted {level} on {describe_resource(resource_type, resource_id)} to {kind} {name!r}.")


@permissions.command("revoke")
@_user_option
@_group_option
@_experiment_option
@_model_option
@target_options
def revoke(
    username: str | None,
    group: str | None,
    experiment_id: str | None,
    model: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Remove a user's or a group's permission on an experiment or a model (the default permission applies again).

    \b
    Examples:
      mltrail permissions revoke --user bob --experiment-id 12
      mltrail permissions revoke --group risk-team --model fraud
    """
    kind, name = principal_of(username, group)
    resource_type, resource_id = resource_of(experiment_id, model)
    open_backend(tracking_uri, backend_store_uri).revoke(resource_type, resource_id, username=username, group=group)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Revoked the permission of {kind} {name!r} on {describe_resource(resource_type, resource_id)}.")


@permissions.command("list")
@click.option("--user", "username", metavar="USER", help="Every grant of this user (instead of a resource's).")
@_experiment_option
@_model_option
@target_options
def list_permissions(
    username: str | None,
    experiment_id: str | None,
    model: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """List the grants on an experiment or a model, or those of a user (their own and their groups').

    \b
    Examples:
      mltrail permissions list --experiment-id 12
      mltrail permissions list --model fraud --json
      mltrail permissions list --user bob
    """
    if username is not None:
        if experiment_id is not None or model is not None:
            raise click.UsageError("Give --user, or --experiment-id/--model, not both.")
        found = open_backend(tracking_uri, backend_store_uri).user_permissions(username)
        if as_json:
            echo_json(found.to_dict())
            return
        rows = [
            [p.resource_type, p.resource_pattern, p.permission, f"group {p.group}" if p.group else "own"]
            for p in found.permissions
        ]
        headers = ["RESOURCE TYPE", "RESOURCE", "PERMISSION", "VIA"]
        echo_table(headers, rows, f"No permissions granted to {username!r} or their groups.")
        if found.is_admin:
            echo_note(f"{username!r} is an admin: every permission check passes.")
        return
    resource_type, resource_id = resource_of(experiment_id, model)
    grants, default = open_backend(tracking_uri, backend_store_uri).resource_grants(resource_type, resource_id)
    if as_json:
        echo_json({"permissions": [g.to_dict() for g in grants], "default_permission": default})
        return
    what = describe_resource(resource_type, resource_id)
    echo_table(
        ["KIND", "NAME", "PERMISSION"], [[g.kind, g.name, g.permission] for g in grants], f"No grants on {what}."
    )
    if default:
        echo_note(f"Everyone else: {default} (the server's default permission).")
