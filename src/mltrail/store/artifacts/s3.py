"""Artifacts in S3-compatible object storage: ``s3://bucket/prefix`` (AWS S3, MinIO, Ceph RGW, Cloudflare R2, ...).

Configuration comes from the environment (read when a repository is created), with MLflow's names as fallbacks
so that one environment serves both tools:

- ``MLTRAIL_S3_ENDPOINT_URL`` (``MLFLOW_S3_ENDPOINT_URL``): the S3 API endpoint (MinIO, Ceph, R2); none for AWS;
- ``MLTRAIL_S3_REGION`` (``AWS_DEFAULT_REGION``, ``AWS_REGION``): the signing region;
- ``MLTRAIL_S3_ADDRESSING_STYLE``: ``path`` (``endpoint/bucket/key``, what MinIO and Ceph want), ``virtual``
  (``bucket.endpoint/key``) or ``auto``;
- ``MLTRAIL_S3_IGNORE_TLS`` (``MLFLOW_S3_IGNORE_TLS``): ``true`` to skip certificate checks (self-signed stores);
- ``MLTRAIL_S3_UPLOAD_EXTRA_ARGS`` (``MLFLOW_S3_UPLOAD_EXTRA_ARGS``): a JSON object of extra upload arguments,
  such as ``{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "..."}``;
- ``MLTRAIL_S3_PRESIGN_ENDPOINT_URL``: the endpoint written into presigned URLs, when browsers reach the store
  under another name than the server does (``http://minio:9000`` inside, ``https://s3.example.com`` outside).

Credentials are boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, instance and container roles). boto3 is imported on first use (the ``s3`` extra installs it).

One boto3 client is shared per configuration (clients are thread-safe; creating one costs tens of
milliseconds). Files are uploaded and downloaded with boto3's transfer manager (multipart, parallel parts, many
files at once); streams (the server's proxy) go up as a multipart upload fed part by part with a few parts in
flight (each sent from the received chunks, never joined), so memory stays bounded by about
``part_size * (parts_in_flight + 2)`` whatever the file's size, and an object appears only once complete (S3's
semantics). Multipart upload ids handed to clients carry the object key with
S3's upload id, so any server replica can serve any part.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import json
import os
import posixpath
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mltrail import errors
from mltrail.entities import FileInfo
from mltrail.errors import MltrailError
from mltrail.store.artifacts.base import READ_CHUNK, ArtifactRepository, ArtifactStream, validate_relative_path

#: A boto3 S3 client (boto3 is imported lazily, so it is typed loosely).
S3Client = Any

ENDPOINT_ENV = ("MLTRAIL_S3_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL")
REGION_ENV = ("MLTRAIL_S3_REGION", "AWS_DEFAULT_REGION", "AWS_REGION")
ADDRESSING_STYLE_ENV = "MLTRAIL_S3_ADDRESSING_STYLE"
IGNORE_TLS_ENV = ("MLTRAIL_S3_IGNORE_TLS", "MLFLOW_S3_IGNORE_TLS")
UPLOAD_EXTRA_ARGS_ENV = ("MLTRAIL_S3_UPLOAD_EXTRA_ARGS", "MLFLOW_S3_UPLOAD_EXTRA_ARGS")
PRESIGN_ENDPOINT_ENV = "MLTRAIL_S3_PRESIGN_ENDPOINT_URL"
_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
_ADDRESSING_STYLES = ("path", "virtual", "auto")
_TRUE = ("1", "true", "yes", "on")

MiB = 1024 * 1024
#: Files at least this large are uploaded and downloaded in parallel parts of this size.
TRANSFER_PART_SIZE = 8 * MiB
TRANSFER_CONCURRENCY = 8
#: S3's smallest part (every part but the last) and most parts of one upload.
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
#: A part of unknown size (no Content-Length) is buffered in memory up to this size.
MAX_BUFFERED_PART = 64 * MiB
#: The extra arguments that apply to each part of an upload too (customer-provided encryption keys).
_PART_ARGS = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5", "RequestPayer", "ExpectedBucketOwner")
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_UPLOAD_TOKEN_PREFIX = "s3."


def _first_env(names: Sequence[str], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name)
        if value:
            return value
    return None


@dataclass(frozen=True)
class S3Config:
    """How to reach the object store; equal configurations share one boto3 client.

    Args:
        endpoint_url: the S3 API endpoint (None: AWS, or boto3's own ``AWS_ENDPOINT_URL_S3``).
        region: the signing region (None: boto3's default).
        addressing_style: ``path``, ``virtual`` or ``auto`` (None: boto3's default).
        verify_tls: whether TLS certificates are checked.
        upload_extra_args: JSON object of extra arguments for uploads (``ServerSideEncryption``, ``ACL``, ...).
        presign_endpoint_url: the endpoint written into presigned URLs (default: ``endpoint_url``).
        credentials: a fingerprint of the credential variables, so that changing them makes a new client.
    """

    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str | None = None
    verify_tls: bool = True
    upload_extra_args: str = "{}"
    presign_endpoint_url: str | None = None
    credentials: tuple[str | None, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Config:
        """The configuration that the environment describes (see the module's list).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for an unknown addressing style or extra arguments that are not
                a JSON object.
        """
        env = os.environ if environ is None else environ
        style = (env.get(ADDRESSING_STYLE_ENV) or "").strip().lower() or None
        if style is not None and style not in _ADDRESSING_STYLES:
            raise errors.invalid(
                f"{ADDRESSING_STYLE_ENV} must be one of {', '.join(_ADDRESSING_STYLES)}, not {style!r}"
            )
        extra = _first_env(UPLOAD_EXTRA_ARGS_ENV, env) or "{}"
        try:
            parsed = json.loads(extra)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise errors.invalid(
                f"{UPLOAD_EXTRA_ARGS_ENV[0]} must be a JSON object, such as "
                '{"ServerSideEncryption": "AES256"}; got ' + repr(extra)
            )
        ignore_tls = (_first_env(IGNORE_TLS_ENV, env) or "").strip().lower() in _TRUE
        return cls(
            endpoint_url=_first_env(ENDPOINT_ENV, env),
            region=_first_env(REGION_ENV, env),
            addressing_style=style,
            verify_tls=not ignore_tls,
            upload_extra_args=json.dumps(parsed, sort_keys=True),
            presign_endpoint_url=env.get(PRESIGN_ENDPOINT_ENV) or None,
            credentials=tuple(env.get(name) for name in _CREDENTIAL_ENV),
        )

    @property
    def extra_args(self) -> dict[str, Any]:
        """The upload extra arguments as a dict (a new one each time)."""
        return dict(json.loads(self.upload_extra_args))


_clients: dict[tuple[S3Config, str], S3Client] = {}
_clients_lock = threading.Lock()


def s3_client(config: S3Config, kind: str = "default") -> S3Client:
    """The shared boto3 S3 client for ``config``.

    Args:
        config: the store's configuration.
        kind: ``default``; ``stream`` (for bodies that cannot be rewound: unsigned payload, checksums only
            where S3 requires them); ``presign`` (the presign endpoint).

    Raises:
        MltrailError: when boto3 is not installed (``pip install 'mltrail[s3]'``).
    """
    key = (config, kind)
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:  # boto3 sessions are not thread-safe to create
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _new_client(config, kind)
        return client


def _new_client(config: S3Config, kind: str) -> S3Client:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - the s3 extra is installed in tests
        raise MltrailError(
            f"s3:// artifacts need boto3: pip install 'mltrail[s3]' ({exc})", errors.INVALID_PARAMETER_VALUE
        ) from None
    s3_options: dict[str, Any] = {}
    if config.addressing_style:
        s3_options["addressing_style"] = config.addressing_style
    options: dict[str, Any] = {
        "signature_version": "s3v4",
        "retries": {"max_attempts": 5, "mode": "standard"},
        "max_pool_connections": 64,
        "connect_timeout": 10,
        "read_timeout": 120,
    }
    if kind == "stream":
        # A request body read straight from a client's upload cannot be read twice: no payload hash in the
        # signature and no checksum computed ahead of sending (both would need the whole part first).
        s3_options["payload_signing_enabled"] = False
        options["request_checksum_calculation"] = "when_required"
    options["s3"] = s3_options
    endpoint = (config.presign_endpoint_url or config.endpoint_url) if kind == "presign" else config.endpoint_url
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint,
        region_name=config.region,
        verify=config.verify_tls,
        config=Config(**options),
    )


def clear_client_cache() -> None:
    """Forget the shared clients (tests that change credentials or endpoints)."""
    with _clients_lock:
        _clients.clear()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a URI that is not ``s3://bucket[/prefix]`` or whose prefix
            would escape (``..``).
    """
    scheme, sep, rest = uri.partition("://")
    if scheme.lower() != "s3" or not sep:
        raise errors.invalid(f"Not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    bucket, _, prefix = rest.partition("/")
    if not bucket or "?" in rest or "#" in rest:
        raise errors.invalid(f"Invalid S3 URI {uri!r}: expected s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, validate_relative_path(prefix) if prefix else ""


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class _BodyReader:
    """A file-like view of a chunk iterator of known length, for boto3 to stream as a request body.

    Reading past the announced size, or the iterator ending before it, is an error: S3 would otherwise store a
    truncated part.
    """

    def __init__(self, chunks: Iterable[bytes], size: int) -> None:
        self._chunks = iter(chunks)
        self._left = size
        self._buffer = memoryview(b"")

    def read(self, size: int | None = -1) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        pieces: list[bytes] = []
        have = 0
        while have < want:
            if not self._buffer:
                self._buffer = memoryview(next(self._chunks, b""))
                if not self._buffer:
                    raise errors.invalid("The part ended before its Content-Length")
            take = self._buffer[: want - have]
            self._buffer = self._buffer[len(take) :]
            pieces.append(take.tobytes())
            have += len(take)
        self._left -= have
        if self._left == 0 and (self._buffer or next(self._chunks, b"")):
            raise errors.invalid("The part is longer than its Content-Length")
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class S3ArtifactRepository(ArtifactRepository):
    """Files under ``s3://bucket/prefix``: object keys are ``prefix/<relative path>``.

    Directories are key prefixes: they exist while a file is under them (S3 keeps no empty folders, so
    :meth:`log_artifacts` does not copy empty local directories).

    Args:
        artifact_uri: ``s3://bucket`` or ``s3://bucket/prefix``.
        config: how to reach the store (default: :meth:`S3Config.from_env`).

    Attributes:
        list_page_size: keys per listing request (S3's maximum, 1000; tests lower it to exercise pagination).
        part_size: part size of streamed uploads (:meth:`write_stream`).
        parts_in_flight: parts of one streamed upload sent at once.
    """

    list_page_size = 1000
    part_size = TRANSFER_PART_SIZE
    parts_in_flight = 3

    def __init__(self, artifact_uri: str, config: S3Config | None = None) -> None:
        super().__init__(artifact_uri)
        self.bucket, self.prefix = parse_s3_uri(artifact_uri)
        self.config = config or S3Config.from_env()
        self.config.extra_args  # noqa: B018 - fail early on bad JSON

    # ------------------------------------------------------------------------------------------ helpers
    @property
    def client(self) -> S3Client:
        """The shared boto3 client of this repository's configuration."""
        return s3_client(self.config)

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix and rel else (self.prefix or rel)

    def _dir_prefix(self, rel: str) -> str:
        """The key prefix of everything under the directory ``rel`` ("" for the whole bucket)."""
        key = self._key(rel)
        return f"{key}/" if key else ""

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=TRANSFER_PART_SIZE,
            multipart_chunksize=TRANSFER_PART_SIZE,
            max_concurrency=TRANSFER_CONCURRENCY,
            use_threads=True,
        )

    def _translate(self, exc: Exception, what: str) -> Exception:
        """A boto3 error as an MltrailError (missing things as RESOURCE_DOES_NOT_EXIST)."""
        if isinstance(exc, MltrailError):
            return exc
        if type(exc).__name__ == "UnseekableStreamError":  # S3 failed (5xx) a part that was streamed through
            return MltrailError(
                f"Object storage failed on {what} and the server cannot resend a streamed body; retry the request",
                errors.TEMPORARILY_UNAVAILABLE,
            )
        code = _error_code(exc)
        if code in _NOT_FOUND_CODES:
            if code == "NoSuchBucket":
                return errors.not_found(f"S3 bucket {self.bucket!r} does not exist")
            return errors.not_found(f"{what} not found")
        if code == "NoSuchUpload":
            return errors.not_found("Multipart upload does not exist (completed, aborted or never started)")
        if code in ("EntityTooSmall", "InvalidPart", "InvalidPartOrder", "MalformedXML"):
            return errors.invalid(
                f"S3 refused the multipart upload ({code}): every part but the last must be at "
                f"least {MIN_PART_SIZE // MiB} MiB, and each part must have been uploaded"
            )
        if code in ("AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return MltrailError(
                f"S3 refused access to s3://{self.bucket}/{self.prefix} ({code})", errors.PERMISSION_DENIED
            )
        if code:
            return MltrailError(f"S3 error {code} on {what}: {exc}", errors.INTERNAL_ERROR)
        return MltrailError(f"Object storage failure on {what}: {exc}", errors.INTERNAL_ERROR)

    def _call(self, what: str, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:
            raise self._translate(exc, what) from exc

    # -------------------------------------------------------------------------------------------- write
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Upload one file into ``artifact_path`` (in parallel parts when large).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root; RESOURCE_DOES_NOT_EXIST when
                ``local_file`` is not a file.
        """
        if not os.path.isfile(local_file):
            raise errors.not_found(f"No such file: {local_file!r}")
        rel = validate_relative_path(artifact_path)
        name = os.path.basename(local_file)
        self._upload_files([(local_file, self._key(posixpath.join(rel, name) if rel else name))])

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Upload a directory tree, many files at once (empty directories are not kept: S3 has none).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root; RESOURCE_DOES_NOT_EXIST when
                ``local_dir`` is not a directory.
        """
        if not os.path.isdir(local_dir):
            raise errors.not_found(f"No such directory: {local_dir!r}")
        rel = validate_relative_path(artifact_path)
        jobs: list[tuple[str, str]] = []
        for dirpath, _dirs, files in os.walk(local_dir):
            sub = os.path.relpath(dirpath, local_dir)
            sub_rel = "" if sub == "." else sub.replace(os.sep, "/")
            for name in files:
                target = "/".join(p for p in (rel, sub_rel, name) if p)
                jobs.append((os.path.join(dirpath, name), self._key(validate_relative_path(target))))
        self._upload_files(jobs)

    def _upload_files(self, jobs: list[tuple[str, str]]) -> None:
        if not jobs:
            return
        from boto3.s3.transfer import create_transfer_manager

        extra = self.config.extra_args
        try:
            with create_transfer_manager(self.client, self._transfer_config()) as manager:
                futures = [manager.upload(path, self.bucket, key, extra_args=extra) for path, key in jobs]
                for future in futures:
                    future.result()
        except Exception as exc:
            raise self._translate(exc, "upload") from exc

    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> int:
        """Store a stream as one object: a multipart upload fed part by part, a few parts in flight.

        Small streams (under one part) are a single PUT. The object appears only when complete; a stream that
        fails aborts its upload.

        Returns:
            The number of bytes stored.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for the root or a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            raise errors.invalid("Invalid path")
        return _StreamUpload(self, self._key(rel)).run(chunks)

    # --------------------------------------------------------------------------------------------- read
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` (paginated listing with ``Delimiter="/"``), sorted by path.

        Returns [] for a file or a missing path.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        rel = validate_relative_path(path)
        prefix = self._dir_prefix(rel)
        infos: dict[tuple[str, bool], FileInfo] = {}
        for page in self._pages(prefix, delimiter="/"):
            for common in page.get("CommonPrefixes") or ():
                name = common["Prefix"][len(prefix) :].rstrip("/")
                if name and "/" not in name:
                    child = f"{rel}/{name}" if rel else name
                    infos[(child, True)] = FileInfo(child, True, None)
            for obj in page.get("Contents") or ():
                name = obj["Key"][len(prefix) :]
                if name and "/" not in name:  # "" is a folder marker ("dir/") that some tools create
                    child = f"{rel}/{name}" if rel else name
                    infos[(child, False)] = FileInfo(child, False, int(obj.get("Size", 0)))
        return sorted(infos.values(), key=lambda info: (info.path, info.is_dir))

    def _pages(self, prefix: str, delimiter: str | None = None) -> Iterator[dict[str, Any]]:
        """The pages of ``list_objects_v2`` under ``prefix``, following continuation tokens."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self.list_page_size}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        while True:
            page = self._call(f"s3://{self.bucket}/{prefix}", self.client.list_objects_v2, **kwargs)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def _keys_under(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Every ``(key, size)`` under ``prefix``, recursively."""
        for page in self._pages(prefix):
            for obj in page.get("Contents") or ():
                yield obj["Key"], int(obj.get("Size", 0))

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._translate(exc, f"s3://{self.bucket}/{key}") from exc

    def _is_dir(self, rel: str) -> bool:
        page = self._call(
            "listing",
            self.client.list_objects_v2,
            Bucket=self.bucket,
            Prefix=self._dir_prefix(rel),
            MaxKeys=1,
        )
        return bool(page.get("Contents") or page.get("CommonPrefixes"))

    def stat(self, artifact_path: str) -> FileInfo | None:
        """A file with its size (HEAD), a directory (a key under it), or None.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            return FileInfo("", True, None)
        head = self._head(self._key(rel))
        if head is not None:
            return FileInfo(rel, False, int(head.get("ContentLength", 0)))
        return FileInfo(rel, True, None) if self._is_dir(rel) else None

    def open_read(self, artifact_path: str, chunk_size: int = READ_CHUNK) -> ArtifactStream:
        """One GET, read in chunks as the caller iterates (memory bounded by ``chunk_size``).

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST when there is no such file; INVALID_PARAMETER_VALUE for a
                directory or a path escaping the root.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            raise errors.invalid("The path '' is a directory, not a file")
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(rel))
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                if self._is_dir(rel):
                    raise errors.invalid(f"The path '{rel}' is a directory, not a file") from None
                raise errors.not_found(f"File {rel} not found") from None
            raise self._translate(exc, rel) from exc
        body = response["Body"]
        return ArtifactStream(int(response.get("ContentLength", 0)), body.iter_chunks(chunk_size), body.close)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        """Download one file (in parallel ranges when large).

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST when there is no such file.
        """
        rel = validate_relative_path(remote_file_path)
        self._download_keys([(self._key(rel), local_path)], rel)

    def _download_keys(self, jobs: list[tuple[str, str]], what: str) -> None:
        from boto3.s3.transfer import create_transfer_manager

        try:
            with create_transfer_manager(self.client, self._transfer_config()) as manager:
                futures = [manager.download(self.bucket, key, local) for key, local in jobs]
                for future in futures:
                    future.result()
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise errors.not_found(f"No such artifact: {what!r}") from exc
            raise self._translate(exc, what) from exc

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        """Download a file or a directory tree (every file of a tree at once) to ``dst_path``.

        Returns:
            The local path of the downloaded file or directory.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST for a missing path; INVALID_PARAMETER_VALUE for a path
                escaping the root.
        """
        import tempfile

        rel = validate_relative_path(artifact_path)
        dst_root = os.path.abspath(dst_path) if dst_path else tempfile.mkdtemp(prefix="mltrail-download-")
        local = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
        if rel and self._head(self._key(rel)) is not None:
            os.makedirs(os.path.dirname(local), exist_ok=True)
            self._download_keys([(self._key(rel), local)], rel)
            return local
        prefix = self._dir_prefix(rel)
        jobs: list[tuple[str, str]] = []
        for key, _size in self._keys_under(prefix):
            sub = key[len(prefix) :]
            if not sub or sub.endswith("/"):
                continue  # folder markers
            try:
                sub = validate_relative_path(sub)
            except MltrailError:
                continue  # a key no local path can hold safely ("a/../b" written by another tool)
            target = os.path.join(local, *sub.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            jobs.append((key, target))
        if not jobs and rel:
            raise errors.not_found(f"No such artifact: {artifact_path!r}")
        os.makedirs(local, exist_ok=True)
        self._download_keys(jobs, rel)
        return local

    # ------------------------------------------------------------------------------------------- delete
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file and everything under the same path as a directory (the whole root when None).

        Keys are listed page by page and deleted 1000 at a time. Missing paths are not an error.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a path escaping the root; INTERNAL_ERROR when S3 refuses
                to delete some keys.
        """
        rel = validate_relative_path(artifact_path)
        batch: list[str] = [self._key(rel)] if rel else []
        for key, _size in self._keys_under(self._dir_prefix(rel)):
            batch.append(key)
            if len(batch) == 1000:
                self._delete_keys(batch)
                batch = []
        if batch:
            self._delete_keys(batch)

    def _delete_keys(self, keys: list[str]) -> None:
        response = self._call(
            "delete",
            self.client.delete_objects,
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        failed = [e for e in response.get("Errors") or () if e.get("Code") not in ("NoSuchKey",)]
        if failed:
            first = failed[0]
            raise MltrailError(
                f"S3 did not delete {len(failed)} object(s), e.g. {first.get('Key')!r}: {first.get('Code')} "
                f"{first.get('Message', '')}".rstrip(),
                errors.INTERNAL_ERROR,
            )

    # ---------------------------------------------------------------------------------------- multipart
    def _encode_upload(self, key: str, upload_id: str) -> str:
        raw = json.dumps([key, upload_id], separators=(",", ":")).encode()
        return _UPLOAD_TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode_upload(self, token: str) -> tuple[str, str]:
        """``(key, S3 upload id)`` of an upload token, checked to name a key under this repository's root.

        The token needs no signature: S3 accepts a part only for the (key, upload id) pair it created, and its
        upload ids are unguessable.
        """
        try:
            if not token.startswith(_UPLOAD_TOKEN_PREFIX):
                raise ValueError(token)
            data = token[len(_UPLOAD_TOKEN_PREFIX) :]
            key, upload_id = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
            if not isinstance(key, str) or not isinstance(upload_id, str) or not upload_id:
                raise ValueError(token)
        except (ValueError, TypeError):
            raise errors.invalid("Invalid upload_id") from None
        root = self._dir_prefix("")
        if not key.startswith(root) or not key[len(root) :]:
            raise errors.invalid("Invalid upload_id")
        validate_relative_path(key[len(root) :])
        return key, upload_id

    def create_multipart_upload(self, artifact_path: str) -> str:
        """Start an S3 multipart upload of ``artifact_path``.

        Returns:
            A token carrying the key and S3's upload id (URL-safe), so any replica can serve the parts.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            raise errors.invalid("Invalid path")
        key = self._key(rel)
        created = self._call(
            rel, self.client.create_multipart_upload, Bucket=self.bucket, Key=key, **self.config.extra_args
        )
        return self._encode_upload(key, created["UploadId"])

    def upload_part(self, upload_id: str, part_number: int, chunks: Iterable[bytes], size: int | None = None) -> str:
        """Send one part straight to S3's UploadPart: streamed through when ``size`` is known, else buffered
        (up to 64 MiB).

        Returns:
            S3's ETag of the part.
        """
        key, s3_upload_id = self._decode_upload(upload_id)
        if not 1 <= part_number <= MAX_PARTS:
            raise errors.invalid("Invalid part number")
        args = {k: v for k, v in self.config.extra_args.items() if k in _PART_ARGS}
        if size is None:
            body = _read_at_most(chunks, MAX_BUFFERED_PART)
            client, length = self.client, len(body)
            payload: Any = body
        else:
            client, length, payload = s3_client(self.config, "stream"), size, _BodyReader(chunks, size)
        response = self._call(
            "part upload",
            client.upload_part,
            Bucket=self.bucket,
            Key=key,
            UploadId=s3_upload_id,
            PartNumber=part_number,
            Body=payload,
            ContentLength=length,
            **args,
        )
        return str(response["ETag"])

    def complete_multipart_upload(self, artifact_path: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        """Complete the S3 upload: the object appears now. Parts without an ETag are looked up (ListParts)."""
        key, s3_upload_id = self._decode_upload(upload_id)
        rel = validate_relative_path(artifact_path)
        if key != self._key(rel):
            raise errors.invalid("The upload_id belongs to another path")
        etags = {int(number): etag for number, etag in parts}
        if not etags:
            raise errors.invalid("No parts given to complete the upload")
        if not all(etags.values()):
            known = self._list_parts(key, s3_upload_id)
            for number in [n for n, etag in etags.items() if not etag]:
                if number not in known:
                    raise errors.invalid(f"Part {number} was never uploaded")
                etags[number] = known[number]
        self._call(
            rel,
            self.client.complete_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            UploadId=s3_upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]},
        )

    def _list_parts(self, key: str, s3_upload_id: str) -> dict[int, str]:
        found: dict[int, str] = {}
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": s3_upload_id}
        while True:
            page = self._call("part listing", self.client.list_parts, **kwargs)
            found.update({int(p["PartNumber"]): str(p["ETag"]) for p in page.get("Parts") or ()})
            if not page.get("IsTruncated"):
                return found
            kwargs["PartNumberMarker"] = page["NextPartNumberMarker"]

    def abort_multipart_upload(self, artifact_path: str | None, upload_id: str) -> None:
        """Abort the S3 upload (S3 drops its parts)."""
        key, s3_upload_id = self._decode_upload(upload_id)
        self._call("abort", self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=s3_upload_id)

    # ----------------------------------------------------------------------------------------- presign
    def presigned_url(
        self, artifact_path: str, expires_in: int = 900, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        """A presigned GET URL of one file, valid ``expires_in`` seconds.

        The response headers S3 sends are set through the URL: ``Content-Disposition: attachment`` with
        ``filename`` and ``Content-Type``, so a browser downloads rather than renders the file.
        """
        rel = validate_relative_path(artifact_path)
        if not rel:
            raise errors.invalid("Invalid path")
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(rel)}
        if filename:
            from urllib.parse import quote

            ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
            params["ResponseContentDisposition"] = (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            )
        if content_type:
            params["ResponseContentType"] = content_type
        client = s3_client(self.config, "presign")
        return self._call(
            rel, client.generate_presigned_url, ClientMethod="get_object", Params=params, ExpiresIn=int(expires_in)
        )


def _read_at_most(chunks: Iterable[bytes], limit: int) -> bytes:
    pieces: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise MltrailError(
                f"A part without Content-Length may be at most {limit // MiB} MiB", errors.INVALID_PARAMETER_VALUE
            )
        pieces.append(chunk)
    return b"".join(pieces)


class _ChunkReader:
    """A seekable, read-only file over a list of byte chunks: a part of a stream sent without joining it into one
    buffer (boto3 reads it to sign and checksum it, rewinds, sends it, and rewinds again to retry)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = [c for c in chunks if c]
        self._starts: list[int] = []
        total = 0
        for chunk in self._chunks:
            self._starts.append(total)
            total += len(chunk)
        self._size = total
        self._pos = 0
        self._index = 0  # the chunk holding self._pos

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, min(self._size, base + offset))
        self._index = max(0, bisect.bisect_right(self._starts, self._pos) - 1)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        pieces: list[bytes] = []
        while self._pos < end:
            chunk, start = self._chunks[self._index], self._starts[self._index]
            offset = self._pos - start
            take = min(len(chunk) - offset, end - self._pos)
            pieces.append(chunk if offset == 0 and take == len(chunk) else chunk[offset : offset + take])
            self._pos += take
            if offset + take == len(chunk):
                self._index += 1
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class _StreamUpload:
    """One streamed upload (:meth:`S3ArtifactRepository.write_stream`): parts cut from the stream, a few in
    flight on worker threads, completed in order; aborted when anything fails.
    """

    def __init__(self, repo: S3ArtifactRepository, key: str) -> None:
        self.repo = repo
        self.key = key
        self.client = repo.client
        self.extra = repo.config.extra_args
        self.part_args = {k: v for k, v in self.extra.items() if k in _PART_ARGS}
        self.upload_id: str | None = None
        self.slots = threading.BoundedSemaphore(max(1, repo.parts_in_flight))
        self.futures: list[Future[dict[str, Any]]] = []

    def run(self, chunks: Iterable[bytes]) -> int:
        part_size = max(MIN_PART_SIZE, self.repo.part_size)
        pieces: list[bytes] = []
        buffered = total = 0
        pool: ThreadPoolExecutor | None = None
        try:
            for chunk in chunks:
                pieces.append(chunk)
                buffered += len(chunk)
                total += len(chunk)
                if buffered >= part_size:  # parts are cut at chunk boundaries (sizes need not match): no copy
                    part = _ChunkReader(pieces)
                    pieces, buffered = [], 0
                    if pool is None:
                        pool = ThreadPoolExecutor(max(1, self.repo.parts_in_flight), thread_name_prefix="s3-part")
                        created = self.client.create_multipart_upload(
                            Bucket=self.repo.bucket, Key=self.key, **self.extra
                        )
                        self.upload_id = created["UploadId"]
                    self._submit(pool, part)
                    del part
            rest = _ChunkReader(pieces)
            pieces = []
            if pool is None:  # smaller than one part: a single PUT
                self.client.put_object(
                    Bucket=self.repo.bucket, Key=self.key, Body=rest, ContentLength=len(rest), **self.extra
                )
                return total
            if rest:
                self._submit(pool, rest)
            del rest
            parts = [future.result() for future in self.futures]
            self.client.complete_multipart_upload(
                Bucket=self.repo.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
            return total
        except BaseException as exc:
            for future in self.futures:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True)
                pool = None
            if self.upload_id is not None:
                # The original failure is what matters; a bucket lifecycle rule removes uploads left behind.
                with contextlib.suppress(Exception):
                    self.client.abort_multipart_upload(Bucket=self.repo.bucket, Key=self.key, UploadId=self.upload_id)
            if isinstance(exc, Exception):
                raise self.repo._translate(exc, "upload") from exc
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _submit(self, pool: ThreadPoolExecutor, data: _ChunkReader) -> None:
        for future in self.futures:  # surface a failed part early
            if future.done() and future.exception() is not None:
                future.result()
        self.slots.acquire()
        number = len(self.futures) + 1
        if number > MAX_PARTS:
            self.slots.release()
            raise errors.invalid(f"The stream is too large for {MAX_PARTS} parts of {self.repo.part_size // MiB} MiB")
        future = pool.submit(self._send, number, data)
        future.add_done_callback(lambda _f: self.slots.release())
        self.futures.append(future)

    def _send(self, number: int, data: _ChunkReader) -> dict[str, Any]:
        response = self.client.upload_part(
            Bucket=self.repo.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
            ContentLength=len(data),
            **self.part_args,
        )
        return {"PartNumber": number, "ETag": response["ETag"]}
