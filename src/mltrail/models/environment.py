"""A model's environment files: ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` (MLflow format §3.4).

**Requirements inference.** MLflow loads the saved model in a subprocess and records every module that gets
imported (seconds per save). mltrail reads the same answer from the saved files without running them:

- a pickle (``*.pkl``, cloudpickle included) imports exactly the modules its ``GLOBAL``/``STACK_GLOBAL``
  opcodes name, plus those cloudpickle re-imports by name (``subimport("numpy")``), so walking the opcodes
  with :mod:`pickletools` finds every module that unpickling imports directly;
- a skops file (``*.skops``) lists the ``__module__`` of every object in its ``schema.json``;
- Python sources (models from code, ``code_paths``) name their imports in ``import`` statements (:mod:`ast`);
- the flavor adds the modules its loader needs (``mltrail.pyfunc`` needs pandas and numpy).

The top-level modules are mapped to installed distributions (``importlib.metadata.packages_distributions``),
standard library modules and mltrail/mlflow themselves are dropped, and each is pinned to its installed version;
``mltrail==<version>`` comes first. Dependencies of these packages come with ``pip install`` as usual.
"""

from __future__ import annotations

import ast
import json
import os
import pickletools
import sys
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from mltrail import errors

REQUIREMENTS_FILE_NAME = "requirements.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONDA_ENV_FILE_NAME = "conda.yaml"
CONSTRAINTS_FILE_NAME = "constraints.txt"

_SELF = {"mltrail", "mlflow", "mlflow-skinny", "mlflow_skinny"}
_CLOUDPICKLE_IMPORTERS = {"subimport", "dynamic_subimport"}


def python_version() -> str:
    """The running Python's ``major.minor.micro``."""
    return ".".join(map(str, sys.version_info[:3]))


def _mltrail_requirement() -> str:
    import mltrail

    return f"mltrail=={mltrail.__version__}"


# ------------------------------------------------------------------------------------------- module scans
def modules_in_pickle(path: str) -> set[str]:
    """Top-level modules a pickle file imports when loaded (without loading it).

    Follows the memo so that module names pickled once and fetched again (``BINGET``) are seen too.
    """
    found: set[str] = set()
    pushed: list[str | None] = []
    memo: dict[int, str | None] = {}
    expect_module = False
    with open(path, "rb") as handle:
        data = handle.read()

    def push(value: str | None) -> None:
        nonlocal expect_module
        pushed.append(value)
        if expect_module and value is not None:
            found.add(value)
            expect_module = False

    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            if name in ("GLOBAL", "INST") and isinstance(arg, str):
                module, _, attr = arg.partition(" ")
                found.add(module)
                expect_module = attr in _CLOUDPICKLE_IMPORTERS
            elif name == "STACK_GLOBAL" and len(pushed) >= 2:
                if pushed[-2]:
                    found.add(pushed[-2])  # type: ignore[arg-type]
                expect_module = pushed[-1] in _CLOUDPICKLE_IMPORTERS
                pushed.append(None)
            elif name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = pushed[-1] if pushed else None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                push(memo.get(int(arg)))
            elif isinstance(arg, str) and "UNICODE" in name:
                push(arg)
    except Exception:  # a truncated or non-pickle file: keep what was found
        pass
    return {m.split(".")[0] for m in found if m}


def modules_in_skops(path: str) -> set[str]:
    """Top-level modules named in a skops file's ``schema.json``."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            module = node.get("__module__")
            if isinstance(module, str):
                found.add(module.split(".")[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        with zipfile.ZipFile(path) as archive:
            walk(json.loads(archive.read("schema.json")))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        pass
    return found


def modules_in_source(path: str) -> set[str]:
    """Top-level modules a Python file imports (absolute imports only)."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def modules_in_directory(path: str) -> set[str]:
    """The modules that loading the files under ``path`` imports: pickles, skops files and Python sources."""
    found: set[str] = set()
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if name.endswith((".pkl", ".pickle", ".cloudpickle")):
                found |= modules_in_pickle(full)
            elif name.endswith(".skops"):
                found |= modules_in_skops(full)
            elif name.endswith(".py"):
                found |= modules_in_source(full)
    return found


# ------------------------------------------------------------------------------------------ requirements
def _distribution_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def requirements_for_modules(modules: Iterable[str]) -> list[str]:
    """Pinned requirements (``name==version``) of the installed distributions providing ``modules``, sorted.

    Standard-library modules, modules no installed distribution provides (the user's own code) and
    mltrail/mlflow themselves are skipped.
    """
    from importlib.metadata import packages_distributions

    mapping = packages_distributions()
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    pinned: dict[str, str] = {}
    for module in modules:
        if not module or module in stdlib or module.startswith("_") or module in ("__main__", "builtins"):
            continue
        for dist in mapping.get(module, []):
            if dist.lower() in _SELF:
                continue
            installed = _distribution_version(dist)
            if installed is not None:
                pinned.setdefault(dist.lower(), f"{dist}=={installed}")
    return sorted(pinned.values(), key=str.lower)


def infer_pip_requirements(model_dir: str, extra_modules: Iterable[str] = ()) -> list[str]:
    """The requirements inferred for the saved model in ``model_dir`` (see the module docstring).

    Args:
        model_dir: the saved model directory.
        extra_modules: modules the flavor's loader needs in any case.

    Returns:
        Sorted, pinned requirements (mltrail itself not included).
    """
    return requirements_for_modules(modules_in_directory(model_dir) | set(extra_modules))


def _requirement_name(requirement: str) -> str:
    import re

    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1).lower().replace("_", "-") if match else requirement.strip()


def _read_requirements(value: str | Sequence[str]) -> tuple[list[str], list[str]]:
    """(requirements, constraints) from a list or a requirements file path, following ``-r``/``-c`` lines."""
    lines: list[str]
    constraints: list[str] = []
    if isinstance(value, (str, os.PathLike)):
        base = os.path.dirname(os.fspath(value))
        with open(value, encoding="utf-8") as handle:
            raw = handle.read().splitlines()
    else:
        base, raw = os.getcwd(), list(value)
    lines = []
    for line in raw:
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            nested, nested_constraints = _read_requirements(os.path.join(base, line.split(None, 1)[1]))
            lines += nested
            constraints += nested_constraints
        elif line.startswith(("-c ", "--constraint ")):
            constraints += _read_requirements(os.path.join(base, line.split(None, 1)[1]))[0]
        else:
            lines.append(line)
    return lines, constraints


def resolve_requirements(
    inferred: Sequence[str],
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """The final ``requirements.txt`` lines and constraints, with MLflow's precedence.

    ``pip_requirements`` replaces the inferred list; ``extra_pip_requirements`` is added to it; ``mltrail`` is
    added first unless listed. Duplicates (by package name) keep the first occurrence.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when both arguments are given.
    """
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise errors.invalid(
            "Only one of `conda_env`, `pip_requirements`, and `extra_pip_requirements` can be specified"
        )
    constraints: list[str] = []
    if pip_requirements is not None:
        requirements, constraints = _read_requirements(pip_requirements)
    elif extra_pip_requirements is not None:
        extra, constraints = _read_requirements(extra_pip_requirements)
        requirements = [*inferred, *extra]
    else:
        requirements = list(inferred)
    if not any(_requirement_name(r) in ("mltrail", "mlflow") for r in requirements):
        requirements.insert(0, _mltrail_requirement())
    seen: set[str] = set()
    unique = []
    for requirement in requirements:
        key = _requirement_name(requirement)
        if key not in seen:
            seen.add(key)
            unique.append(requirement)
    if constraints:
        unique.append(f"-c {CONSTRAINTS_FILE_NAME}")
    return unique, constraints


# ------------------------------------------------------------------------------------------------- files
def _build_dependencies() -> list[str]:
    deps = []
    for name in ("pip", "setuptools", "wheel"):
        installed = _distribution_version(name)
        deps.append(f"{name}=={installed}" if installed else name)
    return deps


def python_env_dict(
    python: str | None = None, dependencies: Sequence[str] = ("-r requirements.txt",)
) -> dict[str, Any]:
    """The content of ``python_env.yaml``."""
    return {
        "python": python or python_version(),
        "build_dependencies": _build_dependencies(),
        "dependencies": list(dependencies),
    }


def conda_env_dict(pip_requirements: Sequence[str], python: str | None = None) -> dict[str, Any]:
    """The content of ``conda.yaml``: conda-forge, Python, pip and the pip requirements."""
    pip_version = _distribution_version("pip")
    return {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python or python_version()}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": list(pip_requirements)},
        ],
    }


def _pip_section(conda_env: dict[str, Any]) -> list[str]:
    for dep in conda_env.get("dependencies", []):
        if isinstance(dep, dict) and "pip" in dep:
            return [str(x) for x in dep["pip"]]
    return []


def _conda_python(conda_env: dict[str, Any]) -> str | None:
    for dep in conda_env.get("dependencies", []):
        if isinstance(dep, str) and dep.startswith("python"):
            version = dep[len("python") :].lstrip("=<>~ ")
            return version or None
    return None


def write_environment(
    path: str,
    inferred: Sequence[str],
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
) -> list[str]:
    """Write ``requirements.txt``, ``python_env.yaml``, ``conda.yaml`` (and ``constraints.txt``) into ``path``.

    Args:
        path: the model directory.
        inferred: the inferred (or flavor default) requirements.
        pip_requirements: replaces ``inferred``: a list or a requirements file path.
        extra_pip_requirements: added to ``inferred``.
        conda_env: a conda environment dict or YAML file path; its pip section becomes the requirements.

    Returns:
        The requirements written.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when more than one of the three options is given.
    """
    import yaml

    given = [x is not None for x in (pip_requirements, extra_pip_requirements, conda_env)]
    if sum(given) > 1:
        raise errors.invalid(
            "Only one of `conda_env`, `pip_requirements`, and `extra_pip_requirements` can be specified"
        )
    python = None
    if conda_env is not None:
        if not isinstance(conda_env, dict):
            with open(conda_env, encoding="utf-8") as handle:
                conda_env = yaml.safe_load(handle) or {}
        python = _conda_python(conda_env)
        requirements, constraints = resolve_requirements([], _pip_section(conda_env) or [_mltrail_requirement()])
        conda = conda_env
    else:
        requirements, constraints = resolve_requirements(inferred, pip_requirements, extra_pip_requirements)
        conda = conda_env_dict(requirements)
    with open(os.path.join(path, CONDA_ENV_FILE_NAME), "w", encoding="utf-8") as out:
        yaml.safe_dump(conda, out, default_flow_style=False)
    with open(os.path.join(path, PYTHON_ENV_FILE_NAME), "w", encoding="utf-8") as out:
        yaml.safe_dump(python_env_dict(python), out, default_flow_style=False, sort_keys=False)
    with open(os.path.join(path, REQUIREMENTS_FILE_NAME), "w", encoding="utf-8") as out:
        out.write("\n".join(requirements))
    if constraints:
        with open(os.path.join(path, CONSTRAINTS_FILE_NAME), "w", encoding="utf-8") as out:
            out.write("\n".join(constraints))
    return requirements
