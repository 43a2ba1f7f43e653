"""Opaque page tokens and ``max_results`` checks, with MLflow's token format and wording.

A page token is base64 of the JSON ``{"offset": N}``, as MLflow makes it, so tokens from either server work
with the other's clients; callers must still treat tokens as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal

from mltrail import errors

__all__ = ["decode_page_token", "encode_page_token", "validate_max_results"]

_MAX_TOKEN_LENGTH = 4096
#: The largest offset a token may carry: far beyond any table, and ``offset + page size`` still fits the int64
#: that databases compare it with (a forged ``{"offset": 2**63}`` would otherwise overflow in the SQL driver).
MAX_OFFSET = 2**62


def encode_page_token(offset: int) -> str:
    """Make the token for the page that starts at ``offset``.

    Args:
        offset: the number of results before the page (non-negative).

    Returns:
        base64 of ``{"offset": offset}``, as ASCII text.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` if ``offset`` is not a non-negative integer.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise errors.invalid(f"Invalid page offset {offset!r}: expected a non-negative integer")
    return base64.b64encode(json.dumps({"offset": offset}).encode("utf-8")).decode("ascii")


def _b64decode(token: str) -> bytes:
    text = "".join(token.split())
    text += "=" * (-len(text) % 4)
    if "-" in text or "_" in text:
        return base64.b64decode(text, altchars=b"-_", validate=True)
    return base64.b64decode(text, validate=True)


def decode_page_token(token: str | bytes | None) -> int:
    """Read the offset from a page token.

    Args:
        token: a token from :func:`encode_page_token` (or from MLflow); ``None`` or empty means the first page.

    Returns:
        The offset of the page (0 for the first page).

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` when the token is not base64, not JSON, or has no
            integer ``offset`` between 0 and :data:`MAX_OFFSET`.
    """
    if token is None or token in ("", b""):
        return 0
    try:
        text = token.decode("ascii") if isinstance(token, bytes) else token
        if not isinstance(text, str) or len(text) > _MAX_TOKEN_LENGTH:
            raise ValueError(text)
        decoded = _b64decode(text)
    except (ValueError, TypeError, binascii.Error):
        raise errors.invalid("Invalid page token, could not base64-decode") from None
    try:
        parsed = json.loads(decoded)
    except ValueError:
        raise errors.invalid(f"Invalid page token, decoded value={decoded!r}") from None
    offset = parsed.get("offset") if isinstance(parsed, dict) else None
    if isinstance(offset, str) and offset.strip().isdigit():
        offset = int(offset)
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise errors.invalid(f"Invalid page token, parsed value={parsed!r}")
    return offset


def validate_max_results(
    max_results: int | None,
    default: int,
    maximum: int,
    what: str = "max_results",
    *,
    wording: Literal["tracking", "registry"] = "tracking",
) -> int:
    """Check a request's ``max_results`` and return the page size to use.

    Args:
        max_results: the requested page size; ``None`` means ``default``.
        default: the page size when none is given (runs: 1000; registered models: 100).
        maximum: the largest page size allowed (runs and experiments: 50000; registered models: 1000;
            model versions: 200000).
        what: the parameter's name in messages.
        wording: ``"tracking"`` for MLflow's tracking store message ("Invalid value 50001 for parameter
            'max_results' supplied. It must be at most 50000"), ``"registry"`` for its registry store message
            ("Invalid value for request parameter max_results. It must be at most 1000, but got value 1001").

    Returns:
        ``max_results``, or ``default`` when it is ``None``.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` if it is not an integer, is below 1 or is above ``maximum``.
    """
    if max_results is None:
        return default
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        if wording == "registry":
            message = f"Invalid value for {what}. It must be a positive integer, but got {max_results}"
        else:
            message = f"Invalid value {max_results} for parameter '{what}' supplied. It must be a positive integer"
        raise errors.invalid(message)
    if max_results > maximum:
        if wording == "registry":
            message = (
                f"Invalid value for request parameter {what}. It must be at most {maximum}, but got value {max_results}"
            )
        else:
            message = f"Invalid value {max_results} for parameter '{what}' supplied. It must be at most {maximum}"
        raise errors.invalid(message)
    return max_results
