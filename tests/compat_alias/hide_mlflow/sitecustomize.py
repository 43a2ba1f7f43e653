"""Test shim: make this interpreter behave as if the ``mlflow`` package were not installed.

The dev venv has ``mlflow-skinny`` (the official client, for tests/compat). A subprocess that puts this folder first
on ``PYTHONPATH`` runs this file at startup (``site`` imports ``sitecustomize``), before any user code: it swaps the
import system's path-based finder for one that does not see ``mlflow`` or ``mlflow.*``. ``import mlflow`` then fails
with ModuleNotFoundError and ``importlib.util.find_spec("mlflow")`` is None, exactly as without the package, while
every other package of the venv imports as usual. (The ``mlflow_skinny`` dist-info metadata stays visible to
``importlib.metadata``; nothing in these tests reads it.)
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder


class _PathFinderWithoutMlflow(PathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):  # type: ignore[no-untyped-def,override]
        if fullname == "mlflow" or fullname.startswith("mlflow."):
            return None
        return super().find_spec(fullname, path, target)


sys.meta_path[:] = [_PathFinderWithoutMlflow if f is PathFinder else f for f in sys.meta_path]
for _name in [n for n in sys.modules if n == "mlflow" or n.startswith("mlflow.")]:
    del sys.modules[_name]
