"""Artifacts behind a tracking server's proxy (``mlflow-artifacts:/`` and ``http(s)://.../mlflow-artifacts/...``).

Uploads and downloads stream file contents; directories upload with a few files in flight at once.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

from mltrail import errors
from mltrail.entities import FileInfo
from mltrail.store.artifacts.base import ArtifactRepository, validate_relative_path
from mltrail.store.http import HttpClient, decode_response

PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
UPLOAD_THREADS = 4
_CHUNK = 1024 * 1024


def resolve_proxy_uri(artifact_uri: str, tracking_uri: str) -> str:
    """Turn ``mlflow-artifacts:/<p>`` (or ``mlflow-artifacts://host:port/<p>``) into the server's HTTP URL.

    Raises:
        MltrailError: when the tracking URI is not an HTTP server and the artifact URI names no host.
    """
    parts = urlsplit(artifact_uri)
    path = parts.path.lstrip("/")
    if parts.netloc:
        tracking = urlsplit(tracking_uri)
        scheme = tracking.scheme if tracking.scheme in ("http", "https") else "http"
        base = f"{scheme}://{parts.netloc}"
    else:
        if not tracking_uri.startswith(("http://", "https://")):
            raise errors.invalid(
                f"Artifact URI {artifact_uri!r} needs a tracking server, but the tracking URI is {tracking_uri!r}. "
                "Set the tracking URI to the server (http://host:port)."
            )
        base = tracking_uri.rstrip("/")
    return f"{base}{PROXY_PATH}/{path}".rstrip("/")


def server_root(artifact_uri: str) -> str:
    """The server root URL of a proxy artifact URI (scheme, host and any path prefix before the proxy path)."""
    parts = urlsplit(artifact_uri)
    if PROXY_PATH not in parts.path:
        raise errors.invalid(f"Not an artifact proxy URI: {artifact_uri}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.partition(PROXY_PATH)[0]}"


class HttpArtifactRepository(ArtifactRepository):
    """Files under ``http(s)://host/api/2.0/mlflow-artifacts/artifacts/<root>``."""

    def __init__(self, artifact_uri: str, client: HttpClient | None = None) -> None:
        super().__init__(artifact_uri)
        self._server = server_root(artifact_uri)
        self._root = urlsplit(artifact_uri).path.partition(PROXY_PATH)[2].strip("/")
        self.http = client or HttpClient(self._server)

    def _remote(self, path: str) -> str:
        full = posixpath.join(self._root, path) if path else self._root
        return f"{PROXY_PATH}/{quote(full)}"

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Upload one file, streaming its content."""
        directory = validate_relative_path(artifact_path)
        name = os.path.basename(local_file)
        remote = posixpath.join(directory, name) if directory else name
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = self.http.request(
            "PUT",
            self._remote(remote),
            content_factory=lambda: open(local_file, "rb"),  # noqa: SIM115 - closed by the client
            headers={"Content-Type": mime},
            idempotent=True,
        )
        decode_response(response)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Upload a directory tree, a few files at a time."""
        directory = validate_relative_path(artifact_path)
        jobs: list[tuple[str, str | None]] = []
        for root, _dirs, files in os.walk(local_dir):
            relative = os.path.relpath(root, local_dir)
            sub = "" if relative == "." else relative.replace(os.sep, "/")
            target = posixpath.join(directory, sub) if directory and sub else (directory or sub)
            jobs.extend((os.path.join(root, f), target or None) for f in files)
        if len(jobs) <= 1:
            for job in jobs:
                self.log_artifact(*job)
            return
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for future in [pool.submit(self.log_artifact, *job) for job in jobs]:
                future.result()

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """List the direct children of ``path``."""
        relative = validate_relative_path(path)
        full = posixpath.join(self._root, relative) if relative else self._root
        data = self.http.call("GET", PROXY_PATH, {"path": full})
        infos = [
            FileInfo(
                posixpath.join(relative, f["path"]) if relative else f["path"],
                bool(f.get("is_dir", False)),
                None if f.get("is_dir") else int(f.get("file_size", 0)),
            )
            for f in data.get("files", [])
        ]
        return sorted(infos, key=lambda f: f.path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        # A server with presigned downloads answers large files with a redirect to the object store.
        remote = self._remote(validate_relative_path(remote_file_path))
        with self.http.stream("GET", remote, follow_redirects=True) as response:
            tmp = local_path + ".part"
            with open(tmp, "wb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
            os.replace(tmp, local_path)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or directory on the server."""
        decode_response(
            self.http.request("DELETE", self._remote(validate_relative_path(artifact_path)), idempotent=True)
        )
