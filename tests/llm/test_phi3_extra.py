"""The ``phi3`` extra brings what examples/phi3 imports and runs (and the install lines say to use it)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "phi3"

#: Import name -> distribution name, for the third-party modules the example (and the model builder it runs) uses.
DISTRIBUTIONS = {
    "torch": "torch",
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "onnxruntime_genai": "onnxruntime-genai",
    "openai": "openai",
}
#: What ``python -m onnxruntime_genai.models.builder`` imports beyond onnxruntime-genai; ``models serve`` needs the
#: server (uvicorn, starlette) and the models extra.
ALSO_NEEDED = {"onnx", "onnx_ir", "uvicorn[standard]", "starlette", "pandas", "cloudpickle", "safetensors"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("-", "_")


def _expand(extras: dict[str, list[str]], extra: str) -> set[str]:
    names: set[str] = set()
    for requirement in extras[extra]:
        nested = re.fullmatch(r"mltrail\[([a-z0-9,-]+)\]", requirement)
        if nested:
            for inner in nested.group(1).split(","):
                names |= _expand(extras, inner)
        else:
            names.add(_name(requirement))
    return names


def _third_party_imports() -> set[str]:
    local = {path.stem for path in EXAMPLE.glob("*.py")}
    found: set[str] = set()
    for path in EXAMPLE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name not in local | {"mltrail"}}


def test_phi3_extra_covers_the_example() -> None:
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    brought = _expand(extras, "phi3")
    imported = _third_party_imports()
    assert imported <= set(DISTRIBUTIONS), f"map the new imports of examples/phi3: {imported - set(DISTRIBUTIONS)}"
    missing = {_name(DISTRIBUTIONS[name]) for name in imported} - brought
    assert not missing, f"the phi3 extra lacks {missing}"
    assert {_name(name) for name in ALSO_NEEDED} <= brought
    assert not brought & {"pytest", "ruff", "mlflow_skinny", "playwright", "moto"}, "the extra is not the dev one"


def test_install_lines_use_the_extra() -> None:
    readme = (EXAMPLE / "README.md").read_text()
    assert 'pip install "mltrail[phi3]"' in readme
    assert "mltrail[transformers,onnx]" not in readme
    assert "mltrail[phi3]" in (ROOT / "README.md").read_text()
