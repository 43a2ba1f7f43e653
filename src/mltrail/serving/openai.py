"""OpenAI-compatible routes for chat models: ``POST /v1/chat/completions`` (streamed over SSE) and ``GET /v1/models``.

They are added to the scoring app when the served model is a chat model (``metadata.task: llm/v1/chat``, an
``inference_task`` of ``llm/v1/chat``, or an input signature with ``messages``). Requests go through the model's
pyfunc ``predict`` / ``predict_stream``, so any chat flavor works; mltrail's own chat flavors (an
:class:`~mltrail.models.llm.LLMPyfunc` behind the pyfunc) are called directly, since the request is validated here
already. Concurrent non-streamed requests are combined by a :class:`ChatBatcher` into one ``predict`` call with
several rows, which flavors that batch (transformers, onnx_genai) generate together. Errors are OpenAI's
``{"error": {"message", "type", "param", "code"}}`` with status 400 for bad requests. A ``stop`` string is left out
of the returned text, as OpenAI does (flavors keep it, as MLflow does, and so does ``/invocations``).

``POST /invocations`` with ``{"messages": [...], "stream": true}`` (which MLflow 3.18 answers 400) is streamed the
same way, with errors before the first chunk in MLflow's shape (:meth:`OpenAIRoutes.invocations_stream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mltrail.errors import MltrailError
from mltrail.models.llm import TASK_CHAT, StopScanner, cut_at_stop, llm_pyfunc_of, parse_chat_request

logger = logging.getLogger("mltrail.serving")

JSON = "application/json"
_INLINE_JSON_BYTES = 4096  # a bigger body is parsed in a worker thread, so the event loop keeps serving
#: Request fields passed on to the model (OpenAI's names; ``max_completion_tokens`` becomes ``max_tokens``).
FORWARDED = ("temperature", "max_tokens", "stop", "n", "top_p", "top_k", "frequency_penalty", "presence_penalty")


async def loads(raw: bytes) -> Any:
    """``json.loads(raw)``: on the event loop for a small body, in a worker thread for a big one.

    Raises:
        ValueError: ``raw`` is not JSON.
    """
    if len(raw) <= _INLINE_JSON_BYTES:
        return json.loads(raw)
    return await run_in_threadpool(json.loads, raw)


def is_chat_model(model: Any) -> bool:
    """Whether ``model`` (a loaded pyfunc) is a chat model."""
    meta = getattr(model, "metadata", None)
    if meta is None:
        return False
    if (meta.metadata or {}).get("task") == TASK_CHAT:
        return True
    if any(conf.get("inference_task") == TASK_CHAT for conf in meta.flavors.values() if isinstance(conf, dict)):
        return True
    schema = meta.get_input_schema()
    return schema is not None and schema.has_input_names() and "messages" in schema.input_names()


def model_name_of(model: Any) -> str:
    """The id shown in ``/v1/models``: the logged model id, else the source model name, else ``"model"``."""
    meta = getattr(model, "metadata", None)
    if meta is None:
        return "model"
    sources = (conf.get("source_model_name") for conf in meta.flavors.values() if isinstance(conf, dict))
    return str(meta.model_id or next((s for s in sources if s), None) or "model")


def openai_error(message: str, status: int = 400, error_type: str = "invalid_request_error") -> Response:
    """OpenAI's error body."""
    body = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return Response(json.dumps(body), status_code=status, media_type=JSON)


def _error_for(exc: BaseException) -> Response:
    if isinstance(exc, MltrailError):
        if exc.http_status < 500:
            return openai_error(exc.message, exc.http_status)
        return openai_error(exc.message, exc.http_status, "server_error")
    logger.exception("Unhandled error in /v1/chat/completions", exc_info=exc)
    return openai_error(f"Internal error: {type(exc).__name__}: {exc}", 500, "server_error")


def to_model_row(body: Any) -> dict[str, Any]:
    """Validate an OpenAI chat request and turn it into the model's input row.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with what is wrong.
    """
    if not isinstance(body, dict):
        raise MltrailError.invalid_parameter_value("The request body must be a JSON object")
    if "max_tokens" not in body and body.get("max_completion_tokens") is not None:
        body = {**body, "max_tokens": body["max_completion_tokens"]}
    request = parse_chat_request(body)  # raises with a clear message
    row: dict[str, Any] = {"messages": [{"role": m["role"], "content": m["content"]} for m in request.messages]}
    for key in FORWARDED:
        if body.get(key) is not None:
            row[key] = body[key]
    if isinstance(row.get("stop"), str):
        row["stop"] = [row["stop"]]
    return row


def drop_stop(completion: Any, stop: Sequence[str]) -> Any:
    """A chat.completion with each choice's content cut before its first stop string, as OpenAI answers.

    Flavors keep the stop string in the text (MLflow's behaviour, kept on ``/invocations``).
    """
    if not stop or not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
        return completion
    choices = []
    for choice in completion["choices"]:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            content, _ = cut_at_stop(message["content"], stop, keep=False)
            choice = {**choice, "message": {**message, "content": content}}
        choices.append(choice)
    return {**completion, "choices": choices}


def drop_stop_chunks(chunks: Iterator[Any], stop: Sequence[str]) -> Iterator[Any]:
    """chat.completion.chunk objects with the stop string (and anything after it) left out of the content, as
    OpenAI streams; text that could start a stop string is held back until it is known not to."""
    scanners: dict[Any, StopScanner] = {}
    for chunk in chunks:
        if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
            yield chunk
            continue
        choices, useful = [], False
        for choice in chunk["choices"]:
            if not isinstance(choice, dict):
                choices.append(choice)
                continue
            scanner = scanners.setdefault(choice.get("index", 0), StopScanner(stop, keep=False))
            delta = dict(choice.get("delta") or {})
            text = scanner.feed(delta["content"]) if isinstance(delta.get("content"), str) else None
            if choice.get("finish_reason") is not None and (rest := scanner.flush()):
                text = (text or "") + rest
            if text is not None:
                delta["content"] = text
            useful = useful or bool(text) or "role" in delta or choice.get("finish_reason") is not None
            choices.append({**choice, "delta": delta})
        if useful:
            yield {**chunk, "choices": choices}


class ChatBatcher:
    """Combines concurrent chat requests into one ``predict`` call (rows with the same fields go together).

    A request that arrives while the model is idle is predicted at once, without the hop through the dispatcher
    task; requests that arrive while a prediction runs wait, and all of them go together into the next call.

    Args:
        predict: the model's ``predict``.
        max_batch_size: most requests in one call.
    """

    def __init__(self, predict: Any, max_batch_size: int = 16) -> None:
        self._predict = predict
        self._max = max_batch_size
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = 0  # predictions in flight (a lone request, or the dispatcher's batch)
        self._held = False  # the dispatcher holds requests taken from the queue, waiting for the model
        self._idle: asyncio.Event | None = None

    async def submit(self, row: dict[str, Any]) -> dict[str, Any]:
        """Predict one row, batched with whatever arrives meanwhile; returns its chat.completion."""
        if self._queue is None:
            self._queue, self._idle = asyncio.Queue(), asyncio.Event()
            self._idle.set()
            self._task = asyncio.get_running_loop().create_task(self._run())
        if self._running == 0 and not self._held and self._queue.empty():  # idle: no batch to wait for
            self._enter()
            try:
                results = await run_in_threadpool(self._predict, row)
            finally:
                self._leave()
            return results[0] if isinstance(results, list) and len(results) == 1 else results
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((row, future))
        return await future

    def _enter(self) -> None:
        assert self._idle is not None
        self._running += 1
        self._idle.clear()

    def _leave(self) -> None:
        assert self._idle is not None
        self._running -= 1
        if self._running == 0:
            self._idle.set()

    async def _run(self) -> None:
        assert self._queue is not None and self._idle is not None
        while True:
            first = await self._queue.get()
            self._held = True
            await self._idle.wait()  # let the running prediction finish: what queues meanwhile joins this batch
            items = [first]
            while len(items) < self._max and not self._queue.empty():
                items.append(self._queue.get_nowait())
            groups: dict[tuple[str, ...], list[tuple[dict[str, Any], asyncio.Future[Any]]]] = {}
            for item in items:
                groups.setdefault(tuple(sorted(item[0])), []).append(item)
            self._enter()
            self._held = False
            try:
                await asyncio.gather(*(self._call(group) for group in groups.values()))
            finally:
                self._leave()

    async def _call(self, group: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        rows = [row for row, _ in group]
        try:
            results = await run_in_threadpool(self._predict, rows if len(rows) > 1 else rows[0])
            if not isinstance(results, list) or len(results) != len(rows):
                raise MltrailError.invalid_parameter_value("The model returned a different number of completions")
        except BaseException as exc:
            if len(rows) > 1 and isinstance(exc, MltrailError):  # one bad request must not fail the others
                for row, future in group:
                    await self._call([(row, future)])
                return
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Stop the dispatcher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class OpenAIRoutes:
    """The ``/v1`` handlers for one chat model.

    Args:
        model: the loaded pyfunc model.
        timeout: seconds before a non-streamed request is answered 504.
        max_batch_size: most concurrent requests combined into one predict call (1 disables batching).
    """

    def __init__(self, model: Any, timeout: float = 60.0, max_batch_size: int = 16) -> None:
        self.model = model
        self.timeout = timeout
        self.name = model_name_of(model)
        self.created = int(time.time())
        llm = llm_pyfunc_of(model)  # requests are validated here: skip the pyfunc's schema enforcement
        self.predict = llm.predict if llm is not None else model.predict
        self.predict_stream = llm.predict_stream if llm is not None else model.predict_stream
        self.batcher = ChatBatcher(self.predict, max_batch_size) if max_batch_size > 1 else None

    async def models(self, request: Request) -> Response:
        """``GET /v1/models``: the one served model."""
        body = {"object": "list", "data": [self._model_entry()]}
        return Response(json.dumps(body), media_type=JSON)

    def _model_entry(self) -> dict[str, Any]:
        return {"id": self.name, "object": "model", "created": self.created, "owned_by": "mltrail"}

    async def chat_completions(self, request: Request) -> Response:
        """``POST /v1/chat/completions``: a chat.completion, or chat.completion.chunk events with ``stream``."""
        raw = await request.body()
        try:
            body = await loads(raw)
        except ValueError as exc:
            return openai_error(f"The request body is not valid JSON: {exc}")
        try:
            row = to_model_row(body)
        except MltrailError as exc:
            return _error_for(exc)
        if body.get("stream"):
            return await self._stream(row, body)
        try:
            if self.batcher is not None:
                result = await asyncio.wait_for(self.batcher.submit(row), self.timeout)
            else:
                result = await asyncio.wait_for(run_in_threadpool(self.predict, row), self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return openai_error(f"Request processing time exceeded limit ({self.timeout:g} s).", 504, "timeout")
        except BaseException as exc:
            return _error_for(exc)
        completion = drop_stop(result[0] if isinstance(result, list) else result, row.get("stop") or ())
        if isinstance(completion, dict):
            completion = {**completion, "model": self.name}
        return Response(json.dumps(completion), media_type=JSON)

    async def invocations_stream(self, raw: bytes, error: Callable[[MltrailError], Response]) -> Response | None:
        """``POST /invocations`` with ``{"messages": [...], "stream": true}``: chat.completion.chunk events over SSE.

        MLflow 3.18 answers such a request 400; mltrail streams it as ``/v1/chat/completions`` does. Returns None
        when the body is not a streamed chat request (the caller scores it as usual). Errors before the first
        chunk are answered by ``error`` (MLflow's shape).
        """
        try:
            body = await loads(raw)
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("stream") is not True or "messages" not in body:
            return None
        try:
            row = to_model_row(body)
        except MltrailError as exc:
            return error(exc)
        return await self._stream(row, body, error)

    async def _stream(
        self, row: dict[str, Any], body: dict[str, Any], error: Callable[[MltrailError], Response] | None = None
    ) -> Response:
        """SSE of the model's chunks: with ``error`` (``/invocations``) in MLflow's ways (errors in MLflow's shape,
        the stop string kept), else in OpenAI's (errors in OpenAI's shape, the stop string dropped)."""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        try:
            chunks: Iterator[Any] = await run_in_threadpool(self.predict_stream, row)
            if error is None and row.get("stop"):
                chunks = drop_stop_chunks(chunks, row["stop"])
            first = await run_in_threadpool(next, chunks, None)  # errors before the first token become a 400
        except BaseException as exc:
            if error is not None:
                if isinstance(exc, MltrailError):
                    return error(exc)
                logger.exception("Unhandled error in a streamed /invocations", exc_info=exc)
                return error(MltrailError(f"Internal error: {type(exc).__name__}: {exc}"))
            return _error_for(exc)

        usage: list[Any] = [None]

        def event(chunk: Any) -> bytes:
            if error is None and isinstance(chunk, dict) and "usage" in chunk:  # OpenAI: only in the usage chunk
                usage[0] = chunk["usage"]
                chunk = {k: v for k, v in chunk.items() if k != "usage"}
            return self._event(chunk)

        async def events() -> AsyncIterator[bytes]:
            chunk = first
            if chunk is not None:
                yield event(chunk)
            try:
                async for chunk in iterate_in_threadpool(chunks):
                    yield event(chunk)
            except Exception as exc:  # the status is sent already: report in-band, as OpenAI does
                logger.exception("Error while streaming a chat completion")
                yield (
                    b"data: " + json.dumps({"error": {"message": str(exc), "type": "server_error"}}).encode() + b"\n\n"
                )
            if include_usage and isinstance(chunk, dict):
                yield self._event({**chunk, "choices": [], "usage": usage[0]})
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    def _event(self, chunk: Any) -> bytes:
        if isinstance(chunk, dict):
            chunk = {**chunk, "model": self.name}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    async def shutdown(self) -> None:
        """Stop the batcher."""
        if self.batcher is not None:
            await self.batcher.close()


def openai_routes(
    model: Any, timeout: float = 60.0, max_batch_size: int = 16
) -> tuple[list[Route], OpenAIRoutes | None]:
    """The ``/v1`` routes for ``model`` when it is a chat model (else none)."""
    if not is_chat_model(model):
        return [], None
    handlers = OpenAIRoutes(model, timeout, max_batch_size)
    routes = [
        Route("/v1/chat/completions", handlers.chat_completions, methods=["POST"]),
        Route("/v1/models", handlers.models, methods=["GET"]),
    ]
    return routes, handlers
