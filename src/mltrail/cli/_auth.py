"""What the auth commands (users, tokens, permissions, groups, audit) share.

They act either through a server (``--tracking-uri http(s)://...`` or the tracking URI from the environment;
the caller signs in with ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` or ``MLFLOW_TRACKING_TOKEN``)
or straight on the auth database (``--backend-store-uri``, or a database tracking URI), which is how the first
admin is made before the server starts. :class:`AuthBackend` is the one small interface the commands call;
:class:`ServerBackend` puts it over :class:`~mltrail.tracking.auth_client.AuthClient` and
:class:`DatabaseBackend` over an :class:`~mltrail.store.auth.base.AuthStore`, so no command knows which it has.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mltrail import errors
from mltrail.cli._shared import json_option, resolve_tracking_uri
from mltrail.entities.auth import PERMISSION_LEVELS, RESOURCE_EXPERIMENT, RESOURCE_REGISTERED_MODEL

if TYPE_CHECKING:
    from mltrail.entities.auth import AccessToken, AuditEvent, Group, User
    from mltrail.store.auth.base import AuthStore
    from mltrail.tracking.auth_client import AuthClient, Grant, UserPermissions

F = TypeVar("F", bound=Callable[..., Any])

_MS_PER_DAY = 86_400_000


# --- where the commands act -----------------------------------------------------------------------------
class AuthBackend(abc.ABC):
    """The operations of the auth commands, on a server or on the database."""

    @abc.abstractmethod
    def create_user(self, username: str, password: str, is_admin: bool) -> User:
        """Create a user with a password, an admin or not."""

    @abc.abstractmethod
    def list_users(self) -> list[User]:
        """Every user."""

    @abc.abstractmethod
    def delete_user(self, username: str) -> None:
        """Delete a user."""

    @abc.abstractmethod
    def set_password(self, username: str, password: str) -> None:
        """Set a user's password."""

    @abc.abstractmethod
    def set_admin(self, username: str, is_admin: bool) -> None:
        """Make a user an admin or not."""

    @abc.abstractmethod
    def create_token(self, name: str, expires_in_days: int | None, username: str | None) -> tuple[AccessToken, str]:
        """A new access token (for ``username``, or the signed-in user) and its secret."""

    @abc.abstractmethod
    def list_tokens(self, username: str | None, all_users: bool) -> list[AccessToken]:
        """Tokens of ``username`` (the signed-in user when None), or everyone's."""

    @abc.abstractmethod
    def revoke_token(self, token_id: int) -> None:
        """Revoke a token."""

    @abc.abstractmethod
    def grant(
        self, resource_type: str, resource_id: str, permission: str, *, username: str | None, group: str | None
    ) -> None:
        """Give a user or a group a permission on a resource (replacing theirs)."""

    @abc.abstractmethod
    def revoke(self, resource_type: str, resource_id: str, *, username: str | None, group: str | None) -> None:
        """Remove a user's or a group's permission on a resource."""

    @abc.abstractmethod
    def resource_grants(self, resource_type: str, resource_id: str) -> tuple[list[Grant], str | None]:
        """The grants on a resource, and the default permission when known (a server knows it, a database not)."""

    @abc.abstractmethod
    def user_permissions(self, username: str) -> UserPermissions:
        """A user's grants (their own, then their groups') and admin flag."""

    @abc.abstractmethod
    def create_group(self, name: str) -> Group:
        """Create a group."""

    @abc.abstractmethod
    def get_group(self, name: str) -> Group:
        """A group with its members and permissions."""

    @abc.abstractmethod
    def list_groups(self) -> list[Group]:
        """Every group."""

    @abc.abstractmethod
    def delete_group(self, name: str) -> None:
        """Delete a group."""

    @abc.abstractmethod
    def add_group_member(self, group: str, username: str) -> None:
        """Add a user to a group."""

    @abc.abstractmethod
    def remove_group_member(self, group: str, username: str) -> None:
        """Remove a user from a group."""

    @abc.abstractmethod
    def search_audit(
        self, username: str | None, since_ms: int | None, until_ms: int | None, max_results: int, page_token: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        """One page of audit events, newest first, and the next page's token."""


class ServerBackend(AuthBackend):
    """The auth commands over a server's REST API, as the signed-in user."""

    def __init__(self, client: AuthClient) -> None:
        self.client = client

    def create_user(self, username: str, password: str, is_admin: bool) -> User:
        user = self.client.create_user(username, password)
        if is_admin:
            self.client.update_user_admin(username, True)
            user = dataclasses.replace(user, is_admin=True)
        return user

    def list_users(self) -> list[User]:
        return self.client.list_users()

    def delete_user(self, username: str) -> None:
        self.client.delete_user(username)

    def set_password(self, username: str, password: str) -> None:
        # A user changing their own password proves the current one; signed in with it, we have it already.
        signed_in = _env("MLTRAIL_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME")
        current = _env("MLTRAIL_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD") if signed_in == username else None
        self.client.update_user_password(username, password, current_password=current)

    def set_admin(self, username: str, is_admin: bool) -> None:
        self.client.update_user_admin(username, is_admin)

    def create_token(self, name: str, expires_in_days: int | None, username: str | None) -> tuple[AccessToken, str]:
        if username is not None and username != self.client.current_user().username:
            raise errors.invalid(
                f"A server creates tokens for the signed-in user only: sign in as {username!r} to create theirs, "
                "or use --backend-store-uri on the server's database."
            )
        return self.client.create_token(name, expires_in_days)

    def list_tokens(self, username: str | None, all_users: bool) -> list[AccessToken]:
        return self.client.list_tokens(username, all_users)

    def revoke_token(self, token_id: int) -> None:
        self.client.revoke_token(token_id)

    def grant(
        self, resource_type: str, resource_id: str, permission: str, *, username: str | None, group: str | None
    ) -> None:
        if username is not None:  # MLflow 3's grant, so the command also works where only that API exists
            self.client.grant_permission(username, resource_type, resource_id, permission)
        else:
            self.client.set_permission(resource_type, resource_id, permission, group=group)

    def revoke(self, resource_type: str, resource_id: str, *, username: str | None, group: str | None) -> None:
        if username is not None:
            self.client.revoke_permission(username, resource_type, resource_id)
        else:
            self.client.delete_permission(resource_type, resource_id, group=group)

    def resource_grants(self, resource_type: str, resource_id: str) -> tuple[list[Grant], str | None]:
        return self.client.list_permissions(resource_type, resource_id)

    def user_permissions(self, username: str) -> UserPermissions:
        return self.client.list_user_permissions(username)

    def create_group(self, name: str) -> Group:
        return self.client.create_group(name)

    def get_group(self, name: str) -> Group:
        return self.client.get_group(name)

    def list_groups(self) -> list[Group]:
        return self.client.list_groups()

    def delete_group(self, name: str) -> None:
        self.client.delete_group(name)

    def add_group_member(self, group: str, username: str) -> None:
        self.client.add_group_member(group, username)

    def remove_group_member(self, group: str, username: str) -> None:
        self.client.remove_group_member(group, username)

    def search_audit(
        self, username: str | None, since_ms: int | None, until_ms: int | None, max_results: int, page_token: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        return self.client.search_audit_events(username, since_ms, until_ms, max_results, page_token)


class DatabaseBackend(AuthBackend):
    """The auth commands straight on the auth database: no sign-in, every operation allowed (as an admin)."""

    def __init__(self, store: AuthStore) -> None:
        self.store = store

    def create_user(self, username: str, password: str, is_admin: bool) -> User:
        return self.store.create_user(username, password, is_admin=is_admin)

    def list_users(self) -> list[User]:
        return self.store.list_users()

    def delete_user(self, username: str) -> None:
        self.store.delete_user(username)

    def set_password(self, username: str, password: str) -> None:
        self.store.update_user_password(username, password)

    def set_admin(self, username: str, is_admin: bool) -> None:
        self.store.update_user_admin(username, is_admin)

    def create_token(self, name: str, expires_in_days: int | None, username: str | None) -> tuple[AccessToken, str]:
        if username is None:
            raise errors.invalid("On the database there is no signed-in user: say whose token it is with --user NAME.")
        expires_at = int(time.time() * 1000) + expires_in_days * _MS_PER_DAY if expires_in_days else None
        return self.store.create_token(username, name, expires_at=expires_at)

    def list_tokens(self, username: str | None, all_users: bool) -> list[AccessToken]:
        if username is None and not all_users:
            raise errors.invalid("On the database there is no signed-in user: give --user NAME or --all.")
        if username is not None:
            self.store.get_user(username)  # an unknown user is an error, not an empty list
        return self.store.list_tokens(None if all_users else username)

    def revoke_token(self, token_id: int) -> None:
        self.store.revoke_token(token_id)

    def grant(
        self, resource_type: str, resource_id: str, permission: str, *, username: str | None, group: str | None
    ) -> None:
        if resource_type == RESOURCE_EXPERIMENT:
            self.store.set_experiment_permission(resource_id, permission, username=username, group=group)
        else:
            self.store.set_registered_model_permission(resource_id, permission, username=username, group=group)

    def revoke(self, resource_type: str, resource_id: str, *, username: str | None, group: str | None) -> None:
        if resource_type == RESOURCE_EXPERIMENT:
            self.store.delete_experiment_permission(resource_id, username=username, group=group)
        else:
            self.store.delete_registered_model_permission(resource_id, username=username, group=group)

    def resource_grants(self, resource_type: str, resource_id: str) -> tuple[list[Grant], str | None]:
        from mltrail.tracking.auth_client import Grant

        if resource_type == RESOURCE_EXPERIMENT:
            rows = self.store.list_experiment_permissions(resource_id)
        else:
            rows = self.store.list_registered_model_permissions(resource_id)
        return [Grant(kind, name, permission) for kind, name, permission in rows], None

    def user_permissions(self, username: str) -> UserPermissions:
        from mltrail.tracking.auth_client import ResourcePermission, UserPermissions

        def rows(holder: User | Group, via: str | None) -> list[ResourcePermission]:
            return [
                ResourcePermission(RESOURCE_EXPERIMENT, p.experiment_id, p.permission, via)
                for p in holder.experiment_permissions
            ] + [
                ResourcePermission(RESOURCE_REGISTERED_MODEL, p.name, p.permission, via)
                for p in holder.registered_model_permissions
            ]

        user = self.store.get_user(username)  # as the server's users/permissions/list: own grants, then groups'
        grants = rows(user, None)
        for name in user.groups:
            grants += rows(self.store.get_group(name), name)
        return UserPermissions(user.is_admin, tuple(grants))

    def create_group(self, name: str) -> Group:
        return self.store.create_group(name)

    def get_group(self, name: str) -> Group:
        return self.store.get_group(name)

    def list_groups(self) -> list[Group]:
        return self.store.list_groups()

    def delete_group(self, name: str) -> None:
        self.store.delete_group(name)

    def add_group_member(self, group: str, username: str) -> None:
        self.store.add_group_member(group, username)

    def remove_group_member(self, group: str, username: str) -> None:
        self.store.remove_group_member(group, username)

    def search_audit(
        self, username: str | None, since_ms: int | None, until_ms: int | None, max_results: int, page_token: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        return self.store.search_audit_events(username, since_ms, until_ms, max_results, page_token)


def open_backend(tracking_uri: str | None, backend_store_uri: str | None) -> AuthBackend:
    """The backend the options name: a database URI -> :class:`DatabaseBackend`, http(s) -> :class:`ServerBackend`.

    Without either option the tracking URI from the environment decides (MLTRAIL_TRACKING_URI, then
    MLFLOW_TRACKING_URI, then ``sqlite:///mltrail.db``).

    Raises:
        click.UsageError: both options given.
        MltrailError: INVALID_PARAMETER_VALUE for a URI that is neither a server nor a database.
    """
    from mltrail.store.uris import SQL_SCHEMES, get_uri_scheme

    if tracking_uri and backend_store_uri:
        raise click.UsageError("Give --tracking-uri (a server) or --backend-store-uri (its database), not both.")
    uri = backend_store_uri or resolve_tracking_uri(tracking_uri)
    scheme = get_uri_scheme(uri)
    if scheme in ("http", "https") and not backend_store_uri:
        from mltrail.tracking.auth_client import AuthClient

        return ServerBackend(AuthClient(uri))
    if scheme.split("+", 1)[0] in SQL_SCHEMES:
        from mltrail.store.auth.sql.store import SqlAuthStore

        return DatabaseBackend(SqlAuthStore(uri))
    expected = "a database URI" if backend_store_uri else "a server (http(s)://...) or a database URI"
    raise errors.invalid(f"{uri!r} is not {expected} such as sqlite:///mltrail.db or postgresql://host/db.")


def target_options(func: F) -> F:
    """``--tracking-uri``, ``--backend-store-uri`` and ``--json``, stored as the arguments of the same names."""
    func = json_option(func)
    func = click.option(
        "--backend-store-uri",
        metavar="URI",
        help="Act straight on this database (the server's --backend-store-uri, or its auth database_uri), "
        "without a server or sign-in: e.g. sqlite:///mltrail.db.",
    )(func)
    return click.option(
        "--tracking-uri",
        metavar="URI",
        help="The server, e.g. https://mltrail.example.com; sign in with MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN. [env: MLTRAIL_TRACKING_URI, then "
        "MLFLOW_TRACKING_URI; a database URI there acts on that database]",
    )(func)


# --- arguments ---------------------------------------------------------------------------------------------
def permission_name(text: str) -> str:
    """A permission name in MLflow's spelling (case-insensitive input).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unknown name (one line, exit code 1).
    """
    name = text.strip().upper()
    if name not in PERMISSION_LEVELS:
        raise errors.invalid(f"Unknown permission {text!r}: use one of {', '.join(PERMISSION_LEVELS)}.")
    return name


def resource_of(experiment_id: str | None, model: str | None) -> tuple[str, str]:
    """``(resource_type, resource_id)`` from ``--experiment-id`` / ``--model`` (exactly one)."""
    if (experiment_id is None) == (model is None):
        raise click.UsageError("Give exactly one of --experiment-id ID or --model NAME.")
    if experiment_id is not None:
        return RESOURCE_EXPERIMENT, experiment_id
    assert model is not None
    return RESOURCE_REGISTERED_MODEL, model


def principal_of(username: str | None, group: str | None) -> tuple[str, str]:
    """``(kind, name)`` from ``--user`` / ``--group`` (exactly one)."""
    if (username is None) == (group is None):
        raise click.UsageError("Give exactly one of --user NAME or --group NAME.")
    if username is not None:
        return "user", username
    assert group is not None
    return "group", group


def describe_resource(resource_type: str, resource_id: str) -> str:
    """``experiment 12`` / ``model 'fraud'`` for messages."""
    return f"experiment {resource_id}" if resource_type == RESOURCE_EXPERIMENT else f"model {resource_id!r}"


def password_options(func: F) -> F:
    """``--password-stdin`` and ``--password``, stored as ``password_stdin`` and ``password``."""
    func = click.option(
        "--password",
        metavar="PASSWORD",
        help="The password as an argument, for scripts. It shows in the process list and shell history: "
        "prefer --password-stdin.",
    )(func)
    return click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input (the default when it is not a terminal).",
    )(func)


def read_password(password: str | None, password_stdin: bool) -> str:
    """The new password: ``--password``, else stdin's first line, else asked twice at the terminal.

    Raises:
        click.UsageError: ``--password`` together with ``--password-stdin``.
        MltrailError: INVALID_PARAMETER_VALUE when standard input holds no password.
    """
    if password is not None:
        if password_stdin:
            raise click.UsageError("Give --password or --password-stdin, not both.")
        return password
    stdin = sys.stdin
    if password_stdin or not _is_terminal(stdin):
        line = stdin.readline().rstrip("\r\n")
        if not line:
            raise errors.invalid("No password on standard input (give it as the first line).")
        return line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password", err=True))


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def echo_note(message: str) -> None:
    """A remark for people on stderr (stdout stays what a script reads)."""
    click.echo(message, err=True)
