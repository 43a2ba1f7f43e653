"""OpenAI-compatible routes for chat models: ``POST /v1/chat/completions`` (streamed over SSE) and ``GET /v1/models``.

They are added to the scoring app when the served model is a chat model (``metadata.task: llm/v1/chat``, an
``inference_task`` of ``llm/v1/chat``, or an input signature with ``messages``). Each request is parsed once into an
:class:`~mltrail.models.generation.LLMRequest`. mltrail's own chat flavors (an :class:`~mltrail.models.llm.LLMPyfunc`
behind the pyfunc) are called with it directly (``complete`` / ``stream``), skipping the pyfunc's schema
enforcement and a second parse, and leave a ``stop`` string out of the text as OpenAI does (``/invocations`` keeps
it, as MLflow does). Any other chat model gets the request as an input row through its pyfunc ``predict`` /
``predict_stream``, and the stop string is cut from its answers here. Concurrent non-streamed requests are
combined by a :class:`~mltrail.serving.batching.Batcher` into one call with several requests, which flavors that
batch (transformers, onnx_genai) generate together. Errors are OpenAI's ``{"error": {"message", "type", "param",
"code"}}`` with status 400 for bad requests.

``POST /invocations`` with ``{"messages": [...], "stream": true}`` (which MLflow 3.18 answers 400) is streamed the
same way, with errors before the first chunk in MLflow's shape (:meth:`OpenAIRoutes.invocations_stream`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.models.generation import LLMRequest, StopScanner, cut_at_stop
from mltrail.models.llm import TASK_CHAT, LLMPyfunc, llm_pyfunc_of, parse_chat_request
from mltrail.serving.batching import Batcher

__all__ = [
    "FORWARDED",
    "OpenAIRoutes",
    "chat_request",
    "drop_stop",
    "drop_stop_chunks",
    "is_chat_model",
    "llm_batcher",
    "loads",
    "model_name_of",
    "model_row",
    "openai_error",
    "openai_routes",
    "row_batcher",
]

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
    """The name a served model goes by when it did not come from the registry (``/v1/models``' id and the ``model``
    field of every answer): the logged model id, else the source model name, else ``"model"``."""
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


def chat_request(body: Any) -> tuple[dict[str, Any], LLMRequest]:
    """Validate an OpenAI chat request body.

    Returns:
        The body (with ``max_completion_tokens`` as ``max_tokens``) and its validated request.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with what is wrong.
    """
    if not isinstance(body, dict):
        raise errors.invalid("The request body must be a JSON object")
    if "max_tokens" not in body and body.get("max_completion_tokens") is not None:
        body = {**body, "max_tokens": body["max_completion_tokens"]}
    return body, parse_chat_request(body)  # raises with a clear message


def model_row(body: dict[str, Any], request: LLMRequest) -> dict[str, Any]:
    """The input row of a chat model that is not an :class:`~mltrail.models.llm.LLMPyfunc`: the messages' roles
    and contents, and the request fields in :data:`FORWARDED` as the client sent them."""
    row: dict[str, Any] = {"messages": [{"role": m["role"], "content": m["content"]} for m in request.messages]}
    for key in FORWARDED:
        if body.get(key) is not None:
            row[key] = body[key]
    if isinstance(row.get("stop"), str):
        row["stop"] = [row["stop"]]
    return row


def drop_stop(completion: Any, stop: Sequence[str]) -> Any:
    """A chat.completion with each choice's content cut before its first stop string, as OpenAI answers.

    For chat models other than mltrail's own flavors (which leave it out themselves when asked), which keep the stop
    string in the text as MLflow does.
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
    OpenAI streams; text that could start a stop string is held back until it is known not to (for chat models
    other than mltrail's own flavors, as :func:`drop_stop`)."""
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


def _same_count(completions: Any, requests: list[Any]) -> Any:
    return completions if isinstance(completions, list) and len(completions) == len(requests) else None


def llm_batcher(
    complete: Callable[[list[LLMRequest]], list[dict[str, Any]]], max_batch_size: int = 16
) -> Batcher[LLMRequest, dict[str, Any]]:
    """The batcher of ``/v1/chat/completions`` for an :class:`~mltrail.models.llm.LLMPyfunc`: concurrent requests
    go into one ``complete`` call (which generates those with equal options together).

    Args:
        complete: the chat pyfunc's ``complete`` (one chat.completion per request).
        max_batch_size: most requests in one call.
    """
    return Batcher(complete, _same_count, max_batch_size=max_batch_size)


def _predict_rows(predict: Callable[[Any], Any]) -> Callable[[list[dict[str, Any]]], Any]:
    def call(rows: list[dict[str, Any]]) -> Any:
        return predict(rows if len(rows) > 1 else rows[0])

    return call


def _split_completions(results: Any, rows: list[dict[str, Any]]) -> Any:
    if len(rows) == 1:  # a model answers one row with a list of one completion, or the completion itself
        return [results[0] if isinstance(results, list) and len(results) == 1 else results]
    return _same_count(results, rows)


def row_batcher(predict: Callable[[Any], Any], max_batch_size: int = 16) -> Batcher[dict[str, Any], Any]:
    """The batcher of ``/v1/chat/completions`` for another chat model: concurrent input rows with the same fields
    go into one ``predict`` call with several rows.

    Args:
        predict: the model's pyfunc ``predict``.
        max_batch_size: most requests in one call.
    """
    return Batcher(
        _predict_rows(predict), _split_completions, key=lambda row: tuple(sorted(row)), max_batch_size=max_batch_size
    )


class OpenAIRoutes:
    """The ``/v1`` handlers for one chat model.

    Args:
        model: the loaded pyfunc model.
        timeout: seconds before a non-streamed request is answered 504.
        max_batch_size: most concurrent requests combined into one predict call (1 disables batching).
        name: the model's id in ``/v1/models`` and the ``model`` field of the answers (default:
            :func:`model_name_of`).
    """

    def __init__(self, model: Any, timeout: float = 60.0, max_batch_size: int = 16, name: str | None = None) -> None:
        self.model = model
        self.timeout = timeout
        self.name = name or model_name_of(model)
        self.created = int(time.time())
        self.llm: LLMPyfunc | None = llm_pyfunc_of(model)  # requests are validated here: skip enforcement
        self.batcher: Batcher[Any, Any] | None = None
        if max_batch_size > 1:
            if self.llm is not None:
                self.batcher = llm_batcher(functools.partial(self.llm.complete, keep_stop=False), max_batch_size)
            else:
                self.batcher = row_batcher(model.predict, max_batch_size)

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
            body, parsed = chat_request(body)
        except MltrailError as exc:
            return _error_for(exc)
        if parsed.stream:
            return await self._stream(body, parsed)
        item: Any = parsed if self.llm is not None else model_row(body, parsed)
        try:
            if self.batcher is not None:
                result = await asyncio.wait_for(self.batcher.submit(item), self.timeout)
            else:
                result = await asyncio.wait_for(run_in_threadpool(self._complete_one, item), self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return openai_error(f"Request processing time exceeded limit ({self.timeout:g} s).", 504, "timeout")
        except BaseException as exc:
            return _error_for(exc)
        if self.llm is None:  # the model kept any stop string (MLflow's way); OpenAI's answer leaves it out
            result = drop_stop(result[0] if isinstance(result, list) else result, parsed.options.stop)
        if isinstance(result, dict):
            result = {**result, "model": self.name}
        return Response(json.dumps(result), media_type=JSON)

    def _complete_one(self, item: Any) -> Any:
        """One request, unbatched: its chat.completion (another model's own answer to its row)."""
        if self.llm is not None:
            return self.llm.complete([item], keep_stop=False)[0]
        return self.model.predict(item)

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
            body, parsed = chat_request(body)
        except MltrailError as exc:
            return error(exc)
        return await self._stream(body, parsed, error)

    def _chunks(self, body: dict[str, Any], parsed: LLMRequest, keep_stop: bool) -> Iterator[Any]:
        """The model's chunks for one request (runs in a worker thread: another model's ``predict_stream`` may
        work before it returns)."""
        if self.llm is not None:
            return self.llm.stream(parsed, keep_stop=keep_stop)
        chunks = self.model.predict_stream(model_row(body, parsed))
        if not keep_stop and parsed.options.stop:
            return drop_stop_chunks(chunks, parsed.options.stop)
        return chunks

    async def _stream(
        self, body: dict[str, Any], parsed: LLMRequest, error: Callable[[MltrailError], Response] | None = None
    ) -> Response:
        """SSE of the model's chunks: with ``error`` (``/invocations``) in MLflow's ways (errors in MLflow's shape,
        the stop string kept), else in OpenAI's (errors in OpenAI's shape, the stop string dropped)."""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        try:
            if self.llm is not None:  # a generator: nothing runs until the first next
                chunks: Iterator[Any] = self._chunks(body, parsed, error is not None)
            else:
                chunks = await run_in_threadpool(self._chunks, body, parsed, error is not None)
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
    model: Any, timeout: float = 60.0, max_batch_size: int = 16, name: str | None = None
) -> tuple[list[Route], OpenAIRoutes | None]:
    """The ``/v1`` routes for ``model`` when it is a chat model (else none); ``name`` as in :class:`OpenAIRoutes`."""
    if not is_chat_model(model):
        return [], None
    handlers = OpenAIRoutes(model, timeout, max_batch_size, name)
    routes = [
        Route("/v1/chat/completions", handlers.chat_completions, methods=["POST"]),
        Route("/v1/models", handlers.models, methods=["GET"]),
    ]
    return routes, handlers
