"""Password hashing (argon2id) and the secrets of access tokens and sessions.

Passwords are hashed with argon2id at OWASP's recommended cost (``time_cost=2``, ``memory_cost=19456`` KiB,
``parallelism=1``): about 20 ms and 19 MiB per hash, slow enough to make guessing expensive, cheap enough for a
sign-in. Token and session secrets are 256 random bits, so a plain SHA-256 digest keeps them safe at rest and
lets a request find its token with one indexed lookup.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mltrail import errors

#: The longest password accepted: hashing is deliberately slow, so an unbounded input would be a lever for DoS.
MAX_PASSWORD_LENGTH = 1024
#: Every token and session secret starts with this, so leaked secrets are easy to recognise and scan for.
SECRET_PREFIX = "mlt_"
#: The longest string worth digesting as a secret (real ones are 47 characters).
MAX_SECRET_LENGTH = 256

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, verified against when a user has none (unknown or single-sign-on users).

    Failing for an unknown name then costs the same time as failing for a wrong password (no user-name oracle).
    Made on first use, not at import.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


def validate_password(password: object) -> str:
    """Check a new password: a non-empty string of at most 1024 characters without NUL.

    Args:
        password: the password as given.

    Returns:
        The password.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE, saying what is wrong.
    """
    if not isinstance(password, str) or password == "":
        raise errors.invalid("A password must be a non-empty string.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise errors.invalid(f"A password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    if "\x00" in password:
        raise errors.invalid("A password must not contain NUL characters.")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (validated first), in the PHC string format (``$argon2id$...``).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a password :func:`validate_password` rejects.
    """
    return _hasher.hash(validate_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (argon2 compares in constant time).

    False on any mismatch, for a malformed hash or password, and when ``password_hash`` is None (then a dummy
    hash is verified all the same, so the answer takes as long as a real check).
    """
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD_LENGTH or "\x00" in password:
        return False
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (so it should be replaced)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def new_secret() -> str:
    """A new token or session secret: ``mlt_`` and 43 URL-safe characters (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
