"""Input validation for the registry, with MLflow's limits and message texts.

Names, versions, aliases and tags are checked by the stores. Model version *sources* are checked by the server
(as MLflow's server does, ``handlers.py::_validate_source_run``): :func:`validate_source` rejects relative path
segments (also percent-encoded) and NUL bytes, local paths outside the run's artifact directory, and ``runs:/``
or ``mlflow-artifacts:`` sources that do not belong to the run or logged model named in the request.
"""

from __future__ import annotations

import os
import pathlib
import posixpath
import re
import urllib.parse
from collections.abc import Callable

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.store.tracking.validation import (
    exceeds_maximum_length,
    invalid_value,
    missing_value,
    validate_int64,
    validate_key_name,
    validate_text,
)

MAX_REGISTRY_TAG_KEY_LENGTH = 250
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
MAX_MODEL_NAME_LENGTH = 256
_ALIAS = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_BAD_ALIAS_MESSAGE = "Names may only contain alphanumerics, underscores (_), and dashes (-)."
#: Optional regex every model version source must match (MLflow's variable, and mltrail's).
SOURCE_REGEX_ENV = (
    "MLTRAIL_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX",
    "MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX",
)


def validate_model_name(name: object, path: str = "name") -> str:
    """A registered model name: present, no ``/`` or ``:``, no path tricks, at most 256 characters."""
    if not isinstance(name, str) or name.strip() == "":
        raise errors.invalid(missing_value(path))
    if "/" in name or ":" in name:
        raise errors.invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith(".."):
        raise errors.invalid(
            invalid_value(
                path,
                name,
                "Names may be treated as files in certain cases, and must not resolve to other names when "
                f"treated as such. This name would resolve to {norm!r}",
            )
        )
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise errors.invalid(exceeds_maximum_length(path, MAX_MODEL_NAME_LENGTH))
    validate_text(name, path)
    return name


def validate_version(version: object) -> int:
    """A version number (``"3"`` or ``3``, within int64) as an int."""
    try:
        if isinstance(version, bool):
            raise ValueError(version)
        number = int(str(version).strip())
    except ValueError:
        raise errors.invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None
    validate_int64(number, "version")
    return number


def validate_description(description: object, path: str = "description") -> None:
    """A description: any text without NUL characters (``None`` clears it)."""
    validate_text(description, path)


def validate_tag(key: object, value: object) -> None:
    """A registry tag: MLflow's key rules, key ≤ 250 and value ≤ 100000 characters."""
    validate_key_name(key, "key")  # type: ignore[arg-type]
    assert isinstance(key, str)
    if value is None:
        raise errors.invalid("Tag value cannot be None")
    if len(key) > MAX_REGISTRY_TAG_KEY_LENGTH:
        raise errors.invalid(exceeds_maximum_length("key", MAX_REGISTRY_TAG_KEY_LENGTH))
    if len(str(value)) > MAX_REGISTRY_TAG_VALUE_LENGTH:
        raise errors.invalid(exceeds_maximum_length("value", MAX_REGISTRY_TAG_VALUE_LENGTH))
    validate_text(value, "value")


def validate_alias(alias: object) -> str:
    """An alias name: ``^[\\w\\-]*$``, non-empty, at most 255 characters."""
    if not isinstance(alias, str) or alias == "":
        raise errors.invalid("Registered model alias name cannot be empty.")
    if not _ALIAS.match(alias):
        raise errors.invalid(f"Invalid alias name: '{alias}'. {_BAD_ALIAS_MESSAGE}")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise errors.invalid(exceeds_maximum_length("Registered model alias name", MAX_ALIAS_LENGTH))
    return alias


def validate_alias_not_reserved(alias: str) -> None:
    """``latest`` (any case) and ``v<digits>`` cannot be set as aliases."""
    if alias.lower() == "latest":
        raise errors.invalid("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.match(alias):
        raise errors.invalid(f"Version alias name '{alias}' is reserved.")


# ---------------------------------------------------------------------------------------------- sources
def _source_error(source: str, id_name: str) -> MltrailError:
    return errors.invalid(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must identify the resource "
        "that contains the source."
    )


def _unquote_all(value: str) -> str:
    while (unquoted := urllib.parse.unquote_plus(value)) != value:
        value = unquoted
    return value


def check_no_relative_paths(source: str) -> None:
    """Reject ``..`` segments (plain or percent-encoded) and NUL bytes in a non-local source.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with MLflow's message.
    """
    message = (
        f"Invalid model version source: '{source}'. If supplying a source as an http, https, local file path, "
        "ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path "
        "references present. Please provide an absolute path."
    )
    decoded = _unquote_all(source)
    path = re.sub(r"/+", "/", urllib.parse.urlparse(decoded).path.rstrip("/"))
    if "\x00" in decoded or any(part == ".." for part in decoded.split("/")):
        raise errors.invalid(message)
    if path and posix_normpath(path) != path:
        raise errors.invalid(message)


def posix_normpath(path: str) -> str:
    """``posixpath.normpath`` with a leading ``//`` collapsed (as ``Path.resolve`` does)."""
    norm = posixpath.normpath(path)
    return norm[1:] if norm.startswith("//") else norm


def is_local_uri(uri: str) -> bool:
    """Whether ``uri`` is a local path or ``file:`` URI (a Windows drive letter counts as local)."""
    scheme = urllib.parse.urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and scheme.isalpha())


def local_path(uri: str) -> pathlib.Path:
    """The resolved local path of a path or ``file:`` URI."""
    parsed = urllib.parse.urlparse(uri)
    path = urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else uri
    return pathlib.Path(path).expanduser().resolve()


def _parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    parsed = urllib.parse.urlsplit(uri)
    return (
        parsed.scheme.lower(),
        parsed.netloc.lower(),
        tuple(_unquote_all(p) for p in parsed.path.split("/") if p),
    )


def _within(source: str, root: str) -> bool:
    s_scheme, s_host, s_parts = _parts(source)
    r_scheme, r_host, r_parts = _parts(root)
    return s_scheme == r_scheme and s_host == r_host and bool(r_parts) and s_parts[: len(r_parts)] == r_parts


def _is_proxy_source(source: str) -> bool:
    scheme, _, parts = _parts(source)
    if scheme == "mlflow-artifacts":
        return True
    route = ("api", "2.0", "mlflow-artifacts", "artifacts")
    return scheme in ("http", "https") and any(parts[i : i + 4] == route for i in range(len(parts) - 3))


def _inside_local_dir(source: str, root_uri: str) -> bool:
    if not is_local_uri(root_uri):
        return False
    path, root = local_path(source), local_path(root_uri)
    return root == path or root in path.parents


def validate_source(
    source: str,
    run_id: str | None,
    model_id: str | None,
    run_artifact_uri: Callable[[str], str | None],
    model_artifact_location: Callable[[str], str | None],
) -> None:
    """Check a ``create_model_version`` source the way MLflow's server does.

    Args:
        source: the requested source URI or path.
        run_id: the request's ``run_id`` (may be empty).
        model_id: the request's ``model_id`` (may be empty).
        run_artifact_uri: returns a run's artifact URI, or None when there is no such run.
        model_artifact_location: returns a logged model's artifact location, or None when there is none.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with MLflow's messages.
    """
    regex = next((os.environ[n] for n in SOURCE_REGEX_ENV if os.environ.get(n)), None)
    if regex and not re.search(regex, source):
        raise errors.invalid(f"Invalid model version source: '{source}'.")
    owner_id, id_name = (model_id, "model_id") if model_id else (run_id, "run_id")
    root_of = model_artifact_location if model_id else run_artifact_uri
    if is_local_uri(source):
        root = root_of(owner_id) if owner_id else None
        if root is not None and _inside_local_dir(source, root):
            return
        owner = "model_id" if model_id else "run_id"
        raise errors.invalid(
            f"Invalid model version source: '{source}'. To use a local path as a model version source, the "
            f"{owner} request parameter has to be specified and the local path has to be contained within the "
            f"artifact directory of the run specified by the {owner}."
        )
    check_no_relative_paths(source)
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "runs":
        if model_id or parsed.netloc:
            raise _source_error(source, id_name)
        source_run = parsed.path.lstrip("/").split("/", 1)[0]
        if not run_id or source_run != run_id:
            raise _source_error(source, "run_id")
    if parsed.scheme == "models":
        if parsed.netloc:
            raise _source_error(source, id_name)
        target = parsed.path.lstrip("/")
        is_model_id = target.startswith("m-") and "/" not in target and "@" not in target
        if is_model_id and (not model_id or target != model_id):
            raise _source_error(source, "model_id")
    if _is_proxy_source(source):
        root = root_of(owner_id) if owner_id else None
        if root is None or not _within(source, root):
            raise _source_error(source, id_name)
