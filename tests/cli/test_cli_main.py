"""The ``mltrail`` group, error handling, startup cost and the installed console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mltrail.cli.main import COMMANDS


def _console_script() -> str:
    script = Path(sys.executable).parent / "mltrail"
    found = str(script) if script.exists() else shutil.which("mltrail")
    if not found:
        pytest.fail("the mltrail console script is not installed: pip install -e . into the venv")
    return found


def test_help_lists_every_group(invoke):
    result = invoke("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.stdout
    assert "Examples" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["experiments"],
        ["experiments", "create"],
        ["experiments", "list"],
        ["experiments", "rename"],
        ["experiments", "delete"],
        ["experiments", "restore"],
        ["runs"],
        ["runs", "list"],
        ["runs", "describe"],
        ["runs", "delete"],
        ["runs", "restore"],
        ["runs", "move"],
        ["gc"],
    ],
)
def test_every_command_has_help_with_examples_and_tracking_uri(invoke, args):
    result = invoke(*args, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples" in result.stdout
    is_group = args in (["experiments"], ["runs"])
    if not is_group:
        assert "--tracking-uri" in result.stdout
        assert "--json" in result.stdout


def test_version(invoke):
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("mltrail ")


def test_unknown_command_is_usage_error(invoke):
    result = invoke("frobnicate")
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_unsupported_tracking_uri_is_one_error_line(invoke, one_error_line):
    line = one_error_line(invoke("experiments", "list", "--tracking-uri", "bogus://nowhere"))
    assert "bogus" in line


def test_import_is_light():
    code = (
        "import sys; import mltrail.cli.main; "
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'numpy', 'mltrail.store.tracking.sql') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_console_script_end_to_end(tmp_path):
    """The installed ``mltrail`` executable: a real process, real exit codes, one-line errors."""
    exe = _console_script()
    env = {
        **os.environ,
        "MLTRAIL_TRACKING_URI": f"sqlite:///{tmp_path / 'cli.db'}",
        "MLTRAIL_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    env.pop("MLFLOW_TRACKING_URI", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("mltrail ")

    created = run("experiments", "create", "from-a-process")
    assert created.returncode == 0, created.stderr
    listed = run("experiments", "list")
    assert "from-a-process" in listed.stdout

    missing = run("runs", "describe", "deadbeef" * 4)
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("Error: ")
    assert "Traceback" not in missing.stderr

    duplicate = run("experiments", "create", "from-a-process")
    assert duplicate.returncode == 1
    assert duplicate.stderr.startswith("Error: ") and "Traceback" not in duplicate.stderr

    usage = run("runs", "list", "--view", "nope", "-x", "0")
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr
