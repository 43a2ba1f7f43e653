"""The artifact repository interface: files under one root URI."""

from __future__ import annotations

import os
import posixpath
import tempfile
from abc import ABC, abstractmethod

from mltrail import errors
from mltrail.entities import FileInfo


class ArtifactRepository(ABC):
    """Files and directories under ``artifact_uri``; every path argument is relative to that root.

    Implementations must reject paths that escape the root (absolute paths, ``..``, encoded forms) with
    INVALID_PARAMETER_VALUE "Invalid path".
    """

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    @abstractmethod
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into ``artifact_path`` (a directory under the root, or the root)."""

    @abstractmethod
    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory's contents into ``artifact_path``."""

    @abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path``, with root-relative paths, sorted by path. [] for a file or nothing."""

    @abstractmethod
    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        """Copy one remote file to ``local_path``."""

    @abstractmethod
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or a directory tree (the whole root when None). Missing paths are not an error."""

    def local_path(self, artifact_path: str | None = None) -> str | None:
        """The local filesystem path of ``artifact_path`` when this repository lives on local disk, else None.

        Servers use it to stream files in place instead of copying them through a temporary file.
        """
        return None

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        """Download a file or directory to ``dst_path`` (a new temporary directory by default).

        Returns:
            The local path of the downloaded file or directory.
        """
        dst_root = dst_path or tempfile.mkdtemp(prefix="mltrail-download-")
        artifact_path = artifact_path.strip("/") if artifact_path else ""
        listing = self.list_artifacts(artifact_path) if artifact_path != "" else None
        is_dir = artifact_path == "" or bool(listing) or self._is_directory(artifact_path)
        local = os.path.join(dst_root, *artifact_path.split("/")) if artifact_path else dst_root
        if not is_dir:
            os.makedirs(os.path.dirname(local), exist_ok=True)
            self._download_file(artifact_path, local)
            return local
        os.makedirs(local, exist_ok=True)
        for info in listing if listing is not None else self.list_artifacts(artifact_path or None):
            self.download_artifacts(info.path, dst_root)
        return local

    def _is_directory(self, artifact_path: str) -> bool:
        """Whether ``artifact_path`` is a directory (an empty one lists as [])."""
        parent = posixpath.dirname(artifact_path)
        return any(f.path == artifact_path and f.is_dir for f in self.list_artifacts(parent or None))


def validate_relative_path(path: str | None) -> str:
    """Normalise a root-relative artifact path, rejecting anything that could escape the root.

    Returns "" for the root. Raises INVALID_PARAMETER_VALUE "Invalid path" for absolute paths, ``..``
    segments, backslashes, NUL bytes and their URL-encoded forms.
    """
    if path is None or path in ("", "."):
        return ""
    from urllib.parse import unquote

    decoded = path
    for _ in range(3):  # defeat double and triple encoding
        decoded = unquote(decoded)
    bad = (
        "\x00" in decoded
        or "\\" in decoded
        or decoded.startswith("/")
        or os.path.isabs(decoded)
        or (len(decoded) > 1 and decoded[1] == ":")
        or any(part == ".." for part in decoded.split("/"))
    )
    if bad:
        raise errors.invalid("Invalid path")
    normalised = posixpath.normpath(path)
    return "" if normalised == "." else normalised
