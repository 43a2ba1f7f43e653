"""Shared autologging machinery: patch training methods, find (or start) the run, avoid nested logging.

A flavor's ``autolog()`` calls :func:`patch` for each method to wrap and :func:`unpatch_all` to undo. Inside a
wrapped call, :func:`training_session` tells whether this is the outermost training call (a Pipeline's ``fit``
calls its steps' ``fit``; only the outer one is logged) and :func:`run_for_autolog` gives the active run or
starts one that ends when training returns.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

_logger = logging.getLogger(__name__)
_local = threading.local()
#: flavor -> [(class, method name, original attribute or None when the class did not define it)]
_patches: dict[str, list[tuple[type, str, Any]]] = {}


def patch(flavor: str, cls: type, method: str, wrapper: Callable[..., Any]) -> None:
    """Replace ``cls.method`` by ``wrapper(original, self, *args, **kwargs)``; remembered for :func:`unpatch_all`."""
    original = cls.__dict__.get(method)
    if original is None or getattr(original, "__mltrail_autolog__", False):
        return
    function = original

    @functools.wraps(function)
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(function, self, *args, **kwargs)

    patched.__mltrail_autolog__ = True  # type: ignore[attr-defined]
    setattr(cls, method, patched)
    _patches.setdefault(flavor, []).append((cls, method, original))


def unpatch_all(flavor: str) -> None:
    """Restore every method :func:`patch` replaced for ``flavor``."""
    for cls, method, original in reversed(_patches.pop(flavor, [])):
        setattr(cls, method, original)


def is_patched(flavor: str) -> bool:
    """Whether ``flavor``'s autologging is on."""
    return bool(_patches.get(flavor))


@contextlib.contextmanager
def training_session() -> Iterator[bool]:
    """Yield True for the outermost training call of this thread, False for nested ones."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield depth == 0
    finally:
        _local.depth = depth


@contextlib.contextmanager
def run_for_autolog(tags: dict[str, Any] | None = None) -> Iterator[str]:
    """Yield the active run's id, or start a run (FINISHED on success, FAILED on error) and yield its id."""
    from mltrail.tracking import fluent

    active = fluent.active_run()
    if active is not None:
        if tags:
            fluent.set_tags(tags)
        yield active.info.run_id
        return
    run = fluent.start_run(tags=tags)
    try:
        yield run.info.run_id
    except BaseException:
        fluent.end_run("FAILED")
        raise
    fluent.end_run()


def safely(what: str, function: Callable[[], Any]) -> Any:
    """Run a logging step; a failure is a warning, never an error in the user's training code."""
    try:
        return function()
    except Exception as exc:
        _logger.warning("mltrail autologging failed to %s: %s", what, exc)
        return None
