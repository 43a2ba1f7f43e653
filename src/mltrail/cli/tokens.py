"""``mltrail tokens``: personal access tokens (``MLFLOW_TRACKING_TOKEN=mlt_...``) for scripts and CI.

Through a server a token is the signed-in user's own; on the database (``--backend-store-uri``) it is made for
any user with ``--user``.
"""

from __future__ import annotations

import click

from mltrail.cli._auth import echo_note, open_backend, target_options
from mltrail.cli.output import echo_json, echo_table, format_time


@click.group("tokens")
def tokens() -> None:
    """Create, list and revoke personal access tokens.

    A script signs in with a token through MLFLOW_TRACKING_TOKEN (sent as Authorization: Bearer).

    \b
    Examples:
      mltrail tokens create ci --expires-in-days 90 --tracking-uri https://mltrail.example.com
      mltrail tokens create ci --user bob --backend-store-uri sqlite:///mltrail.db
      mltrail tokens list
      mltrail tokens revoke 7
    """


@tokens.command("create")
@click.argument("name")
@click.option(
    "--expires-in-days", type=click.IntRange(1, 3650), metavar="N", help="Expire after N days (default: never)."
)
@click.option(
    "--user",
    "username",
    metavar="USER",
    help="Whose token (with --backend-store-uri; a server makes tokens for the signed-in user only).",
)
@target_options
def create(
    name: str,
    expires_in_days: int | None,
    username: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Create the token NAME and print its secret, which is shown only this once.

    The secret is printed alone on standard output (the notes go to standard error), so
    TOKEN=$(mltrail tokens create ci) keeps just the secret.

    \b
    Examples:
      mltrail tokens create ci --expires-in-days 90 --tracking-uri https://mltrail.example.com
      mltrail tokens create ci --user bob --backend-store-uri sqlite:///mltrail.db --json
    """
    token, secret = open_backend(tracking_uri, backend_store_uri).create_token(name, expires_in_days, username)
    if as_json:
        echo_json({"token": token.to_dict(), "secret": secret})
        return
    expires = f", expires {format_time(token.expires_at)}" if token.expires_at else ", never expires"
    echo_note(f"Created token {token.name!r} (id {token.id}) for {token.username!r}{expires}.")
    click.echo(secret)
    echo_note("Copy it now: it will not be shown again. Use it as MLFLOW_TRACKING_TOKEN.")


@tokens.command("list")
@click.option("--user", "username", metavar="USER", help="This user's tokens (admin; default: your own).")
@click.option("--all", "all_users", is_flag=True, help="Everyone's tokens (admin).")
@target_options
def list_tokens(
    username: str | None, all_users: bool, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool
) -> None:
    """List tokens (never their secrets).

    \b
    Examples:
      mltrail tokens list
      mltrail tokens list --user bob
      mltrail tokens list --all --json
    """
    if username is not None and all_users:
        raise click.UsageError("Give --user or --all, not both.")
    found = open_backend(tracking_uri, backend_store_uri).list_tokens(username, all_users)
    if as_json:
        echo_json({"tokens": [t.to_dict() for t in found]})
        return
    rows = [
        [t.id, t.username, t.name, format_time(t.created_at), format_time(t.expires_at), format_time(t.last_used_at)]
        for t in found
    ]
    echo_table(["ID", "USER", "NAME", "CREATED", "EXPIRES", "LAST USED"], rows, "No tokens.")


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@target_options
def revoke(token_id: int, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """Revoke the token with id ID (see `mltrail tokens list`).

    \b
    Examples:
      mltrail tokens revoke 7
    """
    open_backend(tracking_uri, backend_store_uri).revoke_token(token_id)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Revoked token {token_id}.")
