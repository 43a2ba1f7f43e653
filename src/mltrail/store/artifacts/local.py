"""Artifacts on a local (or mounted) file system: plain paths and ``file://`` URIs.

Every path argument is checked twice: lexically by :func:`validate_relative_path` (absolute paths, ``..``,
backslashes and their URL-encoded forms), and on disk by resolving symlinks, so that a link inside the
root that points outside it can neither be read through, listed, nor written through.

Streamed writes go to a temporary file beside their destination, renamed into place once complete. Multipart
uploads stage their parts outside the artifact tree (``$MLTRAIL_MPU_STAGING``, default ``<tmp>/mltrail-mpu``),
keyed by an unguessable upload id, and are joined on completion; the staging folder is shared by the worker
processes of one host (replicas on several hosts need object storage, or a shared staging folder).

Several processes (workers, replicas on a shared folder, clients writing straight to it) may use one root at once:
copies are renamed into place too, files still being written (:data:`TEMP_PREFIX`) are left out of listings, and
deleting what another process is deleting at the same time is not an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

from mltrail import errors
from mltrail.entities import FileInfo
from mltrail.store.artifacts.base import (
    READ_CHUNK,
    ArtifactRepository,
    ArtifactStream,
    read_chunks,
    validate_relative_path,
)

MPU_STAGING_ENV = "MLTRAIL_MPU_STAGING"
#: The name prefix of a file being written, until it is renamed into place whole.
TEMP_PREFIX = ".upload-"
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_COPY_CHUNK = 4 * 1024 * 1024
_MAX_PART_NUMBER = 10_000


def staging_root() -> str:
    """Where multipart parts wait for completion (shared by all worker processes of one host)."""
    return os.environ.get(MPU_STAGING_ENV) or os.path.join(tempfile.gettempdir(), "mltrail-mpu")


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


def _gone_is_fine(function: Any, path: str, exc_info: Any) -> None:
    """``shutil.rmtree``'s error handler: what another process deleted meanwhile is not an error."""
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


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
        # Under a temporary name, then renamed: readers see the file whole or not at all (and a link at ``dest`` is
        # replaced itself, never written through).
        fd, tmp_path = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=parent)
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as source:
                shutil.copyfileobj(source, out, _COPY_CHUNK)
            os.replace(tmp_path, dest)
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)

    # ------------------------------------------------------------------------------------------- read
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path``, with root-relative paths and file sizes, sorted by path.

        Returns [] for a file or a missing path. Entries that are symlinks pointing outside the root are left
        out, and so are files still being written (named :data:`TEMP_PREFIX`...).

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
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                if entry.is_symlink() and not _is_within(os.path.realpath(entry.path), real_root):
                    continue
                child = f"{rel}/{entry.name}" if rel else entry.name
                try:
                    if entry.is_dir():
                        infos.append(FileInfo(child, True, None))
                    elif entry.is_file():
                        infos.append(FileInfo(child, False, entry.stat().st_size))
                except FileNotFoundError:  # deleted meanwhile by another process
                    continue
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

    # -------------------------------------------------------------------------------------- streaming
    def stat(self, artifact_path: str) -> FileInfo | None:
        """A file with its size, a directory, or None when nothing is at ``artifact_path``.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        rel, local = self._local(artifact_path)
        if os.path.isdir(local) or not rel:
            return FileInfo(rel, True, None)
        if os.path.isfile(local):
            return FileInfo(rel, False, os.path.getsize(local))
        return None

    def open_read(self, artifact_path: str, chunk_size: int = READ_CHUNK) -> ArtifactStream:
        """Open one file for reading in chunks, in place.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST when there is no such file; INVALID_PARAMETER_VALUE for a
                directory or a path escaping the root.
        """
        rel, local = self._local(artifact_path)
        if os.path.isdir(local):
            raise errors.invalid(f"The path '{rel}' is a directory, not a file")
        try:
            handle = open(local, "rb")  # noqa: SIM115 - closed with the stream
        except (FileNotFoundError, NotADirectoryError):
            raise errors.not_found(f"File {rel} not found") from None
        return ArtifactStream(os.fstat(handle.fileno()).st_size, read_chunks(handle, chunk_size), handle.close)

    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> int:
        """Write ``chunks`` to a temporary file beside ``artifact_path``, renamed into place once complete.

        Returns:
            The number of bytes written.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for the root, a directory, or a path escaping the root.
        """
        rel, dest = self._prepare_destination(artifact_path)
        fd, tmp_path = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=os.path.dirname(dest))
        try:
            size = 0
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            self._place(tmp_path, rel)
            return size
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)

    def _prepare_destination(self, artifact_path: str) -> tuple[str, str]:
        """Check a file destination and create its parent folders: ``(relative path, local path)``."""
        rel, dest = self._local(artifact_path)
        if not rel:
            raise errors.invalid("Invalid path")
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise errors.invalid(f"The path '{rel}' is a directory")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        self._local(rel)  # re-check once the parents exist: a parent created concurrently could be a link
        return rel, dest

    def _place(self, tmp_path: str, rel: str) -> None:
        """Rename a finished temporary file to ``rel`` (replacing a link there, never writing through it)."""
        _, dest = self._local(rel)
        os.replace(tmp_path, dest)

    # -------------------------------------------------------------------------------------- multipart
    def create_multipart_upload(self, artifact_path: str) -> str:
        """Start a multipart upload: a staging folder named by a random 128-bit id.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for the root or a path escaping the root.
        """
        rel, _ = self._local(artifact_path)
        if not rel:
            raise errors.invalid("Invalid path")
        upload_id = uuid.uuid4().hex
        upload_dir = os.path.join(staging_root(), upload_id)
        os.makedirs(upload_dir)
        with open(os.path.join(upload_dir, "destination"), "w", encoding="utf-8") as handle:
            handle.write(rel)
        return upload_id

    def _upload_dir(self, upload_id: str) -> str:
        if not _UPLOAD_ID.match(upload_id or ""):
            raise errors.invalid("Invalid upload_id")
        path = os.path.join(staging_root(), upload_id)
        if not os.path.isdir(path):
            raise errors.not_found(f"Multipart upload {upload_id} does not exist")
        return path

    def upload_part(self, upload_id: str, part_number: int, chunks: Iterable[bytes], size: int | None = None) -> str:
        """Write one part into the upload's staging folder (renamed into place once complete).

        Returns:
            An ETag of the form ``"<part number>-<size>"``.
        """
        upload_dir = self._upload_dir(upload_id)
        if not 1 <= part_number <= _MAX_PART_NUMBER:
            raise errors.invalid("Invalid part number")
        target = os.path.join(upload_dir, f"{part_number:05d}.part")
        fd, tmp_path = tempfile.mkstemp(prefix=".part-", dir=upload_dir)
        try:
            written = 0
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    written += len(chunk)
            os.replace(tmp_path, target)
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
        return f'"{part_number}-{written}"'

    def complete_multipart_upload(self, artifact_path: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        """Join the staged parts in part-number order into ``artifact_path`` (renamed into place once whole)."""
        upload_dir = self._upload_dir(upload_id)
        numbers = sorted({int(number) for number, _ in parts})
        if not numbers:
            raise errors.invalid("No parts given to complete the upload")
        rel = validate_relative_path(artifact_path)
        marker = os.path.join(upload_dir, "destination")
        if os.path.exists(marker):
            with open(marker, encoding="utf-8") as handle:
                if handle.read() != rel:
                    raise errors.invalid("The upload_id belongs to another path")
        rel, dest = self._prepare_destination(rel)
        fd, tmp_path = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=os.path.dirname(dest))
        try:
            with os.fdopen(fd, "wb") as out:
                for number in numbers:
                    part = os.path.join(upload_dir, f"{number:05d}.part")
                    if not os.path.exists(part):
                        raise errors.invalid(f"Part {number} was never uploaded")
                    with open(part, "rb") as source:
                        shutil.copyfileobj(source, out, _COPY_CHUNK)
            self._place(tmp_path, rel)
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
        shutil.rmtree(upload_dir, ignore_errors=True)

    def abort_multipart_upload(self, artifact_path: str | None, upload_id: str) -> None:
        """Drop the upload's staging folder."""
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

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
            shutil.rmtree(local, onerror=_gone_is_fine)
        elif os.path.lexists(local):
            with contextlib.suppress(FileNotFoundError):  # deleted meanwhile by another process
                os.remove(local)
