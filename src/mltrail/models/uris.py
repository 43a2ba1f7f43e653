"""Model URIs: where a model's files are and how to get them onto local disk (MLflow format §3.5).

- local paths and ``file://``: used in place;
- ``runs:/<run_id>/<path>``: ``<run artifact_uri>/<path>``; when nothing is there, the run's logged model named
  ``<first segment of path>`` (MLflow 3.x's fallback);
- ``models:/<m-id>``: the logged model's ``artifact_location``;
- ``models:/<name>/<version>``, ``models:/<name>/latest``, ``models:/<name>/<stage>``, ``models:/<name>@<alias>``:
  through the registry methods of :class:`mltrail.Client`;
- ``mlflow-artifacts:/...`` and ``http(s)://...``: the server's artifact proxy, via
  :func:`mltrail.store.uris.get_artifact_repository`.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.store.uris import get_artifact_repository, get_uri_scheme

if TYPE_CHECKING:
    from mltrail.tracking.client import MltrailClient


def is_local(uri: str) -> bool:
    """Whether ``uri`` is a plain path or a ``file://`` URI."""
    return get_uri_scheme(str(uri)) in ("", "file")


@dataclass(frozen=True)
class ParsedModelUri:
    """The parts of a ``models:/`` URI; exactly one of the lookups applies."""

    model_id: str | None = None
    name: str | None = None
    version: str | None = None
    stage: str | None = None
    alias: str | None = None


def _improper(uri: str) -> MltrailError:
    return errors.invalid(
        f"Not a proper models:/ URI: {uri}. Models URIs must be of the form 'models:/model_name/suffix' or "
        "'models:/model_name@alias' where suffix is a model version, stage, or the string 'latest' and where "
        "alias is a registered model alias. Only one of suffix or alias can be defined at a time."
    )


def parse_models_uri(uri: str) -> ParsedModelUri:
    """Split a ``models:/`` URI.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a malformed URI.
    """
    if not uri.startswith("models:/"):
        raise _improper(uri)
    path = uri[len("models:") :].lstrip("/")
    parts = path.split("/")
    if not path or len(parts) > 2 or not parts[0].strip():
        raise _improper(uri)
    if len(parts) == 2:
        name, suffix = parts
        if not suffix.strip():
            raise _improper(uri)
        if suffix.isdigit():
            return ParsedModelUri(name=name, version=suffix)
        if suffix.lower() == "latest":
            return ParsedModelUri(name=name)
        return ParsedModelUri(name=name, stage=suffix)
    if "@" in parts[0]:
        name, alias = parts[0].split("@", 1)
        if not name or not alias:
            raise _improper(uri)
        return ParsedModelUri(name=name, alias=alias)
    return ParsedModelUri(model_id=parts[0])


def _client(tracking_uri: str | None) -> MltrailClient:
    from mltrail.tracking.client import MltrailClient

    return MltrailClient(tracking_uri)


def _registry_method(client: MltrailClient, name: str) -> Any:
    method = getattr(client, name, None)
    if method is None:
        raise errors.invalid(
            f"Resolving a registered model URI needs the model registry (Client.{name}), which this "
            "installation of mltrail does not provide yet. Use 'models:/<model_id>' or 'runs:/<run_id>/<name>'."
        )
    return method


def _registry_download_uri(client: MltrailClient, parsed: ParsedModelUri) -> str:
    name = parsed.name
    if parsed.alias is not None:
        version = _registry_method(client, "get_model_version_by_alias")(name, parsed.alias).version
    elif parsed.version is not None:
        version = parsed.version
    else:
        stages = None if parsed.stage is None else [parsed.stage]
        latest = _registry_method(client, "get_latest_versions")(name, stages)
        if not latest:
            where = "" if parsed.stage is None else f" and stage '{parsed.stage}'"
            raise errors.not_found(f"No versions of model with name '{name}'{where} found")
        version = max(int(v.version) for v in latest)
    return str(_registry_method(client, "get_model_version_download_uri")(name, str(version)))


def _logged_model_for_run(client: MltrailClient, run_id: str, name: str) -> Any | None:
    experiment_id = client.get_run(run_id).info.experiment_id
    escaped = name.replace("'", "\\'")
    token: str | None = None
    while True:
        page = client.search_logged_models([experiment_id], f"name = '{escaped}'", page_token=token)
        for model in page:
            if model.source_run_id == run_id:
                return model
        token = page.token
        if not token:
            return None


def _split_runs_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise errors.invalid(
            f"Not a proper runs:/ URI: {uri}. "
            "Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'"
        )
    return run_id, path.strip("/")


def _runs_location(client: MltrailClient, uri: str) -> tuple[str, str]:
    """(artifact root URI, path under it) of a ``runs:/`` URI, falling back to the run's logged model."""
    run_id, path = _split_runs_uri(uri)
    run_root = client.get_run(run_id).info.artifact_uri
    if path:
        repo = get_artifact_repository(run_root, client.tracking_uri)
        parent = posixpath.dirname(path)
        if repo.list_artifacts(path) or any(f.path == path for f in repo.list_artifacts(parent or None)):
            return run_root, path
        name, _, sub = path.partition("/")
        model = _logged_model_for_run(client, run_id, name)
        if model is not None:
            return model.artifact_location, sub
        raise errors.not_found(
            f"Failed to download artifacts from path {path!r}, please ensure that the path is correct."
        )
    return run_root, ""


def resolve_model_uri(uri: str, tracking_uri: str | None = None) -> tuple[str, str]:
    """The artifact repository root and the path under it that hold the model at ``uri``.

    Args:
        uri: any model URI (see the module docstring).
        tracking_uri: the tracking server for ``runs:/``, ``models:/`` and ``mlflow-artifacts:/``
            (default: the current tracking URI).

    Returns:
        ``(root_uri, path)``: hand ``root_uri`` to ``get_artifact_repository`` and download ``path``.

    Raises:
        MltrailError: RESOURCE_DOES_NOT_EXIST when the run, logged model or version does not exist;
            INVALID_PARAMETER_VALUE for a malformed URI or a registry URI without a registry.
    """
    uri = str(uri)
    scheme = get_uri_scheme(uri)
    if scheme == "runs":
        return _runs_location(_client(tracking_uri), uri)
    if scheme == "models":
        client = _client(tracking_uri)
        parsed = parse_models_uri(uri)
        if parsed.model_id is not None:
            return client.get_logged_model(parsed.model_id).artifact_location, ""
        return _registry_download_uri(client, parsed), ""
    return uri, ""


def _tracking_uri_or_default(tracking_uri: str | None) -> str:
    if tracking_uri is not None:
        return tracking_uri
    from mltrail.tracking._config import get_tracking_uri

    return get_tracking_uri()


def download_model(uri: str | os.PathLike[str], dst_path: str | None = None, tracking_uri: str | None = None) -> str:
    """A local directory (or file) with the model at ``uri``; local paths are returned as they are.

    Args:
        uri: a local path or any model URI.
        dst_path: where to download (default: a new temporary directory).
        tracking_uri: the tracking server to resolve ``runs:/``, ``models:/`` and ``mlflow-artifacts:/`` against.

    Returns:
        The local path of the model directory.

    Raises:
        MltrailError: RESOURCE_DOES_NOT_EXIST when nothing is there.
    """
    uri = os.fspath(uri)
    if is_local(uri):
        from mltrail.store.artifacts.local import local_path_from_uri

        local = local_path_from_uri(uri)
        if not os.path.exists(local):
            raise errors.not_found(f"No model found at {uri!r}")
        return local
    tracking_uri = _tracking_uri_or_default(tracking_uri)
    root, path = resolve_model_uri(uri, tracking_uri)
    if is_local(root):
        from mltrail.store.artifacts.local import local_path_from_uri

        local = os.path.join(local_path_from_uri(root), *path.split("/")) if path else local_path_from_uri(root)
        if not os.path.exists(local):
            raise errors.not_found(f"No model found at {uri!r}")
        return local
    dst = dst_path or tempfile.mkdtemp(prefix="mltrail-model-")
    repo = get_artifact_repository(root, tracking_uri)
    if path:
        return repo.download_artifacts(path, dst)
    return repo.download_artifacts("", dst)


def download_model_file(uri: str, name: str, tracking_uri: str | None = None) -> str:
    """Download one file (such as ``MLmodel``) of the model at ``uri``; returns its local path.

    Raises:
        MltrailError: RESOURCE_DOES_NOT_EXIST when the model has no such file.
    """
    tracking_uri = _tracking_uri_or_default(tracking_uri)
    root, path = resolve_model_uri(uri, tracking_uri)
    if path.endswith("/" + name) or path == name:
        path = posixpath.dirname(path)
    repo = get_artifact_repository(root, tracking_uri)
    target = posixpath.join(path, name) if path else name
    dst = tempfile.mkdtemp(prefix="mltrail-model-")
    try:
        return repo.download_artifacts(target, dst)
    except MltrailError:
        raise
    except Exception as exc:  # repositories raise their own I/O errors for missing files
        raise errors.not_found(f'Could not find an "{name}" configuration file at "{uri}": {exc}') from exc
