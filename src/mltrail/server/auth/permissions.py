"""A caller's effective permission on an experiment or a registered model, cheaply enough for every request.

A user's grants (their own and their groups', strongest wins) are read in one query and kept for
``permission_cache_seconds``; the experiment of a run or a logged model is kept the same way. A change made
through this process (a grant, a moved run) clears what it touches at once.
"""

from __future__ import annotations

from collections.abc import Callable

from mltrail.entities.auth import MANAGE, PERMISSION_LEVELS
from mltrail.server.auth.cache import TtlCache
from mltrail.server.auth.identity import Caller
from mltrail.store.auth.base import AuthStore


class PermissionResolver:
    """Effective permissions of callers, with the default permission for resources without a grant."""

    def __init__(self, store: AuthStore, default_permission: str, ttl_seconds: float) -> None:
        self.store = store
        self.default = default_permission
        self._experiments: TtlCache[int, dict[str, str]] = TtlCache(ttl_seconds)
        self._models: TtlCache[int, dict[str, str]] = TtlCache(ttl_seconds)

    def experiment(self, caller: Caller, experiment_id: str) -> str:
        """The caller's permission on an experiment (MANAGE for admins)."""
        if caller.is_admin:
            return MANAGE
        grants = self._experiments.get_or_load(caller.user_id, self.store.effective_experiment_permissions)
        return grants.get(experiment_id, self.default)

    def registered_model(self, caller: Caller, name: str) -> str:
        """The caller's permission on a registered model (MANAGE for admins)."""
        if caller.is_admin:
            return MANAGE
        grants = self._models.get_or_load(caller.user_id, self.store.effective_registered_model_permissions)
        return grants.get(name, self.default)

    def experiment_filter(self, caller: Caller, minimum: str) -> Callable[[str], bool]:
        """A test of experiment ids: does the caller hold at least ``minimum`` on it (one cache read)."""
        if caller.is_admin:
            return lambda _id: True
        grants = self._experiments.get_or_load(caller.user_id, self.store.effective_experiment_permissions)
        need, default_ok = PERMISSION_LEVELS[minimum], PERMISSION_LEVELS[self.default] >= PERMISSION_LEVELS[minimum]
        return lambda exp_id: PERMISSION_LEVELS[grants[exp_id]] >= need if exp_id in grants else default_ok

    def model_filter(self, caller: Caller, minimum: str) -> Callable[[str], bool]:
        """A test of model names: does the caller hold at least ``minimum`` on it."""
        if caller.is_admin:
            return lambda _name: True
        grants = self._models.get_or_load(caller.user_id, self.store.effective_registered_model_permissions)
        need, default_ok = PERMISSION_LEVELS[minimum], PERMISSION_LEVELS[self.default] >= PERMISSION_LEVELS[minimum]
        return lambda name: PERMISSION_LEVELS[grants[name]] >= need if name in grants else default_ok

    def forget(self) -> None:
        """Drop every cached grant (after any permission or group change made here)."""
        self._experiments.clear()
        self._models.clear()
