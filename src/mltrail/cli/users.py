"""``mltrail users``: create, list and delete users of a server with authentication, set passwords and admins.

Through a server (``--tracking-uri``, signed in as an admin) or straight on its database
(``--backend-store-uri``), which is how the first admin is made before the server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mltrail.cli._auth import open_backend, password_options, read_password, target_options
from mltrail.cli.output import echo_json, echo_table, format_time

if TYPE_CHECKING:
    from mltrail.entities.auth import User


@click.group("users")
def users() -> None:
    """Create, list and delete users; set their passwords and admin rights.

    Passwords are asked twice at a terminal, or read from the first line of standard input.

    \b
    Examples:
      mltrail users create alice --admin --backend-store-uri sqlite:///mltrail.db
      echo "$BOB_PASSWORD" | mltrail users create bob --tracking-uri https://mltrail.example.com
      mltrail users list --tracking-uri https://mltrail.example.com
      mltrail users set-admin bob --admin
    """


def _user_label(user: User) -> str:
    return f"{user.username!r}{' (admin)' if user.is_admin else ''}"


@users.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the user an admin (they pass every permission check).")
@password_options
@target_options
def create(
    username: str,
    admin: bool,
    password_stdin: bool,
    password: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Create the user USERNAME with a password.

    \b
    Examples:
      mltrail users create alice --admin --backend-store-uri sqlite:///mltrail.db
      mltrail users create bob --password-stdin < bob.txt
    """
    secret = read_password(password, password_stdin)
    user = open_backend(tracking_uri, backend_store_uri).create_user(username, secret, admin)
    if as_json:
        echo_json({"user": user.to_dict()})
    else:
        click.echo(f"Created user {_user_label(user)}.")


@users.command("list")
@target_options
def list_users(tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """List users with their groups.

    \b
    Examples:
      mltrail users list --tracking-uri https://mltrail.example.com
      mltrail users list --backend-store-uri sqlite:///mltrail.db --json
    """
    found = open_backend(tracking_uri, backend_store_uri).list_users()
    if as_json:
        echo_json({"users": [u.to_dict() for u in found]})
        return
    rows = [
        [u.id, u.username, u.is_admin, u.source, ",".join(u.groups), format_time(u.created_at or None)] for u in found
    ]
    echo_table(["ID", "USERNAME", "ADMIN", "SOURCE", "GROUPS", "CREATED"], rows, "No users.")


@users.command("delete")
@click.argument("username")
@target_options
def delete(username: str, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool) -> None:
    """Delete USERNAME with their permissions, group memberships and tokens.

    \b
    Examples:
      mltrail users delete bob --tracking-uri https://mltrail.example.com
    """
    open_backend(tracking_uri, backend_store_uri).delete_user(username)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Deleted user {username!r}.")


@users.command("set-password")
@click.argument("username")
@password_options
@target_options
def set_password(
    username: str,
    password_stdin: bool,
    password: str | None,
    tracking_uri: str | None,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Set the password of USERNAME (an admin for anyone; a user for themself, signed in with the old one).

    \b
    Examples:
      mltrail users set-password bob                      # asked twice
      printf '%s\\n' "$NEW_PASSWORD" | mltrail users set-password bob --password-stdin
    """
    secret = read_password(password, password_stdin)
    open_backend(tracking_uri, backend_store_uri).set_password(username, secret)
    if as_json:
        echo_json({})
    else:
        click.echo(f"Changed the password of {username!r}.")


@users.command("set-admin")
@click.argument("username")
@click.option("--admin/--no-admin", "is_admin", required=True, help="Make USERNAME an admin, or not.")
@target_options
def set_admin(
    username: str, is_admin: bool, tracking_uri: str | None, backend_store_uri: str | None, as_json: bool
) -> None:
    """Make USERNAME an admin (--admin) or take admin rights away (--no-admin).

    \b
    Examples:
      mltrail users set-admin bob --admin
      mltrail users set-admin bob --no-admin --backend-store-uri sqlite:///mltrail.db
    """
    open_backend(tracking_uri, backend_store_uri).set_admin(username, is_admin)
    if as_json:
        echo_json({})
    else:
        click.echo(f"{username!r} is {'now' if is_admin else 'no longer'} an admin.")
