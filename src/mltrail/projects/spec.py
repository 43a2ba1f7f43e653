"""The ``MLproject`` file: entry points, typed parameters, command templates and the declared environment.

A project is a folder. Its ``MLproject`` file (the name is matched case-insensitively) is YAML with a
``name``, at most one of ``python_env``, ``conda_env`` or ``docker_env``, and ``entry_points``::

    name: tutorial
    python_env: python_env.yaml
    entry_points:
      main:
        parameters:
          alpha: {type: float, default: 0.5}
          epochs: int
          data: {type: path, default: data.csv}
        command: "python train.py --alpha {alpha} --epochs {epochs} --data {data}"

Parameter types are ``string`` (the default), ``int``, ``float``, ``path`` and ``uri``. Unlike MLflow, ``int``
and ``float`` values are checked (defaults when the file is read, given values when a command is built);
``path`` values are made absolute (relative ones are looked up in the working directory, then the project
folder; remote ones downloaded) and ``uri`` values must carry a scheme. Parameters
that the entry point does not declare are appended to the command as ``--key value``. A folder without an
``MLproject`` file can still run any ``.py`` or ``.sh`` file in it as an entry point.
"""

from __future__ import annotations

import os
import shlex
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError

MLPROJECT_FILE = "MLproject"
DEFAULT_ENTRY_POINT = "main"
PARAMETER_TYPES = ("string", "int", "float", "path", "uri")
_TYPE_ALIASES = {"str": "string", "integer": "int", "double": "float", "number": "float"}
#: Script extensions runnable without an MLproject entry, and how they run.
SCRIPT_RUNNERS = {".py": "python", ".sh": "$SHELL"}

#: Environment kinds a project can declare.
ENV_PYTHON, ENV_CONDA, ENV_DOCKER, ENV_LOCAL = "python", "conda", "docker", "local"


class ProjectSpecError(MltrailError):
    """An ``MLproject`` file or a parameter value is invalid (error code ``INVALID_PARAMETER_VALUE``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, INVALID_PARAMETER_VALUE)


@dataclass(frozen=True)
class Parameter:
    """A declared entry-point parameter: its name, type and default (None: required)."""

    name: str
    type: str = "string"
    default: str | None = None

    def check(self, value: str, entry_point: str) -> str:
        """``value`` checked against :attr:`type` (``int``, ``float``, ``uri``); returns it unchanged.

        Raises:
            ProjectSpecError: the value does not parse as the declared type.
        """
        checker = _CHECKERS.get(self.type)
        if checker is not None and not checker(value):
            raise ProjectSpecError(
                f"Parameter {self.name!r} of entry point {entry_point!r} must be {_TYPE_WORDS[self.type]}, "
                f"got {value!r}."
            )
        return value

    def resolve(
        self,
        value: str,
        storage_dir: Path | None,
        fetch: Callable[[str, Path], str] | None,
        base_dir: Path | None = None,
    ) -> str:
        """The value as the command sees it: ``path`` made absolute (or downloaded), others as given.

        Args:
            value: the checked value.
            storage_dir: where remote ``path`` values are downloaded; None keeps them as URIs.
            fetch: ``fetch(uri, dst_dir) -> local path`` for remote ``path`` values.
            base_dir: the project folder: a relative path missing from the working directory is looked up there.

        Raises:
            ProjectSpecError: a local ``path`` that does not exist.
        """
        if self.type != "path":
            return value
        if _is_remote(value):
            if storage_dir is None or fetch is None:
                return value
            target = storage_dir / f"param_{self.name}"
            target.mkdir(parents=True, exist_ok=True)
            return fetch(value, target)
        local = value[len("file://") :] if value.startswith("file://") else value
        local = os.path.expanduser(local)
        if not os.path.exists(local) and base_dir is not None and (base_dir / local).exists():
            local = str(base_dir / local)
        local = os.path.abspath(local)
        if not os.path.exists(local):
            raise ProjectSpecError(
                f"Got value {value!r} for parameter {self.name!r}, but no such file or directory was found."
            )
        return local


def _is_int(value: str) -> bool:
    try:
        int(value.strip())
    except ValueError:
        return False
    return True


def _is_float(value: str) -> bool:
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


def _is_uri(value: str) -> bool:
    return bool(urlparse(value).scheme)


def _is_remote(value: str) -> bool:
    scheme = urlparse(value).scheme
    return len(scheme) > 1 and scheme != "file"  # a one-letter scheme is a Windows drive


_CHECKERS: dict[str, Callable[[str], bool]] = {"int": _is_int, "float": _is_float, "uri": _is_uri}
_TYPE_WORDS = {"int": "an integer", "float": "a number", "uri": "a URI with a scheme (such as s3://... or file:///...)"}


@dataclass(frozen=True)
class EntryPoint:
    """One entry point: its name, declared parameters and command template."""

    name: str
    parameters: dict[str, Parameter]
    command: str
    directory: Path | None = None

    def compute_parameters(
        self,
        user_parameters: Mapping[str, Any] | None,
        storage_dir: Path | None = None,
        fetch: Callable[[str, Path], str] | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The declared parameters' final values and the extra (undeclared) ones, all as strings.

        Raises:
            ProjectSpecError: a required parameter is missing or a value has the wrong type.
        """
        given = {str(k): _as_text(v) for k, v in (user_parameters or {}).items()}
        missing = [name for name, p in self.parameters.items() if p.default is None and name not in given]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise ProjectSpecError(f"No value given for missing parameters of entry point {self.name!r}: {names}")
        final: dict[str, str] = {}
        for name, param in self.parameters.items():
            value = param.check(given[name] if name in given else str(param.default), self.name)
            final[name] = param.resolve(value, storage_dir, fetch, self.directory)
        extra = {k: v for k, v in given.items() if k not in self.parameters}
        return final, extra

    def compute_command(
        self,
        user_parameters: Mapping[str, Any] | None,
        storage_dir: Path | None = None,
        fetch: Callable[[str, Path], str] | None = None,
    ) -> str:
        """The shell command with parameters substituted (shell-quoted) and extras appended as ``--k v``.

        Raises:
            ProjectSpecError: missing or mistyped parameters, or a placeholder that is not a parameter.
        """
        final, extra = self.compute_parameters(user_parameters, storage_dir, fetch)
        quoted = {k: shlex.quote(v) for k, v in final.items()}
        try:
            command = self.command.format(**quoted)
        except KeyError as exc:
            raise ProjectSpecError(
                f"The command of entry point {self.name!r} uses {{{exc.args[0]}}}, which is not one of its "
                f"parameters ({', '.join(self.parameters) or 'none'})."
            ) from exc
        except (IndexError, ValueError) as exc:
            raise ProjectSpecError(f"The command of entry point {self.name!r} is not a valid template: {exc}") from exc
        tail = " ".join(f"--{k} {shlex.quote(v)}" for k, v in extra.items())
        return f"{command} {tail}" if tail else command


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@dataclass(frozen=True)
class Project:
    """A loaded project: its folder, name, entry points and environment.

    Attributes:
        env_type: ``python``, ``conda``, ``docker`` or ``local`` (nothing declared or found).
        env_config_path: the ``python_env.yaml`` or ``conda.yaml`` file, when there is one.
        docker_env: the ``docker_env`` mapping (``image``, ``volumes``, ``environment``) for docker projects.
    """

    directory: Path
    name: str | None
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)
    env_type: str = ENV_LOCAL
    env_config_path: Path | None = None
    docker_env: dict[str, Any] | None = None

    def get_entry_point(self, name: str) -> EntryPoint:
        """The named entry point, or a ``.py``/``.sh`` file of the project run as one.

        Raises:
            ProjectSpecError: neither exists.
        """
        if name in self.entry_points:
            return self.entry_points[name]
        suffix = Path(name).suffix
        if suffix in SCRIPT_RUNNERS:
            script = (self.directory / name).resolve()
            if not script.is_relative_to(self.directory.resolve()):
                raise ProjectSpecError(f"Entry point {name!r} lies outside the project folder.")
            if script.is_file():
                runner = SCRIPT_RUNNERS[suffix]
                if runner == "$SHELL":
                    runner = shlex.quote(os.environ.get("SHELL") or "bash")
                return EntryPoint(name, {}, f"{runner} {shlex.quote(name)}", self.directory.resolve())
        known = ", ".join(sorted(self.entry_points)) or "none"
        raise ProjectSpecError(
            f"Could not find entry point {name!r} among the project's entry points ({known}), nor a runnable "
            f"script of that name; runnable script extensions are {', '.join(SCRIPT_RUNNERS)}."
        )


def find_mlproject(directory: Path) -> Path | None:
    """The ``MLproject`` file of ``directory`` (any capitalisation), or None."""
    for entry in sorted(os.listdir(directory)):
        if entry.lower() == MLPROJECT_FILE.lower() and (directory / entry).is_file():
            return directory / entry
    return None


def load_project(directory: str | os.PathLike[str]) -> Project:
    """Read the project in ``directory``.

    Raises:
        ProjectSpecError: the folder is missing, or its ``MLproject`` file is invalid (bad YAML, more than one
            environment, an environment file that does not exist, a bad entry point or parameter).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ProjectSpecError(f"The project folder {folder} does not exist.")
    spec_file = find_mlproject(folder)
    if spec_file is None:
        return _implicit_project(folder)
    try:
        raw = yaml.safe_load(spec_file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectSpecError(f"{spec_file} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProjectSpecError(f"{spec_file} must be a YAML mapping (name, entry_points, ...).")
    env_type, env_path, docker_env = _environment(folder, raw, spec_file)
    entries = raw.get("entry_points") or {}
    if not isinstance(entries, dict):
        raise ProjectSpecError(f"entry_points in {spec_file} must be a mapping of names to entry points.")
    entry_points = {str(name): _entry_point(str(name), body, folder) for name, body in entries.items()}
    name = raw.get("name")
    return Project(folder, str(name) if name is not None else None, entry_points, env_type, env_path, docker_env)


def _implicit_project(folder: Path) -> Project:
    """A folder without ``MLproject``: ``python_env.yaml``, else ``conda.yaml``, else the local Python."""
    for file_name, env_type in (("python_env.yaml", ENV_PYTHON), ("conda.yaml", ENV_CONDA)):
        if (folder / file_name).is_file():
            return Project(folder, None, {}, env_type, folder / file_name)
    return Project(folder, None, {})


def _environment(folder: Path, raw: dict[str, Any], spec_file: Path) -> tuple[str, Path | None, dict[str, Any] | None]:
    declared = [key for key in ("python_env", "conda_env", "docker_env") if raw.get(key)]
    if len(declared) > 1:
        raise ProjectSpecError(f"{spec_file} declares {' and '.join(declared)}: a project can have only one of them.")
    if not declared:
        implicit = _implicit_project(folder)
        return implicit.env_type, implicit.env_config_path, None
    key = declared[0]
    if key == "docker_env":
        docker = raw[key]
        if not isinstance(docker, dict) or not docker.get("image"):
            raise ProjectSpecError(f"docker_env in {spec_file} must be a mapping with an image, e.g. {{image: ...}}.")
        return ENV_DOCKER, None, dict(docker)
    path = (folder / str(raw[key])).resolve()
    if not path.is_file():
        raise ProjectSpecError(f"{spec_file} names {key} {raw[key]!r}, which does not exist in the project.")
    return (ENV_PYTHON if key == "python_env" else ENV_CONDA), path, None


def _entry_point(name: str, body: Any, folder: Path) -> EntryPoint:
    if not isinstance(body, dict) or not isinstance(body.get("command"), str) or not body["command"].strip():
        raise ProjectSpecError(f"Entry point {name!r} needs a command (a string).")
    raw_params = body.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ProjectSpecError(f"The parameters of entry point {name!r} must be a mapping.")
    params = {str(p): _parameter(name, str(p), decl) for p, decl in raw_params.items()}
    _check_placeholders(name, body["command"])
    return EntryPoint(name, params, body["command"], folder.resolve())


def _check_placeholders(entry_point: str, command: str) -> None:
    try:
        list(string.Formatter().parse(command))
    except ValueError as exc:
        raise ProjectSpecError(f"The command of entry point {entry_point!r} is not a valid template: {exc}") from exc


def _parameter(entry_point: str, name: str, decl: Any) -> Parameter:
    if isinstance(decl, dict):
        type_name, default = decl.get("type", "string"), decl.get("default")
    else:
        type_name, default = (decl if decl is not None else "string"), None
    type_name = _TYPE_ALIASES.get(str(type_name).lower(), str(type_name).lower())
    if type_name not in PARAMETER_TYPES:
        raise ProjectSpecError(
            f"Parameter {name!r} of entry point {entry_point!r} has unknown type {type_name!r}; "
            f"use one of {', '.join(PARAMETER_TYPES)}."
        )
    param = Parameter(name, type_name, None if default is None else _as_text(default))
    if param.default is not None:
        try:
            param.check(param.default, entry_point)
        except ProjectSpecError as exc:
            raise ProjectSpecError(f"Invalid default: {exc.message}") from exc
    return param
