"""Single sign-on with OpenID Connect: ``GET /auth/oidc/login`` and ``GET /auth/oidc/callback``.

The authorization code flow with PKCE (S256), ``state`` and ``nonce``:

1. ``/auth/oidc/login?next=/path`` makes a random state, nonce and PKCE verifier, keeps them (with the local path
   to return to) in a short-lived signed cookie, and redirects the browser to the provider's authorization
   endpoint.
2. The provider sends the browser back to ``/auth/oidc/callback?code=...&state=...``. The state must match the
   signed cookie (so a sign-in started in another browser, or a forged link, is refused); the code is exchanged
   with the PKCE verifier and the client secret; the ID token is checked (signature with the provider's JWKS,
   issuer, audience, expiry, nonce). The user named by ``username_claim`` is created on first sign-in (source
   ``oidc``, no password), their groups are set from ``groups_claim``, they become an admin when in one of
   ``admin_groups``, and a web session starts (the ``mltrail_session`` cookie), then a 302 to ``next``.

Only the operator's issuer is ever fetched (its discovery document, then the endpoints that document names); no
URL coming with a request is fetched, and ``next`` is kept to local paths. Users are matched by name: an
existing user named like the username claim (a local user too) is the one signed in, so ``username_claim``
must be a claim the provider controls, not one its users may edit. Every failure answers 400, 401 or 502 with a
short page (JSON when the client asks for it) and is written to the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import ipaddress
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.entities.auth import User
from mltrail.errors import RESOURCE_ALREADY_EXISTS, MltrailError
from mltrail.server.auth.guard import audit_event
from mltrail.server.auth.identity import Caller
from mltrail.server.auth.service import AuthService, caller_for
from mltrail.server.protocol import dumps
from mltrail.server.routes.auth_session import is_secure, set_session_cookie

logger = logging.getLogger("mltrail.server.oidc")

LOGIN_PATH = "/auth/oidc/login"
CALLBACK_PATH = "/auth/oidc/callback"
#: Environment variable that supplies (and overrides) ``[oidc] client_secret``.
CLIENT_SECRET_ENV = "MLTRAIL_OIDC_CLIENT_SECRET"
#: How long a started sign-in may take at the provider before its state cookie expires.
LOGIN_STATE_SECONDS = 600
#: Clock skew allowed when checking the ID token's ``exp``, ``iat`` and ``nbf``.
CLOCK_LEEWAY_SECONDS = 60
#: Signature algorithms accepted for ID tokens (asymmetric only: never ``none``, never a shared-secret MAC).
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

_STATE_COOKIE_PREFIX = "mltrail_oidc_"
_KNOWN_KEYS = frozenset(
    {
        "issuer",
        "client_id",
        "client_secret",
        "redirect_uri",
        "scopes",
        "username_claim",
        "groups_claim",
        "admin_groups",
        "display_name",
    }
)
_HTTP_TIMEOUT = httpx.Timeout(10.0)
_METADATA_TTL_SECONDS = 24 * 3600.0
_JWKS_TTL_SECONDS = 3600.0
_JWKS_MIN_REFRESH_SECONDS = 30.0
_MAX_NEXT_LENGTH = 2000
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NO_STORE = {"Cache-Control": "no-store"}


# --- configuration -------------------------------------------------------------------------------------------
def _invalid(message: str) -> MltrailError:
    return errors.invalid(f"Auth config [oidc]: {message}")


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(value: str, what: str, *, https_only_remote: bool) -> str:
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise _invalid(f"{what} {value!r} is not a URL.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise _invalid(f"{what} must be an absolute http(s) URL, not {value!r}.")
    if https_only_remote and parts.scheme == "http" and not is_loopback_host(host):
        raise _invalid(f"{what} must use https (http only for localhost), not {value!r}.")
    if parts.fragment or _CONTROL.search(value):
        raise _invalid(f"{what} must not have a fragment or control characters: {value!r}.")
    return value


def _text(section: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = section.get(key, default)
    if value is None:
        raise _invalid(f"{key} is required.")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{key} must be a non-empty string, not {value!r}.")
    return value.strip()


def _names(section: Mapping[str, Any], key: str, default: tuple[str, ...], sep: str) -> tuple[str, ...]:
    """A list of names from TOML (a list of strings) or an ini file (one string, split on ``sep``)."""
    value = section.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        items = value.split(sep) if sep != " " else value.split()
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise _invalid(f"{key} must be a list of strings, not {value!r}.")
    return tuple(dict.fromkeys(v.strip() for v in items if v.strip()))


@dataclass(frozen=True)
class OidcConfig:
    """The ``[oidc]`` section of the auth config: single sign-on with an OpenID Connect provider.

    Args:
        issuer: the provider's issuer URL (https; http only for a provider on this machine). Its discovery
            document is ``{issuer}/.well-known/openid-configuration``.
        client_id: mltrail's client id at the provider.
        client_secret: its client secret (``MLTRAIL_OIDC_CLIENT_SECRET`` wins over the file). It also keys the
            signature of the sign-in state cookie.
        redirect_uri: this server's callback URL as registered at the provider (``.../auth/oidc/callback``).
        scopes: the scopes asked for; ``openid`` must be one of them.
        username_claim: the ID token claim that names the mltrail user.
        groups_claim: the ID token claim listing the user's groups (they become mltrail groups of the same name).
        admin_groups: members of any of these groups are admins.
        display_name: the label of the sign-in button.
    """

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    admin_groups: tuple[str, ...] = ()
    display_name: str = "Single sign-on"

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any], env: Mapping[str, str] | None = None) -> OidcConfig:
        """The settings of an ``[oidc]`` table (TOML) or section (ini: every value a string).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE, one line starting ``Auth config [oidc]:``, for an unknown key, a
                missing or malformed value, an issuer on plain http that is not this machine, or scopes
                without ``openid``.
        """
        env = os.environ if env is None else env
        if not isinstance(section, Mapping):
            raise _invalid("must be a table of settings.")
        unknown = sorted(set(section) - _KNOWN_KEYS)
        if unknown:
            raise _invalid(f"unknown setting(s) {', '.join(map(str, unknown))}.")
        issuer = _check_url(_text(section, "issuer"), "issuer", https_only_remote=True)
        if urlsplit(issuer).query:
            raise _invalid(f"issuer must not have a query string: {issuer!r}.")
        secret = env.get(CLIENT_SECRET_ENV) or section.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise _invalid(f"client_secret is required (or set {CLIENT_SECRET_ENV}).")
        scopes = _names(section, "scopes", cls.scopes, " ")
        if "openid" not in scopes:
            raise _invalid(f"scopes must include 'openid', not {' '.join(scopes)!r}.")
        return cls(
            issuer=issuer,
            client_id=_text(section, "client_id"),
            client_secret=secret,
            redirect_uri=_check_url(_text(section, "redirect_uri"), "redirect_uri", https_only_remote=False),
            scopes=scopes,
            username_claim=_text(section, "username_claim", cls.username_claim),
            groups_claim=_text(section, "groups_claim", cls.groups_claim),
            admin_groups=_names(section, "admin_groups", (), ","),
            display_name=_text(section, "display_name", cls.display_name),
        )

    @property
    def discovery_url(self) -> str:
        """Where the provider's metadata is read (OpenID Connect Discovery 1.0, section 4)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def sso_description(config: OidcConfig) -> dict[str, Any]:
    """The ``sso`` object of ``GET /auth/config`` for this provider."""
    return {"enabled": True, "display_name": config.display_name, "login_url": LOGIN_PATH}


# --- errors --------------------------------------------------------------------------------------------------
class SignInError(Exception):
    """A refused single sign-on: ``message`` is shown to the user, ``reason`` goes to the audit log."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or message


def _error_code(status: int) -> str:
    return {401: "UNAUTHENTICATED", 502: "TEMPORARILY_UNAVAILABLE"}.get(status, "INVALID_PARAMETER_VALUE")


def error_response(request: Request, error: SignInError) -> Response:
    """A small HTML page (or MLflow's error JSON for a client that asks for JSON) saying why sign-in failed."""
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        body = dumps({"error_code": _error_code(error.status), "message": error.message})
        return Response(body, status_code=error.status, media_type="application/json", headers=_NO_STORE)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title></head>'
        f"<body><h1>Sign-in failed</h1><p>{html.escape(error.message)}</p>"
        '<p><a href="/">Back to mltrail</a></p></body></html>'
    )
    return Response(page, status_code=error.status, media_type="text/html", headers=_NO_STORE)


# --- the pending sign-in (a signed cookie) ------------------------------------------------------------------
def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this server, else ``/`` (no open redirect through ``next``)."""
    if not value or len(value) > _MAX_NEXT_LENGTH or _CONTROL.search(value) or "\\" in value:
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "/"
    return value if not parts.scheme and not parts.netloc else "/"


@dataclass(frozen=True)
class PendingLogin:
    """What the callback needs from the sign-in it finishes."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateSealer:
    """Signs and checks the pending-sign-in cookie (HMAC-SHA256).

    The key is derived from the client secret, which every worker and replica of the server shares, so a sign-in
    started on one process finishes on any other without server-side storage.
    """

    def __init__(self, config: OidcConfig) -> None:
        label = f"mltrail oidc login state\0{config.issuer}\0{config.client_id}".encode()
        self._key = hmac.new(config.client_secret.encode(), label, hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def seal(self, pending: PendingLogin) -> str:
        """The cookie value of ``pending``."""
        data = {"s": pending.state, "n": pending.nonce, "v": pending.verifier, "x": pending.next}
        payload = _b64(json.dumps({**data, "e": int(pending.expires_at)}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def unseal(self, value: str | None, state: str, now: float | None = None) -> PendingLogin | None:
        """The pending sign-in in ``value`` when its signature is good, it is unexpired and it is for ``state``."""
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            pending = PendingLogin(
                str(data["s"]), str(data["n"]), str(data["v"]), safe_next(str(data["x"])), float(data["e"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        if pending.expires_at < (time.time() if now is None else now):
            return None
        return pending if hmac.compare_digest(pending.state.encode(), state.encode()) else None


def state_cookie_name(state: str) -> str:
    """The cookie of one pending sign-in (named after its state: two tabs signing in do not clash)."""
    return _STATE_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


class _UsedStates:
    """States this process has already finished (a replayed callback is refused before the provider sees it)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._seen: dict[str, float] = {}
        self._limit = limit

    def claim(self, state: str, expires_at: float) -> bool:
        """Mark ``state`` used; False when it already was."""
        now = time.time()
        if len(self._seen) >= self._limit:
            self._seen = {s: e for s, e in self._seen.items() if e > now}
            while len(self._seen) >= self._limit:
                self._seen.pop(next(iter(self._seen)))
        if state in self._seen:
            return False
        self._seen[state] = expires_at
        return True


# --- the provider --------------------------------------------------------------------------------------------
def check_id_token(
    id_token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    algorithms: tuple[str, ...] = ("RS256",),
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of an ID token after checking its signature and its claims.

    Checked: the signature against ``jwks`` with one of ``algorithms``; ``iss`` equal to ``issuer``; ``aud``
    naming ``client_id`` (and ``azp`` when several audiences); ``exp``, ``iat`` and ``nbf`` against the clock
    (with :data:`CLOCK_LEEWAY_SECONDS`); ``nonce``; ``at_hash`` when present.

    Raises:
        InvalidKeyIdError: the token names a key that is not in ``jwks`` (fetch the keys again).
        SignInError: 401 for any other failure.
    """
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(dict(jwks)), algorithms=list(algorithms))
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError, TypeError) as exc:
        raise SignInError(
            401, "The identity provider's ID token could not be verified.", f"ID token signature: {exc}"
        ) from None
    options = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}}
    params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=int(time.time() if now is None else now), leeway=CLOCK_LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError) as exc:
        raise SignInError(
            401, "The identity provider's ID token was not valid for this server.", f"ID token claims: {exc}"
        ) from None
    return dict(claims)


class OidcProvider:
    """The operator's identity provider: its metadata and keys (fetched on first use and cached), the code exchange.

    Only :attr:`OidcConfig.discovery_url` and the endpoints named by that document are ever requested.
    """

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("Single sign-on: could not read the provider's %s from %s: %s", what, url, exc)
            raise SignInError(
                502, "The identity provider could not be reached. Try again later.", f"{what}: {exc}"
            ) from None
        if not isinstance(data, dict):
            raise SignInError(502, "The identity provider sent a malformed answer.", f"{what} is not an object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (checked: issuer, endpoints)."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < _METADATA_TTL_SECONDS:
            return self._metadata
        data = await self._get_json(self.config.discovery_url, "discovery document")
        if data.get("issuer") != self.config.issuer:
            raise SignInError(
                502,
                "Single sign-on is misconfigured: the provider names another issuer.",
                f"discovery issuer {data.get('issuer')!r} is not the configured {self.config.issuer!r}",
            )
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = data.get(key)
            try:
                if not isinstance(value, str):
                    raise _invalid(f"the discovery document has no {key}")
                _check_url(value, key, https_only_remote=True)
            except MltrailError as exc:
                raise SignInError(502, "Single sign-on is misconfigured at the provider.", exc.message) from None
        self._metadata, self._metadata_at = data, time.monotonic()
        return data

    async def jwks(self, refresh: bool = False) -> dict[str, Any]:
        """The provider's signing keys; ``refresh`` reads them again (rate-limited) after a key rotation."""
        age = time.monotonic() - self._jwks_at
        if self._jwks is not None and age < _JWKS_TTL_SECONDS and (not refresh or age < _JWKS_MIN_REFRESH_SECONDS):
            return self._jwks
        data = await self._get_json((await self.metadata())["jwks_uri"], "signing keys")
        if not isinstance(data.get("keys"), list):
            raise SignInError(502, "The identity provider sent malformed signing keys.", "jwks has no keys list")
        # Signature keys of the asymmetric types only: an encryption key or a type joserfc does not know would
        # otherwise make the whole set fail to load.
        keys = [
            k
            for k in data["keys"]
            if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP") and k.get("use", "sig") == "sig"
        ]
        self._jwks, self._jwks_at = {"keys": keys}, time.monotonic()
        return self._jwks

    def algorithms(self, metadata: Mapping[str, Any]) -> tuple[str, ...]:
        """ID token algorithms accepted: the provider's asymmetric ones (RS256 when it lists none)."""
        listed = metadata.get("id_token_signing_alg_values_supported")
        if not isinstance(listed, list) or not listed:
            return ("RS256",)
        return tuple(a for a in ASYMMETRIC_ALGORITHMS if a in listed) or ("RS256",)

    async def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        """Where the browser goes to sign in."""
        metadata = await self.metadata()
        params = [
            ("response_type", "code"),
            ("client_id", self.config.client_id),
            ("redirect_uri", self.config.redirect_uri),
            ("scope", " ".join(self.config.scopes)),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ]
        return add_params_to_uri(metadata["authorization_endpoint"], params)

    async def exchange_code(self, code: str, verifier: str) -> dict[str, Any]:
        """The token response for an authorization code (client_secret_basic, or _post when that is all it takes).

        Raises:
            SignInError: 401 when the provider refuses the code, 502 when it cannot be reached.
        """
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
        }
        methods = metadata.get("token_endpoint_auth_methods_supported")
        auth: httpx.BasicAuth | None = None
        if isinstance(methods, list) and "client_secret_basic" not in methods and "client_secret_post" in methods:
            form |= {"client_id": self.config.client_id, "client_secret": self.config.client_secret}
        else:  # RFC 6749 2.3.1: both parts form-encoded before the Basic encoding
            auth = httpx.BasicAuth(quote(self.config.client_id, safe=""), quote(self.config.client_secret, safe=""))
        try:
            async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
                response = await client.post(
                    metadata["token_endpoint"], data=form, auth=auth, headers={"Accept": "application/json"}
                )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("Single sign-on: the token request failed: %s", exc)
            raise SignInError(
                502, "The identity provider could not be reached. Try again later.", f"token request: {exc}"
            ) from None
        if response.status_code != 200 or not isinstance(data, dict) or "error" in data:
            error = data.get("error") if isinstance(data, dict) else None
            code_name = error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "error"
            raise SignInError(
                401,
                "The identity provider did not accept this sign-in (it may have been used already). Start again.",
                f"token request refused: HTTP {response.status_code} {code_name}",
            )
        if not isinstance(data.get("id_token"), str):
            raise SignInError(401, "The identity provider sent no ID token.", "token response without id_token")
        return data

    async def verify(self, tokens: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        """The checked claims of the ID token in a token response (keys read again once after a rotation)."""
        metadata = await self.metadata()
        access_token = tokens.get("access_token")
        kwargs: dict[str, Any] = {
            "issuer": self.config.issuer,
            "client_id": self.config.client_id,
            "nonce": nonce,
            "access_token": access_token if isinstance(access_token, str) else None,
            "algorithms": self.algorithms(metadata),
        }
        try:
            return check_id_token(tokens["id_token"], await self.jwks(), **kwargs)
        except InvalidKeyIdError:
            try:
                return check_id_token(tokens["id_token"], await self.jwks(refresh=True), **kwargs)
            except InvalidKeyIdError:
                raise SignInError(
                    401, "The identity provider's ID token could not be verified.", "ID token signed by an unknown key"
                ) from None


# --- users ---------------------------------------------------------------------------------------------------
def claimed_groups(claims: Mapping[str, Any], claim: str) -> list[str] | None:
    """The group names in ``claims[claim]`` (a list, or one string); None when the claim is absent."""
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SignInError(
            400, f"The identity provider's '{claim}' claim is not a list of group names.", f"malformed {claim} claim"
        )
    return sorted({v for v in value if v})


def sign_in_user(service: AuthService, config: OidcConfig, username: str, groups: list[str] | None) -> User:
    """The user signing in, created on first sign-in and brought in line with the provider's groups.

    A new user gets source ``oidc`` and no password. When the groups claim is present the user's groups become
    exactly those (absent: left as they are). With ``admin_groups`` set, membership in one of them makes the user
    an admin, and a single-sign-on user outside them stops being one; a local admin is never demoted here.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a name the store refuses.
    """
    store = service.store
    if not store.has_user(username):
        try:
            store.create_user(username, None, is_admin=False, source="oidc")
        except MltrailError as error:
            if error.error_code != RESOURCE_ALREADY_EXISTS:  # else: a concurrent first sign-in made them
                raise
    user = store.get_user(username)
    changed = False
    if groups is not None and sorted(groups) != sorted(user.groups):
        store.set_user_groups(username, groups)
        changed = True
    if config.admin_groups:
        in_admin_group = bool(set(groups or ()) & set(config.admin_groups))
        if in_admin_group != user.is_admin and (in_admin_group or user.source == "oidc"):
            store.update_user_admin(username, in_admin_group)
            changed = True
    if changed:
        service.user_changed(username)
        user = store.get_user(username)
    return user


# --- routes --------------------------------------------------------------------------------------------------
def oidc_routes(service: AuthService, config: OidcConfig) -> list[BaseRoute]:
    """``GET /auth/oidc/login`` and ``GET /auth/oidc/callback`` for ``config`` (public routes)."""
    provider = OidcProvider(config)
    sealer = StateSealer(config)
    used = _UsedStates()
    redirect_parts = urlsplit(config.redirect_uri)
    cookie_path = redirect_parts.path or "/"
    redirect_origin = f"{redirect_parts.scheme}://{redirect_parts.netloc}"

    def secure(request: Request) -> bool:
        return is_secure(request) or config.redirect_uri.startswith("https://")

    async def login(request: Request) -> Response:
        """Start single sign-on: redirect to the identity provider."""
        next_path = safe_next(request.query_params.get("next"))
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        try:
            url = await provider.authorization_url(state, nonce, verifier)
        except SignInError as error:
            return error_response(request, error)
        pending = PendingLogin(state, nonce, verifier, next_path, time.time() + LOGIN_STATE_SECONDS)
        response = RedirectResponse(url, status_code=302, headers=_NO_STORE)
        response.set_cookie(
            state_cookie_name(state),
            sealer.seal(pending),
            max_age=LOGIN_STATE_SECONDS,
            path=cookie_path,
            httponly=True,
            samesite="lax",
            secure=secure(request),
        )
        return response

    async def finish(request: Request, pending: PendingLogin | None) -> tuple[Response, Caller]:
        params = request.query_params
        error = params.get("error")
        if error is not None:
            name = error if _ERROR_CODE.fullmatch(error) else "error"
            if name in ("access_denied", "login_required", "consent_required", "interaction_required"):
                raise SignInError(401, "Sign-in was cancelled or refused at the identity provider.", f"provider {name}")
            raise SignInError(400, f"The identity provider reported an error ({name}).", f"provider {name}")
        if pending is None:
            raise SignInError(
                400,
                "This sign-in link is invalid or expired, or the sign-in was started in another browser or at "
                f"another address than {redirect_origin}. Start again.",
                "unknown or expired state",
            )
        if not used.claim(pending.state, pending.expires_at):
            raise SignInError(400, "This sign-in was already completed. Start again.", "replayed state")
        iss = params.get("iss")
        if iss is not None and iss != config.issuer:  # RFC 9207: an answer from another provider (mix-up attack)
            raise SignInError(400, "The sign-in answer came from another identity provider.", "iss mismatch")
        code = params.get("code")
        if not code:
            raise SignInError(400, "The identity provider sent no authorization code.", "no code")
        tokens = await provider.exchange_code(code, pending.verifier)
        claims = await provider.verify(tokens, pending.nonce)
        username = claims.get(config.username_claim)
        if not isinstance(username, str) or not username.strip():
            raise SignInError(
                400,
                f"The identity provider did not send the '{config.username_claim}' claim that names mltrail users; "
                "ask the server's operator to map it (or set [oidc] username_claim).",
                f"no {config.username_claim} claim for sub {str(claims.get('sub'))[:100]!r}",
            )
        if config.username_claim == "email" and claims.get("email_verified") is False:
            raise SignInError(401, "Your email address is not verified at the identity provider.", "email unverified")
        groups = claimed_groups(claims, config.groups_claim)
        try:
            user = await run_in_threadpool(sign_in_user, service, config, username, groups)
            secret = await run_in_threadpool(service.start_session, user.username)
        except MltrailError as exc:
            raise SignInError(400, f"This account cannot sign in: {exc.message}", f"user {exc.message}") from None
        caller = caller_for(user, "session")
        response = RedirectResponse(pending.next, status_code=302, headers=_NO_STORE)
        set_session_cookie(response, request, secret, int(service.config.session_hours * 3600))
        return response, caller

    async def callback(request: Request) -> Response:
        """Finish single sign-on: check the provider's answer, sign the user in, redirect to ``next``."""
        state = request.query_params.get("state") or ""
        cookie = state_cookie_name(state) if state else None
        pending = sealer.unseal(request.cookies.get(cookie), state) if cookie else None
        try:
            response, caller = await finish(request, pending)
            event = audit_event(request, caller, response.status_code, "Single sign-on", {"username": caller.username})
        except SignInError as error:
            logger.info("Single sign-on refused: %s", error.reason)
            response = error_response(request, error)
            event = audit_event(request, None, error.status, f"Single sign-on refused: {error.reason}", None)
        service.audit.record(event)
        if cookie and cookie in request.cookies:
            response.delete_cookie(cookie, path=cookie_path, httponly=True, samesite="lax", secure=secure(request))
        return response

    return [
        Route(LOGIN_PATH, login, methods=["GET"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
    ]


__all__ = [
    "OidcConfig",
    "OidcProvider",
    "SignInError",
    "check_id_token",
    "oidc_routes",
    "safe_next",
    "sign_in_user",
    "sso_description",
]
