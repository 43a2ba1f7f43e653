"""``mltrail users/tokens/permissions/groups/audit``: on a SQLite auth database and through a live `--auth` server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from mltrail.cli.main import cli
from mltrail.entities.auth import AuditEvent
from mltrail.store.auth.sql.store import SqlAuthStore
from tests.server.live import ADMIN, auth_live_server, live_server

_CREDENTIAL_VARS = (
    "MLTRAIL_TRACKING_USERNAME",
    "MLTRAIL_TRACKING_PASSWORD",
    "MLTRAIL_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------------------------------- database mode
@pytest.fixture
def db_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.db'}"


@pytest.fixture
def store(db_uri: str) -> SqlAuthStore:
    return SqlAuthStore(db_uri)


@pytest.fixture
def db(db_uri: str, env) -> Callable[..., Result]:
    """``mltrail <args> --backend-store-uri <db>``; ``input`` feeds standard input."""
    runner = CliRunner()

    def _run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, [*args, "--backend-store-uri", db_uri], input=input)

    return _run


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    return result


def test_help_lists_the_auth_groups(invoke) -> None:
    result = _ok(invoke("--help"))
    for name in ("users", "tokens", "permissions", "groups", "audit"):
        assert name in result.stdout
    assert "--backend-store-uri" in _ok(invoke("users", "create", "--help")).stdout


_AUTH_COMMANDS = [
    ["users", "create"], ["users", "list"], ["users", "delete"], ["users", "set-password"], ["users", "set-admin"],
    ["tokens", "create"], ["tokens", "list"], ["tokens", "revoke"],
    ["permissions", "grant"], ["permissions", "revoke"], ["permissions", "list"],
    ["groups", "create"], ["groups", "list"], ["groups", "describe"], ["groups", "delete"],
    ["groups", "add-member"], ["groups", "remove-member"],
    ["audit"],
]  # fmt: skip


@pytest.mark.parametrize("args", _AUTH_COMMANDS, ids=" ".join)
def test_every_auth_command_has_help_with_examples_and_both_targets(invoke, args):
    result = _ok(invoke(*args, "--help"))
    for text in ("Examples", "--tracking-uri", "--backend-store-uri", "--json"):
        assert text in result.stdout, (args, text)


def test_create_first_admin_on_the_database(db, store) -> None:
    result = _ok(db("users", "create", "alice", "--admin", "--password-stdin", input="alice-passphrase\n"))
    assert result.stdout.strip() == "Created user 'alice' (admin)."
    alice = store.get_user("alice")
    assert alice.is_admin
    assert store.authenticate_user("alice", "alice-passphrase") is not None

    payload = json.loads(_ok(db("users", "create", "bob", "--json", input="bob-passphrase\n")).stdout)
    assert payload["user"]["username"] == "bob" and payload["user"]["is_admin"] is False
    assert "password" not in json.dumps(payload)


def test_password_sources(db, store, monkeypatch) -> None:
    # Not a terminal: the first line of stdin, without --password-stdin too.
    _ok(db("users", "create", "piped", input="piped-passphrase\nignored\n"))
    assert store.authenticate_user("piped", "piped-passphrase") is not None
    # --password for scripts.
    _ok(db("users", "create", "scripted", "--password", "scripted-passphrase"))
    assert store.authenticate_user("scripted", "scripted-passphrase") is not None
    # At a terminal: asked twice (hidden), again when the two differ.
    monkeypatch.setattr("mltrail.cli._auth._is_terminal", lambda stream: True)
    result = _ok(db("users", "create", "typed", input="one-passphrase\ntwo-passphrase\ntyped-pass\ntyped-pass\n"))
    assert "Repeat the password" in result.stderr and "do not match" in result.stderr
    assert "typed-pass" not in result.output  # hidden input is not echoed
    assert store.authenticate_user("typed", "typed-pass") is not None


def test_password_mistakes(db, one_error_line) -> None:
    both = db("users", "create", "x", "--password", "p-123456", "--password-stdin", input="p\n")
    assert both.exit_code == 2 and "not both" in both.stderr and "Traceback" not in both.output
    assert "No password" in one_error_line(db("users", "create", "x", input=""))


def test_list_users_table_and_json(db) -> None:
    assert _ok(db("users", "list")).stdout.strip() == "No users."
    _ok(db("users", "create", "alice", "--admin", input="alice-passphrase\n"))
    _ok(db("users", "create", "bob", input="bob-passphrase\n"))
    lines = _ok(db("users", "list")).stdout.splitlines()
    assert lines[0].split() == ["ID", "USERNAME", "ADMIN", "SOURCE", "GROUPS", "CREATED"]
    rows = {line.split()[1]: line.split() for line in lines[2:]}
    assert rows["alice"][2] == "true" and rows["bob"][2] == "false"
    users = json.loads(_ok(db("users", "list", "--json")).stdout)["users"]
    assert [u["username"] for u in users] == ["alice", "bob"]


def test_user_errors_are_one_line(db, one_error_line) -> None:
    _ok(db("users", "create", "alice", input="alice-passphrase\n"))
    assert "alice" in one_error_line(db("users", "create", "alice", input="other-passphrase\n"))
    assert "nobody" in one_error_line(db("users", "delete", "nobody"))
    assert "nobody" in one_error_line(db("users", "set-password", "nobody", input="new-passphrase\n"))
    assert "nobody" in one_error_line(db("users", "set-admin", "nobody", "--admin"))


def test_set_password_then_authenticate(db, store) -> None:
    _ok(db("users", "create", "bob", input="old-passphrase\n"))
    result = _ok(db("users", "set-password", "bob", input="new-passphrase\n"))
    assert "Changed the password of 'bob'" in result.stdout
    assert store.authenticate_user("bob", "old-passphrase") is None
    assert store.authenticate_user("bob", "new-passphrase") is not None


def test_set_admin_and_delete(db, store) -> None:
    _ok(db("users", "create", "bob", input="bob-passphrase\n"))
    assert "now an admin" in _ok(db("users", "set-admin", "bob", "--admin")).stdout
    assert store.get_user("bob").is_admin
    assert "no longer an admin" in _ok(db("users", "set-admin", "bob", "--no-admin")).stdout
    assert not store.get_user("bob").is_admin
    missing = db("users", "set-admin", "bob")
    assert missing.exit_code == 2 and "--admin" in missing.stderr
    assert "Deleted user 'bob'" in _ok(db("users", "delete", "bob")).stdout
    assert not store.has_user("bob")


def test_tokens_create_list_revoke(db, store, one_error_line) -> None:
    _ok(db("users", "create", "bob", input="bob-passphrase\n"))
    created = _ok(db("tokens", "create", "ci", "--user", "bob", "--expires-in-days", "7"))
    secret = created.stdout.strip()
    assert secret.startswith("mlt_") and "\n" not in secret  # only the secret on stdout: TOKEN=$(...) works
    assert "will not be shown again" in created.stderr and "'ci'" in created.stderr
    owner = store.user_for_token(secret, _now_ms())
    assert owner is not None and owner.username == "bob"
    token = store.list_tokens("bob")[0]
    assert token.expires_at is not None and abs(token.expires_at - (_now_ms() + 7 * 86_400_000)) < 60_000

    as_json = json.loads(_ok(db("tokens", "create", "laptop", "--user", "bob", "--json")).stdout)
    assert as_json["secret"].startswith("mlt_") and as_json["token"]["expires_at"] is None

    lines = _ok(db("tokens", "list", "--user", "bob")).stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "USER", "NAME"]
    assert {line.split()[2] for line in lines[2:]} == {"ci", "laptop"}
    listed = json.loads(_ok(db("tokens", "list", "--all", "--json")).stdout)["tokens"]
    assert {t["name"] for t in listed} == {"ci", "laptop"} and all("secret" not in t for t in listed)

    assert f"Revoked token {token.id}" in _ok(db("tokens", "revoke", str(token.id))).stdout
    assert store.user_for_token(secret, _now_ms()) is None
    assert one_error_line(db("tokens", "revoke", str(token.id)))


def test_token_mistakes(db, one_error_line) -> None:
    _ok(db("users", "create", "bob", input="bob-passphrase\n"))
    assert "--user" in one_error_line(db("tokens", "create", "ci"))  # no signed-in user on the database
    assert "--all" in one_error_line(db("tokens", "list"))
    assert "nobody" in one_error_line(db("tokens", "list", "--user", "nobody"))
    assert "nobody" in one_error_line(db("tokens", "create", "ci", "--user", "nobody"))
    _ok(db("tokens", "create", "ci", "--user", "bob"))
    assert one_error_line(db("tokens", "create", "ci", "--user", "bob"))  # names are unique per user
    both = db("tokens", "list", "--user", "bob", "--all")
    assert both.exit_code == 2 and "not both" in both.stderr
    assert db("tokens", "create", "x", "--user", "bob", "--expires-in-days", "0").exit_code == 2
    assert db("tokens", "revoke", "abc").exit_code == 2


def test_grant_revoke_list_on_experiments_and_models(db, store, one_error_line) -> None:
    _ok(db("users", "create", "bob", input="bob-passphrase\n"))
    _ok(db("groups", "create", "risk"))
    _ok(db("groups", "add-member", "risk", "bob"))

    result = _ok(db("permissions", "grant", "--user", "bob", "--experiment-id", "12", "edit"))
    assert result.stdout.strip() == "Granted EDIT on experiment 12 to user 'bob'."
    _ok(db("permissions", "grant", "--group", "risk", "--experiment-id", "12", "READ"))
    _ok(db("permissions", "grant", "--group", "risk", "--model", "fraud", "MANAGE"))
    assert store.get_experiment_permission("12", "bob").permission == "EDIT"

    lines = _ok(db("permissions", "list", "--experiment-id", "12")).stdout.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "PERMISSION"]
    assert sorted(tuple(line.split()) for line in lines[2:]) == [("group", "risk", "READ"), ("user", "bob", "EDIT")]
    on_model = json.loads(_ok(db("permissions", "list", "--model", "fraud", "--json")).stdout)
    assert on_model == {
        "permissions": [{"kind": "group", "name": "risk", "permission": "MANAGE"}],
        "default_permission": None,
    }

    mine = json.loads(_ok(db("permissions", "list", "--user", "bob", "--json")).stdout)
    assert mine["is_admin"] is False
    assert {
        (p["resource_type"], p["resource_pattern"], p["permission"], p.get("group")) for p in mine["permissions"]
    } == {
        ("experiment", "12", "EDIT", None),
        ("experiment", "12", "READ", "risk"),
        ("registered_model", "fraud", "MANAGE", "risk"),
    }
    table = _ok(db("permissions", "list", "--user", "bob")).stdout
    assert "group risk" in table and "own" in table

    # Replacing a grant, then revoking it.
    _ok(db("permissions", "grant", "--user", "bob", "--experiment-id", "12", "MANAGE"))
    assert store.get_experiment_permission("12", "bob").permission == "MANAGE"
    revoked = _ok(db("permissions", "revoke", "--user", "bob", "--experiment-id", "12"))
    assert "Revoked the permission of user 'bob' on experiment 12" in revoked.stdout
    _ok(db("permissions", "revoke", "--group", "risk", "--model", "fraud"))
    assert json.loads(_ok(db("permissions", "list", "--model", "fraud", "--json")).stdout)["permissions"] == []
    assert "No grants on model 'fraud'" in _ok(db("permissions", "list", "--model", "fraud")).stdout
    assert one_error_line(db("permissions", "revoke", "--user", "bob", "--experiment-id", "12"))  # nothing left


def test_permission_mistakes(db, one_error_line) -> None:
    _ok(db("users", "create", "bob", input="bob-passphrase\n"))
    line = one_error_line(db("permissions", "grant", "--user", "bob", "--experiment-id", "1", "WRITE"))
    assert "WRITE" in line and "MANAGE" in line
    assert "nobody" in one_error_line(db("permissions", "grant", "--user", "nobody", "--experiment-id", "1", "READ"))
    assert one_error_line(db("permissions", "grant", "--group", "nogroup", "--model", "m", "READ"))
    assert one_error_line(db("permissions", "grant", "--user", "bob", "--experiment-id", "not-a-number", "READ"))
    for args in (
        ("permissions", "grant", "--experiment-id", "1", "READ"),  # nobody to grant to
        ("permissions", "grant", "--user", "bob", "--group", "g", "--experiment-id", "1", "READ"),
        ("permissions", "grant", "--user", "bob", "READ"),  # no resource
        ("permissions", "revoke", "--user", "bob", "--experiment-id", "1", "--model", "m"),
        ("permissions", "list", "--user", "bob", "--experiment-id", "1"),
    ):
        result = db(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_groups(db, store, one_error_line) -> None:
    for name in ("bob", "carol"):
        _ok(db("users", "create", name, input=f"{name}-passphrase\n"))
    assert _ok(db("groups", "create", "risk")).stdout.strip() == "Created group 'risk'."
    assert "Added 'bob' to group 'risk'" in _ok(db("groups", "add-member", "risk", "bob")).stdout
    _ok(db("groups", "add-member", "risk", "carol"))
    _ok(db("permissions", "grant", "--group", "risk", "--experiment-id", "3", "EDIT"))

    lines = _ok(db("groups", "list")).stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "MEMBERS"] and lines[2].split()[1:] == ["risk", "bob,carol"]
    described = _ok(db("groups", "describe", "risk")).stdout
    assert "bob, carol" in described and "experiment 3: EDIT" in described
    group = json.loads(_ok(db("groups", "describe", "risk", "--json")).stdout)["group"]
    assert group["members"] == ["bob", "carol"]

    assert "Removed 'carol'" in _ok(db("groups", "remove-member", "risk", "carol")).stdout
    assert store.get_group("risk").members == ("bob",)
    assert one_error_line(db("groups", "remove-member", "risk", "carol"))  # not a member any more
    assert "risk" in one_error_line(db("groups", "create", "risk"))
    assert one_error_line(db("groups", "add-member", "nogroup", "bob"))

    assert "Deleted group 'risk'" in _ok(db("groups", "delete", "risk")).stdout
    assert json.loads(_ok(db("groups", "list", "--json")).stdout) == {"groups": []}
    assert store.has_user("bob")  # the users stay
    assert one_error_line(db("groups", "delete", "risk"))


def test_audit_on_the_database(db, store, one_error_line) -> None:
    now = _now_ms()
    events = [
        AuditEvent(now - 3 * 3_600_000, "bob", "POST", "/api/2.0/mlflow/runs/create", 200, "10.0.0.1", "Create a run"),
        *(
            AuditEvent(now - i * 60_000, "alice", "POST", "/api/2.0/mlflow/runs/log-metric", 200, "10.0.0.2")
            for i in range(1, 6)
        ),
    ]
    store.add_audit_events(events)

    bob = json.loads(_ok(db("audit", "--user", "bob", "--json")).stdout)["events"]
    assert [(e["username"], e["path"], e["action"]) for e in bob] == [
        ("bob", "/api/2.0/mlflow/runs/create", "Create a run")
    ]
    recent = json.loads(_ok(db("audit", "--since", "1h", "--json")).stdout)["events"]
    assert len(recent) == 5 and {e["username"] for e in recent} == {"alice"}
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime((now - 2 * 3_600_000) / 1000))
    assert len(json.loads(_ok(db("audit", "--since", iso, "--json")).stdout)["events"]) == 5
    assert len(json.loads(_ok(db("audit", "--until", str(now - 3_600_000), "--json")).stdout)["events"]) == 1

    first = _ok(db("audit", "--max-results", "3"))
    lines = first.stdout.splitlines()
    assert lines[0].split()[:4] == ["TIME", "USER", "METHOD", "PATH"] and len(lines) == 5
    assert "--page-token" in first.stderr
    token = first.stderr.split("--page-token", 1)[1].split()[0]
    rest = json.loads(_ok(db("audit", "--page-token", token, "--json")).stdout)
    assert len(rest["events"]) == 3 and rest["next_page_token"] is None

    assert "--since" in one_error_line(db("audit", "--since", "last tuesday"))
    assert _ok(db("audit", "--user", "nobody")).stdout.strip() == "No audit events."


def test_where_the_commands_act(env, invoke, one_error_line, tmp_path) -> None:
    # Without an option the tracking URI from the environment is used: here the SQLite tracking database.
    _ok(invoke("users", "create", "alice", "--password", "alice-passphrase"))
    assert SqlAuthStore(env.tracking_uri).has_user("alice")
    both = invoke("users", "list", "--tracking-uri", "http://127.0.0.1:1", "--backend-store-uri", env.tracking_uri)
    assert both.exit_code == 2 and "not both" in both.stderr
    assert "not a database URI" in one_error_line(invoke("users", "list", "--backend-store-uri", str(tmp_path)))
    assert one_error_line(invoke("users", "list", "--backend-store-uri", "http://127.0.0.1:1"))


# --------------------------------------------------------------------------------------------- server mode
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(url, database_uri)`` of a live server with ``--auth`` (admin :data:`ADMIN`)."""
    root = tmp_path_factory.mktemp("auth-cli-server")
    db_uri = f"sqlite:///{root / 'server.db'}"
    with auth_live_server(root, backend_store_uri=db_uri) as url:
        yield url, db_uri


@pytest.fixture
def remote(server, env) -> Callable[..., Result]:
    """``mltrail <args> --tracking-uri <server>`` signed in as ``as_user`` (the admin by default) or ``token``."""
    url = server[0]
    runner = CliRunner()

    def _run(
        *args: str, as_user: tuple[str, str] | None = ADMIN, token: str | None = None, input: str | None = None
    ) -> Result:
        creds: dict[str, str | None] = {}
        if token is not None:
            creds["MLFLOW_TRACKING_TOKEN"] = token
        elif as_user is not None:
            creds.update(MLFLOW_TRACKING_USERNAME=as_user[0], MLFLOW_TRACKING_PASSWORD=as_user[1])
        return runner.invoke(cli, [*args, "--tracking-uri", url], input=input, env=creds)

    return _run


def _admin_http(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, auth=ADMIN, timeout=30)


def _unique(prefix: str) -> str:
    return f"{prefix}{time.monotonic_ns() % 10**9}"


def test_server_users(remote, server, one_error_line) -> None:
    bob = _unique("bob")
    result = _ok(remote("users", "create", bob, "--password-stdin", input="bob-passphrase\n"))
    assert result.stdout.strip() == f"Created user {bob!r}."
    users = {u["username"]: u for u in json.loads(_ok(remote("users", "list", "--json")).stdout)["users"]}
    assert users[ADMIN[0]]["is_admin"] is True and users[bob]["is_admin"] is False
    assert bob in _ok(remote("users", "list")).stdout

    admin2 = _unique("ops")
    payload = json.loads(_ok(remote("users", "create", admin2, "--admin", "--json", input="ops-passphrase\n")).stdout)
    assert payload["user"]["is_admin"] is True
    assert SqlAuthStore(server[1]).get_user(admin2).is_admin

    # Not an admin: one line, 403's message.
    assert one_error_line(remote("users", "list", as_user=(bob, "bob-passphrase")))
    assert bob in one_error_line(remote("users", "create", bob, input="again-passphrase\n"))
    _ok(remote("users", "set-admin", bob, "--admin"))
    assert SqlAuthStore(server[1]).get_user(bob).is_admin
    _ok(remote("users", "set-admin", bob, "--no-admin"))
    _ok(remote("users", "delete", admin2))
    assert admin2 in one_error_line(remote("users", "delete", admin2))


def test_server_set_password_as_admin_and_as_self(remote, server) -> None:
    bob = _unique("bob")
    _ok(remote("users", "create", bob, input="first-passphrase\n"))
    _ok(remote("users", "set-password", bob, input="second-passphrase\n"))  # an admin sets anyone's
    store = SqlAuthStore(server[1])
    assert store.authenticate_user(bob, "second-passphrase") is not None
    # A user sets their own; the current password is the one they signed in with.
    _ok(remote("users", "set-password", bob, as_user=(bob, "second-passphrase"), input="third-passphrase\n"))
    assert store.authenticate_user(bob, "third-passphrase") is not None
    assert store.authenticate_user(bob, "second-passphrase") is None


def test_server_sign_in_errors(remote, server, one_error_line) -> None:
    line = one_error_line(remote("users", "list", as_user=None))
    assert "MLFLOW_TRACKING_USERNAME" in line
    assert one_error_line(remote("users", "list", as_user=(_unique("mallory"), "wrong-passphrase")))
    assert one_error_line(remote("tokens", "list", token="mlt_" + "A" * 43))


def test_server_without_auth_says_so(tmp_path, env, one_error_line) -> None:
    with live_server(tmp_path) as url:
        result = CliRunner().invoke(cli, ["users", "list", "--tracking-uri", url])
    assert "mltrail server --auth" in one_error_line(result)


def test_server_tokens(remote, server, one_error_line) -> None:
    bob = _unique("bob")
    creds = (bob, "bob-passphrase")
    _ok(remote("users", "create", bob, input="bob-passphrase\n"))
    created = _ok(remote("tokens", "create", "ci", "--expires-in-days", "30", as_user=creds))
    secret = created.stdout.strip()
    assert secret.startswith("mlt_") and "will not be shown again" in created.stderr
    assert f"for {bob!r}" in created.stderr

    # The token signs in: bob lists his own tokens with it.
    mine = json.loads(_ok(remote("tokens", "list", "--json", token=secret)).stdout)["tokens"]
    assert [(t["username"], t["name"]) for t in mine] == [(bob, "ci")]
    assert mine[0]["expires_at"] is not None
    # An admin lists bob's, and everyone's.
    assert bob in _ok(remote("tokens", "list", "--user", bob)).stdout
    everyone = json.loads(_ok(remote("tokens", "list", "--all", "--json")).stdout)["tokens"]
    assert mine[0]["id"] in {t["id"] for t in everyone}
    assert one_error_line(remote("tokens", "list", "--user", ADMIN[0], as_user=creds))  # not bob's to see

    # A server makes tokens for the signed-in user only.
    assert "sign in as" in one_error_line(remote("tokens", "create", "x", "--user", ADMIN[0], as_user=creds))
    _ok(remote("tokens", "create", "self", "--user", bob, as_user=creds))

    _ok(remote("tokens", "revoke", str(mine[0]["id"]), as_user=creds))
    assert one_error_line(remote("tokens", "list", token=secret))


def test_server_permissions_and_groups(remote, server, one_error_line) -> None:
    url = server[0]
    bob, team, model = _unique("bob"), _unique("team"), _unique("model")
    with _admin_http(url) as http:
        experiment_id = http.post("/api/2.0/mlflow/experiments/create", json={"name": _unique("exp")}).json()[
            "experiment_id"
        ]
        assert http.post("/api/2.0/mlflow/registered-models/create", json={"name": model}).status_code == 200
    _ok(remote("users", "create", bob, input="bob-passphrase\n"))
    _ok(remote("groups", "create", team))
    _ok(remote("groups", "add-member", team, bob))
    assert bob in _ok(remote("groups", "list")).stdout
    assert json.loads(_ok(remote("groups", "describe", team, "--json")).stdout)["group"]["members"] == [bob]

    _ok(remote("permissions", "grant", "--user", bob, "--experiment-id", experiment_id, "EDIT"))
    _ok(remote("permissions", "grant", "--group", team, "--model", model, "manage"))
    listed = json.loads(_ok(remote("permissions", "list", "--experiment-id", experiment_id, "--json")).stdout)
    assert {"kind": "user", "name": bob, "permission": "EDIT"} in listed["permissions"]
    assert listed["default_permission"] == "READ"
    shown = _ok(remote("permissions", "list", "--experiment-id", experiment_id))
    assert "default permission" in shown.stderr
    on_model = json.loads(_ok(remote("permissions", "list", "--model", model, "--json")).stdout)["permissions"]
    assert on_model == [{"kind": "group", "name": team, "permission": "MANAGE"}]

    # bob sees his own grants, his group's included.
    mine = json.loads(
        _ok(remote("permissions", "list", "--user", bob, "--json", as_user=(bob, "bob-passphrase"))).stdout
    )
    rows = {(p["resource_type"], p["resource_pattern"], p["permission"], p.get("group")) for p in mine["permissions"]}
    assert rows == {("experiment", experiment_id, "EDIT", None), ("registered_model", model, "MANAGE", team)}
    # MANAGE through the group lets bob grant on the model; not on the experiment (EDIT only).
    _ok(remote("permissions", "grant", "--user", bob, "--model", model, "READ", as_user=(bob, "bob-passphrase")))
    denied = remote(
        "permissions",
        "grant",
        "--user",
        bob,
        "--experiment-id",
        experiment_id,
        "MANAGE",
        as_user=(bob, "bob-passphrase"),
    )
    assert one_error_line(denied)

    assert one_error_line(remote("permissions", "grant", "--user", bob, "--experiment-id", "999999", "READ"))
    assert "nope" in one_error_line(remote("permissions", "grant", "--user", bob, "--model", model, "nope"))

    _ok(remote("permissions", "revoke", "--user", bob, "--experiment-id", experiment_id))
    _ok(remote("permissions", "revoke", "--group", team, "--model", model))
    left = json.loads(_ok(remote("permissions", "list", "--model", model, "--json")).stdout)["permissions"]
    assert left == [{"kind": "user", "name": bob, "permission": "READ"}]

    _ok(remote("groups", "remove-member", team, bob))
    _ok(remote("groups", "delete", team))
    assert team in one_error_line(remote("groups", "describe", team))


def test_server_audit(remote, server, one_error_line) -> None:
    bob = _unique("bob")
    _ok(remote("users", "create", bob, input="bob-passphrase\n"))
    _ok(remote("tokens", "create", "audited", as_user=(bob, "bob-passphrase")))
    events = json.loads(_ok(remote("audit", "--user", bob, "--since", "10m", "--json")).stdout)["events"]
    assert events and all(e["username"] == bob for e in events)
    assert any(e["path"].endswith("/tokens/create") and e["method"] == "POST" for e in events)
    mine = json.loads(_ok(remote("audit", "--user", ADMIN[0], "--max-results", "1", "--json")).stdout)
    assert len(mine["events"]) == 1 and mine["next_page_token"]
    assert bob in _ok(remote("audit", "--since", "10m")).stdout
    assert one_error_line(remote("audit", as_user=(bob, "bob-passphrase")))  # admins only


def test_auth_client_calls_the_rest_of_the_api(server, monkeypatch) -> None:
    from mltrail.tracking.auth_client import AuthClient

    url = server[0]
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    client = AuthClient(url)
    bob = _unique("bob")
    created = client.create_user(bob, "bob-passphrase")
    assert created.username == bob and created.id > 0 and created.created_at > 0
    client.grant_permission(bob, "experiment", "0", "EDIT")
    user = client.get_user(bob)
    assert [(p.experiment_id, p.permission) for p in user.experiment_permissions] == [("0", "EDIT")]
    assert client.get_permission(bob, "experiment", "0") == (True, "EDIT")
    assert client.current_user().username == ADMIN[0]
    assert client.current_user_permissions().is_admin is True
    group = client.create_group(_unique("g"))
    client.add_group_member(group.name, bob)
    assert client.get_group(group.name).members == (bob,)
    assert bob in {u.username for u in client.list_users()}
    events, _ = client.search_audit_events(username=ADMIN[0], max_results=5)
    assert events and all(e.username == ADMIN[0] and e.timestamp > 0 for e in events)
