"""Adaptive batching: concurrent DataFrame requests to one model become one ``predict`` call.

Requests wait in a queue while a batch is being predicted; when it finishes, everything that arrived meanwhile
(with the same columns, dtypes and params, up to ``max_batch_size`` rows) is concatenated and predicted at once,
and the output is split back by row counts. So a lone client never waits, and under load the batch size grows
with the load by itself. ``max_wait_ms`` additionally holds a batch open for stragglers, but only while the
previous batch combined several requests (i.e. there is concurrency to wait for).

Correctness rules:
- only outputs with one row per input row are split (DataFrame, Series, ndarray, list, or a dict of such);
  anything else, and any error in the combined call, makes each request run alone, so one bad request
  fails only itself and every answer equals the unbatched one;
- a request at least ``max_batch_size`` rows long runs alone.

Batching is off by default: it changes results for models whose output for a row depends on the other rows
of the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from mltrail.serving.scoring import Scorer


@dataclass
class BatchItem:
    """One queued request: its DataFrame, params, grouping key and the future its handler awaits."""

    frame: Any
    params: dict[str, Any] | None
    key: tuple[Any, ...]
    future: asyncio.Future[bytes] = field(repr=False)

    @property
    def rows(self) -> int:
        """Number of rows of the request."""
        return len(self.frame)


def batch_key(frame: Any, params: dict[str, Any] | None) -> tuple[Any, ...]:
    """Requests with equal keys can share a predict call: same columns, dtypes and params."""
    import json

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


@dataclass
class BatchStats:
    """Counters for tests and logs."""

    calls: int = 0
    requests: int = 0
    fallbacks: int = 0
    largest: int = 0


class AdaptiveBatcher:
    """Combines concurrent DataFrame requests into single predict calls (one batch in flight at a time).

    Args:
        scorer: the scorer whose model predicts the batches.
        max_batch_size: most rows in one combined call.
        max_wait_ms: how long a batch may wait for more requests while there is concurrency.
        run: how a batch runs off the event loop (default: Starlette's worker thread pool).
    """

    def __init__(
        self,
        scorer: Scorer,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        run: Callable[..., Any] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.scorer = scorer
        self.max_batch_size = max_batch_size
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.stats = BatchStats()
        self._run = run or run_in_threadpool
        self._queue: deque[BatchItem] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_size = 1

    def accepts(self, frame: Any) -> bool:
        """Whether a request of this many rows goes through the batcher (small enough to combine)."""
        return 0 < len(frame) < self.max_batch_size

    async def submit(self, frame: Any, params: dict[str, Any] | None) -> bytes:
        """Queue one request and wait for its encoded response (raises its own MltrailError)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._dispatch())
        item = BatchItem(frame, params, batch_key(frame, params), loop.create_future())
        self._queue.append(item)
        assert self._wakeup is not None
        self._wakeup.set()
        return await item.future

    async def close(self) -> None:
        """Stop the dispatcher (pending requests are cancelled)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        while self._queue:
            self._queue.popleft().future.cancel()

    # -------------------------------------------------------------------------------------- internals
    def _take(self, key: tuple[Any, ...], batch: list[BatchItem], rows: int) -> int:
        """Move queued items with ``key`` into ``batch`` while they fit; return the new row count."""
        kept: deque[BatchItem] = deque()
        while self._queue:
            item = self._queue.popleft()
            if item.future.done():  # its handler timed out or went away
                continue
            if item.key == key and rows + item.rows <= self.max_batch_size:
                batch.append(item)
                rows += item.rows
            else:
                kept.append(item)
        self._queue = kept
        return rows

    async def _collect(self) -> list[BatchItem]:
        assert self._wakeup is not None
        while not self._queue:
            self._wakeup.clear()
            await self._wakeup.wait()
        first = self._queue.popleft()
        batch = [first]
        rows = self._take(first.key, batch, first.rows)
        if self.max_wait and self._last_size > 1 and rows < self.max_batch_size:
            deadline = time.monotonic() + self.max_wait
            while rows < self.max_batch_size and (left := deadline - time.monotonic()) > 0:
                self._wakeup.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), left)
                rows = self._take(first.key, batch, rows)
        return batch

    async def _dispatch(self) -> None:
        while True:
            batch = [item for item in await self._collect() if not item.future.done()]
            if not batch:
                continue
            self._last_size = len(batch)
            try:
                outcomes = await self._run(self._predict_batch, batch)
            except Exception as exc:  # pragma: no cover - _predict_batch catches per request
                outcomes = [exc] * len(batch)
            for item, outcome in zip(batch, outcomes, strict=True):
                if item.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)

    def _alone(self, item: BatchItem) -> bytes | Exception:
        try:
            return self.scorer.encode(self.scorer.predict(item.frame, item.params, owned=True))
        except Exception as exc:
            return exc

    def _predict_batch(self, batch: list[BatchItem]) -> list[bytes | Exception]:
        """Runs in a worker thread: one combined call, split back; each request alone on any problem."""
        stats = self.stats
        stats.calls += 1
        stats.requests += len(batch)
        stats.largest = max(stats.largest, len(batch))
        if len(batch) == 1:
            return [self._alone(batch[0])]
        import pandas as pd

        parts: list[Any] | None
        try:
            combined = pd.concat([item.frame for item in batch], ignore_index=True)
            output = self.scorer.predict(combined, batch[0].params, owned=True)
            parts = split_rows(output, [item.rows for item in batch])
        except Exception:  # e.g. one request's bad value fails the whole call: retry each alone below
            parts = None
        if parts is None:
            stats.fallbacks += 1
            return [self._alone(item) for item in batch]
        results: list[bytes | Exception] = []
        for part in parts:
            try:
                results.append(self.scorer.encode(part))
            except Exception as exc:
                results.append(exc)
        return results
