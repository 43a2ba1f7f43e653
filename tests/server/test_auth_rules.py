"""Every route of a server with auth on has a rule, and refuses a caller without (good) credentials.

The route list is read from the app itself, so a route added without a rule fails here (and the server refuses
to start), and a route added with one is probed anonymously at once.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from mltrail.server.app import create_app
from mltrail.server.auth.config import AuthConfig
from mltrail.server.auth.rules import RULES, canonical_path, rule_for
from mltrail.server.auth.service import AuthService
from mltrail.server.context import ServerContext
from tests.server.live import ADMIN, auth_live_server

_UI_CATCH_ALL = "/{path:path}"


def _auth_app_routes(tmp_path: Path) -> list[Route]:
    ctx = ServerContext(f"sqlite:///{tmp_path / 'rules.db'}", str(tmp_path / "artifacts"))
    ctx.auth = AuthService(AuthConfig(), store=None)  # type: ignore[arg-type]  # building the app reads no data
    routes = create_app(ctx).router.routes
    return [r for r in routes if isinstance(r, Route) and r.path != _UI_CATCH_ALL]


def test_every_route_has_a_rule_and_every_rule_a_route(tmp_path: Path) -> None:
    routes = _auth_app_routes(tmp_path)
    missing = [(r.path, m) for r in routes for m in r.methods or () if m != "HEAD" and rule_for(r.path, m) is None]
    assert missing == []
    declared = {(canonical_path(r.path), m) for r in routes for m in r.methods or ()}
    stale = {key for key in set(RULES) - declared if not key[0].startswith("/auth/oidc/")}  # SSO: when configured
    assert sorted(stale) == []  # no rule left behind for a route that is gone


def test_a_route_without_a_rule_stops_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(RULES, ("/api/2.0/mlflow/runs/log-metric", "POST"))
    with pytest.raises(ValueError, match=re.escape("No auth rule for POST /api/2.0/mlflow/runs/log-metric")):
        _auth_app_routes(tmp_path)


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with auth_live_server(tmp_path_factory.mktemp("auth-rules"), login_max_failures=1000) as url:
        yield url


def _concrete(path: str) -> str:
    """A request path for a route pattern: every parameter given a plausible value."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_refuses_anonymous_callers(auth_url: str, tmp_path: Path) -> None:
    probed = 0
    with httpx.Client(base_url=auth_url, timeout=30) as http:
        for route in _auth_app_routes(tmp_path):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                rule = rule_for(route.path, method)
                assert rule is not None
                response = http.request(method, _concrete(route.path), json={} if method != "GET" else None)
                if rule.public:
                    assert response.status_code != 401, (method, route.path)
                    continue
                probed += 1
                assert response.status_code == 401, (method, route.path, response.text)
                assert response.json()["error_code"] == "UNAUTHENTICATED"
    assert probed > 200  # every API route under both prefixes, the artifact proxy, the auth API


_BAD_HEADERS = [
    "",
    "Basic",
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b":password-without-user").decode(),
    "Basic " + base64.b64encode(b"admin:").decode(),
    "Basic " + base64.b64encode(b"admin:wrong").decode(),
    "Basic " + base64.b64encode(b"nobody:wrong").decode(),
    "Basic " + base64.b64encode("ünïcödé:pässwörd".encode()).decode(),
    "Basic " + base64.b64encode(b"admin\x00:x").decode(),
    "Basic " + base64.b64encode(b"a" * 6000 + b":" + b"b" * 6000).decode(),
    "Bearer",
    "Bearer mlt_not-a-real-token",
    "Bearer " + "x" * 9000,
    "Digest username=admin",
    "Negotiate abc",
    "basic " + base64.b64encode(b"admin:wrong").decode(),
]


@pytest.mark.parametrize("header", _BAD_HEADERS, ids=range(len(_BAD_HEADERS)))
def test_no_authorization_header_gives_a_500(auth_url: str, header: str) -> None:
    with httpx.Client(base_url=auth_url, timeout=30) as http:
        for method, path in (
            ("POST", "/api/2.0/mlflow/runs/log-metric"),
            ("GET", "/api/2.0/mlflow/experiments/search?max_results=1"),
            ("GET", "/api/2.0/mlflow-artifacts/artifacts/0/x"),
        ):
            response = http.request(
                method, path, headers={"Authorization": header}, json={} if method == "POST" else None
            )
            assert response.status_code in (401, 429), (header[:40], path, response.text)
            assert response.json()["error_code"] in ("UNAUTHENTICATED", "REQUEST_LIMIT_EXCEEDED")


def test_the_api_challenges_for_basic_but_the_ui_api_does_not(auth_url: str) -> None:
    api = httpx.get(f"{auth_url}/api/2.0/mlflow/experiments/search")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == 'Basic realm="mltrail"'
    ajax = httpx.get(f"{auth_url}/ajax-api/2.0/mlflow/experiments/search")
    assert ajax.status_code == 401
    assert "www-authenticate" not in ajax.headers  # the browser must not pop its own password dialog


def test_public_routes_stay_open(auth_url: str) -> None:
    assert httpx.get(f"{auth_url}/health").status_code == 200
    assert httpx.get(f"{auth_url}/version").status_code == 200
    config = httpx.get(f"{auth_url}/auth/config").json()
    assert config["auth_enabled"] is True and config["user"] is None
    signed_in = httpx.get(f"{auth_url}/auth/config", auth=ADMIN).json()
    assert signed_in["user"]["username"] == ADMIN[0] and signed_in["user"]["is_admin"] is True


def test_a_server_without_auth_says_so(live_http: httpx.Client) -> None:
    config = live_http.get("/auth/config").json()
    assert config == {"auth_enabled": False, "password_login": False, "sso": {"enabled": False}, "user": None}
    assert live_http.get("/api/2.0/mlflow/users/list").status_code == 404  # no auth API without --auth
