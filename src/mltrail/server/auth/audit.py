"""The audit log's writer: events queue in memory and reach the database in batches, off the request path.

A write request must not wait for its own audit row (that would double the cost of ``log-metric``), so events
are appended to a queue and a daemon thread inserts them every ``interval`` seconds, or sooner once
``batch_size`` are waiting. :meth:`AuditWriter.flush` writes what is queued now (tests, shutdown).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque

from mltrail.entities.auth import AuditEvent
from mltrail.store.auth.base import AuthStore

logger = logging.getLogger("mltrail.server.audit")


class AuditWriter:
    """Batches :class:`AuditEvent` inserts into the auth store."""

    def __init__(self, store: AuthStore, interval: float = 1.0, batch_size: int = 500, max_queued: int = 100_000):
        self.store = store
        self.interval = interval
        self.batch_size = batch_size
        self.max_queued = max_queued
        self._queue: deque[AuditEvent] = deque()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        atexit.register(self.flush)

    def record(self, event: AuditEvent) -> None:
        """Queue an event (never blocks on the database)."""
        if len(self._queue) >= self.max_queued:  # the database has been away for long: keep the newest
            self._queue.popleft()
        self._queue.append(event)
        if self._thread is None:
            self._start()
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mltrail-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write every queued event now; on a database error they stay queued for the next try."""
        with self._flush_lock:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                try:
                    self.store.add_audit_events(batch)
                except Exception:
                    logger.exception("Could not write %d audit events; will retry", len(batch))
                    self._queue.extendleft(reversed(batch))
                    return
