"""Artifacts on a local (or mounted) file system: plain paths and ``file://`` URIs.

Every path argument is checked twice: lexically by :func:`validate_relative_path` (absolute paths, ``..``,
backslashes and their URL-encoded forms), and on disk by resolving symlinks, so that a link inside the
root that points outside it can neither be read through, listed, nor written through.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from urllib.parse import unquote, urlparse

from mltrail import errors
from mltrail.entities import FileInfo
from mltrail.store.artifacts.base import ArtifactRepository, validate_relative_path


def local_path_from_uri(uri: str) -> str:
    """Turn a plain path or a ``file://`` URI into an absolute local path.

    Args:
        uri: ``/abs/path``, ``rel/path``, ``file:///abs/path`` or ``file:/abs/path``.

    Returns:
        The absolute, normalised local path.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a ``file://`` URI naming a remote host.
    """
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise errors.invalid(
                f"File URI {uri!r} names a remote host {parsed.netloc!r}; only local file URIs are supported"
            )
        path = unquote(parsed.path)
    else:
        path = uri
    return os.path.abspath(os.path.expanduser(path))


def _is_within(path: str, root: str) -> bool:
    """Whether the (already resolved) ``path`` is ``root`` or lies below it."""
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts stored as files under a local directory.

    Args:
        artifact_uri: the root, as a local path or a ``file://`` URI. It is created on the first write.
    """

    def __init__(self, artifact_uri: str) -> None:
        super().__init__(artifact_uri)
        self.root = local_path_from_uri(artifact_uri)

    # ------------------------------------------------------------------------------------ path checks
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def _local(self, path: str | None) -> tuple[str, str]:
        """Map a root-relative path to ``(normalised relative path, local path)``.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE "Invalid path" when the path escapes the root, lexically or
                through a symlink.
        """
        rel = validate_relative_path(path)
        local = os.path.join(self.root, *rel.split("/")) if rel else self.root
        if not _is_within(os.path.realpath(local), self._real_root()):
            raise errors.invalid("Invalid path")
        return rel, local

    # ------------------------------------------------------------------------------------------ write
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into ``artifact_path`` (a directory under the root, or the root).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root; RESOURCE_DOES_NOT_EXIST when
                ``local_file`` is not a file.
        """
        if not os.path.isfile(local_file):
            raise errors.not_found(f"No such file: {local_file!r}")
        rel, _ = self._local(artifact_path)
        name = os.path.basename(local_file)
        self._copy_in(local_file, f"{rel}/{name}" if rel else name)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory's contents (recursively) into ``artifact_path``.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root; RESOURCE_DOES_NOT_EXIST when
                ``local_dir`` is not a directory.
        """
        if not os.path.isdir(local_dir):
            raise errors.not_found(f"No such directory: {local_dir!r}")
        rel, dest = self._local(artifact_path)
        os.makedirs(dest, exist_ok=True)
        for dirpath, dirnames, filenames in os.walk(local_dir):
            sub = os.path.relpath(dirpath, local_dir)
            sub_rel = "" if sub == "." else sub.replace(os.sep, "/")
            prefix = "/".join(p for p in (rel, sub_rel) if p)
            for d in dirnames:
                self._mkdir(f"{prefix}/{d}" if prefix else d)
            for f in filenames:
                self._copy_in(os.path.join(dirpath, f), f"{prefix}/{f}" if prefix else f)

    def _mkdir(self, rel_path: str) -> None:
        _, local = self._local(rel_path)
        os.makedirs(local, exist_ok=True)

    def _copy_in(self, src: str, rel_path: str) -> None:
        """Copy ``src`` to ``rel_path`` under the root, re-checking the destination (it may be a symlink)."""
        _, dest = self._local(rel_path)
        parent = os.path.dirname(dest)
        os.makedirs(parent, exist_ok=True)
        # Re-check once the parents exist: a parent created concurrently could be a link.
        self._local(rel_path)
        if os.path.islink(dest):
            os.unlink(dest)  # replace the link itself, never write through it
        shutil.copyfile(src, dest)

    # ------------------------------------------------------------------------------------------- read
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path``, with root-relative paths and file sizes, sorted by path.

        Returns [] for a file or a missing path. Entries that are symlinks pointing outside the root are left
        out.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        rel, local = self._local(path)
        if not os.path.isdir(local):
            return []
        real_root = self._real_root()
        infos: list[FileInfo] = []
        with os.scandir(local) as entries:
            for entry in entries:
                if entry.is_symlink() and not _is_within(os.path.realpath(entry.path), real_root):
                    continue
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir():
                    infos.append(FileInfo(child, True, None))
                elif entry.is_file():
                    infos.append(FileInfo(child, False, entry.stat().st_size))
        return sorted(infos, key=lambda info: info.path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        """Copy one artifact file to ``local_path``.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST when there is no such file; INVALID_PARAMETER_VALUE for a
                path escaping the root.
        """
        _, src = self._local(remote_file_path)
        if not os.path.isfile(src):
            raise errors.not_found(f"No such artifact: {remote_file_path!r}")
        shutil.copyfile(src, local_path)

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        """Download a file or a directory tree to ``dst_path`` (a new temporary directory by default).

        Args:
            artifact_path: root-relative path of a file or directory ("" for everything).
            dst_path: a local directory to download into.

        Returns:
            The local path of the downloaded file or directory.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST for a missing path; INVALID_PARAMETER_VALUE for a path
                escaping the root.
        """
        rel, src = self._local(artifact_path)
        dst_root = os.path.abspath(dst_path) if dst_path else tempfile.mkdtemp(prefix="mltrail-download-")
        local = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(local), exist_ok=True)
            shutil.copyfile(src, local)
            return local
        if not os.path.isdir(src):
            if not rel:  # an empty run has no artifact directory yet
                os.makedirs(local, exist_ok=True)
                return local
            raise errors.not_found(f"No such artifact: {artifact_path!r}")
        os.makedirs(local, exist_ok=True)
        for info in self.list_artifacts(rel or None):
            self.download_artifacts(info.path, dst_root)
        return local

    def local_path(self, artifact_path: str | None = None) -> str | None:
        """The local file system path of ``artifact_path`` (which may not exist yet).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        return self._local(artifact_path)[1]

    # ----------------------------------------------------------------------------------------- delete
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or a directory tree (the whole root when None). Missing paths are not an error.

        A symlink is removed as a link; what it points to is left alone.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        local = os.path.join(self.root, *rel.split("/")) if rel else self.root
        parent_real = os.path.realpath(os.path.dirname(local)) if rel else None
        if parent_real is not None and not _is_within(parent_real, self._real_root()):
            raise errors.invalid("Invalid path")
        if os.path.islink(local) and rel:
            os.unlink(local)
        elif os.path.isdir(local):
            shutil.rmtree(local)
        elif os.path.lexists(local):
            os.remove(local)
