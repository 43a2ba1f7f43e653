"""Reading credentials from a request, and the two pieces that keep checking them cheap and safe.

:class:`CredentialCache` remembers verified credentials for a short time (an argon2 check costs tens of
milliseconds, far too much for every ``log-metric``); :class:`LoginLimiter` slows down password guessing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from mltrail.errors import UNAUTHENTICATED, MltrailError
from mltrail.server.auth.cache import TtlCache
from mltrail.server.auth.identity import Caller

#: The web UI's session cookie.
SESSION_COOKIE = "mltrail_session"
#: The longest Authorization header or cookie value looked at; longer ones are refused unread.
MAX_CREDENTIAL_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presents: a username and password, or a token / session secret."""

    kind: str  # "basic", "token" or "session"
    username: str = ""
    secret: str = ""

    def cache_key(self) -> str:
        """A digest naming these exact credentials (the cache never holds a password in the clear)."""
        raw = f"{self.kind}\x00{self.username}\x00{self.secret}".encode("utf-8", "surrogatepass")
        return hashlib.sha256(raw).hexdigest()


def unauthenticated(
    message: str = "You are not authenticated. Sign in with a username and password or a token.",
) -> MltrailError:
    """The 401 error (MLflow's code and status)."""
    return MltrailError(message, UNAUTHENTICATED)


def parse_authorization(header: str | None, cookie: str | None) -> Credentials | None:
    """The credentials in an ``Authorization`` header, else in the session cookie; None when neither is present.

    Raises:
        MltrailError: UNAUTHENTICATED for a header that is malformed, too long or of a scheme not supported.
    """
    if header is not None:
        if len(header) > MAX_CREDENTIAL_BYTES:
            raise unauthenticated("The Authorization header is too long.")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise unauthenticated("The Authorization header is not valid Basic credentials.") from None
            username, sep, password = decoded.partition(":")
            if not sep or not username or "\x00" in decoded:
                raise unauthenticated("The Authorization header is not valid Basic credentials.")
            return Credentials("basic", username, password)
        if scheme == "bearer" and value and value.isascii() and value.isprintable():
            return Credentials("token", secret=value)
        raise unauthenticated("Unsupported Authorization header: use Basic credentials or a Bearer token.")
    if cookie:
        if len(cookie) > MAX_CREDENTIAL_BYTES or not cookie.isascii() or not cookie.isprintable():
            raise unauthenticated("The session cookie is not valid; sign in again.")
        return Credentials("session", secret=cookie)
    return None


class CredentialCache(TtlCache[str, Caller]):
    """Verified credentials (their :meth:`Credentials.cache_key`) -> caller, for ``ttl_seconds``.

    Only successes are cached; failures go through the :class:`LoginLimiter` instead. :meth:`forget_user` drops a
    user's entries at once when their password, admin flag or tokens change in this process.
    """

    def __init__(self, ttl_seconds: float, max_size: int = 10_000) -> None:
        super().__init__(ttl_seconds, max_size)

    def forget_user(self, username: str) -> None:
        """Drop every cached credential of ``username``."""
        self.forget_where(lambda caller: caller.username == username)


class LoginLimiter:
    """At most ``max_failures`` failed sign-ins per username and per client address in a sliding window.

    Once either is over the limit, further attempts are refused without checking the password until the oldest
    failure leaves the window, so a guesser gains nothing by trying faster. State is per process.
    """

    def __init__(self, max_failures: int, window_seconds: float, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, username: str | None, address: str | None) -> int:
        """Seconds until an attempt for this user from this address is allowed again (0: allowed now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, username: str | None, address: str | None) -> None:
        """Count a failed attempt."""
        now = time.monotonic()
        with self._lock:
            for key in self._keys(username, address):
                times = self._recent(key, now) or deque()
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """Forget the user's failures after a successful sign-in (the address keeps its count)."""
        with self._lock:
            self._failures.pop("user:" + username, None)

    @staticmethod
    def _keys(username: str | None, address: str | None) -> list[str]:
        keys = []
        if username:
            keys.append("user:" + username)
        if address:
            keys.append("addr:" + address)
        return keys
