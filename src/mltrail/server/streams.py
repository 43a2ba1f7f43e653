"""Artifact bodies between the event loop and blocking storage calls, in bounded chunks both ways.

Repositories stream with plain iterators on worker threads (boto3 and file I/O block); requests and responses
are async. :func:`run_transfer` runs a repository call on a worker thread of its own capacity limiter, so long
uploads and downloads never take the threads that the JSON API needs; :class:`RequestChunks` lets such a call
pull the request body one chunk (about 1 MiB) at a time from the event loop; :func:`response_chunks` pulls an
:class:`~mltrail.store.artifacts.base.ArtifactStream` chunk by chunk for a streaming response. Either way, at
most a chunk or two per transfer is in memory on the server's side of the storage call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.requests import Request

from mltrail.store.artifacts.base import ArtifactStream

T = TypeVar("T")

#: How many artifact transfers may block worker threads at once (others wait for a thread).
MAX_TRANSFERS = 64
#: About how many bytes each step of :class:`RequestChunks` hands to the storage call.
COALESCE_BYTES = 1024 * 1024

_limiter: anyio.CapacityLimiter | None = None


def _transfer_limiter() -> anyio.CapacityLimiter:
    global _limiter
    if _limiter is None:  # created lazily: a limiter belongs to a running event loop
        _limiter = anyio.CapacityLimiter(MAX_TRANSFERS)
    return _limiter


async def run_transfer(fn: Callable[..., T], *args: object) -> T:
    """Run a blocking storage call on a transfer worker thread (cancelling waits for it to finish)."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=_transfer_limiter())


class RequestChunks:
    """A request body as a blocking iterator, for a storage call running under :func:`run_transfer`.

    Each step asks the event loop for the next pieces of the body and hands them over joined into about
    :data:`COALESCE_BYTES` (fewer thread hops than uvicorn's 64 KiB pieces). A client that disconnects raises
    ``ClientDisconnect`` in the storage call, which then abandons its write.
    """

    def __init__(self, request: Request) -> None:
        self._body = request.stream().__aiter__()
        self._done = False
        self._first: bytes | None = None
        self.received = 0

    async def peek(self) -> bytes | None:
        """The body's first chunk, read on the event loop (None for an empty body); iterating yields it first."""
        if self._first is None and self.received == 0:
            self._first = await self._next()
        return self._first

    async def _next(self) -> bytes | None:
        pieces: list[bytes] = []
        size = 0
        while size < COALESCE_BYTES and not self._done:
            try:
                piece = await self._body.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            if piece:
                pieces.append(piece)
                size += len(piece)
        self.received += size
        return (pieces[0] if len(pieces) == 1 else b"".join(pieces)) if pieces else None

    def __iter__(self) -> Iterator[bytes]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while (chunk := anyio.from_thread.run(self._next)) is not None:
            yield chunk


async def response_chunks(stream: ArtifactStream) -> AsyncIterator[bytes]:
    """The chunks of ``stream``, read on transfer worker threads; the stream is closed at the end (or when the
    client goes away)."""
    iterator = iter(stream)
    try:
        while (chunk := await run_transfer(next, iterator, None)) is not None:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            await run_transfer(stream.close)
