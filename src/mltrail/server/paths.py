"""The one check every artifact path taken from a request goes through.

:func:`~mltrail.store.artifacts.base.validate_relative_path` refuses what escapes a root (absolute paths, ``..``,
backslashes, NUL, and their percent-encoded forms). A request path must also not name a scheme
(``file:///etc``, ``http://host/x``: MLflow answers 400 "Invalid path", and a path is never a URI here), nor a
fragment, and a route that writes or deletes must not name the root itself (``DELETE .../artifacts/.`` would
otherwise empty every run's artifacts).
"""

from __future__ import annotations

from urllib.parse import unquote

from mltrail import errors
from mltrail.store.artifacts.base import validate_relative_path
from mltrail.store.uris import get_uri_scheme


def artifact_request_path(path: str | None, *, allow_root: bool = True) -> str:
    """Normalise a root-relative artifact path from a request, refusing anything that is not a plain path.

    Args:
        path: the path as the request gave it (``None`` or "" for the root).
        allow_root: whether the root itself may be named (listings: yes; uploads and deletes: no).

    Returns:
        The normalised relative path ("" for the root).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE "Invalid path".
    """
    if path:
        decoded = path
        for _ in range(3):
            decoded = unquote(decoded)
        if "#" in decoded or get_uri_scheme(decoded.lstrip("/")):
            raise errors.invalid("Invalid path")
    relative = validate_relative_path(path)
    if not relative and not allow_root:
        raise errors.invalid("Invalid path: the artifact root cannot be written or deleted")
    return relative
