"""Helpers for the ``mlflow`` import alias tests: run Python in a subprocess where mlflow is not installed.

The dev venv has ``mlflow-skinny`` installed (tests/compat needs the official client), and the alias refuses to
shadow a real mlflow. So these tests run their code in a subprocess whose ``PYTHONPATH`` starts with
``hide_mlflow/``: its ``sitecustomize.py`` runs at interpreter startup and swaps the import system's path finder for
one that does not see ``mlflow`` (see that file). To that subprocess, mlflow is simply not installed. In-process
tests (``test_alias.py``) check the other side: with the real mlflow present, the alias refuses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HIDE_MLFLOW = HERE / "hide_mlflow"
COOKBOOK = HERE / "cookbook"

_TRACKING_ENV = ("MLFLOW_", "MLTRAIL_")


def run_python(
    args: list[str], cwd: Path, hide_mlflow: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd`` (a fresh folder: the default sqlite store lands there), mlflow hidden or not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_TRACKING_ENV)}
    paths = [str(HIDE_MLFLOW)] if hide_mlflow else []
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update({"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
