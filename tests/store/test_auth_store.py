"""The shared auth-store suite, written against the :class:`AuthStore` interface only.

:class:`AuthStoreSuite` needs one fixture, ``auth_store`` (a store on an empty backend); this module provides it
for SQLite, PostgreSQL and MySQL/MariaDB, each on a database of its own for the session (so the tracking schema
checks never see ``auth_`` tables), emptied before each test. Another implementation runs the same suite by
subclassing it beside its own ``auth_store`` fixture.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mltrail.entities.auth import (
    EDIT,
    MANAGE,
    NO_PERMISSIONS,
    READ,
    USE,
    AuditEvent,
    ExperimentPermission,
    RegisteredModelPermission,
)
from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST
from mltrail.store.auth import passwords
from mltrail.store.auth.base import AuthStore
from mltrail.store.auth.sql import tables as auth_tables
from mltrail.store.auth.sql.store import SqlAuthStore
from mltrail.store.sql import engines
from tests.store.cleanup import empty_tables
from tests.store.conftest import MYSQL_ADMIN_URI, PG_ADMIN_URI, _server_database, _unique_name
from tests.store.tracking.test_store_suite import expect

BACKENDS = ("sqlite", "postgresql", "mysql")
NOW = 1_800_000_000_000


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def auth_sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('auth') / (_unique_name() + '.db')}"


@pytest.fixture(scope="session")
def auth_postgresql_uri() -> Iterator[str]:
    yield from _server_database(PG_ADMIN_URI, "postgresql")


@pytest.fixture(scope="session")
def auth_mysql_uri() -> Iterator[str]:
    yield from _server_database(MYSQL_ADMIN_URI, "mysql")


@pytest.fixture(params=BACKENDS)
def auth_db_uri(request: pytest.FixtureRequest) -> str:
    """This session's auth database for the parametrized backend, emptied for this test."""
    uri: str = request.getfixturevalue(f"auth_{request.param}_uri")
    if sa.inspect(engines.get_engine(uri)).has_table("auth_users"):
        empty_tables(uri, auth_tables.metadata)
    return uri


@pytest.fixture
def auth_store(auth_db_uri: str) -> SqlAuthStore:
    """A :class:`SqlAuthStore` on an empty database of each backend."""
    return SqlAuthStore(auth_db_uri)


def _event(
    ts: int, username: str | None = "alice", path: str = "/api/2.0/mlflow/runs/create", **kw: object
) -> AuditEvent:
    return AuditEvent(timestamp=ts, username=username, method="POST", path=path, status=200, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------- suite
class AuthStoreSuite:
    """Every test here runs against every :class:`AuthStore` implementation."""

    # --- users -------------------------------------------------------------------------------------------
    def test_create_get_list_delete_users(self, auth_store: AuthStore) -> None:
        alice = auth_store.create_user("alice", "alice-pass")
        bob = auth_store.create_user("bob", "bob-pass", is_admin=True)
        assert alice.username == "alice" and not alice.is_admin and alice.source == "local"
        assert alice.created_at > 1_600_000_000_000 and alice.id != bob.id
        assert alice.password_hash and alice.password_hash.startswith("$argon2id$")
        assert "alice-pass" not in alice.password_hash and "password_hash" not in alice.to_dict()
        got = auth_store.get_user("alice")
        assert (got.id, got.username, got.is_admin, got.groups) == (alice.id, "alice", False, ())
        assert got.experiment_permissions == () and got.registered_model_permissions == ()
        assert auth_store.get_user_by_id(bob.id).username == "bob" and auth_store.get_user("bob").is_admin
        assert auth_store.has_user("alice") and not auth_store.has_user("carol") and not auth_store.has_user("a\0")
        assert [u.username for u in auth_store.list_users()] == ["alice", "bob"]
        auth_store.delete_user("alice")
        assert not auth_store.has_user("alice")
        assert [u.username for u in auth_store.list_users()] == ["bob"]
        with expect(RESOURCE_DOES_NOT_EXIST, r"User with username=alice not found"):
            auth_store.get_user("alice")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.get_user_by_id(alice.id)
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.get_user_by_id(2**40)
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.delete_user("alice")

    def test_names_are_case_sensitive_and_unicode(self, auth_store: AuthStore) -> None:
        auth_store.create_user("Alice", "pw-1")
        auth_store.create_user("alice", "pw-2")
        auth_store.create_user("zoë 😀", "pw-3")
        assert auth_store.get_user("zoë 😀").username == "zoë 😀"
        assert auth_store.authenticate_user("Alice", "pw-2") is None
        assert auth_store.authenticate_user("alice", "pw-2") is not None

    def test_duplicate_user(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        with expect(RESOURCE_ALREADY_EXISTS, r"alice"):
            auth_store.create_user("alice", "other")
        with expect(RESOURCE_ALREADY_EXISTS):
            auth_store.create_user("alice", None, source="oidc")

    def test_authenticate(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "correct horse")
        user = auth_store.authenticate_user("alice", "correct horse")
        assert user is not None and user.username == "alice"
        assert auth_store.authenticate_user("alice", "wrong") is None
        assert auth_store.authenticate_user("alice", "") is None
        assert auth_store.authenticate_user("alice", "correct horse\0") is None
        assert auth_store.authenticate_user("alice", "x" * 5000) is None
        assert auth_store.authenticate_user("nobody", "correct horse") is None
        assert auth_store.authenticate_user("ali\0ce", "correct horse") is None

    def test_sso_user_cannot_use_a_password(self, auth_store: AuthStore) -> None:
        sso = auth_store.create_user("sam", None, source="oidc")
        assert sso.source == "oidc" and sso.password_hash is None
        assert auth_store.get_user("sam").source == "oidc"
        for guess in ("", "None", "password"):
            assert auth_store.authenticate_user("sam", guess) is None
        with expect(INVALID_PARAMETER_VALUE, r"password"):
            auth_store.create_user("local-without-password", None)

    def test_admin_flag_and_password_update(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "old-pass")
        auth_store.update_user_admin("alice", True)
        assert auth_store.get_user("alice").is_admin
        auth_store.update_user_admin("alice", True)  # unchanged is fine
        auth_store.update_user_admin("alice", False)
        assert not auth_store.get_user("alice").is_admin
        auth_store.update_user_password("alice", "new-pass")
        assert auth_store.authenticate_user("alice", "old-pass") is None
        assert auth_store.authenticate_user("alice", "new-pass") is not None
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.update_user_password("nobody", "pw")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.update_user_admin("nobody", True)
        for bad in ("", "x" * 1025, "a\0b"):
            with expect(INVALID_PARAMETER_VALUE, r"password"):
                auth_store.update_user_password("alice", bad)
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.update_user_admin("alice", "yes")  # type: ignore[arg-type]

    # --- groups ------------------------------------------------------------------------------------------
    def test_groups_and_members(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        auth_store.create_user("bob", "pw")
        group = auth_store.create_group("ml-team")
        assert group.name == "ml-team" and group.members == ()
        with expect(RESOURCE_ALREADY_EXISTS):
            auth_store.create_group("ml-team")
        auth_store.add_group_member("ml-team", "bob")
        auth_store.add_group_member("ml-team", "alice")
        auth_store.add_group_member("ml-team", "alice")  # already a member: no-op
        assert auth_store.get_group("ml-team").members == ("alice", "bob")
        assert auth_store.get_user("alice").groups == ("ml-team",)
        auth_store.create_group("empty")
        assert [(g.name, g.members) for g in auth_store.list_groups()] == [("empty", ()), ("ml-team", ("alice", "bob"))]
        assert {u.username: u.groups for u in auth_store.list_users()} == {"alice": ("ml-team",), "bob": ("ml-team",)}
        auth_store.remove_group_member("ml-team", "alice")
        assert auth_store.get_group("ml-team").members == ("bob",)
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.remove_group_member("ml-team", "alice")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.add_group_member("nope", "alice")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.add_group_member("ml-team", "nobody")
        auth_store.set_experiment_permission("1", EDIT, group="ml-team")
        auth_store.delete_group("ml-team")
        with expect(RESOURCE_DOES_NOT_EXIST, r"Group"):
            auth_store.get_group("ml-team")
        assert auth_store.get_user("bob").groups == ()
        assert auth_store.list_experiment_permissions("1") == []
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.delete_group("ml-team")

    def test_set_user_groups(self, auth_store: AuthStore) -> None:
        auth_store.create_user("sam", None, source="oidc")
        auth_store.create_group("existing")
        auth_store.set_user_groups("sam", ["existing", "new-a", "new-b", "new-a"])
        assert auth_store.get_user("sam").groups == ("existing", "new-a", "new-b")
        assert [g.name for g in auth_store.list_groups()] == ["existing", "new-a", "new-b"]
        auth_store.set_user_groups("sam", ["new-b", "new-c"])
        assert auth_store.get_user("sam").groups == ("new-b", "new-c")
        assert auth_store.get_group("existing").members == ()  # the group stays, without sam
        auth_store.set_user_groups("sam", [])
        assert auth_store.get_user("sam").groups == ()
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.set_user_groups("nobody", ["x"])
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.set_user_groups("sam", ["ok", "bad\0"])
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.set_user_groups("sam", "not-a-list")
        assert auth_store.get_user("sam").groups == ()

    # --- permissions -------------------------------------------------------------------------------------
    def test_experiment_permissions(self, auth_store: AuthStore) -> None:
        alice = auth_store.create_user("alice", "pw")
        auth_store.create_group("team")
        created = auth_store.create_experiment_permission("7", "alice", READ)
        assert created == ExperimentPermission("7", READ, user_id=alice.id)
        assert created.to_dict() == {"experiment_id": "7", "permission": READ, "user_id": alice.id}
        with expect(RESOURCE_ALREADY_EXISTS, r"experiment_id=7"):
            auth_store.create_experiment_permission("7", "alice", EDIT)
        assert auth_store.get_experiment_permission("7", "alice").permission == READ
        auth_store.set_experiment_permission("7", EDIT, username="alice")  # MLflow's update
        assert auth_store.get_experiment_permission("7", "alice").permission == EDIT
        group_grant = auth_store.set_experiment_permission("7", MANAGE, group="team")
        assert group_grant.group_id is not None and group_grant.user_id is None
        auth_store.set_experiment_permission("7", USE, group="team")
        auth_store.set_experiment_permission("8", NO_PERMISSIONS, username="alice")
        assert auth_store.list_experiment_permissions("7") == [("group", "team", USE), ("user", "alice", EDIT)]
        assert [(p.experiment_id, p.permission) for p in auth_store.get_user("alice").experiment_permissions] == [
            ("7", EDIT),
            ("8", NO_PERMISSIONS),
        ]
        assert [p.permission for p in auth_store.get_group("team").experiment_permissions] == [USE]
        auth_store.delete_experiment_permission("7", username="alice")
        with expect(RESOURCE_DOES_NOT_EXIST, r"experiment_id=7 and username=alice"):
            auth_store.get_experiment_permission("7", "alice")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.delete_experiment_permission("7", username="alice")
        auth_store.delete_experiment_permission("7", group="team")
        assert auth_store.list_experiment_permissions("7") == []
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.delete_experiment_permission("7", group="team")
        with expect(RESOURCE_DOES_NOT_EXIST, r"username=nobody"):
            auth_store.create_experiment_permission("7", "nobody", READ)
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.set_experiment_permission("7", READ, group="no-group")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.get_experiment_permission("7", "nobody")

    def test_registered_model_permissions(self, auth_store: AuthStore) -> None:
        bob = auth_store.create_user("bob", "pw")
        auth_store.create_group("team")
        created = auth_store.create_registered_model_permission("fraud model", "bob", MANAGE)
        assert created == RegisteredModelPermission("fraud model", MANAGE, user_id=bob.id)
        with expect(RESOURCE_ALREADY_EXISTS):
            auth_store.create_registered_model_permission("fraud model", "bob", READ)
        auth_store.set_registered_model_permission("fraud model", READ, username="bob")
        auth_store.set_registered_model_permission("fraud model", EDIT, group="team")
        assert auth_store.get_registered_model_permission("fraud model", "bob").permission == READ
        assert auth_store.list_registered_model_permissions("fraud model") == [
            ("group", "team", EDIT),
            ("user", "bob", READ),
        ]
        assert [p.name for p in auth_store.get_user("bob").registered_model_permissions] == ["fraud model"]
        # a stale grant left on the new name by an earlier model of that name does not survive the rename
        auth_store.set_registered_model_permission("renamed", MANAGE, username="bob")
        auth_store.rename_registered_model_permissions("fraud model", "renamed")
        assert auth_store.list_registered_model_permissions("fraud model") == []
        assert auth_store.list_registered_model_permissions("renamed") == [
            ("group", "team", EDIT),
            ("user", "bob", READ),
        ]
        auth_store.rename_registered_model_permissions("renamed", "renamed")  # same name: nothing changes
        auth_store.delete_registered_model_permission("renamed", username="bob")
        with expect(RESOURCE_DOES_NOT_EXIST, r"name=renamed and username=bob"):
            auth_store.get_registered_model_permission("renamed", "bob")
        auth_store.set_registered_model_permission("other", READ, username="bob")
        auth_store.delete_registered_model_permissions("renamed")
        auth_store.delete_registered_model_permissions("renamed")  # nothing left: still fine
        assert auth_store.list_registered_model_permissions("renamed") == []
        assert auth_store.list_registered_model_permissions("other") == [("user", "bob", READ)]
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.delete_registered_model_permission("other", group="team")

    def test_effective_permissions_take_the_strongest(self, auth_store: AuthStore) -> None:
        alice = auth_store.create_user("alice", "pw")
        bob = auth_store.create_user("bob", "pw")
        for group in ("readers", "editors"):
            auth_store.create_group(group)
            auth_store.add_group_member(group, "alice")
        auth_store.set_experiment_permission("1", READ, username="alice")
        auth_store.set_experiment_permission("1", EDIT, group="editors")
        auth_store.set_experiment_permission("2", MANAGE, username="alice")
        auth_store.set_experiment_permission("2", READ, group="readers")
        auth_store.set_experiment_permission("3", USE, group="readers")
        auth_store.set_experiment_permission("3", NO_PERMISSIONS, group="editors")
        auth_store.set_experiment_permission("4", NO_PERMISSIONS, username="alice")
        auth_store.set_experiment_permission("5", EDIT, username="bob")
        assert auth_store.effective_experiment_permissions(alice.id) == {
            "1": EDIT,
            "2": MANAGE,
            "3": USE,
            "4": NO_PERMISSIONS,
        }
        assert auth_store.effective_experiment_permissions(bob.id) == {"5": EDIT}
        auth_store.set_registered_model_permission("m", READ, username="alice")
        auth_store.set_registered_model_permission("m", MANAGE, group="readers")
        auth_store.set_registered_model_permission("n", EDIT, group="editors")
        assert auth_store.effective_registered_model_permissions(alice.id) == {"m": MANAGE, "n": EDIT}
        assert auth_store.effective_registered_model_permissions(bob.id) == {}
        auth_store.remove_group_member("readers", "alice")
        assert auth_store.effective_registered_model_permissions(alice.id) == {"m": READ, "n": EDIT}
        assert auth_store.effective_experiment_permissions(2**40) == {}

    def test_deleting_a_user_removes_their_grants_memberships_and_tokens(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        auth_store.create_user("bob", "pw")
        auth_store.create_group("team")
        auth_store.add_group_member("team", "alice")
        auth_store.add_group_member("team", "bob")
        auth_store.set_experiment_permission("1", MANAGE, username="alice")
        auth_store.set_experiment_permission("1", READ, username="bob")
        auth_store.set_registered_model_permission("m", EDIT, username="alice")
        _, secret = auth_store.create_token("alice", "laptop")
        _, session = auth_store.create_token("alice", "web", NOW + 10**6, kind="session")
        auth_store.create_token("bob", "laptop")
        auth_store.delete_user("alice")
        assert auth_store.list_experiment_permissions("1") == [("user", "bob", READ)]
        assert auth_store.list_registered_model_permissions("m") == []
        assert auth_store.get_group("team").members == ("bob",)
        assert [t.username for t in auth_store.list_tokens()] == ["bob"]
        assert auth_store.list_tokens(kind="session") == []
        assert auth_store.user_for_token(secret, NOW) is None and auth_store.user_for_token(session, NOW) is None
        again = auth_store.create_user("alice", "pw")  # the name is free again, with nothing attached
        assert again.experiment_permissions == () and auth_store.get_user("alice").groups == ()
        assert auth_store.effective_experiment_permissions(again.id) == {}

    # --- tokens and sessions -----------------------------------------------------------------------------
    def test_tokens(self, auth_store: AuthStore) -> None:
        alice = auth_store.create_user("alice", "pw")
        auth_store.create_user("bob", "pw")
        token, secret = auth_store.create_token("alice", "laptop")
        assert re.fullmatch(r"mlt_[A-Za-z0-9_-]{43}", secret)
        assert (token.username, token.name, token.kind, token.expires_at, token.last_used_at) == (
            "alice",
            "laptop",
            "token",
            None,
            None,
        )
        assert secret not in str(token.to_dict()) and token.created_at > 0
        owner = auth_store.user_for_token(secret, NOW)
        assert owner is not None and (owner.id, owner.username) == (alice.id, "alice")
        assert auth_store.user_for_token(secret, NOW, kind="token") is not None
        assert auth_store.user_for_token(secret + "x", NOW) is None
        assert auth_store.user_for_token("mlt_" + "A" * 43, NOW) is None
        assert auth_store.user_for_token("", NOW) is None and auth_store.user_for_token("x" * 10_000, NOW) is None
        listed = auth_store.list_tokens("alice")
        assert [(t.id, t.name) for t in listed] == [(token.id, "laptop")]
        assert listed[0].last_used_at is not None  # recorded by the uses above
        with expect(RESOURCE_ALREADY_EXISTS, r"laptop"):
            auth_store.create_token("alice", "laptop")
        bob_token, bob_secret = auth_store.create_token("bob", "laptop")  # names are per user
        second, _ = auth_store.create_token("alice", "ci", expires_at=NOW + 1000)
        assert [t.name for t in auth_store.list_tokens("alice")] == ["ci", "laptop"]  # newest first
        assert {t.id for t in auth_store.list_tokens()} == {token.id, second.id, bob_token.id}
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.list_tokens("nobody")
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.create_token("nobody", "x")
        # revoking: only one's own with a username, any without
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.revoke_token(bob_token.id, username="alice")
        assert auth_store.user_for_token(bob_secret, NOW) is not None
        auth_store.revoke_token(token.id, username="alice")
        assert auth_store.user_for_token(secret, NOW) is None
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.revoke_token(token.id)
        auth_store.revoke_token(bob_token.id)
        assert auth_store.user_for_token(bob_secret, NOW) is None
        with expect(RESOURCE_DOES_NOT_EXIST):
            auth_store.revoke_token(2**40)

    def test_token_expiry(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        _, secret = auth_store.create_token("alice", "short", expires_at=NOW + 1000)
        assert auth_store.user_for_token(secret, NOW) is not None
        assert auth_store.user_for_token(secret, NOW + 999) is not None
        assert auth_store.user_for_token(secret, NOW + 1000) is None
        assert auth_store.user_for_token(secret, NOW + 10**9) is None
        assert [t.expires_at for t in auth_store.list_tokens("alice")] == [NOW + 1000]  # still listed

    def test_sessions_are_kept_apart_from_tokens(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        session, session_secret = auth_store.create_token("alice", "web", expires_at=NOW + 3_600_000, kind="session")
        _, token_secret = auth_store.create_token("alice", "web")  # the same name in the other kind
        assert session.kind == "session"
        assert [t.kind for t in auth_store.list_tokens("alice")] == ["token"]
        assert [t.name for t in auth_store.list_tokens("alice", kind="session")] == ["web"]
        assert auth_store.user_for_token(session_secret, NOW, kind="session") is not None
        assert auth_store.user_for_token(session_secret, NOW, kind="token") is None
        assert auth_store.user_for_token(token_secret, NOW, kind="session") is None
        assert auth_store.user_for_token(session_secret, NOW) is not None  # kind None: either
        auth_store.revoke_session(session_secret)
        assert auth_store.user_for_token(session_secret, NOW) is None
        auth_store.revoke_session(session_secret)  # unknown: a no-op
        auth_store.revoke_session("not-a-secret")
        assert auth_store.user_for_token(token_secret, NOW) is not None
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.create_token("alice", "x", kind="cookie")
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.list_tokens("alice", kind="cookie")

    def test_expired_sessions_are_cleared_at_the_next_sign_in(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        auth_store.create_token("alice", "old", expires_at=1000, kind="session")
        auth_store.create_token("alice", "expired-token", expires_at=1000)
        auth_store.create_token("alice", "new", expires_at=2**50, kind="session")
        assert [t.name for t in auth_store.list_tokens("alice", kind="session")] == ["new"]
        assert [t.name for t in auth_store.list_tokens("alice")] == ["expired-token"]  # tokens are kept

    # --- audit -------------------------------------------------------------------------------------------
    def test_audit_events(self, auth_store: AuthStore) -> None:
        auth_store.add_audit_events([])
        auth_store.add_audit_events(
            [
                _event(1000, "alice", address="10.0.0.1", action="Create a run", target="experiment_id=1"),
                _event(2000, "bob"),
                _event(3000, None),
            ]
        )
        auth_store.add_audit_events([_event(4000, "alice"), _event(4000, "alice", path="/second")])
        events, token = auth_store.search_audit_events()
        assert token is None
        assert [(e.timestamp, e.username) for e in events] == [
            (4000, "alice"),
            (4000, "alice"),
            (3000, None),
            (2000, "bob"),
            (1000, "alice"),
        ]
        assert events[0].path == "/second"  # same time: the later event first
        first = events[-1]
        assert (first.method, first.path, first.status, first.address, first.action, first.target) == (
            "POST",
            "/api/2.0/mlflow/runs/create",
            200,
            "10.0.0.1",
            "Create a run",
            "experiment_id=1",
        )
        assert first.id is not None and first.to_dict()["id"] == first.id
        alice, _ = auth_store.search_audit_events(username="alice")
        assert [e.timestamp for e in alice] == [4000, 4000, 1000]
        window, _ = auth_store.search_audit_events(since_ms=2000, until_ms=3000)
        assert [e.timestamp for e in window] == [3000, 2000]
        mixed, _ = auth_store.search_audit_events(username="alice", since_ms=1001)
        assert [e.timestamp for e in mixed] == [4000, 4000]
        assert auth_store.search_audit_events(username="nobody") == ([], None)

    def test_audit_paging(self, auth_store: AuthStore) -> None:
        auth_store.add_audit_events([_event(1000 + i // 2, path=f"/p{i}") for i in range(7)])
        seen: list[str] = []
        token = None
        pages = 0
        while True:
            events, token = auth_store.search_audit_events(max_results=2, page_token=token)
            seen += [e.path for e in events]
            pages += 1
            if token is None:
                break
            assert isinstance(token, str) and len(events) == 2
            auth_store.add_audit_events([_event(9999, path="/late")])  # newer events do not shift the pages
        assert pages == 4
        assert seen == [f"/p{i}" for i in reversed(range(7))]
        events, token = auth_store.search_audit_events(max_results=1000)
        assert len(events) == 10 and token is None
        events, token = auth_store.search_audit_events(username="alice", max_results=9)
        assert len(events) == 9 and token is not None
        events, token = auth_store.search_audit_events(username="alice", max_results=9, page_token=token)
        assert len(events) == 1 and token is None

    def test_audit_bad_arguments(self, auth_store: AuthStore) -> None:
        for bad in (0, -1, 1001, "10", True):
            with expect(INVALID_PARAMETER_VALUE, r"max_results"):
                auth_store.search_audit_events(max_results=bad)  # type: ignore[arg-type]
        for token in ("garbage!", "eyJvZmZzZXQiOiAxfQ==", "e30", "x" * 5000):
            with expect(INVALID_PARAMETER_VALUE, r"page token"):
                auth_store.search_audit_events(page_token=token)
        with expect(INVALID_PARAMETER_VALUE, r"since_ms"):
            auth_store.search_audit_events(since_ms="yesterday")  # type: ignore[arg-type]
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.search_audit_events(username="a\0")

    def test_audit_long_and_odd_values_are_kept_storable(self, auth_store: AuthStore) -> None:
        auth_store.add_audit_events(
            [_event(1, "u" * 300, path="/x" * 10_000, address="a" * 400, action="b" * 400, target="t\0" * 10)]
        )
        (event,), _ = auth_store.search_audit_events()
        assert event.username == "u" * 255 and event.path.startswith("/x") and len(event.path) <= 8192
        assert event.address == "a" * 255 and event.target == "t" * 10

    # --- invalid input -----------------------------------------------------------------------------------
    @pytest.mark.parametrize("bad", ["", "a\0b", "x" * 256, " lead", "trail ", "new\nline", "tab\there", "c1\x85"])
    def test_bad_names(self, auth_store: AuthStore, bad: str) -> None:
        auth_store.create_user("alice", "pw")
        with expect(INVALID_PARAMETER_VALUE, r"username"):
            auth_store.create_user(bad, "pw")
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.get_user(bad)
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.create_group(bad)
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.create_token("alice", bad)
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.set_experiment_permission("1", READ, username=bad)
        assert not auth_store.has_user(bad)
        assert auth_store.authenticate_user(bad, "pw") is None

    def test_bad_permissions_and_resources(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        for bad_permission in ("read", "ADMIN", "", None):
            with expect(INVALID_PARAMETER_VALUE, r"permission"):
                auth_store.create_experiment_permission("1", "alice", bad_permission)  # type: ignore[arg-type]
            with expect(INVALID_PARAMETER_VALUE, r"permission"):
                auth_store.set_registered_model_permission("m", bad_permission, username="alice")  # type: ignore[arg-type]
        for bad_id in ("abc", "-1", "1.5", "", "1\0", "9" * 33, " 1"):
            with expect(INVALID_PARAMETER_VALUE, r"experiment id"):
                auth_store.set_experiment_permission(bad_id, READ, username="alice")
            with expect(INVALID_PARAMETER_VALUE, r"experiment id"):
                auth_store.get_experiment_permission(bad_id, "alice")
        for bad_name in ("", "   ", "m\0", "m" * 257):
            with expect(INVALID_PARAMETER_VALUE):
                auth_store.set_registered_model_permission(bad_name, READ, username="alice")
            with expect(INVALID_PARAMETER_VALUE):
                auth_store.rename_registered_model_permissions("m", bad_name)
        auth_store.set_registered_model_permission("m" * 256, READ, username="alice")  # the registry's longest name
        with expect(INVALID_PARAMETER_VALUE, r"Exactly one"):
            auth_store.set_experiment_permission("1", READ)
        auth_store.create_group("team")
        with expect(INVALID_PARAMETER_VALUE, r"Exactly one"):
            auth_store.delete_experiment_permission("1", username="alice", group="team")
        with expect(INVALID_PARAMETER_VALUE):
            auth_store.create_token("alice", "t", expires_at=-5)
        assert auth_store.list_experiment_permissions("1") == []

    def test_experiment_ids_are_canonical(self, auth_store: AuthStore) -> None:
        auth_store.create_user("alice", "pw")
        auth_store.set_experiment_permission("007", EDIT, username="alice")
        assert auth_store.get_experiment_permission("7", "alice").experiment_id == "7"


class TestSqlAuthStore(AuthStoreSuite):
    """The suite on SQLite, PostgreSQL and MariaDB."""

    def test_last_use_is_written_at_most_once_a_minute(self, auth_store: SqlAuthStore) -> None:
        auth_store.create_user("alice", "pw")
        _, secret = auth_store.create_token("alice", "t")
        assert auth_store.user_for_token(secret, NOW) is not None
        assert auth_store.list_tokens("alice")[0].last_used_at == NOW
        auth_store.user_for_token(secret, NOW + 59_999)
        assert auth_store.list_tokens("alice")[0].last_used_at == NOW
        auth_store.user_for_token(secret, NOW + 60_000)
        assert auth_store.list_tokens("alice")[0].last_used_at == NOW + 60_000

    def test_a_second_store_sees_the_same_data(self, auth_store: SqlAuthStore) -> None:
        auth_store.create_user("alice", "pw")
        other = SqlAuthStore(auth_store.db_uri)
        assert other.authenticate_user("alice", "pw") is not None

    def test_concurrent_group_sync_and_creates(self, auth_store: SqlAuthStore) -> None:
        for i in range(4):
            auth_store.create_user(f"u{i}", None, source="oidc")
        failures: list[BaseException] = []

        def sync(i: int) -> None:
            try:
                for _ in range(3):
                    auth_store.set_user_groups(f"u{i}", ["shared", f"own-{i}"])
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

        threads = [threading.Thread(target=sync, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert auth_store.get_group("shared").members == ("u0", "u1", "u2", "u3")

    def test_passwords_are_rehashed_when_parameters_change(self, auth_store: SqlAuthStore) -> None:
        from argon2 import PasswordHasher

        auth_store.create_user("alice", "pw")
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
        auth_store.db.write(
            lambda conn: conn.execute(
                auth_tables.users.update().where(auth_tables.users.c.username == "alice").values(password_hash=weak)
            )
        )
        assert auth_store.authenticate_user("alice", "pw") is not None
        stored = auth_store.get_user("alice").password_hash
        assert stored != weak and stored is not None and "m=19456,t=2,p=1" in stored


def test_passwords_module() -> None:
    hashed = passwords.hash_password("s3cret")
    assert passwords.verify_password(hashed, "s3cret") and not passwords.verify_password(hashed, "S3cret")
    assert not passwords.verify_password(None, "s3cret") and not passwords.verify_password("not-a-hash", "s3cret")
    assert not passwords.needs_rehash(hashed) and passwords.needs_rehash("garbage")
    assert passwords.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert passwords.new_secret() != passwords.new_secret()
    with pytest.raises(Exception, match="NUL"):
        passwords.validate_password("a\0")


@pytest.mark.parametrize("auth_db_uri", BACKENDS, indirect=True)
def test_schema_matches_migrations(auth_store: SqlAuthStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mltrail.store.auth.sql import migrations

    with auth_store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE})
        names = set(auth_tables.metadata.tables)
        diffs = [
            d
            for d in compare_metadata(context, auth_tables.metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name not in names)
            and not (isinstance(d, tuple) and d[0] == "remove_index" and d[1].table.name not in names)
            and not (isinstance(d, list) and d and d[0][0] == "modify_type")
        ]
    assert diffs == []
