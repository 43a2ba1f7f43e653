"""The artifact repository interface: files under one root URI.

Besides copying whole files in and out (what clients need), a repository streams (what a server proxying
artifacts needs, without temporary copies): :meth:`ArtifactRepository.open_read` yields a file in chunks,
:meth:`~ArtifactRepository.write_stream` stores a stream of chunks that appears only once complete, and the
multipart methods take a file in numbered parts that may arrive in any order, from any server replica. The base
class implements all of them through temporary files, so a plugin that only implements the abstract methods
still works behind the proxy; local disk and S3 implement them natively.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence

from mltrail import errors
from mltrail.entities import FileInfo
from mltrail.errors import MltrailError

#: The chunk size of :meth:`ArtifactRepository.open_read` streams.
READ_CHUNK = 1024 * 1024
#: MLflow's client (``_UnsupportedMultipartUploadException.MESSAGE``) falls back to one PUT on this message.
MULTIPART_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"


class ArtifactStream:
    """An artifact file open for reading: its size and its content in chunks.

    Iterate it once; call :meth:`close` when done, also when not read to the end (it releases the file or the
    connection).

    Args:
        size: the file's size in bytes.
        chunks: the content.
        on_close: called once by :meth:`close`, after the chunk iterator is closed.
    """

    def __init__(self, size: int, chunks: Iterator[bytes], on_close: Callable[[], None] | None = None) -> None:
        self.size = size
        self._chunks = chunks
        self._on_close = on_close
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        """Release what the stream holds (idempotent)."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._chunks, "close", None)
        try:
            if callable(close):
                close()
        finally:
            if self._on_close is not None:
                self._on_close()

    def __enter__(self) -> ArtifactStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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

    # ------------------------------------------------------------------------------------------ streaming
    def stat(self, artifact_path: str) -> FileInfo | None:
        """What ``artifact_path`` is: a file (with its size), a directory, or None when nothing is there.

        The root ("") is always a directory. This default lists the parent; implementations answer directly.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE "Invalid path" for a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            return FileInfo("", True, None)
        parent = posixpath.dirname(rel)
        for info in self.list_artifacts(parent or None):
            if info.path == rel:
                return info
        return None

    def open_read(self, artifact_path: str, chunk_size: int = READ_CHUNK) -> ArtifactStream:
        """Open one file for reading in chunks of about ``chunk_size`` bytes.

        This default downloads the file to a temporary folder first (removed on close).

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST when there is no such file; INVALID_PARAMETER_VALUE for a
                directory or a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        info = self.stat(rel)
        if info is None:
            raise errors.not_found(f"File {rel} not found")
        if info.is_dir:
            raise errors.invalid(f"The path '{rel}' is a directory, not a file")
        tmp_dir = tempfile.mkdtemp(prefix="mltrail-read-")
        try:
            local = os.path.join(tmp_dir, "file")
            self._download_file(rel, local)
            handle = open(local, "rb")  # noqa: SIM115 - closed with the stream
        except BaseException:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise

        def cleanup() -> None:
            handle.close()
            shutil.rmtree(tmp_dir, ignore_errors=True)

        return ArtifactStream(os.fstat(handle.fileno()).st_size, read_chunks(handle, chunk_size), cleanup)

    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> int:
        """Store the bytes of ``chunks`` as the file ``artifact_path``, replacing any file there.

        The file appears only once complete: a stream that fails half-way (the iterator raises) leaves the
        previous state. This default spools to a temporary file, then calls :meth:`log_artifact`.

        Returns:
            The number of bytes stored.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for the root or a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            raise errors.invalid("Invalid path")
        tmp_dir = tempfile.mkdtemp(prefix="mltrail-write-")
        try:
            local = os.path.join(tmp_dir, posixpath.basename(rel))
            size = 0
            with open(local, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            self.log_artifact(local, posixpath.dirname(rel) or None)
            return size
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ multipart
    def create_multipart_upload(self, artifact_path: str) -> str:
        """Start a multipart upload of the file ``artifact_path``.

        Returns:
            The upload id: an opaque, URL-safe and unguessable token that names the upload to
            :meth:`upload_part`, :meth:`complete_multipart_upload` and :meth:`abort_multipart_upload` (on any
            server replica: implementations keep no state in the process).

        Raises:
            MltrailError: NOT_IMPLEMENTED (:data:`MULTIPART_UNSUPPORTED`) where the storage has no multipart
                uploads; INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        raise MltrailError(MULTIPART_UNSUPPORTED, errors.NOT_IMPLEMENTED)

    def upload_part(self, upload_id: str, part_number: int, chunks: Iterable[bytes], size: int | None = None) -> str:
        """Store part ``part_number`` (1-based) of an upload; uploading a number again replaces that part.

        Args:
            upload_id: from :meth:`create_multipart_upload`.
            part_number: 1 to 10,000.
            chunks: the part's bytes.
            size: the part's size when known in advance (lets object stores stream the part through).

        Returns:
            The part's ETag, to pass back to :meth:`complete_multipart_upload`.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a malformed upload id; RESOURCE_DOES_NOT_EXIST for an
                upload that does not exist (completed, aborted, never started).
        """
        raise MltrailError(MULTIPART_UNSUPPORTED, errors.NOT_IMPLEMENTED)

    def complete_multipart_upload(self, artifact_path: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        """Join the parts, in part-number order, into the file ``artifact_path`` (which appears only now).

        Args:
            artifact_path: the path the upload was created for.
            upload_id: from :meth:`create_multipart_upload`.
            parts: ``(part_number, etag)`` pairs; an empty ETag is looked up.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a part never uploaded, parts too small for the storage,
                or an upload id of another path; RESOURCE_DOES_NOT_EXIST for an unknown upload.
        """
        raise MltrailError(MULTIPART_UNSUPPORTED, errors.NOT_IMPLEMENTED)

    def abort_multipart_upload(self, artifact_path: str | None, upload_id: str) -> None:
        """Drop an upload and its parts.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST for an unknown upload.
        """
        raise MltrailError(MULTIPART_UNSUPPORTED, errors.NOT_IMPLEMENTED)

    def presigned_url(
        self, artifact_path: str, expires_in: int = 900, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        """A time-limited URL that downloads the file straight from the storage, or None where there is none.

        Args:
            artifact_path: a file under the root.
            expires_in: validity in seconds.
            filename: the download's file name (``Content-Disposition: attachment``), when the storage can set it.
            content_type: the response's ``Content-Type``, when the storage can set it.
        """
        return None

    def local_path(self, artifact_path: str | None = None) -> str | None:
        """The local filesystem path of ``artifact_path`` when this repository lives on local disk, else None."""
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


def read_chunks(handle: object, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """Read a binary file object to the end in chunks."""
    read = handle.read  # type: ignore[attr-defined]
    while chunk := read(chunk_size):
        yield chunk


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
