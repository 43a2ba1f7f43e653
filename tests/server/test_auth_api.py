"""mltrail's auth beyond MLflow's, against a live server with ``--auth``: web sessions, groups, tokens, the audit
log, filtered searches, the failed sign-in limit and start-up refusals."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mltrail.server.auth.config import load_auth_config
from mltrail.server.run import ServerSettings, prepare
from tests.server.live import ADMIN, auth_live_server, write_auth_config

DANA = ("dana", "dana-passphrase-1")
EVE = ("eve", "eve-passphrase-1")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("auth-api")
    with auth_live_server(root, default_permission="NO_PERMISSIONS", login_max_failures=1000) as base:
        for name, password in (DANA, EVE):
            created = httpx.post(
                f"{base}/api/2.0/mlflow/users/create", json={"username": name, "password": password}, auth=ADMIN
            )
            assert created.status_code == 200, created.text
        yield base


def client(url: str, user: tuple[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=url, auth=user, timeout=30)


def new_experiment(http: httpx.Client) -> str:
    response = http.post("/api/2.0/mlflow/experiments/create", json={"name": f"e-{uuid.uuid4().hex[:10]}"})
    assert response.status_code == 200, response.text
    return response.json()["experiment_id"]


def test_web_session_sign_in_and_out(url: str) -> None:
    with client(url) as browser:
        wrong = browser.post("/auth/login", json={"username": DANA[0], "password": "nope"})
        assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHENTICATED"
        assert "www-authenticate" not in wrong.headers
        signed = browser.post("/auth/login", json={"username": DANA[0], "password": DANA[1]})
        assert signed.status_code == 200 and signed.json()["user"]["username"] == DANA[0]
        cookie = signed.headers["set-cookie"]
        assert "mltrail_session=mlt_" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain HTTP here; behind TLS the cookie is Secure
        assert browser.get("/ajax-api/2.0/mlflow/users/current").json()["user"]["username"] == DANA[0]
        assert browser.get("/auth/config").json()["user"]["username"] == DANA[0]
        # a cross-site page cannot ride the session
        forged = browser.post(
            "/ajax-api/2.0/mlflow/experiments/create", json={"name": "csrf"}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403
        assert browser.post("/auth/logout").status_code == 200
        assert browser.get("/ajax-api/2.0/mlflow/users/current").status_code == 401


def test_a_session_cookie_that_was_ended_stops_working(url: str) -> None:
    with client(url) as browser:
        browser.post("/auth/login", json={"username": DANA[0], "password": DANA[1]})
        secret = browser.cookies["mltrail_session"]
        browser.post("/auth/logout")
    replayed = httpx.get(f"{url}/ajax-api/2.0/mlflow/users/current", cookies={"mltrail_session": secret})
    assert replayed.status_code == 401


def test_default_no_permissions_hides_other_users_experiments(url: str) -> None:
    with client(url, DANA) as dana, client(url, EVE) as eve:
        mine = new_experiment(dana)
        theirs = new_experiment(eve)
        dana_ids = {
            e["experiment_id"]
            for e in dana.get("/api/2.0/mlflow/experiments/search?max_results=1000").json()["experiments"]
        }
        assert mine in dana_ids and theirs not in dana_ids
        assert dana.get(f"/api/2.0/mlflow/experiments/get?experiment_id={theirs}").status_code == 403
        runs = dana.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [theirs]}).json()
        assert runs == {}


def test_filtered_search_pages_are_filled(url: str) -> None:
    with client(url, DANA) as dana, client(url, EVE) as eve:
        for _ in range(6):
            new_experiment(eve)  # invisible to Dana, interleaved with hers
            new_experiment(dana)
        seen: list[str] = []
        token = None
        while True:
            body = {"max_results": 3, **({"page_token": token} if token else {})}
            page = dana.post("/api/2.0/mlflow/experiments/search", json=body).json()
            seen += [e["experiment_id"] for e in page.get("experiments", [])]
            assert len(page.get("experiments", [])) <= 3
            token = page.get("next_page_token")
            if not token:
                break
        everything = {
            e["experiment_id"]
            for e in eve.get("/api/2.0/mlflow/experiments/search?max_results=1000").json()["experiments"]
        }
        assert len(seen) == len(set(seen)) >= 6
        assert not set(seen) & everything  # nothing of Eve's reaches Dana


def test_groups_grant_their_members(url: str) -> None:
    with client(url, ADMIN) as admin, client(url, DANA) as dana, client(url, EVE) as eve:
        exp = new_experiment(eve)
        run = eve.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
        metric = {"run_id": run, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
        assert dana.post("/api/2.0/mlflow/runs/log-metric", json=metric).status_code == 403
        group = f"team-{uuid.uuid4().hex[:6]}"
        assert admin.post("/api/2.0/mltrail/groups/create", json={"name": group}).status_code == 200
        assert (
            admin.post("/api/2.0/mltrail/groups/members/add", json={"group": group, "username": DANA[0]}).status_code
            == 200
        )
        grant = {"resource_type": "experiment", "resource_id": exp, "permission": "EDIT", "group": group}
        assert eve.post("/api/2.0/mltrail/permissions/set", json=grant).status_code == 200  # Eve MANAGEs it
        assert dana.post("/api/2.0/mltrail/permissions/set", json={**grant, "permission": "MANAGE"}).status_code == 403
        assert dana.post("/api/2.0/mlflow/runs/log-metric", json=metric).status_code == 200
        listed = eve.get(f"/api/2.0/mltrail/permissions/list?resource_type=experiment&resource_id={exp}").json()
        assert {"kind": "group", "name": group, "permission": "EDIT"} in listed["permissions"]
        assert {"kind": "user", "name": EVE[0], "permission": "MANAGE"} in listed["permissions"]
        assert listed["default_permission"] == "NO_PERMISSIONS"
        removed = admin.post("/api/2.0/mltrail/groups/members/remove", json={"group": group, "username": DANA[0]})
        assert removed.status_code == 200
        assert dana.post("/api/2.0/mlflow/runs/log-metric", json=metric).status_code == 403


def test_tokens_are_shown_once_listed_without_secrets_and_revoked_by_their_owner(url: str) -> None:
    with client(url, DANA) as dana, client(url, EVE) as eve, client(url, ADMIN) as admin:
        created = dana.post(
            "/api/2.0/mltrail/tokens/create", json={"name": f"ci-{uuid.uuid4().hex[:6]}", "expires_in_days": 30}
        ).json()
        token_id, secret = created["token"]["id"], created["secret"]
        assert created["token"]["expires_at"] > time.time() * 1000
        listed = dana.get("/api/2.0/mltrail/tokens/list").json()["tokens"]
        assert token_id in [t["id"] for t in listed] and secret not in str(listed)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as bearer:
            assert bearer.get("/api/2.0/mlflow/users/current").json()["user"]["username"] == DANA[0]
            assert eve.post("/api/2.0/mltrail/tokens/revoke", json={"id": token_id}).status_code == 404
            assert eve.get("/api/2.0/mltrail/tokens/list?username=dana").status_code == 403
            assert token_id in [t["id"] for t in admin.get("/api/2.0/mltrail/tokens/list?all=true").json()["tokens"]]
            assert dana.post("/api/2.0/mltrail/tokens/revoke", json={"id": token_id}).status_code == 200
            assert bearer.get("/api/2.0/mlflow/users/current").status_code == 401
        bad = dana.post("/api/2.0/mltrail/tokens/create", json={"name": "x", "expires_in_days": 0})
        assert bad.status_code == 400


def test_audit_log_records_writes_for_admins(url: str) -> None:
    with client(url, DANA) as dana, client(url, ADMIN) as admin:
        exp = new_experiment(dana)
        dana.post(
            "/api/2.0/mlflow/experiments/set-experiment-tag", json={"experiment_id": exp, "key": "k", "value": "v"}
        )
        httpx.post(f"{url}/api/2.0/mlflow/experiments/delete", json={"experiment_id": exp})  # anonymous: refused
        assert dana.get("/api/2.0/mltrail/audit/search").status_code == 403
        events = admin.get("/api/2.0/mltrail/audit/search?max_results=50").json()["events"]
        tagged = next(
            e for e in events if e["path"].endswith("set-experiment-tag") and f"experiment_id={exp}" in e["target"]
        )
        assert tagged["username"] == DANA[0] and tagged["status"] == 200 and tagged["address"] == "127.0.0.1"
        assert tagged["method"] == "POST" and tagged["action"]
        # an anonymous request is refused before its body is read: the event names the path, not the ids
        refused = next(e for e in events if e["path"].endswith("experiments/delete") and e["status"] == 401)
        assert refused["username"] is None and refused["status"] == 401
        assert all(e["method"] != "GET" for e in events)
        mine = admin.get(f"/api/2.0/mltrail/audit/search?username={DANA[0]}").json()["events"]
        assert mine and {e["username"] for e in mine} == {DANA[0]}


def test_failed_sign_ins_are_limited_per_user_and_address(tmp_path: Path) -> None:
    with auth_live_server(tmp_path, login_max_failures=3, login_window_seconds=60) as base:
        httpx.post(
            f"{base}/api/2.0/mlflow/users/create", json={"username": "fred", "password": "fred-passphrase"}, auth=ADMIN
        )
        for _ in range(3):
            assert httpx.get(f"{base}/api/2.0/mlflow/users/current", auth=("fred", "guess")).status_code == 401
        limited = httpx.get(f"{base}/api/2.0/mlflow/users/current", auth=("fred", "fred-passphrase"))
        assert limited.status_code == 429 and limited.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        login = httpx.post(f"{base}/auth/login", json={"username": "fred", "password": "fred-passphrase"})
        assert login.status_code == 429


def test_start_up_refuses_mlflows_default_password_and_a_server_without_admin(tmp_path: Path) -> None:
    default = write_auth_config(tmp_path / "default.toml", admin_username="admin", admin_password="password1234")
    with pytest.raises(Exception, match="password1234"):
        load_auth_config(default, env={})
    empty = tmp_path / "empty.ini"
    empty.write_text("[mlflow]\ndefault_permission = READ\n")
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp_path / 'db.sqlite'}",
        artifacts_destination=str(tmp_path / "a"),
        auth=True,
        auth_config=str(empty),
    ).resolved()
    env_free = {k: v for k, v in __import__("os").environ.items() if "AUTH_ADMIN" not in k}
    with pytest.MonkeyPatch.context() as patch:
        for key in list(__import__("os").environ):
            if "AUTH_ADMIN" in key:
                patch.delenv(key)
        with pytest.raises(Exception, match="no admin user"):
            prepare(settings)
    command = [
        sys.executable,
        "-m",
        "mltrail.cli.main",
        "server",
        "--app-name",
        "basic-auth",
        "--port",
        "0",
        "--backend-store-uri",
        settings.backend_store_uri,
        "--auth-config",
        str(empty),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env_free, cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert "no admin user" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('default_permission = "ALL"\n', "default_permission"),
        ("colour = 1\n", "unknown setting"),
        ("not toml = = \n", "Auth config"),
        ('session_hours = "long"\n', "session_hours"),
    ],
)
def test_bad_auth_config_gets_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "auth.toml"
    path.write_text(text)
    with pytest.raises(Exception, match=message) as error:
        load_auth_config(path, env={})
    assert "\n" not in str(error.value)


def test_mlflow_ini_files_load(tmp_path: Path) -> None:
    path = tmp_path / "basic_auth.ini"
    path.write_text(
        "[mlflow]\ndefault_permission = EDIT\ndatabase_uri = sqlite:///auth.db\nadmin_username = root\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
    )
    config = load_auth_config(path, env={"MLFLOW_AUTH_ADMIN_PASSWORD": "from-the-env-1"})
    assert (config.default_permission, config.database_uri) == ("EDIT", "sqlite:///auth.db")
    assert (config.admin_username, config.admin_password) == ("root", "from-the-env-1")


def test_mltrails_own_client_signs_in_from_the_environment(url: str, tmp_path: Path) -> None:
    secret = httpx.post(f"{url}/api/2.0/mltrail/tokens/create", json={"name": "script"}, auth=DANA).json()["secret"]
    script = (
        "import mltrail\n"
        "mltrail.set_experiment('dana-script')\n"
        "with mltrail.start_run() as run:\n"
        "    mltrail.log_metric('acc', 0.75)\n"
        "print(run.info.run_id)\n"
    )
    base_env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("MLFLOW_", "MLTRAIL_"))}
    for credentials in (
        {"MLTRAIL_TRACKING_TOKEN": secret},
        {"MLFLOW_TRACKING_USERNAME": DANA[0], "MLFLOW_TRACKING_PASSWORD": DANA[1]},
    ):
        env = {**base_env, "MLTRAIL_TRACKING_URI": url, **credentials}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.strip().splitlines()[-1]
        got = httpx.get(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}", auth=DANA).json()
        assert got["run"]["data"]["metrics"][0]["value"] == 0.75
        assert httpx.get(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}", auth=EVE).status_code == 403
    anonymous = subprocess.run(
        [sys.executable, "-c", script],
        env={**base_env, "MLTRAIL_TRACKING_URI": url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert anonymous.returncode != 0 and "not authenticated" in anonymous.stderr
