"""``python -m mltrail.compat script.py [args]`` / ``python -m mltrail.compat -m module [args]``.

Runs an MLflow script unchanged on mltrail with the ``mlflow`` import alias (:func:`mltrail.compat.alias_mlflow`)
in effect, as ``python script.py [args]`` would run it (``__name__ == "__main__"``, ``sys.argv``, the script's
folder first on ``sys.path``). Exits with status 2 and a message when the real mlflow is installed, or on bad usage.
"""

from __future__ import annotations

import os
import runpy
import sys

from mltrail.compat._alias import alias_mlflow
from mltrail.errors import MltrailError

USAGE = "usage: python -m mltrail.compat script.py [args ...]  |  python -m mltrail.compat -m module [args ...]"


def main(argv: list[str] | None = None) -> int:
    """Run the script or module; returns the exit status for usage errors and refusals."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    try:
        alias_mlflow()
    except MltrailError as exc:
        print(f"mltrail.compat: {exc.message}", file=sys.stderr)
        return 2
    if args[0] == "-m":
        if len(args) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    script = args[0]
    if not os.path.isfile(script):
        print(f"mltrail.compat: can't open file {script!r}: no such file", file=sys.stderr)
        return 2
    sys.argv = args
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
