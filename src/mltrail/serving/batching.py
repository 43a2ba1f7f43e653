"""Batching: concurrent requests to one model become one model call.

A :class:`Batcher` is told how to make one call for several requests (``call``), how to share its output out
(``split``), which requests may share a call (``key``) and how much of the batch budget a request takes
(``size``). A request that finds the model idle is called at once, without the hop through the dispatcher task;
requests that arrive while a call runs wait in a queue, and when it finishes everything queued meanwhile with the
key of the oldest one (up to ``max_batch_size``) goes into the next call. So a lone client never waits, and under
load the batch size grows with the load by itself. ``max_wait_ms`` additionally holds a batch open for
stragglers, but only while the previous batch combined several requests (i.e. there is concurrency to wait for).

Correctness rules:
- ``split`` returns one result per request, or None when the output cannot be shared out; then, and on any error
  in the combined call, each request is called alone, so one bad request fails only itself and every answer
  equals the unbatched one;
- one call runs at a time (a model is not called concurrently by its batcher).

Two batchers use it: :func:`frame_batcher` for DataFrame requests to ``/invocations`` (output shared out by rows;
off by default, as it changes results for models whose output for a row depends on the other rows of the call),
and the chat batcher of ``/v1/chat/completions`` (:mod:`mltrail.serving.openai`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from mltrail.errors import MltrailError
from mltrail.serving.scoring import Scorer

__all__ = ["BatchStats", "Batcher", "FrameRequest", "batch_key", "frame_batcher", "split_rows"]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass
class BatchStats:
    """Counters for tests and logs."""

    calls: int = 0
    requests: int = 0
    fallbacks: int = 0
    largest: int = 0


@dataclass
class _Queued(Generic[ItemT]):
    """A request waiting for the dispatcher: its grouping key, its size and the future its handler awaits."""

    item: ItemT
    key: Hashable
    size: int
    future: asyncio.Future[Any] = field(repr=False)


def _one(_: Any) -> int:
    return 1


def _no_key(_: Any) -> None:
    return None


class Batcher(Generic[ItemT, ResultT]):
    """Combines concurrent requests into single model calls (one call in flight at a time).

    Args:
        call: makes one model call for a list of requests (combining their inputs); runs off the event loop.
        split: shares ``call``'s output out: one result per request, in order, or None when it cannot.
        key: requests with equal keys may share a call (default: all may).
        size: a request's share of ``max_batch_size`` (default: 1, so the limit counts requests).
        max_batch_size: the most a combined call may hold.
        max_wait_ms: how long a batch may wait for more requests while there is concurrency.
        run: how a call runs off the event loop (default: Starlette's worker thread pool).
    """

    def __init__(
        self,
        call: Callable[[list[ItemT]], Any],
        split: Callable[[Any, list[ItemT]], Sequence[ResultT] | None],
        key: Callable[[ItemT], Hashable] = _no_key,
        size: Callable[[ItemT], int] = _one,
        max_batch_size: int = 64,
        max_wait_ms: float = 0.0,
        run: Callable[..., Any] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._call = call
        self._split = split
        self._key = key
        self._size = size
        self.max_batch_size = max_batch_size
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.stats = BatchStats()
        self._run = run or run_in_threadpool
        self._queue: deque[_Queued[ItemT]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None  # set while no call runs (and the dispatcher collects none)
        self._task: asyncio.Task[None] | None = None
        self._last_size = 1

    def accepts(self, item: ItemT) -> bool:
        """Whether a request goes through the batcher (small enough to combine with others)."""
        return 0 < self._size(item) < self.max_batch_size

    async def submit(self, item: ItemT) -> ResultT:
        """Call the model for one request, together with whatever arrives meanwhile; returns its result.

        Raises:
            Exception: the request's own error (from its call alone, when a combined call failed).
        """
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wakeup, self._idle = asyncio.Event(), asyncio.Event()
            self._idle.set()
            self._task = loop.create_task(self._dispatch())
        assert self._wakeup is not None and self._idle is not None
        if self._idle.is_set() and not self._queue:  # idle: call at once, no hop through the dispatcher
            self._idle.clear()
            self._last_size = 1
            try:
                (outcome,) = await self._run(self._call_batch, [item])
            finally:
                self._idle.set()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome  # type: ignore[no-any-return]
        queued = _Queued(item, self._key(item), self._size(item), loop.create_future())
        self._queue.append(queued)
        self._wakeup.set()
        return await queued.future  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Stop the dispatcher (pending requests are cancelled)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        while self._queue:
            self._queue.popleft().future.cancel()

    # -------------------------------------------------------------------------------------- internals
    def _take(self, key: Hashable, batch: list[_Queued[ItemT]], size: int) -> int:
        """Move queued requests with ``key`` into ``batch`` while they fit; return the new size."""
        kept: deque[_Queued[ItemT]] = deque()
        while self._queue:
            queued = self._queue.popleft()
            if queued.future.done():  # its handler timed out or went away
                continue
            if queued.key == key and size + queued.size <= self.max_batch_size:
                batch.append(queued)
                size += queued.size
            else:
                kept.append(queued)
        self._queue = kept
        return size

    async def _collect(self) -> list[_Queued[ItemT]]:
        """The next batch: the oldest live request and those queued with its key (after stragglers, if waiting)."""
        assert self._wakeup is not None
        first = self._queue.popleft()
        if first.future.done():
            return []
        batch = [first]
        size = self._take(first.key, batch, first.size)
        if self.max_wait and self._last_size > 1 and size < self.max_batch_size:
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch_size and (left := deadline - time.monotonic()) > 0:
                self._wakeup.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), left)
                size = self._take(first.key, batch, size)
        return batch

    async def _dispatch(self) -> None:
        assert self._wakeup is not None and self._idle is not None
        while True:
            while not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._idle.wait()  # a lone request's call: what queues meanwhile joins this batch
            if not self._queue:
                continue
            self._idle.clear()
            try:
                batch = [queued for queued in await self._collect() if not queued.future.done()]
                if not batch:
                    continue
                self._last_size = len(batch)
                try:
                    outcomes = await self._run(self._call_batch, [queued.item for queued in batch])
                except Exception as exc:  # pragma: no cover - _call_batch catches per request
                    outcomes = [exc] * len(batch)
            finally:
                self._idle.set()
            for queued, outcome in zip(batch, outcomes, strict=True):
                if queued.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    queued.future.set_exception(outcome)
                else:
                    queued.future.set_result(outcome)

    def _alone(self, item: ItemT) -> ResultT | Exception:
        try:
            parts = self._split(self._call([item]), [item])
        except Exception as exc:
            return exc
        if parts is None or len(parts) != 1:
            return MltrailError("The model's output could not be matched to the request")
        return parts[0]

    def _call_batch(self, items: list[ItemT]) -> list[ResultT | Exception]:
        """Runs in a worker thread: one combined call, shared out; each request alone on any problem."""
        stats = self.stats
        stats.calls += 1
        stats.requests += len(items)
        stats.largest = max(stats.largest, len(items))
        if len(items) == 1:
            return [self._alone(items[0])]
        parts: Sequence[ResultT] | None
        try:
            parts = self._split(self._call(items), items)
        except Exception:  # e.g. one request's bad value fails the whole call: each alone below
            parts = None
        if parts is None or len(parts) != len(items):
            stats.fallbacks += 1
            return [self._alone(item) for item in items]
        return list(parts)


# ------------------------------------------------------------------------------------------- DataFrames
@dataclass(frozen=True)
class FrameRequest:
    """One ``/invocations`` request of DataFrame input: its frame and params."""

    frame: Any
    params: dict[str, Any] | None


def batch_key(frame: Any, params: dict[str, Any] | None) -> tuple[Any, ...]:
    """Requests with equal keys can share a predict call: same columns, dtypes and params."""
    return (
        tuple(map(str, frame.columns)),
        tuple(map(str, frame.dtypes)),
        json.dumps(params, sort_keys=True, default=str) if params else None,
    )


def split_rows(output: Any, counts: Sequence[int]) -> list[Any] | None:
    """Split a combined output back into per-request outputs, or None when it is not one row per input row."""
    total = sum(counts)
    bounds = [0]
    for count in counts:
        bounds.append(bounds[-1] + count)
    spans = list(itertools.pairwise(bounds))
    kind = type(output)
    if kind.__module__.startswith("pandas") and kind.__name__ in ("DataFrame", "Series"):
        if len(output) != total:
            return None
        return [output.iloc[a:b] for a, b in spans]
    if kind.__module__ == "numpy" and kind.__name__ == "ndarray":
        if output.ndim == 0 or output.shape[0] != total:
            return None
        return [output[a:b] for a, b in spans]
    if isinstance(output, list):
        return [output[a:b] for a, b in spans] if len(output) == total else None
    if isinstance(output, dict) and output:
        parts = {k: split_rows(v, counts) for k, v in output.items()}
        if any(p is None for p in parts.values()):
            return None
        return [{k: p[i] for k, p in parts.items()} for i in range(len(counts))]  # type: ignore[index]
    return None


def frame_batcher(
    scorer: Scorer, max_batch_size: int = 64, max_wait_ms: float = 2.0, run: Callable[..., Any] | None = None
) -> Batcher[FrameRequest, bytes]:
    """The batcher of DataFrame requests to ``/invocations``: frames with the same columns, dtypes and params are
    concatenated (up to ``max_batch_size`` rows), predicted at once, split back by rows and encoded.

    Args:
        scorer: the scorer whose model predicts the batches.
        max_batch_size: most rows in one combined call (a request at least this long runs alone).
        max_wait_ms: how long a batch may wait for more requests while there is concurrency.
        run: how a call runs off the event loop (default: Starlette's worker thread pool).
    """

    def call(requests: list[FrameRequest]) -> Any:
        if len(requests) == 1:
            return scorer.predict(requests[0].frame, requests[0].params, owned=True)
        import pandas as pd

        combined = pd.concat([r.frame for r in requests], ignore_index=True)
        return scorer.predict(combined, requests[0].params, owned=True)

    def split(output: Any, requests: list[FrameRequest]) -> list[bytes] | None:
        if len(requests) == 1:
            return [scorer.encode(output)]
        parts = split_rows(output, [len(r.frame) for r in requests])
        return None if parts is None else [scorer.encode(part) for part in parts]

    return Batcher(
        call,
        split,
        key=lambda r: batch_key(r.frame, r.params),
        size=lambda r: len(r.frame),
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        run=run,
    )
