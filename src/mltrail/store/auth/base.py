"""The auth store's interface: what the server's authentication and authorization ask of storage."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from mltrail.entities.auth import (
    AccessToken,
    AuditEvent,
    ExperimentPermission,
    Group,
    RegisteredModelPermission,
    User,
)


class AuthStore(abc.ABC):
    """Users, groups, tokens, permissions and audit events.

    Errors: unknown users, groups, tokens or permissions raise ``MltrailError`` RESOURCE_DOES_NOT_EXIST; a
    duplicate user, group or permission RESOURCE_ALREADY_EXISTS; bad names, permissions or passwords
    INVALID_PARAMETER_VALUE. Passwords are hashed here (argon2); token and session secrets are stored as
    SHA-256 digests (they are long random strings, so a fast digest is safe and keeps lookups cheap).
    """

    # --- users -------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_user(self, username: str, password: str | None, is_admin: bool = False, source: str = "local") -> User:
        """Create a user; ``password`` None only for a single-sign-on user (who cannot sign in with a password)."""

    @abc.abstractmethod
    def get_user(self, username: str) -> User:
        """The user with their direct permissions and group names."""

    @abc.abstractmethod
    def get_user_by_id(self, user_id: int) -> User:
        """The user with this id (permissions and groups included)."""

    @abc.abstractmethod
    def has_user(self, username: str) -> bool:
        """Whether a user of this name exists."""

    @abc.abstractmethod
    def list_users(self) -> list[User]:
        """Every user, by name (with groups; permissions left empty to keep it cheap)."""

    @abc.abstractmethod
    def authenticate_user(self, username: str, password: str) -> User | None:
        """The user when the password matches, else None (also None for an unknown user or a SSO-only user).

        The user comes with their own fields only (permissions and groups left empty: it is every request's path).
        """

    @abc.abstractmethod
    def update_user_password(self, username: str, password: str) -> None:
        """Set a new password (hashed)."""

    @abc.abstractmethod
    def update_user_admin(self, username: str, is_admin: bool) -> None:
        """Make a user an admin or not."""

    @abc.abstractmethod
    def delete_user(self, username: str) -> None:
        """Delete a user with their permissions, group memberships, tokens and sessions."""

    # --- groups ------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_group(self, name: str) -> Group:
        """Create an empty group."""

    @abc.abstractmethod
    def get_group(self, name: str) -> Group:
        """The group with its members and permissions."""

    @abc.abstractmethod
    def list_groups(self) -> list[Group]:
        """Every group with its members (permissions left empty)."""

    @abc.abstractmethod
    def delete_group(self, name: str) -> None:
        """Delete a group with its memberships and permissions."""

    @abc.abstractmethod
    def add_group_member(self, group: str, username: str) -> None:
        """Add a user to a group (a no-op when already a member)."""

    @abc.abstractmethod
    def remove_group_member(self, group: str, username: str) -> None:
        """Remove a user from a group (RESOURCE_DOES_NOT_EXIST when not a member)."""

    @abc.abstractmethod
    def set_user_groups(self, username: str, groups: Sequence[str]) -> None:
        """Make the user a member of exactly these groups, creating missing ones (single sign-on's mapping)."""

    # --- permissions -------------------------------------------------------------------------------------
    @abc.abstractmethod
    def set_experiment_permission(
        self, experiment_id: str, permission: str, *, username: str | None = None, group: str | None = None
    ) -> ExperimentPermission:
        """Create or replace the permission of a user or a group (exactly one) on an experiment."""

    @abc.abstractmethod
    def create_experiment_permission(self, experiment_id: str, username: str, permission: str) -> ExperimentPermission:
        """MLflow's create: RESOURCE_ALREADY_EXISTS when the user already has one on this experiment."""

    @abc.abstractmethod
    def get_experiment_permission(self, experiment_id: str, username: str) -> ExperimentPermission:
        """The user's direct permission on the experiment (RESOURCE_DOES_NOT_EXIST when none)."""

    @abc.abstractmethod
    def delete_experiment_permission(
        self, experiment_id: str, *, username: str | None = None, group: str | None = None
    ) -> None:
        """Remove a user's or a group's permission on an experiment (RESOURCE_DOES_NOT_EXIST when none)."""

    @abc.abstractmethod
    def list_experiment_permissions(self, experiment_id: str) -> list[tuple[str, str, str]]:
        """Every grant on an experiment as ``(kind, name, permission)`` with kind ``"user"`` or ``"group"``."""

    @abc.abstractmethod
    def set_registered_model_permission(
        self, name: str, permission: str, *, username: str | None = None, group: str | None = None
    ) -> RegisteredModelPermission:
        """Create or replace the permission of a user or a group (exactly one) on a registered model."""

    @abc.abstractmethod
    def create_registered_model_permission(
        self, name: str, username: str, permission: str
    ) -> RegisteredModelPermission:
        """MLflow's create: RESOURCE_ALREADY_EXISTS when the user already has one on this model."""

    @abc.abstractmethod
    def get_registered_model_permission(self, name: str, username: str) -> RegisteredModelPermission:
        """The user's direct permission on the model (RESOURCE_DOES_NOT_EXIST when none)."""

    @abc.abstractmethod
    def delete_registered_model_permission(
        self, name: str, *, username: str | None = None, group: str | None = None
    ) -> None:
        """Remove a user's or a group's permission on a model (RESOURCE_DOES_NOT_EXIST when none)."""

    @abc.abstractmethod
    def list_registered_model_permissions(self, name: str) -> list[tuple[str, str, str]]:
        """Every grant on a model as ``(kind, name, permission)`` with kind ``"user"`` or ``"group"``."""

    @abc.abstractmethod
    def rename_registered_model_permissions(self, old_name: str, new_name: str) -> None:
        """Move every grant on a model to its new name (after a rename)."""

    @abc.abstractmethod
    def delete_registered_model_permissions(self, name: str) -> None:
        """Drop every grant on a model (after the model is deleted)."""

    @abc.abstractmethod
    def effective_experiment_permissions(self, user_id: int) -> dict[str, str]:
        """experiment id -> the strongest permission the user holds on it directly or through a group."""

    @abc.abstractmethod
    def effective_registered_model_permissions(self, user_id: int) -> dict[str, str]:
        """model name -> the strongest permission the user holds on it directly or through a group."""

    # --- tokens and sessions -----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_token(
        self, username: str, name: str, expires_at: int | None = None, kind: str = "token"
    ) -> tuple[AccessToken, str]:
        """Create a token (or a web session, ``kind="session"``); returns its record and the secret, shown once.

        Secrets look like ``mlt_<43 url-safe characters>``; names are unique per user and kind.
        """

    @abc.abstractmethod
    def list_tokens(self, username: str | None = None, kind: str = "token") -> list[AccessToken]:
        """A user's tokens (everyone's when ``username`` is None), newest first; never the secrets."""

    @abc.abstractmethod
    def revoke_token(self, token_id: int, username: str | None = None) -> None:
        """Delete a token; with ``username`` only if it is that user's (RESOURCE_DOES_NOT_EXIST otherwise)."""

    @abc.abstractmethod
    def revoke_session(self, secret: str) -> None:
        """Delete the session (or token) with this secret; a no-op when unknown."""

    @abc.abstractmethod
    def user_for_token(self, secret: str, now_ms: int, kind: str | None = None) -> User | None:
        """The owner of a live (unexpired) token or session with this secret, else None; records last use.

        ``kind`` None accepts either kind. ``last_used_at`` is written at most once a minute per token. The user
        comes with their own fields only (permissions and groups left empty), as from :meth:`authenticate_user`.
        """

    # --- audit -------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_audit_events(self, events: Sequence[AuditEvent]) -> None:
        """Append events (one batched insert)."""

    @abc.abstractmethod
    def search_audit_events(
        self,
        username: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Events newest first, filtered by user and time, with the token of the next page.

        ``since_ms`` and ``until_ms`` are both inclusive; ``max_results`` is 1..1000 (INVALID_PARAMETER_VALUE
        otherwise); the page token is opaque.
        """
