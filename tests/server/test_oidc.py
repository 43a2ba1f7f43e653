"""Single sign-on with OpenID Connect against a real provider (``oidc-provider-mock``) and a live ``--auth`` server.

The browser is an httpx client that follows the flow by hand: mltrail's login redirect, the provider's
authorization form, the callback, the session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet, OctKey, RSAKey

from mltrail.errors import MltrailError
from mltrail.server.auth.oidc import (
    CLIENT_SECRET_ENV,
    OidcConfig,
    PendingLogin,
    SignInError,
    StateSealer,
    check_id_token,
    safe_next,
    sso_description,
    state_cookie_name,
)
from tests.server import live
from tests.server.live import ADMIN, auth_live_server
from tests.server.oidc_provider import authorize, oidc_provider, query, set_user

# The provider calls an authlib API that authlib 1.9 deprecates (its own warning, not mltrail's).
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

CLIENT_ID = "mltrail-test"
ADMIN_GROUP = "ml-platform"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as url:
        yield url


@pytest.fixture(scope="module")
def url(issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("oidc")
    port = live.free_port()  # the redirect URI names the port, so it is chosen before the server starts
    oidc = {
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": "test-client-secret",
        "redirect_uri": f"http://127.0.0.1:{port}/auth/oidc/callback",
        "admin_groups": [ADMIN_GROUP],
        "display_name": "Test SSO",
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live, "free_port", lambda: port)
        with auth_live_server(root, oidc=oidc, login_max_failures=1000) as base:
            patch.undo()
            yield base


def browser(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30)


def admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, auth=ADMIN, timeout=30)


def start(http: httpx.Client, next_path: str | None = None) -> str:
    """GET /auth/oidc/login; the provider URL it redirects to."""
    response = http.get("/auth/oidc/login", params={"next": next_path} if next_path is not None else None)
    assert response.status_code == 302, response.text
    return response.headers["location"]


@contextmanager
def sign_in(
    url: str, issuer: str, sub: str, claims: dict[str, Any], next_path: str | None = None
) -> Iterator[httpx.Client]:
    """A browser signed in as the provider's user ``sub`` with ``claims``."""
    set_user(issuer, sub, claims)
    with browser(url) as http:
        back = authorize(http, start(http, next_path), sub)
        done = http.get(back)
        assert done.status_code == 302, done.text
        assert "mltrail_session" in http.cookies
        yield http


def user(url: str, name: str) -> dict[str, Any]:
    with admin(url) as http:
        response = http.get("/api/2.0/mlflow/users/get", params={"username": name})
    assert response.status_code == 200, response.text
    return response.json()["user"]


def refused_events(url: str, reason: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Audit events of refused single sign-ons whose action mentions ``reason`` (written within a second)."""
    deadline = time.monotonic() + timeout
    with admin(url) as http:
        while True:
            events = http.get("/api/2.0/mltrail/audit/search", params={"max_results": 1000}).json().get("events", [])
            found = [e for e in events if e["action"].startswith("Single sign-on refused") and reason in e["action"]]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- the flow --------------------------------------------------------------------------------------------------
def test_auth_config_offers_single_sign_on(url: str) -> None:
    answer = httpx.get(f"{url}/auth/config").json()
    assert answer["sso"] == {"enabled": True, "display_name": "Test SSO", "login_url": "/auth/oidc/login"}


def test_login_redirect_carries_pkce_state_and_nonce(url: str, issuer: str) -> None:
    with browser(url) as http:
        response = http.get("/auth/oidc/login", params={"next": "/#/experiments"})
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith(f"{issuer}/oauth2/authorize?")
        params = query(location)
        assert params["response_type"] == "code"
        assert params["client_id"] == CLIENT_ID
        assert params["redirect_uri"] == f"{url}/auth/oidc/callback"
        assert params["scope"].split() == ["openid", "profile", "email"]
        assert params["code_challenge_method"] == "S256"
        assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
        assert params["state"] != params["nonce"]
        # the pending sign-in: an HttpOnly, SameSite=Lax cookie scoped to the callback
        cookie = response.headers["set-cookie"]
        name = state_cookie_name(params["state"])
        assert cookie.startswith(f"{name}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Path=/auth/oidc/callback" in cookie and "Secure" not in cookie  # plain HTTP here
        # the challenge is the S256 of the verifier the callback will send
        payload = json.loads(base64.urlsafe_b64decode(http.cookies[name].split(".")[0] + "=="))
        digest = hashlib.sha256(payload["v"].encode()).digest()
        assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert payload["s"] == params["state"] and payload["n"] == params["nonce"] and payload["x"] == "/#/experiments"
        # a second login gets fresh values
        again = query(start(http))
        assert again["state"] != params["state"] and again["nonce"] != params["nonce"]
        assert again["code_challenge"] != params["code_challenge"]


def test_sign_in_creates_an_oidc_user_with_a_session(url: str, issuer: str) -> None:
    name = unique("bob")
    with sign_in(url, issuer, sub=unique("sub"), claims={"preferred_username": name}, next_path="/runs?x=1") as http:
        assert http.get("/ajax-api/2.0/mlflow/users/current").json()["user"]["username"] == name
        assert http.get("/auth/config").json()["user"]["username"] == name
    created = user(url, name)
    assert created["source"] == "oidc" and created["is_admin"] is False and created["groups"] == []
    # an SSO user has no password to sign in with
    assert httpx.post(f"{url}/auth/login", json={"username": name, "password": "anything"}).status_code == 401


def test_callback_redirects_to_next_with_a_session_cookie(url: str, issuer: str) -> None:
    set_user(issuer, sub := unique("sub"), {"preferred_username": unique("nina")})
    with browser(url) as http:
        back = authorize(http, start(http, "/experiments/3?tab=runs"), sub)
        assert back.startswith(f"{url}/auth/oidc/callback?")
        done = http.get(back)
        assert done.status_code == 302 and done.headers["location"] == "/experiments/3?tab=runs"
        cookies = done.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("mltrail_session="))
        assert "HttpOnly" in session and "SameSite=lax" in session
        cleared = next(c for c in cookies if c.startswith("mltrail_oidc_"))  # the pending sign-in is spent
        assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example", "//evil.example/x", "/\\evil.example", "evil.example", "javascript:alert(1)", "/a\r\nb"],
)
def test_next_outside_the_server_becomes_the_root(url: str, issuer: str, next_path: str) -> None:
    set_user(issuer, sub := unique("sub"), {"preferred_username": unique("mallory")})
    with browser(url) as http:
        done = http.get(authorize(http, start(http, next_path), sub))
        assert done.status_code == 302 and done.headers["location"] == "/"


# --- groups and admins -----------------------------------------------------------------------------------------
def test_groups_from_the_provider_carry_their_permissions(url: str, issuer: str) -> None:
    group, name, sub = unique("team"), unique("gina"), unique("sub")
    with admin(url) as boss:
        experiment = boss.post("/api/2.0/mlflow/experiments/create", json={"name": unique("exp")}).json()
        experiment_id = experiment["experiment_id"]
        run_id = boss.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id}).json()["run"]["info"][
            "run_id"
        ]
    metric = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0}

    with sign_in(url, issuer, sub, {"preferred_username": name, "groups": [group, "other"]}) as http:
        assert sorted(user(url, name)["groups"]) == sorted([group, "other"])
        denied = http.post("/ajax-api/2.0/mlflow/runs/log-metric", json=metric)
        assert denied.status_code == 403 and denied.json()["error_code"] == "PERMISSION_DENIED"
        with admin(url) as boss:
            granted = boss.post(
                "/api/2.0/mltrail/permissions/set",
                json={
                    "resource_type": "experiment",
                    "resource_id": experiment_id,
                    "permission": "EDIT",
                    "group": group,
                },
            )
            assert granted.status_code == 200, granted.text
        logged = http.post("/ajax-api/2.0/mlflow/runs/log-metric", json=metric)
        assert logged.status_code == 200, logged.text

    # the provider drops the group: the next sign-in drops it here too, and its grant with it
    with sign_in(url, issuer, sub, {"preferred_username": name, "groups": ["other"]}) as http:
        assert user(url, name)["groups"] == ["other"]
        assert http.post("/ajax-api/2.0/mlflow/runs/log-metric", json=metric).status_code == 403


def test_admin_groups_make_admins_and_leaving_them_ends_it(url: str, issuer: str) -> None:
    name, sub = unique("ada"), unique("sub")
    with sign_in(url, issuer, sub, {"preferred_username": name, "groups": [ADMIN_GROUP]}) as http:
        assert user(url, name)["is_admin"] is True
        assert http.get("/ajax-api/2.0/mlflow/users/list").status_code == 200  # an admin-only endpoint
    with sign_in(url, issuer, sub, {"preferred_username": name, "groups": []}) as http:
        assert user(url, name)["is_admin"] is False
        assert http.get("/ajax-api/2.0/mlflow/users/list").status_code == 403


def test_a_local_admin_signing_in_with_sso_stays_admin(url: str, issuer: str) -> None:
    with sign_in(url, issuer, unique("sub"), {"preferred_username": ADMIN[0], "groups": ["staff"]}) as http:
        assert http.get("/ajax-api/2.0/mlflow/users/list").status_code == 200
    local = user(url, ADMIN[0])
    assert local["is_admin"] is True and local["source"] == "local"


# --- refusals --------------------------------------------------------------------------------------------------
def test_tampered_state_is_refused(url: str, issuer: str) -> None:
    set_user(issuer, sub := unique("sub"), {"preferred_username": unique("tim")})
    with browser(url) as http:
        back = authorize(http, start(http), sub)
        params = query(back)
        tampered = http.get("/auth/oidc/callback", params={**params, "state": params["state"][:-2] + "xx"})
        assert tampered.status_code == 400
        assert "text/html" in tampered.headers["content-type"] and "Sign-in failed" in tampered.text
        assert "mltrail_session" not in http.cookies
        as_json = http.get(
            "/auth/oidc/callback", params={**params, "state": "forged"}, headers={"Accept": "application/json"}
        )
        assert as_json.status_code == 400 and "Start again" in as_json.json()["message"]
    # the same callback from a browser that did not start this sign-in (no state cookie)
    assert httpx.get(back).status_code == 400
    assert refused_events(url, "unknown or expired state")


def test_a_forged_state_cookie_is_refused(url: str, issuer: str) -> None:
    set_user(issuer, sub := unique("sub"), {"preferred_username": unique("fay")})
    with browser(url) as http:
        back = authorize(http, start(http), sub)
        state = query(back)["state"]
        name = state_cookie_name(state)
        value = http.cookies[name]
        payload = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))
        forged = base64.urlsafe_b64encode(json.dumps({**payload, "x": "https://evil.example"}).encode()).decode()
        http.cookies.set(name, forged.rstrip("=") + "." + value.split(".")[1], path="/auth/oidc/callback")
        assert http.get(back).status_code == 400


def test_a_replayed_callback_is_refused(url: str, issuer: str) -> None:
    set_user(issuer, sub := unique("sub"), {"preferred_username": unique("rex")})
    with browser(url) as http:
        start_url = start(http)
        state = query(start_url)["state"]
        pending = http.cookies[state_cookie_name(state)]
        back = authorize(http, start_url, sub)
        assert http.get(back).status_code == 302
        # the same browser again (its state cookie was cleared)
        again = http.get(back)
        assert again.status_code == 400 and "mltrail_session" not in again.headers.get("set-cookie", "")
    # an attacker who copied the callback URL and the state cookie
    replay = httpx.get(back, cookies={state_cookie_name(state): pending})
    assert replay.status_code == 400 and "already completed" in replay.text
    assert "mltrail_session" not in replay.headers.get("set-cookie", "")
    assert refused_events(url, "replayed state")


def test_the_provider_refusing_gives_a_clear_error(url: str, issuer: str) -> None:
    with browser(url) as http:
        back = authorize(http, start(http), deny=True)
        assert query(back)["error"] == "access_denied"
        refused = http.get(back)
        assert refused.status_code == 401
        assert "cancelled or refused at the identity provider" in refused.text
        assert "mltrail_session" not in http.cookies
    assert refused_events(url, "provider access_denied")


def test_a_missing_username_claim_is_refused(url: str, issuer: str) -> None:
    set_user(issuer, sub := unique("sub"), {"email": "someone@example.com"})
    with browser(url) as http:
        refused = http.get(authorize(http, start(http), sub))
        assert refused.status_code == 400
        assert "preferred_username" in refused.text and "mltrail_session" not in http.cookies
    assert refused_events(url, "no preferred_username claim")


def test_a_made_up_code_is_refused_by_the_provider(url: str, issuer: str) -> None:
    with browser(url) as http:
        state = query(start(http))["state"]
        refused = http.get("/auth/oidc/callback", params={"code": "made-up", "state": state})
        assert refused.status_code == 401 and "did not accept this sign-in" in refused.text
    assert refused_events(url, "token request refused")


def test_an_answer_naming_another_issuer_is_refused(url: str, issuer: str) -> None:
    set_user(issuer, sub := unique("sub"), {"preferred_username": unique("ivy")})
    with browser(url) as http:
        back = authorize(http, start(http), sub)
        refused = http.get("/auth/oidc/callback", params={**query(back), "iss": "https://other.example"})
        assert refused.status_code == 400 and "another identity provider" in refused.text


# --- configuration ---------------------------------------------------------------------------------------------
BASE = {
    "issuer": "https://login.example.com/realms/ml",
    "client_id": "mltrail",
    "client_secret": "s3cret",
    "redirect_uri": "https://mltrail.example.com/auth/oidc/callback",
}


def test_config_defaults_and_description() -> None:
    config = OidcConfig.from_mapping(BASE, env={})
    assert config.scopes == ("openid", "profile", "email")
    assert (config.username_claim, config.groups_claim, config.admin_groups) == ("preferred_username", "groups", ())
    assert config.discovery_url == "https://login.example.com/realms/ml/.well-known/openid-configuration"
    assert "s3cret" not in repr(config)
    assert sso_description(config) == {
        "enabled": True,
        "display_name": "Single sign-on",
        "login_url": "/auth/oidc/login",
    }


def test_config_from_an_ini_section_and_the_environment() -> None:
    ini = {**BASE, "client_secret": "", "scopes": "openid email groups", "admin_groups": "ml-platform, ML Ops"}
    config = OidcConfig.from_mapping(ini, env={CLIENT_SECRET_ENV: "from-env"})
    assert config.client_secret == "from-env"
    assert config.scopes == ("openid", "email", "groups") and config.admin_groups == ("ml-platform", "ML Ops")
    loopback = OidcConfig.from_mapping({**BASE, "issuer": "http://127.0.0.1:8080"}, env={})
    assert loopback.issuer == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"issuer": "http://login.example.com"}, "issuer must use https"),
        ({"issuer": "ftp://login.example.com"}, "issuer must be an absolute http(s) URL"),
        ({"issuer": None}, "issuer is required"),
        ({"client_id": ""}, "client_id must be a non-empty string"),
        ({"client_secret": None}, "client_secret is required"),
        ({"redirect_uri": "/auth/oidc/callback"}, "redirect_uri must be an absolute http(s) URL"),
        ({"scopes": "profile email"}, "scopes must include 'openid'"),
        ({"admin_groups": 3}, "admin_groups must be a list of strings"),
        ({"client": "x"}, "unknown setting(s) client"),
    ],
)
def test_config_errors_are_one_readable_line(change: dict[str, Any], says: str) -> None:
    section = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    with pytest.raises(MltrailError) as raised:
        OidcConfig.from_mapping(section, env={})
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert raised.value.message.startswith("Auth config [oidc]: ") and says in raised.value.message
    assert "\n" not in raised.value.message


def test_a_bad_oidc_section_stops_the_server(tmp_path: Path) -> None:
    bad = {**BASE, "issuer": "http://login.example.com"}
    with (
        pytest.raises(MltrailError, match=r"Auth config \[oidc\]: issuer must use https"),
        auth_live_server(tmp_path, oidc=bad),
    ):
        pass


# --- pieces ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/", "/"),
        ("/experiments/1?x=1#top", "/experiments/1?x=1#top"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("evil", "/"),
        ("/x\ny", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


def test_state_cookie_signature_and_expiry() -> None:
    config = OidcConfig.from_mapping(BASE, env={})
    sealer = StateSealer(config)
    pending = PendingLogin("state-1", "nonce-1", "verifier-1", "/x", time.time() + 60)
    sealed = sealer.seal(pending)
    assert sealer.unseal(sealed, "state-1") == PendingLogin(
        "state-1", "nonce-1", "verifier-1", "/x", int(pending.expires_at)
    )
    assert sealer.unseal(sealed, "state-2") is None
    assert sealer.unseal(sealed, "state-1", now=time.time() + 120) is None
    middle = len(sealed) // 2  # not the last characters: those may carry only base64 padding bits
    tampered = sealed[:middle] + ("B" if sealed[middle] == "A" else "A") + sealed[middle + 1 :]
    assert sealer.unseal(tampered, "state-1") is None
    other = StateSealer(OidcConfig.from_mapping({**BASE, "client_secret": "another"}, env={}))
    assert other.unseal(sealed, "state-1") is None


# --- ID token checks (real keys and signatures) ----------------------------------------------------------------
ISSUER = "https://login.example.com"


@pytest.fixture(scope="module")
def keys() -> tuple[RSAKey, RSAKey]:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"}), RSAKey.generate_key(2048, parameters={"kid": "k2"})


def id_token(key: Any, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": "u1", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": "n1", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"alg": alg, "kid": key.kid} if getattr(key, "kid", None) else {"alg": alg}
    return jwt.encode(header, payload, key, algorithms=[alg])


def check(token: str, jwks: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return check_id_token(token, jwks, **{"issuer": ISSUER, "client_id": CLIENT_ID, "nonce": "n1", **kwargs})


def test_a_good_id_token_passes(keys: tuple[RSAKey, RSAKey]) -> None:
    jwks = KeySet([keys[0]]).as_dict()
    claims = check(id_token(keys[0], preferred_username="ann"), jwks)
    assert claims["preferred_username"] == "ann" and claims["sub"] == "u1"


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://other.example"},
        {"aud": "someone-else"},
        {"nonce": "n2"},
        {"nonce": None},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"aud": [CLIENT_ID, "other"]},  # several audiences without azp
    ],
)
def test_id_token_claims_are_checked(keys: tuple[RSAKey, RSAKey], claims: dict[str, Any]) -> None:
    jwks = KeySet([keys[0]]).as_dict()
    with pytest.raises(SignInError) as raised:
        check(id_token(keys[0], **claims), jwks)
    assert raised.value.status == 401


def test_id_token_signatures_are_checked(keys: tuple[RSAKey, RSAKey]) -> None:
    jwks = KeySet([keys[0]]).as_dict()
    forged = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # the right kid, the wrong key
    with pytest.raises(SignInError):
        check(id_token(forged), jwks)
    with pytest.raises(InvalidKeyIdError):  # a key not published (yet): the provider's keys are read again
        check(id_token(keys[1]), jwks)
    payload = id_token(keys[0]).split(".")[1]
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + f".{payload}."
    with pytest.raises(SignInError):
        check(unsigned, jwks)
    secret = OctKey.generate_key(256)
    with pytest.raises(SignInError):  # a MAC with a shared key is not accepted as a signature
        check(id_token(secret, alg="HS256"), {"keys": [*jwks["keys"], secret.as_dict()]})
    with pytest.raises(SignInError):  # an algorithm the provider does not list
        check(id_token(keys[0]), jwks, algorithms=("ES256",))
