"""The ``mlflow`` -> mltrail meta-path finder and its alias modules (see :mod:`mltrail.compat`)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from mltrail import errors

__all__ = ["ALIASES", "alias_mlflow", "is_aliased", "unalias_mlflow"]

#: MLflow module -> the mltrail modules whose names it offers, looked up in this order.
ALIASES: dict[str, tuple[str, ...]] = {
    "mlflow": ("mltrail",),
    "mlflow.client": ("mltrail.tracking.client",),
    "mlflow.entities": ("mltrail.entities",),
    "mlflow.entities.model_registry": ("mltrail.entities",),
    "mlflow.exceptions": ("mltrail.errors",),
    "mlflow.models": ("mltrail.models",),
    "mlflow.models.model": ("mltrail.models.model",),
    "mlflow.models.signature": ("mltrail.models.signature",),
    "mlflow.pyfunc": ("mltrail.pyfunc",),
    "mlflow.pyfunc.model": ("mltrail.pyfunc.model",),
    "mlflow.sklearn": ("mltrail.sklearn",),
    "mlflow.tracking": ("mltrail.tracking.client", "mltrail.tracking.fluent", "mltrail.tracking.registry"),
    "mlflow.tracking.client": ("mltrail.tracking.client",),
    "mlflow.tracking.fluent": ("mltrail.tracking.fluent",),
    "mlflow.transformers": ("mltrail.transformers",),
    "mlflow.types": ("mltrail.models.schema", "mltrail.models.params"),
    "mlflow.types.schema": ("mltrail.models.schema", "mltrail.models.params"),
}

_ROOT = "mlflow"
_lock = threading.Lock()


def _not_provided(name: str) -> str:
    parent = name.rpartition(".")[0]
    while parent and parent not in ALIASES:
        parent = parent.rpartition(".")[0]
    offered = f"; {parent} stands for {', '.join(ALIASES[parent])}" if parent else ""
    return (
        f"mltrail does not provide {name} (the mlflow import alias of mltrail.compat is active{offered}). "
        "Use what mltrail has under that name, or run the script where the real mlflow is installed."
    )


class AliasModule(ModuleType):
    """``mlflow.X``: names are looked up in mltrail's modules on each use; unknown names are a clear AttributeError."""

    def __init__(self, name: str, targets: Sequence[str]) -> None:
        super().__init__(name, f"mltrail's stand-in for {name} (resolves to {', '.join(targets)})")
        self.__path__: list[str] = []  # a package: submodules are imported through the finder
        self._mltrail_targets = tuple(targets)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr != "__version__":
            raise AttributeError(attr)
        sub = f"{self.__name__}.{attr}"
        if sub in ALIASES:
            return importlib.import_module(sub)
        for target in self._mltrail_targets:
            module = importlib.import_module(target)
            try:
                return getattr(module, attr)
            except AttributeError:
                continue
        raise AttributeError(_not_provided(sub), name=attr, obj=self)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        prefix = self.__name__ + "."
        names.update(n[len(prefix) :] for n in ALIASES if n.startswith(prefix) and "." not in n[len(prefix) :])
        for target in self._mltrail_targets:
            names.update(n for n in dir(importlib.import_module(target)) if not n.startswith("_"))
        return sorted(names)

    def __repr__(self) -> str:
        return f"<module {self.__name__!r} (mltrail alias of {', '.join(self._mltrail_targets)})>"


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return AliasModule(spec.name, ALIASES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        for target in getattr(module, "_mltrail_targets", ()):
            importlib.import_module(target)  # fail at import time, as the real module would


class MlflowAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``mlflow`` and ``mlflow.*`` to :class:`AliasModule` objects; other names are not its business."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        """The alias spec of an ``mlflow`` module; ModuleNotFoundError for one that mltrail does not provide."""
        if fullname != _ROOT and not fullname.startswith(_ROOT + "."):
            return None
        if fullname not in ALIASES:
            raise ModuleNotFoundError(_not_provided(fullname), name=fullname)
        return importlib.machinery.ModuleSpec(fullname, _LOADER, is_package=True)


_LOADER = _Loader()
_FINDER = MlflowAliasFinder()


def _real_mlflow() -> str | None:
    """Where a real mlflow is, or None: imported already, or findable by the import system without the alias."""
    module = sys.modules.get(_ROOT)
    if module is not None and not isinstance(module, AliasModule):
        return getattr(module, "__file__", None) or repr(module)
    if _FINDER in sys.meta_path:
        return None
    try:
        spec = importlib.util.find_spec(_ROOT)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return spec.origin or ", ".join(spec.submodule_search_locations or []) or _ROOT


def is_aliased() -> bool:
    """Whether :func:`alias_mlflow` is in effect in this process."""
    return _FINDER in sys.meta_path


def alias_mlflow() -> None:
    """Make ``import mlflow`` (and its submodules) resolve to mltrail's modules in this process. Idempotent.

    Raises:
        MltrailError: INVALID_STATE when a real mlflow package is installed or imported: the alias never
            shadows it.
    """
    with _lock:
        if is_aliased():
            return
        real = _real_mlflow()
        if real is not None:
            raise errors.invalid_state(
                f"mltrail will not alias mlflow: the real mlflow package is installed here ({real}). "
                "Use it as it is, use `import mltrail as mlflow`, or run the script in an environment "
                "without mlflow."
            )
        sys.meta_path.insert(0, _FINDER)


def unalias_mlflow() -> None:
    """Undo :func:`alias_mlflow`: remove the finder and the alias modules from ``sys.modules``."""
    with _lock:
        while _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        for name, module in list(sys.modules.items()):
            if (name == _ROOT or name.startswith(_ROOT + ".")) and isinstance(module, AliasModule):
                del sys.modules[name]
