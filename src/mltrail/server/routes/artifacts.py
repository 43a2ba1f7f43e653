"""The artifact proxy (``/api/2.0/mlflow-artifacts``, §1.4): bodies stream in chunks both ways.

Whatever the storage (local disk, S3, a plugin's), an upload goes to the repository's
:meth:`~mltrail.store.artifacts.base.ArtifactRepository.write_stream` chunk by chunk and appears only once
complete (a broken upload never leaves a half-written artifact), and a download is read from
:meth:`~mltrail.store.artifacts.base.ArtifactRepository.open_read` chunk by chunk, so server memory does not
grow with artifact size. With presigned downloads on (``--artifacts-presigned-downloads``), a GET of a large
file on object storage answers 302 to a short-lived presigned URL instead, and the bytes bypass the server.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.context import ServerContext
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import dumps
from mltrail.server.streams import RequestChunks, response_chunks, run_transfer
from mltrail.store.artifacts.base import ArtifactRepository

CHUNK_SIZE = 1024 * 1024
#: With presigned downloads on, files at least this large are redirected (smaller ones stream: one round trip).
PRESIGN_MIN_BYTES = 1024 * 1024
#: How long a presigned download URL stays valid, in seconds.
PRESIGN_EXPIRES_S = 15 * 60
_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
#: The web UI's upload of one run artifact (``?run_uuid=&path=``, raw body), where MLflow serves it.
UI_UPLOAD_PATH = "/ajax-api/2.0/mlflow/upload-artifact"
#: The largest body :data:`UI_UPLOAD_PATH` takes, as in MLflow (10 MB).
MAX_UI_UPLOAD_BYTES = 10 * 1024 * 1024
_UI_UPLOAD_TOO_LARGE = "Artifact size is too large. Max size is 10MB."
#: Paths whose bodies stream and are exempt from the JSON body limit (the UI's upload has its own).
STREAMING_PREFIXES = (
    *(p + "/artifacts" for p in _PREFIXES),
    *(p + "/mpu" for p in _PREFIXES),
    UI_UPLOAD_PATH,
)

#: Extensions (and extension-less names) sent as ``text/plain``, as MLflow's ``get_text_extensions`` lists them.
TEXT_EXTENSIONS = frozenset(
    {
        *("txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon", "toml"),
        *("yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst", "ipynb"),
        *("MLmodel", "MLproject"),
    }
)
#: The other types sent by name; anything else is ``application/octet-stream`` (never sniffed: ``nosniff``).
_KNOWN_TYPES = {
    "html": "text/html",
    "htm": "text/html",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "ico": "image/vnd.microsoft.icon",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
    "parquet": "application/octet-stream",
    "zip": "application/zip",
    "gz": "application/gzip",
    "mp4": "video/mp4",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
}


def guess_mime_type(path: str) -> str:
    """The Content-Type MLflow sends for an artifact file name.

    Text-like files (MLflow's text extensions, ``MLmodel``, ``MLproject``) are ``text/plain``, HTML is
    ``text/html``, images by type, anything else ``application/octet-stream``. The table is fixed rather than
    read from the system's ``mime.types``, so the answer does not depend on the machine.
    """
    name = posixpath.basename(path)
    stem, dot, extension = name.rpartition(".")
    key = extension if dot and stem else name
    if key in TEXT_EXTENSIONS:
        return "text/plain"
    return _KNOWN_TYPES.get(key.lower(), "application/octet-stream")


def _error(error: MltrailError) -> Response:
    return Response(dumps(error.to_dict()), status_code=error.http_status, media_type="application/json")


def _content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # An artifact opened directly in a browser runs no script and loads nothing (stored XSS via HTML/SVG).
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
}


async def stream_file(repo: ArtifactRepository, path: str, *, presigned: bool = False) -> Response:
    """Stream one artifact file with MLflow's headers; 404 when missing, 400 for a directory.

    Args:
        repo: the repository holding the file.
        path: the file's root-relative path (already validated).
        presigned: answer 302 to a presigned URL for a large file when the repository has them.
    """
    filename = posixpath.basename(path)
    media_type = guess_mime_type(filename)
    if presigned:
        info = await run_transfer(repo.stat, path)
        if info is not None and not info.is_dir and (info.file_size or 0) >= PRESIGN_MIN_BYTES:
            url = await run_transfer(_presign, repo, path, filename, media_type)
            if url:
                return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    stream = await run_transfer(repo.open_read, path, CHUNK_SIZE)
    headers = {
        "Content-Disposition": _content_disposition(filename),
        **_SECURITY_HEADERS,
        "Content-Length": str(stream.size),
    }
    return StreamingResponse(response_chunks(stream), media_type=media_type, headers=headers)


def _presign(repo: ArtifactRepository, path: str, filename: str, media_type: str) -> str | None:
    return repo.presigned_url(path, PRESIGN_EXPIRES_S, filename=filename, content_type=media_type)


async def receive_file(repo: ArtifactRepository, path: str, request: Request) -> None:
    """Store the request body as ``path`` chunk by chunk; the file appears only once complete."""
    if not path:
        raise errors.invalid("Invalid path")
    await run_transfer(repo.write_stream, path, RequestChunks(request))


class _BoundedBody:
    """A request body for a storage call that stops it, with MLflow's 400, once more than ``limit`` bytes came."""

    def __init__(self, chunks: RequestChunks, limit: int) -> None:
        self.chunks = chunks
        self.limit = limit

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self.chunks:
            size += len(chunk)
            if size > self.limit:  # the repository abandons the write: nothing appears
                raise errors.invalid(_UI_UPLOAD_TOO_LARGE)
            yield chunk


async def upload_run_artifact(ctx: ServerContext, request: Request) -> None:
    """``POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=``: store the body as one file of a run.

    MLflow's checks, order and messages (``upload_artifact_handler``): ``run_uuid``, ``path``, a safe path, at
    most 10 MB, a non-empty body, then the run. The body streams into the run's artifact repository as the
    proxy's uploads do (the file appears only once complete). Where MLflow answers 500 (the root, a path ending
    in "/"), this answers 400 "Invalid path".
    """
    run_id = request.query_params.get("run_uuid")
    if not run_id:
        raise errors.invalid("Request must specify run_uuid.")
    raw_path = request.query_params.get("path")
    if not raw_path:
        raise errors.invalid("Request must specify path.")
    if raw_path.endswith("/"):
        raise errors.invalid("Invalid path: an upload names a file, not a folder")
    path = artifact_request_path(raw_path, allow_root=False)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UI_UPLOAD_BYTES:
        raise errors.invalid(_UI_UPLOAD_TOO_LARGE)
    chunks = RequestChunks(request)
    if await chunks.peek() is None:
        raise errors.invalid("Request must specify data.")
    run = await run_in_threadpool(ctx.tracking_store.get_run, run_id)
    store, prefix = ctx.repository_for(run.info.artifact_uri)
    full = posixpath.join(prefix, path) if prefix else path
    await run_transfer(store.write_stream, full, _BoundedBody(chunks, MAX_UI_UPLOAD_BYTES))


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The artifact proxy routes, bound to ``ctx``."""

    def repo() -> ArtifactRepository:
        if not ctx.serve_artifacts:
            raise MltrailError(
                "Artifact serving is disabled. Run `mltrail server` without --no-serve-artifacts to enable it.",
                "TEMPORARILY_UNAVAILABLE",
            )
        return ctx.proxy_repository

    async def artifact(request: Request) -> Response:
        try:
            path = artifact_request_path(request.path_params["artifact_path"], allow_root=request.method == "GET")
            if request.method == "GET":
                return await stream_file(repo(), path, presigned=ctx.presigned_downloads)
            if request.method == "PUT":
                await receive_file(repo(), path, request)
                return Response(b"", status_code=200)
            await run_in_threadpool(repo().delete_artifacts, path)
            return Response(b"{}", media_type="application/json")
        except MltrailError as error:
            return _error(error)

    async def listing(request: Request) -> Response:
        try:
            path = artifact_request_path(request.query_params.get("path"))
            files = await run_in_threadpool(repo().list_artifacts, path or None)  # [] for a file or nothing
            strip = len(path) + 1 if path else 0
            payload = {"files": [{**f.to_dict(), "path": f.path[strip:]} for f in files]} if files else {}
            return Response(dumps(payload), media_type="application/json")
        except MltrailError as error:
            return _error(error)

    async def get_run_artifact(request: Request) -> Response:
        try:
            run_id = request.query_params.get("run_id") or request.query_params.get("run_uuid")
            if not run_id:
                raise errors.invalid("Missing value for required parameter 'run_id'.")
            path = artifact_request_path(request.query_params.get("path"), allow_root=False)
            run = await run_in_threadpool(ctx.tracking_store.get_run, run_id)
            store, prefix = ctx.repository_for(run.info.artifact_uri)
            full = posixpath.join(prefix, path) if prefix else path
            return await stream_file(store, full, presigned=ctx.presigned_downloads)
        except MltrailError as error:
            return _error(error)

    async def get_logged_model_artifact(request: Request) -> Response:
        """``GET /logged-models/{model_id}/artifacts/files?artifact_file_path=``: one file of a logged model."""
        try:
            path = request.query_params.get("artifact_file_path")
            if not path:
                raise errors.invalid('Request must include the "artifact_file_path" query parameter.')
            path = artifact_request_path(path, allow_root=False)
            model = await run_in_threadpool(ctx.tracking_store.get_logged_model, request.path_params["model_id"])
            store, prefix = ctx.repository_for(model.artifact_location)
            full = posixpath.join(prefix, path) if prefix else path
            return await stream_file(store, full, presigned=ctx.presigned_downloads)
        except MltrailError as error:
            return _error(error)

    async def upload(request: Request) -> Response:
        """Upload a run artifact from the web UI."""
        try:
            await upload_run_artifact(ctx, request)
            return Response(b"", media_type="application/json")  # MLflow's empty 200
        except MltrailError as error:
            return _error(error)

    out: list[BaseRoute] = []
    for prefix in _PREFIXES:
        out += [
            Route(prefix + "/artifacts/{artifact_path:path}", artifact, methods=["GET", "PUT", "DELETE"]),
            Route(prefix + "/artifacts", listing, methods=["GET"]),
        ]
    if ctx.serve_artifacts:
        from mltrail.server.routes import multipart

        out += multipart.routes(ctx, _PREFIXES)
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        out.append(Route(prefix + "/get-artifact", get_run_artifact, methods=["GET"]))
        out.append(
            Route(prefix + "/logged-models/{model_id}/artifacts/files", get_logged_model_artifact, methods=["GET"])
        )
    out.append(Route("/get-artifact", get_run_artifact, methods=["GET"]))  # where MLflow's own UI reads files
    out.append(Route(UI_UPLOAD_PATH, upload, methods=["POST"]))  # only under /ajax-api, as in MLflow
    return out
