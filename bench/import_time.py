"""`import mltrail` against `import mlflow`: wall time over a bare interpreter, and what gets imported.

Usage: .venv/bin/python bench/import_time.py [--runs 9]
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _common import MLFLOW_PYTHON, MLTRAIL_PYTHON, p50, render_table

HEAVY = ("pandas", "numpy", "sqlalchemy", "starlette", "flask", "fastapi", "click")


def _wall(python: str, code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return p50(samples)


def _heavy_modules(python: str, module: str) -> list[str]:
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    return [m for m in out.split(",") if m]


def main() -> None:
    """Print the median import cost of each package over a bare interpreter start."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    rows = []
    for name, python, module in (("mltrail", MLTRAIL_PYTHON, "mltrail"), ("MLflow", MLFLOW_PYTHON, "mlflow")):
        bare = _wall(str(python), "pass", args.runs)
        loaded = _wall(str(python), f"import {module}", args.runs)
        heavy = _heavy_modules(str(python), module)
        rows.append([name, f"{bare * 1000:.0f} ms", f"{(loaded - bare) * 1000:.0f} ms", ", ".join(heavy) or "none"])
    print(render_table(["package", "bare interpreter", "import cost (p50)", "heavy modules pulled in"], rows))


if __name__ == "__main__":
    main()
