"""Projects: reproducible, parameterised runs of code from a folder, a git repository or a zip file.

Public surface (imported on first use, so ``import mltrail.projects`` stays cheap)::

    import mltrail.projects

    submitted = mltrail.projects.run("https://github.com/org/repo#examples/train", version="v1.2",
                                     parameters={"alpha": 0.3}, env_manager="virtualenv")
    submitted.run_id, submitted.get_status()

See :func:`mltrail.projects.runner.run` for the arguments, :mod:`mltrail.projects.spec` for the ``MLproject``
format and :mod:`mltrail.projects.fetch` for the URIs understood.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltrail.projects.runner import ExecutionError, ExecutionException, run
    from mltrail.projects.spec import EntryPoint, Parameter, Project, ProjectSpecError, load_project
    from mltrail.projects.submitted import LocalSubmittedRun, SubmittedRun

_EXPORTS = {
    "run": "mltrail.projects.runner",
    "ExecutionError": "mltrail.projects.runner",
    "ExecutionException": "mltrail.projects.runner",
    "load_project": "mltrail.projects.spec",
    "Project": "mltrail.projects.spec",
    "EntryPoint": "mltrail.projects.spec",
    "Parameter": "mltrail.projects.spec",
    "ProjectSpecError": "mltrail.projects.spec",
    "SubmittedRun": "mltrail.projects.submitted",
    "LocalSubmittedRun": "mltrail.projects.submitted",
}

__all__ = [
    "EntryPoint",
    "ExecutionError",
    "ExecutionException",
    "LocalSubmittedRun",
    "Parameter",
    "Project",
    "ProjectSpecError",
    "SubmittedRun",
    "load_project",
    "run",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mltrail.projects' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
