"""Asynchronous, batched logging of metrics, params and tags.

``log_metric(..., synchronous=False)`` and friends put their items on a queue and return at once with a
:class:`RunOperations`. One background thread per tracking store drains the queue: for each run it coalesces
everything queued into as few ``log_batch`` calls as MLflow's limits allow (1000 metrics, 100 params,
100 tags, 1000 items per call), in the order the items were logged.

Nothing is lost on a normal exit: ``end_run`` flushes its run, and an ``atexit`` hook flushes every queue.
Errors are never swallowed: they fail the operations' futures (``RunOperations.wait()`` raises) and, unless
already observed that way, are raised by the next :meth:`AsyncLogger.flush` (which ``end_run`` calls).
A failing batch is replayed operation by operation, so one bad call fails only itself. Transient failures
(the database is locked, the server is briefly away) are retried with backoff.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence

from mltrail import errors
from mltrail.entities import Metric, Param, RunTag
from mltrail.errors import (
    DEADLINE_EXCEEDED,
    REQUEST_LIMIT_EXCEEDED,
    RESOURCE_EXHAUSTED,
    TEMPORARILY_UNAVAILABLE,
    MltrailError,
)

_logger = logging.getLogger(__name__)

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ITEMS_PER_BATCH = 1000

#: Seconds to wait before each retry of a batch that failed with a transient error.
RETRY_DELAYS = (0.1, 0.3, 1.0, 2.0)
#: Seconds the writer thread waits for work before it exits (a new one starts with the next call).
IDLE_EXIT_S = 2.0
_TRANSIENT_CODES = frozenset({TEMPORARILY_UNAVAILABLE, REQUEST_LIMIT_EXCEEDED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED})

LogBatchFn = Callable[[str, Sequence[Metric], Sequence[Param], Sequence[RunTag]], None]


class _Op:
    """One asynchronous call: its items, its outcome, and whether its failure was already seen.

    ``done`` and ``error`` change only under the owning logger's condition, which waiters wait on (a
    ``concurrent.futures.Future`` per call would cost a lock and a condition each).
    """

    __slots__ = ("cond", "done", "error", "metrics", "observed", "params", "pending_parts", "run_id", "tags")

    def __init__(
        self,
        run_id: str,
        metrics: list[Metric],
        params: list[Param],
        tags: list[RunTag],
        cond: threading.Condition | None = None,
    ) -> None:
        self.run_id = run_id
        self.metrics = metrics
        self.params = params
        self.tags = tags
        self.cond = cond
        self.done = False
        self.observed = False
        self.pending_parts = 0
        self.error: BaseException | None = None

    @property
    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)


class RunOperations:
    """The futures of asynchronous logging calls, as MLflow's ``RunOperations``.

    Args:
        ops: the operations this object waits for.
    """

    def __init__(self, ops: Sequence[_Op] = ()) -> None:
        self._ops = list(ops)

    def done(self) -> bool:
        """Whether every operation has completed (successfully or not)."""
        return all(op.done for op in self._ops)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every operation has completed.

        Args:
            timeout: seconds to wait in all; None waits as long as it takes.

        Raises:
            MltrailError: listing the failures, when any operation failed.
            TimeoutError: when ``timeout`` passes first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        failures: list[BaseException] = []
        for op in self._ops:
            if not op.done and op.cond is not None:
                with op.cond:
                    while not op.done:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise TimeoutError("Asynchronous logging operations did not complete in time")
                        op.cond.wait(remaining if remaining is not None else 1.0)
            if op.error is not None:
                op.observed = True
                failures.append(op.error)
        if failures:
            raise _combined_error(failures)

    def __repr__(self) -> str:
        return f"RunOperations({len(self._ops)} operations, done={self.done()})"


def combine_run_operations(operations: Sequence[RunOperations | None]) -> RunOperations | None:
    """Merge several :class:`RunOperations` into one (None when there is nothing to wait for)."""
    ops = [op for ro in operations if ro is not None for op in ro._ops]
    return RunOperations(ops) if ops else None


def _combined_error(failures: Sequence[BaseException]) -> MltrailError:
    if len(failures) == 1 and isinstance(failures[0], MltrailError):
        return failures[0]
    first = failures[0]
    code = first.error_code if isinstance(first, MltrailError) else "INTERNAL_ERROR"
    shown = "; ".join(str(f) for f in failures[:5])
    more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
    return MltrailError(f"{len(failures)} asynchronous logging operations failed: {shown}{more}", code)


class _Batch:
    """One ``log_batch`` call being assembled, remembering which part of which operation it carries."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []
        self.params: dict[str, Param] = {}
        self.tags: dict[str, RunTag] = {}
        self.parts: dict[_Op, tuple[list[Metric], list[Param], list[RunTag]]] = {}

    @property
    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)

    def part(self, op: _Op) -> tuple[list[Metric], list[Param], list[RunTag]]:
        part = self.parts.get(op)
        if part is None:
            part = self.parts[op] = ([], [], [])
            op.pending_parts += 1
        return part

    def room_for(self, kind: str) -> bool:
        if self.size >= MAX_ITEMS_PER_BATCH:
            return False
        if kind == "metric":
            return len(self.metrics) < MAX_METRICS_PER_BATCH
        if kind == "param":
            return len(self.params) < MAX_PARAMS_PER_BATCH
        return len(self.tags) < MAX_TAGS_PER_BATCH


def build_batches(ops: Sequence[_Op]) -> list[_Batch]:
    """Pack the items of ``ops`` (all for one run), in order, into as few batches as the limits allow.

    A param logged twice with the same value goes once; with a different value it starts a new batch, so
    that the store reports the conflict for that call alone. A tag set twice keeps its last value.
    """
    batches = [_Batch()]

    def current(kind: str) -> _Batch:
        if not batches[-1].room_for(kind):
            batches.append(_Batch())
        return batches[-1]

    for op in ops:
        for metric in op.metrics:
            batch = current("metric")
            batch.metrics.append(metric)
            batch.part(op)[0].append(metric)
        for param in op.params:
            existing = batches[-1].params.get(param.key)
            if existing is not None and existing.value == param.value:
                batches[-1].part(op)[1].append(param)
                continue
            batch = current("param") if existing is None else _new_batch(batches)
            batch.params[param.key] = param
            batch.part(op)[1].append(param)
        for tag in op.tags:
            batch = batches[-1] if tag.key in batches[-1].tags else current("tag")
            batch.tags.pop(tag.key, None)  # keep the last value, in logging order
            batch.tags[tag.key] = tag
            batch.part(op)[2].append(tag)
        if op.size == 0:
            batches[-1].part(op)
    return [b for b in batches if b.parts]


def split_batch(
    metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
) -> list[tuple[list[Metric], list[Param], list[RunTag]]]:
    """Split one oversized batch into batches within MLflow's limits, keeping the order of the items."""
    op = _Op("", list(metrics), list(params), list(tags))
    return [(b.metrics, list(b.params.values()), list(b.tags.values())) for b in build_batches([op])]


def _new_batch(batches: list[_Batch]) -> _Batch:
    batches.append(_Batch())
    return batches[-1]


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, MltrailError):
        return exc.error_code in _TRANSIENT_CODES
    return isinstance(exc, Exception)


class AsyncLogger:
    """A queue of logging operations and the background thread that writes them in batches.

    Args:
        log_batch: writes one batch for one run, all or nothing (a store's ``log_batch``).
        max_pending_items: logging calls block while more items than this wait to be written.
    """

    def __init__(self, log_batch: LogBatchFn, max_pending_items: int = 200_000) -> None:
        self._log_batch = log_batch
        self._max_pending = max_pending_items
        self._init_state()
        _LIVE_LOGGERS.add(self)

    def _init_state(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._worker_idle = False
        self._queue: deque[_Op] = deque()
        self._pending_items = 0
        self._outstanding: dict[str, int] = {}
        self._failed: dict[str, list[_Op]] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------------------------------ API
    def submit(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> RunOperations:
        """Queue items for ``run_id`` and return at once.

        Returns:
            A :class:`RunOperations` whose ``wait()`` blocks until the items are written.

        Raises:
            MltrailError: INVALID_STATE after :meth:`close`.
        """
        op = _Op(run_id, list(metrics), list(params), list(tags), self._cond)
        with self._cond:
            if self._closed:
                raise errors.invalid_state("Asynchronous logging is shut down")
            while self._pending_items >= self._max_pending and self._thread is not None:
                self._cond.wait(0.5)
            self._queue.append(op)
            self._pending_items += op.size
            self._outstanding[run_id] = self._outstanding.get(run_id, 0) + 1
            self._ensure_thread()
            if self._worker_idle:
                self._cond.notify_all()
        return RunOperations([op])

    def flush(self, run_id: str | None = None, raise_errors: bool = True) -> None:
        """Wait until everything queued (for ``run_id``, or for every run) is written.

        Args:
            run_id: only this run's operations; None for all.
            raise_errors: raise failures that no ``RunOperations.wait()`` has reported yet.

        Raises:
            MltrailError: for failed operations not yet reported, when ``raise_errors``.
        """
        with self._cond:
            self._wait_locked(run_id)
            if run_id is None:
                failed = [op for ops in self._failed.values() for op in ops]
                self._failed.clear()
            else:
                failed = self._failed.pop(run_id, [])
        unreported = [op.error for op in failed if not op.observed]
        for op in failed:
            op.observed = True
        if unreported and raise_errors:
            raise _combined_error([e for e in unreported if e is not None])

    def wait_for(self, run_id: str | None = None) -> None:
        """Wait until everything queued (for ``run_id``, or for every run) is written; never raises.

        Failures stay recorded for the next :meth:`flush`.
        """
        with self._cond:
            self._wait_locked(run_id)

    def _wait_locked(self, run_id: str | None) -> None:
        def outstanding() -> int:
            return self._outstanding.get(run_id, 0) if run_id is not None else sum(self._outstanding.values())

        while outstanding() > 0:
            if self._thread is None or not self._thread.is_alive():
                self._ensure_thread()
            self._cond.wait(0.5)

    def close(self) -> None:
        """Flush everything (logging failures instead of raising) and stop the thread."""
        try:
            self.flush(raise_errors=False)
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    # --------------------------------------------------------------------------------------- worker
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mltrail-async-logging", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._closed:
                    self._worker_idle = True
                    self._cond.wait(IDLE_EXIT_S)
                    self._worker_idle = False
                if not self._queue:
                    if self._closed or self._thread is threading.current_thread():
                        self._thread = None  # idle: exit; the next submit starts a new thread
                    return
                ops = list(self._queue)
                self._queue.clear()
            try:
                self._process(ops)
            except BaseException as exc:  # a bug here must not leave waiters hanging
                self._finish([op for op in ops if not op.done], exc)
            with self._cond:
                self._pending_items -= sum(op.size for op in ops)
                self._cond.notify_all()

    def _process(self, ops: list[_Op]) -> None:
        by_run: dict[str, list[_Op]] = {}
        for op in ops:
            by_run.setdefault(op.run_id, []).append(op)
        for run_id, run_ops in by_run.items():
            for batch in build_batches(run_ops):
                self._write(run_id, batch)

    def _write(self, run_id: str, batch: _Batch) -> None:
        exc = self._call_with_retries(run_id, batch.metrics, list(batch.params.values()), list(batch.tags.values()))
        if exc is None or _is_transient(exc) or len(batch.parts) == 1:
            outcomes = [(op, exc) for op in batch.parts]
        else:  # replay: one bad call fails only itself
            outcomes = [(op, self._call_with_retries(run_id, *part)) for op, part in batch.parts.items()]
        completed: list[_Op] = []
        for op, op_exc in outcomes:
            op.pending_parts -= 1
            if op_exc is not None and op.error is None:
                op.error = op_exc
            if op.pending_parts <= 0:
                completed.append(op)
        self._finish(completed)

    def _call_with_retries(
        self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]
    ) -> BaseException | None:
        if not (metrics or params or tags):
            return None
        for delay in (*RETRY_DELAYS, None):
            try:
                self._log_batch(run_id, metrics, params, tags)
                return None
            except Exception as exc:
                if delay is None or not _is_transient(exc):
                    return exc
                _logger.debug("Retrying an asynchronous log_batch for run %s after: %s", run_id, exc)
                time.sleep(delay)
        return None  # pragma: no cover - the loop always returns

    def _finish(self, ops: list[_Op], exc: BaseException | None = None) -> None:
        """Mark operations done (with ``exc`` when given, else their own error) and wake waiters."""
        if not ops:
            return
        with self._cond:
            for op in ops:
                if op.done:
                    continue
                if exc is not None and op.error is None:
                    op.error = exc
                op.done = True
                if op.error is not None:
                    self._failed.setdefault(op.run_id, []).append(op)
                left = self._outstanding.get(op.run_id, 1) - 1
                if left > 0:
                    self._outstanding[op.run_id] = left
                else:
                    self._outstanding.pop(op.run_id, None)
            self._cond.notify_all()


_LIVE_LOGGERS: weakref.WeakSet[AsyncLogger] = weakref.WeakSet()
_registry_lock = threading.Lock()
_LOGGER_ATTR = "_mltrail_async_logger"


def get_async_logger(store: object) -> AsyncLogger:
    """The one :class:`AsyncLogger` of a tracking store, created on first use and kept on the store.

    Args:
        store: a :class:`~mltrail.store.tracking.base.TrackingStore`.
    """
    with _registry_lock:
        logger = existing_async_logger(store)
        if logger is None:

            def log_batch(
                run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
            ) -> None:
                store.log_batch(run_id, metrics=metrics, params=params, tags=tags)  # type: ignore[attr-defined]

            logger = AsyncLogger(log_batch)
            setattr(store, _LOGGER_ATTR, logger)
        return logger


def existing_async_logger(store: object) -> AsyncLogger | None:
    """The store's :class:`AsyncLogger` if one was ever created, else None (never creates one)."""
    return getattr(store, _LOGGER_ATTR, None)


def flush_all(raise_errors: bool = True) -> None:
    """Flush every asynchronous logging queue of this process.

    Raises:
        MltrailError: for failed operations not yet reported, when ``raise_errors``.
    """
    failures: list[BaseException] = []
    for logger in list(_LIVE_LOGGERS):
        try:
            logger.flush()
        except MltrailError as exc:
            failures.append(exc)
    if failures and raise_errors:
        raise _combined_error(failures)


def _after_fork_in_child() -> None:
    # A forked child has no writer thread, and the parent's queue is the parent's to write.
    for logger in list(_LIVE_LOGGERS):
        logger._init_state()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _flush_at_exit() -> None:
    for logger in list(_LIVE_LOGGERS):
        try:
            logger.flush()
        except Exception as exc:
            _logger.error("mltrail: asynchronous logging failed before exit: %s", exc)


atexit.register(_flush_at_exit)
