"""Multipart uploads through the artifact proxy (``/mlflow-artifacts/mpu/...``), as MLflow's client speaks them.

``create`` hands out one URL per part on this server; the client PUTs each part there (in parallel), then
``complete`` joins the parts in order into the destination file, which appears only once whole; ``abort``
drops them. Parts are staged outside the artifact tree, keyed by an unguessable upload id that acts as the
part URLs' credential (MLflow's client sends no auth headers to part URLs, as with presigned S3 URLs).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.context import ServerContext
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import decode_json_body, dumps

MAX_PARTS = 10_000
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_COPY_CHUNK = 4 * 1024 * 1024


def staging_root() -> str:
    """Where parts wait for ``complete`` (shared by all worker processes of one host)."""
    return os.environ.get("MLTRAIL_MPU_STAGING") or os.path.join(tempfile.gettempdir(), "mltrail-mpu")


def _upload_dir(upload_id: str) -> str:
    if not _UPLOAD_ID.match(upload_id or ""):
        raise errors.invalid("Invalid upload_id")
    path = os.path.join(staging_root(), upload_id)
    if not os.path.isdir(path):
        raise errors.not_found(f"Multipart upload {upload_id} does not exist")
    return path


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


def _join_parts(upload_dir: str, part_numbers: list[int], destination: str) -> None:
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=".upload-", dir=os.path.dirname(destination))
    try:
        with os.fdopen(fd, "wb") as out:
            for number in part_numbers:
                part = os.path.join(upload_dir, f"{number:05d}.part")
                if not os.path.exists(part):
                    raise errors.invalid(f"Part {number} was never uploaded")
                with open(part, "rb") as source:
                    shutil.copyfileobj(source, out, _COPY_CHUNK)
        os.replace(tmp_path, destination)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
    shutil.rmtree(upload_dir, ignore_errors=True)


def routes(ctx: ServerContext, prefixes: tuple[str, ...]) -> list[BaseRoute]:
    """The multipart routes under each artifact-proxy prefix."""

    def destination(directory: str, body: dict[str, Any]) -> str:
        """MLflow's layout: the URL names the directory, the body's ``path`` the (client-local) file name."""
        name = os.path.basename(str(body.get("path") or "").replace("\\", "/"))
        if not name:
            raise errors.invalid("Missing value for required parameter 'path'.")
        folder = artifact_request_path(directory)
        relative = artifact_request_path(f"{folder}/{name}" if folder else name, allow_root=False)
        local = ctx.proxy_repository.local_path(relative)
        if local is None:
            raise MltrailError("Multipart upload is not supported for this artifact destination", "NOT_IMPLEMENTED")
        return local

    async def create(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
            destination(request.path_params.get("artifact_path", ""), body)
            num_parts = int(body.get("num_parts", 1))
            if not 1 <= num_parts <= MAX_PARTS:
                raise errors.invalid(f"num_parts must be between 1 and {MAX_PARTS}")
            upload_id = uuid.uuid4().hex
            os.makedirs(os.path.join(staging_root(), upload_id))
            base = str(request.base_url).rstrip("/")
            prefix = request.url.path.split("/mpu/")[0]
            credentials = [
                {"url": f"{base}{prefix}/mpu/part/{upload_id}/{n}", "part_number": n, "headers": {}}
                for n in range(1, num_parts + 1)
            ]
            return _json({"upload_id": upload_id, "credentials": credentials})
        except (ValueError, TypeError):
            return _json(errors.invalid("num_parts must be an integer").to_dict(), 400)
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    async def upload_part(request: Request) -> Response:
        try:
            upload_dir = _upload_dir(request.path_params["upload_id"])
            raw_number = request.path_params["part_number"]
            number = int(raw_number) if raw_number.isdigit() and len(raw_number) <= 6 else 0
            if not 1 <= number <= MAX_PARTS:
                raise errors.invalid("Invalid part number")
            size = 0
            target = os.path.join(upload_dir, f"{number:05d}.part")
            async with await anyio.open_file(target + ".tmp", "wb") as handle:
                async for chunk in request.stream():
                    size += len(chunk)
                    await handle.write(chunk)
            os.replace(target + ".tmp", target)
            return Response(b"", headers={"ETag": f'"{number}-{size}"'})
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    async def complete(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
            target = destination(request.path_params.get("artifact_path", ""), body)
            upload_dir = _upload_dir(str(body.get("upload_id", "")))
            parts = sorted(int(p["part_number"]) for p in body.get("parts") or [])
            if not parts:
                raise errors.invalid("No parts given to complete the upload")
            await anyio.to_thread.run_sync(_join_parts, upload_dir, parts, target)
            return _json({})
        except (KeyError, TypeError, ValueError):
            return _json(errors.invalid("Malformed parts list").to_dict(), 400)
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    async def abort(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
            shutil.rmtree(_upload_dir(str(body.get("upload_id", ""))), ignore_errors=True)
            return _json({})
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    out: list[BaseRoute] = []
    for prefix in prefixes:
        out += [
            Route(prefix + "/mpu/create", create, methods=["POST"]),
            Route(prefix + "/mpu/create/{artifact_path:path}", create, methods=["POST"]),
            Route(prefix + "/mpu/complete", complete, methods=["POST"]),
            Route(prefix + "/mpu/complete/{artifact_path:path}", complete, methods=["POST"]),
            Route(prefix + "/mpu/abort", abort, methods=["POST"]),
            Route(prefix + "/mpu/abort/{artifact_path:path}", abort, methods=["POST"]),
            Route(prefix + "/mpu/part/{upload_id}/{part_number}", upload_part, methods=["PUT"]),
        ]
    return out
