"""Which artifact locations and model sources a server accepts, and which it will open.

One policy, applied when a client stores a location (``experiments/create``'s ``artifact_location``,
``model-versions/create``'s ``source``) and again whenever the server is about to open one (listing or
downloading a run's, a logged model's or a version's files), so a location written to the database by other
means (an import, an older server) cannot make the server read or connect where it should not either.

A location is accepted when it is, after percent-decoding, free of ``..`` segments, backslashes, NUL and
control characters, and one of:

- ``mlflow-artifacts:`` (the server's own artifact proxy, resolved under ``--artifacts-destination``);
- an object store URI whose scheme is in :data:`OBJECT_STORE_SCHEMES` (``s3://``, ``gs://``, ...), with no
  query, fragment or ``;`` parameters: clients write there directly and the server needs credentials for it;
- a local path or ``file:`` URI inside one of the server's local artifact roots (``--artifacts-destination``
  and a local ``--default-artifact-root``);
- a URI under one of the operator's ``--allowed-artifact-uri`` prefixes (for example a shared NFS mount or an
  internal HTTP artifact store).

Everything else is refused, in particular ``http(s)://``, ``ftp://`` and ``sftp://`` URIs (the server never
connects to a host a user typed: SSRF), local paths outside the roots (``/etc``, ``file:///``) and the
CVE-2023-6909 family (``http:///?/../../etc/``, ``#`` and ``;`` tricks).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.store.artifacts.local import local_path_from_uri
from mltrail.store.uris import get_uri_scheme

#: Object stores a location may name without an allow-list entry (the server opens them with its own
#: credentials, never a host from the URI: these schemes address buckets, not hosts).
OBJECT_STORE_SCHEMES = frozenset({"s3", "gs", "wasbs", "abfss", "dbfs"})
PROXY_SCHEME = "mlflow-artifacts"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ALLOW_OPTION = "--allowed-artifact-uri"


def _fully_unquoted(text: str) -> str:
    for _ in range(3):  # defeat double and triple encoding
        text = unquote(text)
    return text


def _local_path(uri: str) -> str:
    """The absolute, symlink-resolved local path of a plain path or ``file:`` URI."""
    return os.path.realpath(local_path_from_uri(uri))


def _is_within(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def _refused(what: str, uri: str, reason: str) -> MltrailError:
    return errors.invalid(
        f"Invalid {what} '{uri}': {reason}. Locations must be under this server's artifact storage "
        f"(mlflow-artifacts:/, its artifact root) or an object store ({', '.join(sorted(OBJECT_STORE_SCHEMES))}); "
        f"an operator can allow more with {ALLOW_OPTION}."
    )


@dataclass(frozen=True)
class ArtifactUriPolicy:
    """The accepted artifact locations of one server.

    Args:
        local_roots: local folders whose contents the server may read and write (made absolute and resolved).
        allowed_prefixes: the operator's extra allowed URI prefixes (``--allowed-artifact-uri``).
    """

    local_roots: tuple[str, ...] = ()
    allowed_prefixes: tuple[str, ...] = ()

    @classmethod
    def for_roots(cls, roots: Iterable[str | None], allowed_prefixes: Iterable[str] = ()) -> ArtifactUriPolicy:
        """A policy whose local roots are those of ``roots`` that are local paths or ``file:`` URIs."""
        local = tuple(
            dict.fromkeys(_local_path(r) for r in roots if r and get_uri_scheme(r) in ("", "file") and "\x00" not in r)
        )
        prefixes = tuple(p if get_uri_scheme(p) else _local_path(p) for p in allowed_prefixes if p)
        return cls(local, prefixes)

    def check(self, uri: str, what: str = "artifact location") -> None:
        """Raise unless ``uri`` is an acceptable location (see the module docstring).

        Args:
            uri: the location or source.
            what: how to name it in the error (``artifact location``, ``model version source``).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE naming the location and the rule it breaks.
        """
        decoded = _fully_unquoted(uri)
        if _CONTROL.search(decoded):
            raise _refused(what, uri.replace("\x00", "\\x00"), "control characters are not allowed")
        if "\\" in decoded or any(part == ".." for part in re.split(r"[/?#;]", decoded)):
            raise _refused(what, uri, "relative path references ('..') are not allowed")
        scheme = get_uri_scheme(uri)
        if self._allow_listed(uri, scheme):
            return
        if scheme == PROXY_SCHEME:
            return
        if scheme in OBJECT_STORE_SCHEMES:
            parts = urlsplit(uri)
            if parts.query or parts.fragment or ";" in uri or not parts.netloc:
                raise _refused(what, uri, "an object store URI names a bucket and a path, nothing else")
            return
        if scheme in ("", "file"):
            if scheme == "file" and urlsplit(uri).netloc not in ("", "localhost"):
                raise _refused(what, uri, "a file URI may not name a host")
            path = _local_path(uri)
            if any(_is_within(path, root) for root in self.local_roots):
                return
            raise _refused(what, uri, "a local path outside the server's artifact root")
        raise _refused(what, uri, f"the server does not open '{scheme}' locations")

    def _allow_listed(self, uri: str, scheme: str) -> bool:
        if not self.allowed_prefixes:
            return False
        if scheme in ("", "file"):
            path = _local_path(uri)
            return any(not get_uri_scheme(p) and _is_within(path, p) for p in self.allowed_prefixes)
        lowered = uri.lower()
        return any(get_uri_scheme(p) and _prefix_matches(lowered, p.lower()) for p in self.allowed_prefixes)


def _prefix_matches(uri: str, prefix: str) -> bool:
    """Whether ``uri`` is ``prefix`` or lies under it (``http://a/x`` allows ``http://a/x/y``, not ``http://a/xy``)."""
    if uri == prefix.rstrip("/"):
        return True
    return uri.startswith(prefix if prefix.endswith("/") else prefix + "/")
