"""A small thread-safe map whose entries expire: what the auth layer keeps per process between lookups."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries expire after ``ttl`` seconds; beyond ``max_size`` the least recently stored go first.

    ``ttl <= 0`` stores nothing (every read is a miss).
    """

    def __init__(self, ttl: float, max_size: int = 50_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The fresh value of ``key``, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[1]:
            self.forget(key)
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``ttl`` seconds."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (value, time.monotonic() + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def get_or_load(self, key: K, load: Callable[[K], V]) -> V:
        """The cached value of ``key``, or ``load(key)`` remembered for next time."""
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() < entry[1]:
            return entry[0]
        value = load(key)
        self.put(key, value)
        return value

    def forget(self, key: K) -> None:
        """Drop one entry."""
        with self._lock:
            self._entries.pop(key, None)

    def forget_where(self, test: Callable[[V], bool]) -> None:
        """Drop every entry whose value passes ``test``."""
        with self._lock:
            for key in [k for k, (value, _) in self._entries.items() if test(value)]:
                del self._entries[key]

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
