"""Checks of the auth store's inputs, made before any SQL runs (a NUL reaching PostgreSQL would be a 500)."""

from __future__ import annotations

import re

from mltrail import errors
from mltrail.entities.auth import PERMISSION_LEVELS, is_permission
from mltrail.store.auth.sql.tables import EXPERIMENT_ID_LENGTH, MODEL_NAME_LENGTH, NAME_LENGTH

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"[0-9]+")
#: Token kinds: a personal access token, or a web UI session.
TOKEN_KINDS = ("token", "session")
#: Longest ``source`` of a user ("local", "oidc", ...).
SOURCE_LENGTH = 32


def name(value: object, what: str = "username") -> str:
    """A user, group or token name: 1..255 characters, no control characters, no leading or trailing spaces.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE naming ``what``.
    """
    if not isinstance(value, str) or value == "":
        raise errors.invalid(f"Missing value for parameter '{what}': a non-empty string is required.")
    if len(value) > NAME_LENGTH:
        raise errors.invalid(f"Invalid value for parameter '{what}': at most {NAME_LENGTH} characters are allowed.")
    if _CONTROL.search(value):
        raise errors.invalid(
            f"Invalid value for parameter '{what}': control characters (NUL, newline, ...) are not allowed."
        )
    if value != value.strip():
        raise errors.invalid(
            f"Invalid value {value!r} for parameter '{what}': leading or trailing spaces are not allowed."
        )
    return value


def is_valid_name(value: object) -> bool:
    """Whether :func:`name` accepts ``value``."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= NAME_LENGTH
        and not _CONTROL.search(value)
        and value == value.strip()
    )


def permission(value: object) -> str:
    """One of MLflow's permission names (READ, USE, EDIT, MANAGE, NO_PERMISSIONS)."""
    if not is_permission(value):
        allowed = ", ".join(PERMISSION_LEVELS)
        raise errors.invalid(f"Invalid permission {value!r}: expected one of {allowed}.")
    return str(value)


def experiment_id(value: object) -> str:
    """An experiment id: decimal digits (an int is taken too), returned in canonical form (no leading zeros)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not _DIGITS.fullmatch(value) or len(value) > EXPERIMENT_ID_LENGTH:
        raise errors.invalid(f"Invalid experiment id {value!r}: expected a string of decimal digits.")
    return str(int(value))


def model_name(value: object, what: str = "name") -> str:
    """A registered model name: non-empty, at most 256 characters, no NUL."""
    if not isinstance(value, str) or value.strip() == "":
        raise errors.invalid(f"Missing value for parameter '{what}': a registered model name is required.")
    if len(value) > MODEL_NAME_LENGTH:
        raise errors.invalid(
            f"Invalid value for parameter '{what}': at most {MODEL_NAME_LENGTH} characters are allowed."
        )
    if "\x00" in value:
        raise errors.invalid(f"Invalid value for parameter '{what}': NUL characters are not allowed.")
    return value


def holder(username: str | None, group: str | None) -> tuple[str | None, str | None]:
    """Exactly one of a user name and a group name, each valid."""
    if (username is None) == (group is None):
        raise errors.invalid("Exactly one of 'username' and 'group' must be given.")
    if username is not None:
        return name(username), None
    return None, name(group, "group")


def token_kind(value: object) -> str:
    """``token`` or ``session``."""
    if value not in TOKEN_KINDS:
        raise errors.invalid(f"Invalid token kind {value!r}: expected one of {', '.join(TOKEN_KINDS)}.")
    return str(value)


def source(value: object) -> str:
    """A user's source (``local``, ``oidc``, ...): 1..32 characters without control characters."""
    if not isinstance(value, str) or not 0 < len(value) <= SOURCE_LENGTH or _CONTROL.search(value):
        raise errors.invalid(f"Invalid user source {value!r}: 1 to {SOURCE_LENGTH} printable characters expected.")
    return value


def timestamp(value: object, what: str) -> int | None:
    """An optional time in milliseconds since the epoch (a non-negative int, or None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise errors.invalid(f"Invalid value {value!r} for parameter '{what}': milliseconds since the epoch expected.")
    return value


def user_id(value: object) -> int:
    """A user id: an int (one outside the id range finds no user, as an unknown id does)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid(f"Invalid user id {value!r}: an integer expected.")
    return value


def in_id_range(value: int) -> bool:
    """Whether an id can be in the database (a 32-bit positive integer)."""
    return 0 < value < 2**31
