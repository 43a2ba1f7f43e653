"""Authentication in Chromium: a live ``mltrail server --auth``, driven through the web UI's sign-in page, header,
admin pages, access tokens page and permissions panels.

Every change made in the UI is checked through the REST API afterwards (as the admin, with HTTP Basic), and every
grant by what the user it names can then do.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mltrail.server.routes.ui import BUILD_COMMAND, STATIC_DIR
from tests.e2e.conftest import SCREENSHOTS, _missing
from tests.server.live import ADMIN, auth_live_server

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect

ML = "api/2.0/mlflow"
MT = "api/2.0/mltrail"


class Api:
    """The REST API as one user (HTTP Basic, or a bearer token)."""

    def __init__(self, base: str, username: str = ADMIN[0], password: str = ADMIN[1], token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = None if token else (username, password)
        self.http = httpx.Client(base_url=base, auth=auth, headers=headers, timeout=15)

    def call(
        self, path: str, body: dict[str, Any] | None = None, method: str | None = None, **query: Any
    ) -> httpx.Response:
        method = method or ("POST" if body is not None else "GET")
        return self.http.request(method, f"/{path}", json=body, params=query or None)

    def ok(
        self, path: str, body: dict[str, Any] | None = None, method: str | None = None, **query: Any
    ) -> dict[str, Any]:
        res = self.call(path, body, method, **query)
        assert res.status_code == 200, f"{method or ''} {path}: {res.status_code} {res.text}"
        return res.json() if res.content else {}


@pytest.fixture(scope="module")
def auth_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (STATIC_DIR / "index.html").is_file():
        _missing(f"the web UI is not built ({STATIC_DIR} has no index.html): run `{BUILD_COMMAND}`")
    with auth_live_server(tmp_path_factory.mktemp("e2e-auth")) as base:
        yield base


@pytest.fixture
def admin_api(auth_base: str) -> Iterator[Api]:
    api = Api(auth_base)
    yield api
    api.http.close()


def _user(admin: Api, base: str, username: str, password: str) -> Api:
    """A new user (no admin), and the API as them."""
    admin.ok(f"{ML}/users/create", {"username": username, "password": password})
    return Api(base, username, password)


@pytest.fixture
def new_page(browser: Any, auth_base: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Pages, each in its own browser context (its own cookies); JavaScript errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        with contextlib.suppress(Exception):  # the copy button falls back to a selection without it
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=auth_base)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    try:
        yield make
    finally:
        SCREENSHOTS.mkdir(exist_ok=True)
        for i, context in enumerate(contexts):
            with contextlib.suppress(Exception):
                context.pages[0].screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{i}.png"), full_page=True)
            context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def session_cookie(page: Any) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "mltrail_session"), None)


def test_sign_in_wrong_then_right_returns_to_the_page_then_sign_out(
    new_page: Any, auth_base: str, admin_api: Api
) -> None:
    exp = admin_api.ok(f"{ML}/experiments/create", {"name": "auth-e2e-signin"})["experiment_id"]
    page = new_page()
    page.goto(f"{auth_base}/#/experiments/{exp}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with")).to_have_count(0)  # no single sign-on configured

    sign_in(page, ADMIN[0], "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Invalid username or password")
    expect(page.get_by_label("Password")).to_have_value("")
    assert session_cookie(page) is None

    sign_in(page, *ADMIN)
    expect(page.get_by_test_id("current-user")).to_have_text(ADMIN[0])
    expect(page.locator(".user-menu .badge")).to_have_text("admin")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    expect(page.get_by_role("link", name="Access tokens")).to_be_visible()
    # back on the page that was asked for: the runs of that experiment
    expect(page.get_by_role("heading", name="auth-e2e-signin")).to_be_visible()
    assert page.url.endswith(f"#/experiments/{exp}")
    cookie = session_cookie(page)
    assert cookie, "no session cookie after signing in"
    assert next(c for c in page.context.cookies() if c["name"] == "mltrail_session")["httpOnly"]

    # a reload keeps the session (the cookie), and the app asks the server who is signed in
    page.reload()
    expect(page.get_by_test_id("current-user")).to_have_text(ADMIN[0])

    # the session ends behind the app's back: the next request's 401 brings the sign-in page, then the page again
    page.context.clear_cookies()
    page.get_by_role("banner").get_by_role("link", name="Models").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    sign_in(page, *ADMIN)
    expect(page.get_by_role("heading", name="Registered models")).to_be_visible()
    cookie = session_cookie(page)
    assert cookie

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    assert session_cookie(page) is None
    # the old session is over on the server too
    res = httpx.get(f"{auth_base}/auth/config", cookies={"mltrail_session": cookie})
    assert res.json()["user"] is None
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def test_a_user_without_read_sees_permission_denied(new_page: Any, auth_base: str, admin_api: Api) -> None:
    private = admin_api.ok(f"{ML}/experiments/create", {"name": "auth-e2e-private"})["experiment_id"]
    public = admin_api.ok(f"{ML}/experiments/create", {"name": "auth-e2e-public"})["experiment_id"]
    viewer = _user(admin_api, auth_base, "viewer", "viewer-passphrase")
    admin_api.ok(
        f"{MT}/permissions/set",
        {"resource_type": "experiment", "resource_id": private, "username": "viewer", "permission": "NO_PERMISSIONS"},
    )
    assert viewer.call(f"{ML}/experiments/get", experiment_id=private).status_code == 403

    page = new_page()
    page.goto(f"{auth_base}/#/experiments/{private}")
    sign_in(page, "viewer", "viewer-passphrase")
    expect(page.get_by_test_id("current-user")).to_have_text("viewer")
    expect(page.locator(".user-menu .badge")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    denied = page.get_by_test_id("forbidden")
    expect(denied).to_contain_text("Permission denied")
    expect(denied).to_contain_text(f"You do not have permission to view experiment {private}.")
    expect(page.get_by_test_id("run-count")).to_have_count(0)  # no runs table

    # the experiments list only has what the viewer may read
    page.goto(f"{auth_base}/#/")
    expect(page.locator('tr[data-experiment="auth-e2e-public"]')).to_be_visible()
    expect(page.locator('tr[data-experiment="auth-e2e-private"]')).to_have_count(0)

    # a READ experiment: the runs page, without a permissions panel (the viewer does not manage it)
    with page.expect_response(lambda r: "permissions/list" in r.url) as answer:
        page.goto(f"{auth_base}/#/experiments/{public}")
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="auth-e2e-public")).to_be_visible()
    expect(page.get_by_test_id("run-count")).to_be_visible()
    expect(page.locator("details.permissions-panel")).to_have_count(0)
    # a change it may not make says so
    page.get_by_role("banner").get_by_role("link", name="Experiments").click()
    page.once("dialog", lambda d: d.accept())
    page.locator('tr[data-experiment="auth-e2e-public"]').get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_have_text(f"You do not have permission to delete experiment {public}.")

    # the viewer's own experiment: created here, so the viewer manages it and gets the panel
    page.get_by_label("New experiment name").fill("auth-e2e-viewer-own")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="auth-e2e-viewer-own").click()
    expect(page.locator("details.permissions-panel summary")).to_contain_text("Permissions")

    page.goto(f"{auth_base}/#/admin")
    expect(page.get_by_test_id("forbidden")).to_contain_text("for admins only")


def test_admin_creates_a_user_and_a_token(new_page: Any, auth_base: str, admin_api: Api) -> None:
    page = new_page()
    page.goto(f"{auth_base}/#/")
    sign_in(page, *ADMIN)
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("tab", name="Users")).to_have_attribute("aria-selected", "true")
    page.get_by_label("New username").fill("carol")
    page.get_by_label("New user's password").fill("carol-passphrase")
    page.get_by_role("button", name="Create user").click()
    row = page.locator('tr[data-user="carol"]')
    expect(row).to_be_visible()
    assert admin_api.ok(f"{ML}/users/get", username="carol")["user"]["is_admin"] is False
    carol = Api(auth_base, "carol", "carol-passphrase")
    assert carol.ok(f"{ML}/users/current")["user"]["username"] == "carol"

    page.get_by_label("Admin: carol").click()
    expect(page.get_by_label("Admin: carol")).to_be_checked()
    assert admin_api.ok(f"{ML}/users/get", username="carol")["user"]["is_admin"] is True
    expect(page.get_by_label(f"Admin: {ADMIN[0]}")).to_be_disabled()  # not one's own

    # the admin's own token: the secret once, with a copy button
    page.get_by_role("link", name="Access tokens").click()
    expect(page.get_by_role("heading", name="Access tokens")).to_be_visible()
    page.get_by_label("Token name").fill("ci-token")
    page.get_by_label("Expires in days").fill("30")
    page.get_by_role("button", name="Create token").click()
    box = page.get_by_test_id("token-secret")
    expect(box).to_contain_text("it will not be shown again")
    secret = page.get_by_label("New token secret").input_value()
    assert secret.startswith("mlt_")
    box.get_by_role("button", name="Copy").click()
    expect(box.get_by_role("status")).to_have_text("Copied.")
    expect(page.locator('tr[data-token="ci-token"]')).to_be_visible()
    by_token = Api(auth_base, token=secret)
    assert by_token.ok(f"{ML}/users/current")["user"]["username"] == ADMIN[0]
    (token,) = [t for t in admin_api.ok(f"{MT}/tokens/list")["tokens"] if t["name"] == "ci-token"]
    days = (token["expires_at"] - time.time() * 1000) / 86_400_000
    assert 29.9 < days <= 30, token
    box.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("token-secret")).to_have_count(0)

    # everyone's tokens on the admin page: revoke it there
    carol.ok(f"{MT}/tokens/create", {"name": "carol-laptop"})
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("tab", name="Tokens").click()
    expect(page.locator('tr[data-token="carol-laptop"]')).to_contain_text("carol")
    page.once("dialog", lambda d: d.accept())
    page.get_by_label(f"Revoke token ci-token of {ADMIN[0]}").click()
    expect(page.locator('tr[data-token="ci-token"]')).to_have_count(0)
    assert by_token.call(f"{ML}/users/current").status_code == 401

    # and what happened is in the audit log
    page.get_by_role("tab", name="Audit log").click()
    page.get_by_label("Filter by user").fill(ADMIN[0])
    page.get_by_role("button", name="Filter").click()
    events = page.locator("table.audit tbody tr")
    expect(events.filter(has_text="/users/create").first).to_be_visible()
    expect(events.filter(has_text="/tokens/revoke").first).to_be_visible()
    expect(page.locator("table.audit tbody tr td:nth-child(2)").filter(has_text="carol")).to_have_count(0)


def test_permissions_panel_grants_a_user_edit(new_page: Any, auth_base: str, admin_api: Api) -> None:
    exp = admin_api.ok(f"{ML}/experiments/create", {"name": "auth-e2e-team"})["experiment_id"]
    admin_api.ok(f"{ML}/registered-models/create", {"name": "auth-e2e-model"})
    admin_api.ok(f"{MT}/groups/create", {"name": "ml-team"})
    dave = _user(admin_api, auth_base, "dave", "dave-passphrase")
    assert dave.call(f"{ML}/runs/create", {"experiment_id": exp}).status_code == 403  # READ by default

    page = new_page()
    page.goto(f"{auth_base}/#/experiments/{exp}")
    sign_in(page, *ADMIN)
    panel = page.locator("details.permissions-panel")
    panel.locator("summary").click()
    expect(panel.get_by_test_id("default-permission")).to_have_text("READ")
    panel.get_by_label("User or group name").fill("dave")
    panel.get_by_label("Permission to grant").select_option("EDIT")
    panel.get_by_role("button", name="Grant").click()
    expect(panel.get_by_label("Permission of user dave")).to_have_value("EDIT")

    got = admin_api.ok(
        "api/3.0/mlflow/users/permissions/get", username="dave", resource_type="experiment", resource_id=exp
    )
    assert got["permission"] == "EDIT", got
    listed = admin_api.ok(f"{MT}/permissions/list", resource_type="experiment", resource_id=exp)["permissions"]
    assert {"kind": "user", "name": "dave", "permission": "EDIT"} in listed
    run = dave.ok(f"{ML}/runs/create", {"experiment_id": exp})["run"]  # EDIT lets dave log
    assert run["info"]["experiment_id"] == exp

    panel.get_by_label("Permission of user dave").select_option("READ")
    expect(panel.get_by_label("Permission of user dave")).to_have_value("READ")
    expect(panel.get_by_label("Permission of user dave")).to_be_enabled()
    got = admin_api.ok(
        "api/3.0/mlflow/users/permissions/get", username="dave", resource_type="experiment", resource_id=exp
    )
    assert got["permission"] == "READ", got

    panel.get_by_label("Remove user dave").click()
    expect(panel.locator('tr[data-grant="user:dave"]')).to_have_count(0)
    listed = admin_api.ok(f"{MT}/permissions/list", resource_type="experiment", resource_id=exp)["permissions"]
    assert not [g for g in listed if g["name"] == "dave"], listed

    # the registered model page: a group gets MANAGE
    page.goto(f"{auth_base}/#/models/auth-e2e-model")
    section = page.locator("section.permissions-panel")
    expect(section.get_by_role("heading", name="Permissions")).to_be_visible()
    section.get_by_label("Grant to").select_option("group")
    section.get_by_label("User or group name").fill("ml-team")
    section.get_by_label("Permission to grant").select_option("MANAGE")
    section.get_by_role("button", name="Grant").click()
    expect(section.get_by_label("Permission of group ml-team")).to_have_value("MANAGE")
    listed = admin_api.ok(f"{MT}/permissions/list", resource_type="registered_model", resource_id="auth-e2e-model")
    assert {"kind": "group", "name": "ml-team", "permission": "MANAGE"} in listed["permissions"]
    # a grant to nobody says why
    section.get_by_label("Grant to").select_option("user")
    section.get_by_label("User or group name").fill("no-such-user")
    section.get_by_role("button", name="Grant").click()
    expect(section.get_by_role("alert")).to_be_visible()


def test_too_many_failed_sign_ins(new_page: Any, tmp_path: Path) -> None:
    """After 10 failures the server answers 429 (even to the right password) and the page says to wait."""
    with auth_live_server(tmp_path) as base:  # its own server: the limit also holds for this address
        for _ in range(10):
            assert httpx.post(f"{base}/auth/login", json={"username": ADMIN[0], "password": "wrong"}).status_code == 401
        page = new_page()
        page.goto(f"{base}/#/")
        sign_in(page, *ADMIN)
        expect(page.get_by_role("alert")).to_have_text("Too many failed sign-ins, try again later")
        assert session_cookie(page) is None
