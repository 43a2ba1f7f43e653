"""Model environments for ``--env-manager virtualenv|uv``: built from the model's files, cached by content hash.

A model directory names its environment in ``MLmodel`` (``flavors.python_function.env.virtualenv``, normally
``python_env.yaml``): a Python version, build dependencies and dependencies (``-r requirements.txt``). The
environment is created once under ``<root>/<hash>`` where the hash covers those files' contents, the
manager and how mltrail itself is installed; ``root`` is ``$MLTRAIL_ENV_ROOT`` or ``~/.cache/mltrail/envs``.
A second serve of a model with the same files reuses it. An environment is marked complete last, so an
interrupted build is detected and redone; a file lock keeps two processes from building the same one at once.

mltrail itself goes into the environment from where it runs: its source folder when installed editable or
from a local path (a development checkout), else ``mltrail==<version>`` from the package index. The model's
own ``mltrail``/``mlflow`` pins are dropped in favour of that.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from mltrail import errors
from mltrail.errors import MltrailError

ENV_ROOT_ENV = "MLTRAIL_ENV_ROOT"
ENV_MANAGERS = ("local", "virtualenv", "uv")
_MARKER = ".mltrail-env.json"
_SERVING_EXTRAS = "server,pandas"
_SKIPPED_REQUIREMENTS = re.compile(r"^\s*(mltrail|mlflow|mlflow-skinny)\s*(\[.*\])?\s*([<>=!~;@ ].*)?$", re.I)


@dataclass(frozen=True)
class PythonEnv:
    """A model's ``python_env.yaml``: the Python version and the requirement lines to install."""

    python: str
    build_dependencies: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


def env_root() -> Path:
    """Where environments are cached: ``$MLTRAIL_ENV_ROOT`` or ``~/.cache/mltrail/envs``."""
    configured = os.environ.get(ENV_ROOT_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "mltrail" / "envs"


def _python_env_file(model_dir: Path) -> Path:
    name = "python_env.yaml"
    mlmodel = model_dir / "MLmodel"
    if mlmodel.is_file():
        try:
            conf = yaml.safe_load(mlmodel.read_text()) or {}
        except yaml.YAMLError as exc:
            raise errors.invalid(f"Cannot read {mlmodel}: {exc}") from exc
        env = ((conf.get("flavors") or {}).get("python_function") or {}).get("env")
        if isinstance(env, dict) and env.get("virtualenv"):
            name = str(env["virtualenv"])
    return model_dir / name


def read_python_env(model_dir: Path) -> PythonEnv:
    """The model's environment spec (``python_env.yaml``, or ``requirements.txt`` with this Python).

    Raises:
        MltrailError: the model has neither file.
    """
    path = _python_env_file(model_dir)
    if path.is_file():
        return read_python_env_file(path)
    if (model_dir / "requirements.txt").is_file():
        return PythonEnv(python=_this_python(), dependencies=["-r requirements.txt"])
    raise errors.invalid(
        f"The model at {model_dir} has no python_env.yaml or requirements.txt to build an environment from; "
        "serve it with --env-manager local."
    )


def read_python_env_file(path: Path) -> PythonEnv:
    """Parse one ``python_env.yaml`` (``python``, ``build_dependencies``, ``dependencies``).

    Raises:
        MltrailError: the file is not valid YAML or not a mapping.
    """
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise errors.invalid(f"Cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise errors.invalid(f"{path} must be a YAML mapping with python and dependencies.")
    return PythonEnv(
        python=str(raw.get("python") or _this_python()),
        build_dependencies=[str(d) for d in raw.get("build_dependencies") or []],
        dependencies=[str(d) for d in raw.get("dependencies") or []],
    )


def _this_python() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def expand_requirements(lines: list[str], base_dir: Path, seen: set[Path] | None = None) -> list[str]:
    """Requirement lines with ``-r file`` references inlined (relative to ``base_dir``), mltrail/mlflow pins dropped."""
    seen = set() if seen is None else seen
    out: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^(-r|--requirement)\s*=?\s*(.+)$", line)
        if match:
            ref = (base_dir / match.group(2).strip()).resolve()
            if ref in seen:
                continue
            seen.add(ref)
            if not ref.is_file():
                raise MltrailError(f"The model's requirements refer to {ref}, which does not exist.")
            out.extend(expand_requirements(ref.read_text().splitlines(), ref.parent, seen))
        elif not _SKIPPED_REQUIREMENTS.match(line):
            out.append(line)
    return out


def mltrail_install_args(extras: str = _SERVING_EXTRAS) -> list[str]:
    """pip arguments that install this mltrail (with ``extras``, the serving ones by default) elsewhere."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("mltrail")
    except PackageNotFoundError:
        dist = None
    if dist is not None:
        direct = dist.read_text("direct_url.json")
        if direct:
            info = json.loads(direct)
            url = info.get("url", "")
            if url.startswith("file://"):
                path = unquote(urlparse(url).path)
                editable = bool((info.get("dir_info") or {}).get("editable"))
                target = f"{path}[{extras}]" if extras else path
                return ["-e", target] if editable else [target]
        return [f"mltrail[{extras}]=={dist.version}" if extras else f"mltrail=={dist.version}"]
    source = Path(__file__).resolve().parents[3]  # src/mltrail/serving/envs.py -> the checkout
    if (source / "pyproject.toml").is_file():
        return ["-e", f"{source}[{extras}]" if extras else str(source)]
    raise MltrailError("Cannot tell how mltrail is installed, so it cannot be installed into the model environment.")


def env_hash(model_dir: Path, manager: str) -> str:
    """The cache key of a model's environment: its spec and requirement contents, the manager, mltrail's source."""
    return spec_hash(read_python_env(model_dir), model_dir, manager)


def spec_hash(spec: PythonEnv, base_dir: Path, manager: str, extras: str = _SERVING_EXTRAS) -> str:
    """The cache key of an environment built from ``spec`` (``-r`` files resolved against ``base_dir``)."""
    payload = {
        "python": spec.python,
        "build": spec.build_dependencies,
        "deps": expand_requirements(spec.dependencies, base_dir),
        "manager": manager,
        "mltrail": mltrail_install_args(extras),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:40]


def env_python(env_dir: Path) -> Path:
    """The interpreter of an environment folder."""
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def find_python(version: str) -> str:
    """An interpreter for ``version`` (exact, else the same major.minor): this one, pyenv's, or on PATH.

    Raises:
        MltrailError: none is installed.
    """
    wanted = version.split(".")
    candidates: list[tuple[str, str]] = [(_this_python(), sys.executable)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        candidates += [(p.name, str(p / "bin" / "python")) for p in sorted(pyenv.iterdir()) if (p / "bin").is_dir()]
    for exact in (True, False):
        for have, exe in candidates:
            parts = have.split(".")
            if (parts == wanted if exact else parts[:2] == wanted[:2]) and os.path.exists(exe):
                return exe
    found = shutil.which(f"python{'.'.join(wanted[:2])}")
    if found:
        return found
    raise errors.invalid(
        f"The model needs Python {version}, which is not installed here (looked at {sys.executable}, pyenv and "
        f"PATH). Install it (e.g. `pyenv install {version}`), or use --env-manager uv, which can download it."
    )


def _run(cmd: list[str], cwd: Path | None = None, quiet: bool = True) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=quiet, text=True)
    if proc.returncode != 0:
        tail = "\n".join(((proc.stderr or "") + (proc.stdout or "")).strip().splitlines()[-15:]) if quiet else ""
        command = " ".join(cmd)
        raise MltrailError(f"Building the model environment failed: `{command}` exited {proc.returncode}.\n{tail}")


def _uv() -> str:
    found = shutil.which("uv")
    if found is None:
        candidate = Path(sys.executable).parent / "uv"
        if candidate.exists():
            return str(candidate)
        raise errors.invalid(
            "--env-manager uv needs the `uv` command, which is not installed: `pip install uv` (or use "
            "--env-manager virtualenv)."
        )
    return found


def get_or_create_env(model_dir: Path, manager: str, log: bool = True) -> Path:
    """The interpreter of the model's environment, building it first when it is not cached.

    Args:
        model_dir: a local model directory.
        manager: ``virtualenv`` (``python -m venv`` + pip) or ``uv`` (``uv venv`` + ``uv pip``).
        log: print progress to stderr.

    Raises:
        MltrailError: no suitable Python, ``uv`` missing, or an install failed (with pip's last lines).
    """
    if manager not in ("virtualenv", "uv"):
        raise MltrailError(f"Unknown env manager {manager!r}: use one of {', '.join(ENV_MANAGERS)}.")
    model_dir = model_dir.resolve()
    return get_or_create_python_env(read_python_env(model_dir), model_dir, manager, log=log)


def get_or_create_python_env(
    spec: PythonEnv,
    base_dir: Path,
    manager: str,
    *,
    log: bool = True,
    extras: str = _SERVING_EXTRAS,
    what: str = "model",
) -> Path:
    """The interpreter of the environment for ``spec``, built under :func:`env_root` when not cached.

    Args:
        spec: the Python version and requirements.
        base_dir: the folder that ``-r`` requirement references are relative to (installs run there).
        manager: ``virtualenv`` or ``uv``.
        log: print progress to stderr.
        extras: mltrail's extras to install into the environment ("" for none).
        what: what the environment is for, in progress messages ("model", "project").

    Raises:
        MltrailError: no suitable Python, ``uv`` missing, or an install failed (with pip's last lines).
    """
    if manager not in ("virtualenv", "uv"):
        raise MltrailError(f"Unknown env manager {manager!r}: use one of {', '.join(ENV_MANAGERS)}.")
    root = env_root()
    key = spec_hash(spec, base_dir, manager, extras)
    final = root / key
    if (final / _MARKER).is_file() and env_python(final).exists():
        if log:
            print(f"Using cached {what} environment {final}", file=sys.stderr, flush=True)
        return env_python(final)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{key}.lock"):
        if (final / _MARKER).is_file() and env_python(final).exists():  # another process built it meanwhile
            return env_python(final)
        if final.exists():  # a build that was interrupted: start over
            shutil.rmtree(final)
        if log:
            what_env = f"{what} environment {final} ({manager}, Python {spec.python})"
            print(f"Creating {what_env}...", file=sys.stderr, flush=True)
        try:
            _build(final, spec, base_dir, manager, extras)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    return env_python(final)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes building the same environment (POSIX; no-op elsewhere)."""
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(env_dir: Path, spec: PythonEnv, model_dir: Path, manager: str, extras: str = _SERVING_EXTRAS) -> None:
    """Create the environment at ``env_dir`` and install the requirements and mltrail into it."""
    if manager == "uv":
        uv = _uv()
        _run([uv, "venv", "--quiet", str(env_dir), f"--python={spec.python}"])
        install = [uv, "pip", "install", "--quiet", "--python", str(env_python(env_dir))]
    else:
        _run([find_python(spec.python), "-m", "venv", str(env_dir)])
        install = [str(env_python(env_dir)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if spec.build_dependencies:
        _run([*install, *spec.build_dependencies])
    requirements = expand_requirements(spec.dependencies, model_dir)
    if requirements:
        with tempfile.TemporaryDirectory() as tmp:
            req_file = Path(tmp) / "requirements.txt"
            req_file.write_text("\n".join(requirements) + "\n")
            _run([*install, "-r", str(req_file)], cwd=model_dir)
    _run([*install, *mltrail_install_args(extras)])
    # Written last: an environment without it is incomplete and gets rebuilt.
    (env_dir / _MARKER).write_text(json.dumps({"python": spec.python, "requirements": requirements}))
