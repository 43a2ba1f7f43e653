"""The scoring server's ASGI app: ``/ping``, ``/health``, ``/version`` and ``/invocations`` for one model.

Parsing, prediction and encoding run in worker threads, never on the event loop (a tiny JSON body is parsed
inline, which costs less than the hop). With batching enabled, DataFrame requests go through an
:class:`~mltrail.serving.batching.AdaptiveBatcher`. A request that takes longer than ``timeout`` seconds is
answered 504 (the prediction itself cannot be interrupted and finishes in its thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mltrail.errors import DEADLINE_EXCEEDED, INTERNAL_ERROR, MltrailError
from mltrail.serving.batching import AdaptiveBatcher
from mltrail.serving.encode import dumps
from mltrail.serving.errors import serving_error, with_serving_fields
from mltrail.serving.formats import CONTENT_TYPE_JSON, parse_content_type
from mltrail.serving.scoring import Scorer

logger = logging.getLogger("mltrail.serving")

JSON = "application/json"
_INLINE_PARSE_BYTES = 4096


@dataclass(frozen=True)
class AppOptions:
    """Behaviour of the scoring app.

    Attributes:
        timeout: seconds before a request is answered 504 (MLflow's default: 60).
        enable_batching: combine concurrent DataFrame requests into one predict call.
        max_batch_size: most rows in one combined call.
        max_batch_wait_ms: how long a batch may wait for more requests (only under concurrency).
    """

    timeout: float = 60.0
    enable_batching: bool = False
    max_batch_size: int = 64
    max_batch_wait_ms: float = 2.0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mltrail")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def error_response(error: MltrailError) -> Response:
    """MLflow's serving error body with the status of its code."""
    error = with_serving_fields(error)
    return Response(dumps(error.to_dict()), status_code=error.http_status, media_type=JSON)


class ScoringApp:
    """Request handlers bound to one :class:`Scorer` (and its batcher, when enabled)."""

    def __init__(self, scorer: Scorer, options: AppOptions) -> None:
        self.scorer = scorer
        self.options = options
        self.batcher = (
            AdaptiveBatcher(scorer, options.max_batch_size, options.max_batch_wait_ms)
            if options.enable_batching
            else None
        )
        self._version = _version().encode()

    async def ping(self, request: Request) -> Response:
        """Health check: the model is loaded once the app exists."""
        return Response(b"\n", media_type=JSON)

    async def version(self, request: Request) -> Response:
        """The mltrail version serving the model."""
        return Response(self._version, media_type=JSON)

    async def invocations(self, request: Request) -> Response:
        """Score one request (see :mod:`mltrail.serving.formats` for the accepted bodies)."""
        content_type = request.headers.get("content-type")
        mime, reason = parse_content_type(content_type)
        if mime is None:
            return Response(reason, status_code=415, media_type="text/plain")
        body = await request.body()
        try:
            payload = await asyncio.wait_for(self._score(body, mime), self.options.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return error_response(
                serving_error(
                    f"Request processing time exceeded limit ({self.options.timeout:g} s).", DEADLINE_EXCEEDED
                )
            )
        except MltrailError as error:
            return error_response(error)
        except Exception as exc:  # a bug on our side: never a bare 500 page
            logger.exception("Unhandled error in /invocations")
            return error_response(serving_error(f"Internal error: {type(exc).__name__}: {exc}", INTERNAL_ERROR))
        return Response(payload, media_type=JSON)

    async def _score(self, body: bytes, mime: str) -> bytes:
        scorer, batcher = self.scorer, self.batcher
        if batcher is None:
            return await run_in_threadpool(scorer.score, body, mime)
        if mime == CONTENT_TYPE_JSON and len(body) <= _INLINE_PARSE_BYTES:
            parsed = scorer.parse(body, mime)
        else:
            parsed = await run_in_threadpool(scorer.parse, body, mime)
        if parsed.is_frame and not parsed.unified_llm and batcher.accepts(parsed.data):
            return await batcher.submit(parsed.data, parsed.params)
        return await run_in_threadpool(scorer.score_parsed, parsed)

    async def shutdown(self) -> None:
        """Stop the batcher's dispatcher."""
        if self.batcher is not None:
            await self.batcher.close()


def create_app(model: Any, options: AppOptions | None = None) -> Starlette:
    """The scoring server for a loaded model.

    Args:
        model: anything with ``predict(data[, params])``; normally :func:`mltrail.pyfunc.load_model`'s result.
        options: timeout and batching settings.

    Returns:
        A Starlette app; ``app.state.scoring`` holds the :class:`ScoringApp`.
    """
    scoring = ScoringApp(model if isinstance(model, Scorer) else Scorer(model), options or AppOptions())
    routes = [
        Route("/ping", scoring.ping, methods=["GET"]),
        Route("/health", scoring.ping, methods=["GET"]),
        Route("/version", scoring.version, methods=["GET"]),
        Route("/invocations", scoring.invocations, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await scoring.shutdown()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.scoring = scoring
    return app
