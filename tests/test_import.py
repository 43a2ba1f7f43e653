"""``import mltrail`` stays light: no heavy third-party module, and the lazy public API resolves."""

from __future__ import annotations

import json
import subprocess
import sys

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
