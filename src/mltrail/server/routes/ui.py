"""The web UI: the Vite build of ``ui/`` (in ``mltrail/server/static``) served at ``/``, with an SPA fallback.

When the assets were not built (a source checkout without Node), ``/`` answers a short page that says how to
build them instead of a bare 404. API paths are never shadowed: unknown ``/api/...`` paths keep their JSON 404
and wrong methods their 405.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
BUILD_COMMAND = "npm --prefix ui ci && npm --prefix ui run build"
_API_PREFIXES = ("/api/", "/ajax-api/")
# Text assets worth compressing (images and fonts are compressed already).
_COMPRESSIBLE = {".js", ".css", ".html", ".svg", ".json", ".map", ".txt"}
_MIN_GZIP_BYTES = 1024

NOT_BUILT_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mltrail: UI not built</title>
<meta name="color-scheme" content="light dark"></head>
<body style="font-family: system-ui, sans-serif; max-width: 44em; margin: 3em auto; line-height: 1.5">
<h1>mltrail's web UI was not built</h1>
<p>The tracking server and its REST API (<code>/api/2.0/mlflow/...</code>) are running, but the web UI's
assets are missing from <code>{STATIC_DIR}</code>.</p>
<p>Build them from a source checkout (needs Node.js 20+ and npm), then restart <code>mltrail server</code>:</p>
<pre>{BUILD_COMMAND}</pre>
<p><code>make venv</code> does this automatically when Node is installed.</p>
</body></html>
"""


class _UiRoute(Route):
    """A catch-all GET route that never matches API paths, so their 404/405 answers stay MLflow's JSON."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(_API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def _resolve(static_dir: Path, rel: str) -> Path | None:
    """The file under ``static_dir`` for a URL path, or None (no traversal outside it)."""
    if not rel:
        return None
    candidate = (static_dir / rel).resolve()
    try:
        candidate.relative_to(static_dir.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


class _GzipCache:
    """Gzipped bodies of the UI's text assets, made once per file version (path, size, mtime) and kept in memory.

    The whole build is a few hundred KB, so compressing each file once on first request costs a few ms and
    saves most of the bytes of every cold visit.
    """

    def __init__(self) -> None:
        self._bodies: dict[Path, tuple[tuple[int, int], bytes]] = {}

    def body(self, path: Path) -> bytes:
        """The gzipped content of ``path`` (recompressed when the file changed)."""
        stat = path.stat()
        version = (stat.st_size, stat.st_mtime_ns)
        cached = self._bodies.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self._bodies[path] = (version, body)
        return body


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def _file_response(request: Request, path: Path, cache_control: str, gzipped: _GzipCache) -> Response:
    """The file, gzipped when the client accepts it and the file is a text asset worth compressing."""
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if path.suffix in _COMPRESSIBLE and path.stat().st_size >= _MIN_GZIP_BYTES and _accepts_gzip(request):
        response = FileResponse(path)  # for its media type
        headers["Content-Encoding"] = "gzip"
        return Response(gzipped.body(path), media_type=response.media_type, headers=headers)
    return FileResponse(path, headers=headers)


def routes(static_dir: Path | None = None) -> list[BaseRoute]:
    """Routes serving the built UI from ``static_dir`` (default: the package's ``static`` folder)."""
    root = Path(static_dir) if static_dir is not None else STATIC_DIR
    gzipped = _GzipCache()

    async def serve(request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, status_code=503 if request.url.path == "/" else 404)
        rel = request.path_params.get("path", "")
        found = _resolve(root, rel)
        if found is not None:
            hashed = rel.startswith("assets/")
            cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
            return _file_response(request, found, cache, gzipped)
        if rel.startswith("assets/") or os.path.splitext(rel)[1] not in ("", ".html"):
            return Response(b"Not found", status_code=404, media_type="text/plain")
        # SPA fallback: any other page path is the app, which routes on the client.
        return _file_response(request, index, "no-cache", gzipped)

    return [_UiRoute("/{path:path}", serve, methods=["GET", "HEAD"])]
