"""The SQL auth store: users, groups, grants, tokens and sessions, and the audit log, on the shared SQL seam.

Each public method checks its inputs (before any SQL runs), then makes one ``read`` or ``write`` of the
:class:`~mltrail.store.sql.database.Database` through the functions of a connection in ``_users``, ``_groups``,
``_permissions``, ``_tokens`` and ``_audit``. Password hashing (deliberately slow) runs outside transactions.
Writes that do the same when run twice (upserts, sets, deletes by key that do not report a missing row) are
``replayable``; the others are not, so a lost COMMIT answers DEADLINE_EXCEEDED instead of applying them twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from mltrail import errors
from mltrail.entities.auth import AccessToken, AuditEvent, ExperimentPermission, Group, RegisteredModelPermission, User
from mltrail.store.auth import passwords
from mltrail.store.auth.base import AuthStore
from mltrail.store.auth.sql import _audit, _groups, _permissions, _rows, _tokens, _users, migrations
from mltrail.store.auth.sql import _validate as v
from mltrail.store.auth.sql.tables import users
from mltrail.store.sql.database import Database

_EXP, _RM = _permissions.EXPERIMENT, _permissions.REGISTERED_MODEL


class SqlAuthStore(AuthStore):
    """An :class:`AuthStore` in a SQL database (by default the tracking database; its tables are ``auth_*``).

    Args:
        db_uri: ``sqlite:///path.db``, ``postgresql://...`` or ``mysql[+pymysql]://...``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported URI.
    """

    def __init__(self, db_uri: str) -> None:
        self.db_uri = db_uri
        self.db = Database(db_uri)
        self.dialect = self.db.dialect
        self.db.ensure_schema(migrations)

    @property
    def engine(self) -> Engine:
        """The database's main engine (for tools and tests)."""
        return self.db.engine

    # --- users -------------------------------------------------------------------------------------------
    def create_user(self, username: str, password: str | None, is_admin: bool = False, source: str = "local") -> User:
        """Create a user; ``password`` None only for a single-sign-on user (``source`` other than ``local``).

        Raises:
            MltrailError: RESOURCE_ALREADY_EXISTS for a taken name; INVALID_PARAMETER_VALUE for a bad name,
                password or source, or a local user without a password.
        """
        v.name(username)
        v.source(source)
        if not isinstance(is_admin, bool):
            raise errors.invalid(f"Invalid value {is_admin!r} for parameter 'is_admin': a boolean is required.")
        if password is None and source == "local":
            raise errors.invalid("A password is required for a local user.")
        hashed = None if password is None else passwords.hash_password(password)
        try:
            return self.db.write(lambda conn: _users.create(conn, username, hashed, is_admin, source))
        except IntegrityError:
            raise _users.exists_error(username) from None

    def get_user(self, username: str) -> User:
        """The user with their direct permissions and group names (RESOURCE_DOES_NOT_EXIST when unknown)."""
        v.name(username)
        return self.db.read(lambda conn: _users.load(conn, _rows.user_row(conn, username)))

    def get_user_by_id(self, user_id: int) -> User:
        """The user with this id, permissions and groups included (RESOURCE_DOES_NOT_EXIST when unknown)."""
        v.user_id(user_id)
        if not v.in_id_range(user_id):
            raise errors.not_found(f"User with id={user_id} not found")
        return self.db.read(lambda conn: _users.by_id(conn, user_id))

    def has_user(self, username: str) -> bool:
        """Whether a user of this name exists (False for a name no user can have)."""
        if not v.is_valid_name(username):
            return False
        query = sa.select(users.c.id).where(users.c.username == username)
        return self.db.read(lambda conn: conn.execute(query).first() is not None)

    def list_users(self) -> list[User]:
        """Every user, by name, with their groups (permissions left empty)."""
        return self.db.read(_users.list_all)

    def authenticate_user(self, username: str, password: str) -> User | None:
        """The user (their own fields: no permissions or groups) when the password matches, else None.

        None also for an unknown user, a single-sign-on user without a password and malformed input; every
        failure costs one argon2 verification, so timing does not tell unknown names from wrong passwords. A
        hash made with older parameters is replaced on success.
        """
        row = None
        if v.is_valid_name(username):
            row = self.db.read(lambda conn: conn.execute(users.select().where(users.c.username == username)).first())
        stored = None if row is None else row.password_hash
        if not passwords.verify_password(stored, password) or row is None or stored is None:
            return None
        if passwords.needs_rehash(stored):
            fresh = passwords.hash_password(password)
            user_id = int(row.id)
            self.db.write(lambda conn: _users.replace_hash(conn, user_id, stored, fresh), replayable=True)
        return _rows.to_user(row)

    def update_user_password(self, username: str, password: str) -> None:
        """Set a new password (hashed); RESOURCE_DOES_NOT_EXIST for an unknown user."""
        v.name(username)
        hashed = passwords.hash_password(password)
        self.db.write(lambda conn: _users.update(conn, username, password_hash=hashed), replayable=True)

    def update_user_admin(self, username: str, is_admin: bool) -> None:
        """Make a user an admin or not; RESOURCE_DOES_NOT_EXIST for an unknown user."""
        v.name(username)
        if not isinstance(is_admin, bool):
            raise errors.invalid(f"Invalid value {is_admin!r} for parameter 'is_admin': a boolean is required.")
        self.db.write(lambda conn: _users.update(conn, username, is_admin=is_admin), replayable=True)

    def delete_user(self, username: str) -> None:
        """Delete a user with their permissions, group memberships, tokens and sessions (one transaction)."""
        v.name(username)
        self.db.write(lambda conn: _users.delete(conn, username))

    # --- groups ------------------------------------------------------------------------------------------
    def create_group(self, name: str) -> Group:
        """Create an empty group (RESOURCE_ALREADY_EXISTS for a taken name)."""
        v.name(name, "name")
        try:
            return self.db.write(lambda conn: _groups.create(conn, name))
        except IntegrityError:
            raise _groups.exists_error(name) from None

    def get_group(self, name: str) -> Group:
        """The group with its members and permissions."""
        v.name(name, "name")
        return self.db.read(lambda conn: _groups.get(conn, name))

    def list_groups(self) -> list[Group]:
        """Every group, by name, with its members (permissions left empty)."""
        return self.db.read(_groups.list_all)

    def delete_group(self, name: str) -> None:
        """Delete a group with its memberships and permissions."""
        v.name(name, "name")
        self.db.write(lambda conn: _groups.delete(conn, name))

    def add_group_member(self, group: str, username: str) -> None:
        """Add a user to a group (a no-op when already a member)."""
        v.name(group, "group")
        v.name(username)
        self.db.write(lambda conn: _groups.add_member(conn, self.dialect, group, username), replayable=True)

    def remove_group_member(self, group: str, username: str) -> None:
        """Remove a user from a group (RESOURCE_DOES_NOT_EXIST when not a member)."""
        v.name(group, "group")
        v.name(username)
        self.db.write(lambda conn: _groups.remove_member(conn, group, username))

    def set_user_groups(self, username: str, groups: Sequence[str]) -> None:
        """Make the user a member of exactly these groups, creating missing ones (single sign-on's mapping)."""
        v.name(username)
        if isinstance(groups, str) or not isinstance(groups, Sequence):
            raise errors.invalid("Invalid value for parameter 'groups': a list of group names is required.")
        names = [v.name(g, "group") for g in groups]
        self.db.write(lambda conn: _groups.set_user_groups(conn, self.dialect, username, names), replayable=True)

    # --- permissions -------------------------------------------------------------------------------------
    def set_experiment_permission(
        self, experiment_id: str, permission: str, *, username: str | None = None, group: str | None = None
    ) -> ExperimentPermission:
        """Create or replace the permission of a user or a group (exactly one) on an experiment."""
        eid, perm = v.experiment_id(experiment_id), v.permission(permission)
        user, grp = v.holder(username, group)
        grant = self.db.write(
            lambda conn: _permissions.set_grant(conn, self.dialect, _EXP, eid, perm, user, grp), replayable=True
        )
        assert isinstance(grant, ExperimentPermission)
        return grant

    def create_experiment_permission(self, experiment_id: str, username: str, permission: str) -> ExperimentPermission:
        """MLflow's create: RESOURCE_ALREADY_EXISTS when the user already has one on this experiment."""
        eid, perm, user = v.experiment_id(experiment_id), v.permission(permission), v.name(username)
        return cast(ExperimentPermission, self._create(_EXP, eid, user, perm))

    def get_experiment_permission(self, experiment_id: str, username: str) -> ExperimentPermission:
        """The user's direct permission on the experiment (RESOURCE_DOES_NOT_EXIST when none)."""
        eid, user = v.experiment_id(experiment_id), v.name(username)
        return cast(ExperimentPermission, self.db.read(lambda conn: _permissions.get_grant(conn, _EXP, eid, user)))

    def delete_experiment_permission(
        self, experiment_id: str, *, username: str | None = None, group: str | None = None
    ) -> None:
        """Remove a user's or a group's permission on an experiment (RESOURCE_DOES_NOT_EXIST when none)."""
        eid = v.experiment_id(experiment_id)
        user, grp = v.holder(username, group)
        self.db.write(lambda conn: _permissions.delete_grant(conn, _EXP, eid, user, grp))

    def list_experiment_permissions(self, experiment_id: str) -> list[tuple[str, str, str]]:
        """Every grant on an experiment as ``(kind, name, permission)``, users' first, by name."""
        eid = v.experiment_id(experiment_id)
        return self.db.read(lambda conn: _permissions.list_grants(conn, _EXP, eid))

    def set_registered_model_permission(
        self, name: str, permission: str, *, username: str | None = None, group: str | None = None
    ) -> RegisteredModelPermission:
        """Create or replace the permission of a user or a group (exactly one) on a registered model."""
        model, perm = v.model_name(name), v.permission(permission)
        user, grp = v.holder(username, group)
        grant = self.db.write(
            lambda conn: _permissions.set_grant(conn, self.dialect, _RM, model, perm, user, grp), replayable=True
        )
        assert isinstance(grant, RegisteredModelPermission)
        return grant

    def create_registered_model_permission(
        self, name: str, username: str, permission: str
    ) -> RegisteredModelPermission:
        """MLflow's create: RESOURCE_ALREADY_EXISTS when the user already has one on this model."""
        model, perm, user = v.model_name(name), v.permission(permission), v.name(username)
        return cast(RegisteredModelPermission, self._create(_RM, model, user, perm))

    def get_registered_model_permission(self, name: str, username: str) -> RegisteredModelPermission:
        """The user's direct permission on the model (RESOURCE_DOES_NOT_EXIST when none)."""
        model, user = v.model_name(name), v.name(username)
        return cast(
            RegisteredModelPermission, self.db.read(lambda conn: _permissions.get_grant(conn, _RM, model, user))
        )

    def delete_registered_model_permission(
        self, name: str, *, username: str | None = None, group: str | None = None
    ) -> None:
        """Remove a user's or a group's permission on a model (RESOURCE_DOES_NOT_EXIST when none)."""
        model = v.model_name(name)
        user, grp = v.holder(username, group)
        self.db.write(lambda conn: _permissions.delete_grant(conn, _RM, model, user, grp))

    def list_registered_model_permissions(self, name: str) -> list[tuple[str, str, str]]:
        """Every grant on a model as ``(kind, name, permission)``, users' first, by name."""
        model = v.model_name(name)
        return self.db.read(lambda conn: _permissions.list_grants(conn, _RM, model))

    def rename_registered_model_permissions(self, old_name: str, new_name: str) -> None:
        """Move every grant on a model to its new name (stale grants left on the new name are dropped)."""
        old, new = v.model_name(old_name, "old_name"), v.model_name(new_name, "new_name")
        self.db.write(lambda conn: _permissions.rename_model(conn, old, new))

    def delete_registered_model_permissions(self, name: str) -> None:
        """Drop every grant on a model (after the model is deleted)."""
        model = v.model_name(name)
        self.db.write(lambda conn: _permissions.delete_resource(conn, _RM, model), replayable=True)

    def effective_experiment_permissions(self, user_id: int) -> dict[str, str]:
        """experiment id -> the strongest permission the user holds directly or through a group (one query)."""
        return self._effective(_EXP, user_id)

    def effective_registered_model_permissions(self, user_id: int) -> dict[str, str]:
        """model name -> the strongest permission the user holds directly or through a group (one query)."""
        return self._effective(_RM, user_id)

    def _create(self, kind: _permissions.Resource, resource: str, username: str, permission: str) -> _permissions.Grant:
        try:
            return self.db.write(lambda conn: _permissions.create_grant(conn, kind, resource, username, permission))
        except IntegrityError:  # a concurrent create won
            raise kind.exists(resource, username) from None

    def _effective(self, kind: _permissions.Resource, user_id: int) -> dict[str, str]:
        v.user_id(user_id)
        if not v.in_id_range(user_id):
            return {}
        return self.db.read(lambda conn: _permissions.effective(conn, kind, user_id))

    # --- tokens and sessions -----------------------------------------------------------------------------
    def create_token(
        self, username: str, name: str, expires_at: int | None = None, kind: str = "token"
    ) -> tuple[AccessToken, str]:
        """Create a token (or a web session, ``kind="session"``); returns its record and the secret, shown once.

        The user's expired sessions are removed in the same transaction.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST for an unknown user; RESOURCE_ALREADY_EXISTS when the user has a
                token (or session) of this name; INVALID_PARAMETER_VALUE for a bad name, kind or expiry.
        """
        v.name(username)
        v.name(name, "name")
        v.token_kind(kind)
        v.timestamp(expires_at, "expires_at")
        secret = passwords.new_secret()
        try:
            token = self.db.write(lambda conn: _tokens.create(conn, username, name, kind, expires_at, secret))
        except IntegrityError:  # a concurrent create of the same name won
            raise errors.already_exists(f"Token with name={name} already exists for user {username}.") from None
        return token, secret

    def list_tokens(self, username: str | None = None, kind: str = "token") -> list[AccessToken]:
        """A user's tokens (everyone's when ``username`` is None), newest first; never the secrets."""
        if username is not None:
            v.name(username)
        v.token_kind(kind)
        return self.db.read(lambda conn: _tokens.list_for(conn, username, kind))

    def revoke_token(self, token_id: int, username: str | None = None) -> None:
        """Delete a token; with ``username`` only if it is that user's (RESOURCE_DOES_NOT_EXIST otherwise)."""
        if isinstance(token_id, bool) or not isinstance(token_id, int):
            raise errors.invalid(f"Invalid token id {token_id!r}: an integer is required.")
        if username is not None:
            v.name(username)
        if not v.in_id_range(token_id):
            raise errors.not_found(f"Token with id={token_id} not found")
        self.db.write(lambda conn: _tokens.revoke(conn, token_id, username))

    def revoke_session(self, secret: str) -> None:
        """Delete the session (or token) with this secret; a no-op when unknown."""
        if isinstance(secret, str) and 0 < len(secret) <= passwords.MAX_SECRET_LENGTH:
            self.db.write(lambda conn: _tokens.revoke_secret(conn, secret), replayable=True)

    def user_for_token(self, secret: str, now_ms: int, kind: str | None = None) -> User | None:
        """The owner (their own fields) of a live token or session with this secret, else None.

        One indexed select; ``last_used_at`` is written at most once a minute per token. ``kind`` None accepts
        either kind.
        """
        if kind is not None:
            v.token_kind(kind)
        if not isinstance(secret, str) or not secret.startswith(passwords.SECRET_PREFIX):
            return None
        if len(secret) > passwords.MAX_SECRET_LENGTH:
            return None
        digest = passwords.digest(secret)
        row = self.db.read(lambda conn: _tokens.lookup(conn, digest))
        if row is None or (kind is not None and row.kind != kind):
            return None
        if row.expires_at is not None and int(row.expires_at) <= now_ms:
            return None
        if _tokens.needs_touch(row, now_ms):
            self._touch(int(row.token_id), now_ms)
        return _tokens.owner(row)

    def _touch(self, token_id: int, now_ms: int) -> None:
        def touch(conn: Connection) -> None:
            _tokens.touch(conn, token_id, now_ms)

        if self.dialect.autocommit_reads:  # one idempotent statement: no transaction needed
            self.db.autocommit(touch)
        else:
            self.db.write(touch, replayable=True)

    # --- audit -------------------------------------------------------------------------------------------
    def add_audit_events(self, events: Sequence[AuditEvent]) -> None:
        """Append events (one batched insert; long strings are cut to their columns)."""
        rows = list(events)
        if rows:
            self.db.write(lambda conn: _audit.add(conn, rows))

    def search_audit_events(
        self,
        username: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Events newest first, of ``username`` if given, timed within ``since_ms..until_ms`` (both inclusive).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for ``max_results`` outside 1..1000, a bad page token, name or
                time.
        """
        if username is not None:
            v.name(username)
        since, until = v.timestamp(since_ms, "since_ms"), v.timestamp(until_ms, "until_ms")
        limit = _audit.validate_max_results(max_results)
        after = _audit.decode_token(page_token)
        return self.db.read(lambda conn: _audit.search(conn, username, since, until, limit, after))
