"""The scoring server's ASGI app: ``/ping``, ``/health``, ``/version`` and ``/invocations`` for one model.

Parsing, prediction and encoding run in worker threads, except where the hop to a thread costs more than the
work itself: a tiny JSON body is parsed inline before batching, and without batching a small request (at most
4 KiB) is scored on the event loop while small requests to this model have been fast (see
:class:`~mltrail.serving.inline.InlineGate`: a moving average under 2 ms, measured on every small request,
wherever it ran; a request that was only preempted counts its CPU time, not its wall time). With
batching enabled, DataFrame requests go through a :func:`~mltrail.serving.batching.frame_batcher`. A
request that takes longer than ``timeout`` seconds is answered 504 (the prediction itself cannot be interrupted
and finishes in its thread); a small request scored on the loop cannot be interrupted either, so if it is
unexpectedly slow it is answered when it finishes, and the following ones go back to threads.

Every HTTP request reads its body through :mod:`mltrail.serving.limits`: a body over ``max_body_bytes`` is answered
413 (before it is read when its Content-Length says so) and one that takes over ``body_timeout`` seconds to arrive
408. Parsing happens after the whole body is in, and only a small body (at most 4 KiB) is parsed on the event loop,
so ``/ping`` keeps answering while big or slow bodies come in.
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
from starlette.types import Receive, Scope, Send

from mltrail.errors import DEADLINE_EXCEEDED, INTERNAL_ERROR, MltrailError
from mltrail.serving.batching import FrameRequest, frame_batcher
from mltrail.serving.encode import dumps
from mltrail.serving.errors import serving_error, with_serving_fields
from mltrail.serving.formats import CONTENT_TYPE_JSON, parse_content_type
from mltrail.serving.inline import InlineGate, Stopwatch
from mltrail.serving.limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_MB,
    MIB,
    BodyLimits,
    BodyRejected,
    call_with_limits,
    rejection_handler,
)
from mltrail.serving.openai import OpenAIRoutes, model_name_of, openai_routes
from mltrail.serving.scoring import Scorer

__all__ = [
    "AppOptions",
    "ScoringApp",
    "create_app",
    "error_response",
]

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
        max_body_bytes: largest request body; a bigger one is answered 413.
        body_timeout: seconds for a request body to arrive after its headers, else 408.
        model_name: the name a language model is served under (``/v1/models``' id and the ``model`` field of its
            answers on every route); None: its logged model id, else its source model name.
    """

    timeout: float = 60.0
    enable_batching: bool = False
    max_batch_size: int = 64
    max_batch_wait_ms: float = 2.0
    max_body_bytes: int = DEFAULT_MAX_BODY_MB * MIB
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    model_name: str | None = None

    def body_limits(self) -> BodyLimits:
        """The request body limits these options set."""
        return BodyLimits(self.max_body_bytes, self.body_timeout)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mltrail")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def _error_body(error: MltrailError) -> tuple[int, bytes]:
    error = with_serving_fields(error)
    return error.http_status, dumps(error.to_dict())


def error_response(error: MltrailError) -> Response:
    """MLflow's serving error body with the status of its code."""
    status, body = _error_body(error)
    return Response(body, status_code=status, media_type=JSON)


class ScoringApp:
    """Request handlers bound to one :class:`Scorer` (and its batcher, when enabled)."""

    def __init__(self, scorer: Scorer, options: AppOptions) -> None:
        self.scorer = scorer
        self.options = options
        self.batcher = (
            frame_batcher(scorer, options.max_batch_size, options.max_batch_wait_ms)
            if options.enable_batching
            else None
        )
        self._version = _version().encode()
        self.inline = InlineGate()
        self.chat: OpenAIRoutes | None = None  # set by create_app for chat models: streams {"stream": true}

    async def ping(self, request: Request) -> Response:
        """Health check: the model is loaded once the app exists."""
        return Response(b"\n", media_type=JSON)

    async def version(self, request: Request) -> Response:
        """The mltrail version serving the model."""
        return Response(self._version, media_type=JSON)

    async def invocations(self, request: Request) -> Response:
        """Score one request (see :mod:`mltrail.serving.formats` for the accepted bodies)."""
        mime, reason = parse_content_type(request.headers.get("content-type"))
        if mime is None:
            return Response(reason, status_code=415, media_type="text/plain")
        body = await request.body()
        streamed = await self._chat_stream(body, mime)
        if streamed is not None:
            return streamed
        status, payload = await self._invoke(body, mime)
        return Response(payload, status_code=status, media_type=JSON)

    async def invocations_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """:meth:`invocations` as a bare ASGI app: the same answers, without the framework's per-request objects.

        Routing, the request and response objects and the middleware stack cost about as much as parsing and
        enforcing a one-row request; :func:`create_app` sends ``POST /invocations`` here when it has no
        middleware to run.
        """
        content_type = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
                break
        mime, reason = parse_content_type(content_type)
        if mime is None:
            await _send(send, 415, (reason or "").encode(), b"text/plain; charset=utf-8")
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: nobody to answer
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        streamed = await self._chat_stream(body, mime)
        if streamed is not None:
            await streamed(scope, receive, send)
            return
        status, payload = await self._invoke(body, mime)
        await _send(send, status, payload, b"application/json")

    async def _chat_stream(self, body: bytes, mime: str) -> Response | None:
        """The SSE response of a chat model to ``{"messages": ..., "stream": true}``, else None."""
        if self.chat is None or mime != CONTENT_TYPE_JSON or b'"stream"' not in body:
            return None
        return await self.chat.invocations_stream(body, error_response)

    async def _invoke(self, body: bytes, mime: str) -> tuple[int, bytes]:
        """(status, JSON body) for a request body of a served content type."""
        try:
            if self.batcher is None and len(body) <= _INLINE_PARSE_BYTES and self.inline.allows():
                return 200, self._score_small(body, mime, inline=True)  # cheaper than the hop to a thread
            return 200, await asyncio.wait_for(self._score(body, mime), self.options.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return _error_body(
                serving_error(
                    f"Request processing time exceeded limit ({self.options.timeout:g} s).", DEADLINE_EXCEEDED
                )
            )
        except MltrailError as error:
            return _error_body(error)
        except Exception as exc:  # a bug on our side: never a bare 500 page
            logger.exception("Unhandled error in /invocations")
            return _error_body(serving_error(f"Internal error: {type(exc).__name__}: {exc}", INTERNAL_ERROR))

    def _score_small(self, body: bytes, mime: str, inline: bool = False) -> bytes:
        """Score a small request, and account its cost in :attr:`inline`."""
        watch = Stopwatch()
        try:
            return self.scorer.score(body, mime)
        finally:
            self.inline.record(watch.cost(), inline)

    async def _score(self, body: bytes, mime: str) -> bytes:
        scorer, batcher = self.scorer, self.batcher
        if batcher is None:
            if len(body) <= _INLINE_PARSE_BYTES:  # measured, to learn whether small requests may run inline
                return await run_in_threadpool(self._score_small, body, mime)
            return await run_in_threadpool(scorer.score, body, mime)
        if mime == CONTENT_TYPE_JSON and len(body) <= _INLINE_PARSE_BYTES:
            parsed = scorer.parse(body, mime)
        else:
            parsed = await run_in_threadpool(scorer.parse, body, mime)
        if parsed.is_frame and not parsed.unified_llm:
            request = FrameRequest(parsed.data, parsed.params)
            if batcher.accepts(request):
                return await batcher.submit(request)
        return await run_in_threadpool(scorer.score_parsed, parsed)

    async def shutdown(self) -> None:
        """Stop the batcher's dispatcher."""
        if self.batcher is not None:
            await self.batcher.close()


def create_app(model: Any, options: AppOptions | None = None) -> Starlette:
    """The scoring server for a loaded model.

    Args:
        model: anything with ``predict(data[, params])``; normally :func:`mltrail.pyfunc.load_model`'s result.
        options: timeout, batching and request body settings.

    Returns:
        A Starlette app; ``app.state.scoring`` holds the :class:`ScoringApp`.
    """
    options = options or AppOptions()
    scoring = ScoringApp(model if isinstance(model, Scorer) else Scorer(model), options)
    routes = [
        Route("/ping", scoring.ping, methods=["GET"]),
        Route("/health", scoring.ping, methods=["GET"]),
        Route("/version", scoring.version, methods=["GET"]),
        Route("/invocations", scoring.invocations, methods=["POST"]),
    ]
    chat_routes, chat = openai_routes(scoring.scorer.model, options.timeout, options.max_batch_size, options.model_name)
    routes += chat_routes
    scoring.chat = chat
    if chat is not None:  # one name on every route: /invocations answers carry the name /v1 shows
        scoring.scorer.response_model = chat.name
    elif scoring.scorer.schema.llm_field is not None:  # a completions model
        scoring.scorer.response_model = options.model_name or model_name_of(scoring.scorer.model)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await scoring.shutdown()
        if chat is not None:
            await chat.shutdown()

    app = _ScoringStarlette(routes=routes, lifespan=lifespan, exception_handlers={BodyRejected: rejection_handler})
    app.state.scoring = scoring
    app.body_limits = scoring.options.body_limits()
    return app


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    """A complete response with the headers Starlette's ``Response`` writes."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ScoringStarlette(Starlette):
    """The scoring app: ``POST /invocations`` goes straight to its handler unless middleware was added.

    Every HTTP request reads its body within :attr:`body_limits` (see :func:`~mltrail.serving.limits.call_with_limits`).
    """

    body_limits = BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if (
            scope["path"] == "/invocations"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and not self.user_middleware
        ):
            scope["app"] = self
            await call_with_limits(self.state.scoring.invocations_asgi, scope, receive, send, self.body_limits)
            return
        await call_with_limits(super().__call__, scope, receive, send, self.body_limits)
