"""A real OpenID Connect provider for tests (``oidc-provider-mock``: authlib's server in a Flask app) and a browser.

The provider runs in a thread on a loopback port; users and their claims are set with its ``PUT /users/{sub}``
API; its authorization page is a form that signs in the user named by ``sub`` (or denies with ``action=deny``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx

with warnings.catch_warnings():  # the provider imports authlib.jose, which authlib 1.9 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import run_server_in_thread


@contextmanager
def oidc_provider() -> Iterator[str]:
    """Serve the provider for the duration of the block; yields its issuer URL (``http://localhost:PORT``)."""
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


def set_user(issuer: str, sub: str, claims: dict[str, object]) -> None:
    """Create or replace the provider's user ``sub`` with these claims (they go into the ID token)."""
    httpx.put(f"{issuer}/users/{sub}", json=claims, timeout=10).raise_for_status()


def query(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (one value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorize(browser: httpx.Client, authorize_url: str, sub: str | None = None, deny: bool = False) -> str:
    """Load the provider's authorization page, submit its form for ``sub`` (or deny); returns the redirect back."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    assert 'name="sub"' in page.text
    response = browser.post(authorize_url, data={"action": "deny"} if deny else {"sub": sub or ""})
    assert response.status_code == 302, response.text
    return response.headers["location"]
