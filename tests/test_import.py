"""``import mltrail`` stays light: no heavy third-party module, and the lazy public API resolves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "pandas",
    "numpy",
    "sqlalchemy",
    "alembic",
    "click",
    "starlette",
    "uvicorn",
    "httpx",
    "fastapi",
    "flask",
    "matplotlib",
    "PIL",
    "yaml",
)


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def test_import_pulls_in_no_heavy_module() -> None:
    out = _run(f"import json, sys, mltrail; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert json.loads(out) == []


def test_import_loads_no_mltrail_submodule() -> None:
    out = _run(
        "import json, sys, mltrail; print(json.dumps(sorted(m for m in sys.modules if m.startswith('mltrail'))))"
    )
    assert json.loads(out) == ["mltrail"]


def test_fluent_api_is_still_light() -> None:
    # Using the fluent API loads the tracking layer, still without pandas or numpy.
    code = (
        "import json, sys, mltrail; mltrail.start_run; mltrail.MlflowClient; mltrail.Run; "
        "print(json.dumps([m for m in ('pandas', 'numpy', 'matplotlib', 'PIL') if m in sys.modules]))"
    )
    assert json.loads(_run(code)) == []


def test_public_names_resolve() -> None:
    import mltrail

    for name in mltrail.__all__:
        assert getattr(mltrail, name) is not None, name
    assert mltrail.Client is mltrail.MlflowClient is mltrail.MltrailClient
    assert mltrail.MlflowException is mltrail.MltrailError
    assert "start_run" in dir(mltrail)
    assert mltrail.entities.Run is mltrail.Run
    with pytest.raises(AttributeError):
        mltrail.does_not_exist  # noqa: B018


def test_import_time_is_small() -> None:
    """Well under 100 ms over a bare interpreter (measured as the cumulative ``-X importtime`` figure)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import mltrail"], capture_output=True, text=True)
    line = next(ln for ln in done.stderr.splitlines() if ln.rstrip().endswith("| mltrail"))
    cumulative_us = int(line.split("|")[1])
    assert cumulative_us < 50_000, line


def _type_checking_imports() -> dict[str, tuple[str, str]]:
    """Public name -> (module, attribute) of each import under ``if TYPE_CHECKING:`` in ``mltrail/__init__.py``."""
    import ast

    import mltrail

    tree = ast.parse(Path(mltrail.__file__).read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith("mltrail"):
                for alias in statement.names:
                    found[alias.asname or alias.name] = (statement.module or "", alias.name)
    return found


def test_lazy_table_all_and_type_checking_imports_agree() -> None:
    """The three lists of the public surface name the same things: what resolves lazily, what ``__all__`` exports
    and what type checkers see."""
    import mltrail

    lazy = set(mltrail._LAZY) | set(mltrail._SUBMODULES)
    exported = set(mltrail.__all__) - {"__version__"}
    typed = _type_checking_imports()
    assert sorted(exported ^ lazy) == []
    assert sorted(exported ^ set(typed)) == []
    assert len(mltrail.__all__) == len(set(mltrail.__all__))
    for name, (module, attribute) in typed.items():
        if name in mltrail._SUBMODULES:
            assert (module, attribute) == ("mltrail", name), name
        else:  # the type checker's import is the one __getattr__ makes
            assert (module, attribute) == (mltrail._LAZY[name], mltrail._RENAMED.get(name, name)), name


@pytest.mark.parametrize(
    "module",
    [
        "mltrail.models",
        "mltrail.models.coerce",
        "mltrail.models.enforce",
        "mltrail.models.flavor",
        "mltrail.models.generation",
        "mltrail.models.llm",
        "mltrail.models.model",
        "mltrail.models.params",
        "mltrail.models.schema",
        "mltrail.models.signature",
        "mltrail.onnx_genai",
        "mltrail.serving.app",
        "mltrail.serving.batching",
        "mltrail.serving.openai",
        "mltrail.sklearn",
        "mltrail.tracking.fluent",
        "mltrail.transformers",
    ],
)
def test_public_modules_declare_what_they_export(module: str) -> None:
    import importlib

    imported = importlib.import_module(module)
    assert len(imported.__all__) == len(set(imported.__all__))
    for name in imported.__all__:
        assert getattr(imported, name) is not None, f"{module}.{name}"
