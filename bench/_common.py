"""Shared helpers for the side-by-side benchmarks: timing, one subprocess per venv, tables.

Standard library only: the worker half of every benchmark imports this module from *both* interpreters,
mltrail's venv and ``bench/.venv-mlflow``, and the MLflow venv has no mltrail.

A benchmark is an orchestrator (run with any Python) that calls :func:`run_worker` once per side; the
worker prints one JSON object as the last line of its stdout (see :func:`emit_result`).
"""

from __future__ import annotations

import cProfile
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MLTRAIL_PYTHON = REPO_DIR / ".venv" / "bin" / "python"
MLFLOW_PYTHON = BENCH_DIR / ".venv-mlflow" / "bin" / "python"
RESULT_PREFIX = "BENCH-RESULT "

#: Environment for the workers: no telemetry, no network, no colour, no surprises.
WORKER_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "DO_NOT_TRACK": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore",
}


# ------------------------------------------------------------------------------------------ timing
@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as t: ...`` then ``t["seconds"]`` holds the wall time (perf_counter)."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def repeat(func: Callable[[], Any], repetitions: int, warmup: int = 1) -> list[float]:
    """Call ``func`` ``warmup`` times untimed, then ``repetitions`` times; return each call's seconds."""
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return samples


def p50(samples: Sequence[float]) -> float:
    """The median of ``samples``."""
    return statistics.median(samples)


class Profiler:
    """cProfile over chosen sections only: ``with prof.section(): ...`` then ``prof.dump()``.

    With ``path`` None every method is a no-op, so timed code needs no ``if``.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._profile = cProfile.Profile() if path else None

    @contextmanager
    def section(self) -> Iterator[None]:
        """Profile the block (sections accumulate)."""
        if self._profile is None:
            yield
            return
        self._profile.enable()
        try:
            yield
        finally:
            self._profile.disable()

    def dump(self) -> None:
        """Write the accumulated stats to ``path`` (read them with ``python -m pstats``)."""
        if self._profile is not None and self.path:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._profile.dump_stats(self.path)


# ------------------------------------------------------------------------------- worker protocol
def emit_result(result: dict[str, Any]) -> None:
    """Worker side: print the result as the last stdout line, marked so log noise cannot be mistaken."""
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


@dataclass(frozen=True)
class Side:
    """One contender: a name and the interpreter of its venv."""

    name: str
    python: Path

    def check(self) -> None:
        """Fail with advice when the interpreter is missing."""
        if not self.python.exists():
            raise SystemExit(f"{self.name}: no interpreter at {self.python}; run bench/setup.sh first")


def run_worker(
    side: Side, script: Path, args: Sequence[str], timeout: float | None = None, verbose: bool = False
) -> dict[str, Any]:
    """Run ``script args`` with ``side``'s interpreter and return the JSON result it emitted.

    Raises:
        RuntimeError: the worker failed or printed no result (its stderr tail is in the message).
    """
    env = {**os.environ, **WORKER_ENV}
    env.pop("PYTHONPATH", None)
    cmd = [str(side.python), str(script), *args]
    if verbose:
        print(f"  $ {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=BENCH_DIR)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            if proc.returncode == 0:
                return json.loads(line[len(RESULT_PREFIX) :])
            break
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
    raise RuntimeError(f"{side.name} worker failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


# ----------------------------------------------------------------------------------------- output
def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool = False) -> str:
    """An aligned text table (or a GitHub markdown table); the first column left, the rest right."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def fmt(values: Sequence[str]) -> str:
        parts = [v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(values)]
        return ("| " + " | ".join(parts) + " |") if markdown else "  ".join(parts)

    if markdown:
        rule = "|" + "|".join(("-" * (w + 1)) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    else:
        rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(list(headers)), rule, *(fmt(r) for r in cells)])


def fmt_seconds(seconds: float) -> str:
    """Seconds with units that keep three significant digits: ``812 µs``, ``41.2 ms``, ``3.07 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_rate(per_second: float) -> str:
    """A rate such as ``1.23 M/s`` or ``48.1 k/s``."""
    if per_second >= 1e6:
        return f"{per_second / 1e6:.3g} M/s"
    if per_second >= 1e3:
        return f"{per_second / 1e3:.3g} k/s"
    return f"{per_second:.3g} /s"


def machine_info() -> dict[str, str]:
    """What the numbers were measured on: CPU, cores, memory, OS, Python, date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
