"""Multipart uploads through the artifact proxy (``/mlflow-artifacts/mpu/...``), as MLflow's client speaks them.

``create`` starts an upload in the artifacts destination and hands out one URL per part on this server; the
client PUTs each part there (in parallel, in any order), then ``complete`` joins the parts in order into the
destination file, which appears only once whole; ``abort`` drops them. The repository does the work
(:meth:`~mltrail.store.artifacts.base.ArtifactRepository.create_multipart_upload` and its siblings): on local
disk parts are staged outside the artifact tree; on S3 the upload is an S3 multipart upload and each part PUT
streams straight into S3's UploadPart, with no copy on the server. The upload id is an opaque, unguessable token
that names the upload to any replica (on S3 it carries the object key and S3's upload id) and acts as the part
URLs' credential (MLflow's client sends no auth headers to part URLs, as with presigned S3 URLs).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.server.context import ServerContext
from mltrail.server.paths import artifact_request_path
from mltrail.server.protocol import decode_json_body, dumps
from mltrail.server.streams import RequestChunks, run_transfer

MAX_PARTS = 10_000
_MAX_UPLOAD_ID = 4096


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


def _upload_id(value: object) -> str:
    upload_id = str(value or "")
    if not upload_id or len(upload_id) > _MAX_UPLOAD_ID:
        raise errors.invalid("Invalid upload_id")
    return upload_id


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


def routes(ctx: ServerContext, prefixes: tuple[str, ...]) -> list[BaseRoute]:
    """The multipart routes under each artifact-proxy prefix."""

    def destination(directory: str, body: dict[str, Any]) -> str:
        """MLflow's layout: the URL names the directory, the body's ``path`` the (client-local) file name."""
        name = os.path.basename(str(body.get("path") or "").replace("\\", "/"))
        if not name:
            raise errors.invalid("Missing value for required parameter 'path'.")
        folder = artifact_request_path(directory)
        return artifact_request_path(f"{folder}/{name}" if folder else name, allow_root=False)

    async def create(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
            relative = destination(request.path_params.get("artifact_path", ""), body)
            num_parts = int(body.get("num_parts", 1))
            if not 1 <= num_parts <= MAX_PARTS:
                raise errors.invalid(f"num_parts must be between 1 and {MAX_PARTS}")
            upload_id = await run_transfer(ctx.proxy_repository.create_multipart_upload, relative)
            base = str(request.base_url).rstrip("/")
            prefix = request.url.path.split("/mpu/")[0]
            token = quote(upload_id, safe="")
            credentials = [
                {"url": f"{base}{prefix}/mpu/part/{token}/{n}", "part_number": n, "headers": {}}
                for n in range(1, num_parts + 1)
            ]
            return _json({"upload_id": upload_id, "credentials": credentials})
        except (ValueError, TypeError):
            return _json(errors.invalid("num_parts must be an integer").to_dict(), 400)
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    async def upload_part(request: Request) -> Response:
        try:
            upload_id = _upload_id(request.path_params["upload_id"])
            raw_number = request.path_params["part_number"]
            number = int(raw_number) if raw_number.isdigit() and len(raw_number) <= 6 else 0
            if not 1 <= number <= MAX_PARTS:
                raise errors.invalid("Invalid part number")
            etag = await run_transfer(
                ctx.proxy_repository.upload_part, upload_id, number, RequestChunks(request), _content_length(request)
            )
            return Response(b"", headers={"ETag": etag})
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    async def complete(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
            relative = destination(request.path_params.get("artifact_path", ""), body)
            upload_id = _upload_id(body.get("upload_id"))
            parts = [(int(p["part_number"]), str(p.get("etag") or "")) for p in body.get("parts") or []]
            if not parts:
                raise errors.invalid("No parts given to complete the upload")
            await run_transfer(ctx.proxy_repository.complete_multipart_upload, relative, upload_id, parts)
            return _json({})
        except (KeyError, TypeError, ValueError, AttributeError):
            return _json(errors.invalid("Malformed parts list").to_dict(), 400)
        except MltrailError as error:
            return _json(error.to_dict(), error.http_status)

    async def abort(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
            upload_id = _upload_id(body.get("upload_id"))
            await run_transfer(ctx.proxy_repository.abort_multipart_upload, None, upload_id)
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
