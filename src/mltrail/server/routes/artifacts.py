"""The artifact proxy (``/api/2.0/mlflow-artifacts``, §1.4): bodies stream in chunks both ways.

A 1 GB upload is written to disk chunk by chunk (into a temporary file beside its destination, renamed into
place when complete, so a broken upload never leaves a half-written artifact), and a download is read from disk
chunk by chunk, so server memory does not grow with artifact size.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import AsyncIterator
from urllib.parse import quote

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.context import ServerContext
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import dumps
from mltrail.store.artifacts.base import ArtifactRepository

CHUNK_SIZE = 1024 * 1024
_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
#: Paths whose bodies stream and are exempt from the JSON body limit.
STREAMING_PREFIXES = tuple(p + "/artifacts" for p in _PREFIXES) + tuple(p + "/mpu" for p in _PREFIXES)

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


async def _read_chunks(path: str) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(CHUNK_SIZE):
            yield chunk


async def stream_file(repo: ArtifactRepository, path: str) -> Response:
    """Stream one artifact file with MLflow's headers; 404 when missing, 400 for a directory."""
    local = repo.local_path(path)
    tmp_dir: str | None = None
    if local is None:  # a remote repository: fetch to a temporary file, then stream it
        tmp_dir = tempfile.mkdtemp(prefix="mltrail-proxy-")
        try:
            local = await run_in_threadpool(repo.download_artifacts, path, tmp_dir)
        except MltrailError:
            raise
        except Exception:
            raise errors.not_found(f"Artifact '{path}' not found") from None
    if not os.path.exists(local):
        raise errors.not_found(f"File {path} not found")
    if os.path.isdir(local):
        raise errors.invalid(f"The path '{path}' is a directory, not a file")
    filename = posixpath.basename(path)
    headers = {
        "Content-Disposition": _content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        # An artifact opened directly in a browser runs no script and loads nothing (stored XSS via HTML/SVG).
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        "Content-Length": str(os.path.getsize(local)),
    }

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in _read_chunks(local):
                yield chunk
        finally:
            if tmp_dir is not None:
                import shutil

                shutil.rmtree(tmp_dir, ignore_errors=True)

    return StreamingResponse(body(), media_type=guess_mime_type(filename), headers=headers)


async def receive_file(repo: ArtifactRepository, path: str, request: Request) -> None:
    """Write the request body to ``path`` chunk by chunk; the file appears only once complete."""
    if not path:
        raise errors.invalid("Invalid path")
    local = repo.local_path(path)
    target_dir = os.path.dirname(local) if local else None
    if target_dir is not None:
        if os.path.isdir(local):  # type: ignore[arg-type]
            raise errors.invalid(f"The path '{path}' is a directory")
        await anyio.to_thread.run_sync(lambda: os.makedirs(target_dir, exist_ok=True))
    fd, tmp_path = tempfile.mkstemp(prefix=".upload-", dir=target_dir)
    try:
        async with await anyio.open_file(fd, "wb", closefd=True) as handle:
            async for chunk in request.stream():
                if chunk:
                    await handle.write(chunk)
        if local is not None:
            await anyio.to_thread.run_sync(os.replace, tmp_path, local)
        else:
            directory = posixpath.dirname(path)
            named = os.path.join(tempfile.mkdtemp(prefix="mltrail-upload-"), posixpath.basename(path))
            os.replace(tmp_path, named)
            tmp_path = named
            await run_in_threadpool(repo.log_artifact, named, directory or None)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)


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
                return await stream_file(repo(), path)
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
            store = repo()
            local = store.local_path(path)
            if local is not None and not os.path.isdir(local):
                return Response(b"{}", media_type="application/json")
            files = await run_in_threadpool(store.list_artifacts, path or None)
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
            return await stream_file(store, posixpath.join(prefix, path) if prefix else path)
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
            return await stream_file(store, posixpath.join(prefix, path) if prefix else path)
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
    return out
