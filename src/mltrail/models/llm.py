"""The OpenAI-style LLM contract shared by chat flavors and the server: signatures, requests, responses.

``llm/v1/chat`` and ``llm/v1/completions`` signatures are MLflow's (``mlflow/types/llm.py``), so models saved by
either tool carry the same schema. :func:`parse_chat_request` and :func:`parse_completions_request` turn one input
row (a dict, possibly with pandas' missing values) into a validated
:class:`~mltrail.models.generation.LLMRequest`, with a clear INVALID_PARAMETER_VALUE message for what is wrong;
:func:`chat_completion`, :func:`chat_chunk` and :func:`text_completion` build the response objects.
:class:`LLMPyfunc` is the pyfunc of a chat or completions model over a flavor's generator
(:class:`~mltrail.models.generation.TextGeneration`), shared by the transformers and ONNX GenAI flavors. Its
``complete`` and ``stream`` take requests parsed already (the server's ``/v1`` routes parse each request once).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from mltrail import errors
from mltrail.models.generation import Generation, GenerationOptions, LLMRequest, StreamEnd, TextGeneration
from mltrail.models.schema import Schema
from mltrail.models.signature import ModelSignature

__all__ = [
    "LLM_TASKS",
    "ROLES",
    "TASK_CHAT",
    "TASK_COMPLETIONS",
    "LLMPyfunc",
    "chat_chunk",
    "chat_completion",
    "llm_pyfunc_of",
    "llm_signature",
    "new_id",
    "parse_chat_request",
    "parse_completions_request",
    "parse_options",
    "request_rows",
    "text_chunk",
    "text_completion",
]

TASK_CHAT = "llm/v1/chat"
TASK_COMPLETIONS = "llm/v1/completions"
LLM_TASKS = (TASK_CHAT, TASK_COMPLETIONS)
ROLES = ("system", "user", "assistant", "tool", "developer")

_FUNCTION_CALL = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "required": True},
        "arguments": {"type": "string", "required": True},
    },
}
_TOOL_CALL = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "required": True},
        "type": {"type": "string", "required": True},
        "function": {**_FUNCTION_CALL, "required": True},
    },
}
_MESSAGE = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "required": True},
        "content": {"type": "string", "required": False},
        "name": {"type": "string", "required": False},
        "refusal": {"type": "string", "required": False},
        "tool_call_id": {"type": "string", "required": False},
        "tool_calls": {"type": "array", "items": _TOOL_CALL, "required": False},
    },
}
#: One entry of a tool's ``parameters.properties`` (a JSON-schema property, as MLflow types it).
_TOOL_PARAMETER = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "required": True},
        "description": {"type": "string", "required": False},
        "enum": {"type": "array", "items": {"type": "string"}, "required": False},
        "items": {
            "type": "object",
            "properties": {"type": {"type": "string", "required": True}},
            "required": False,
        },
    },
}
_TOOL = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "required": True},
        "function": {
            "type": "object",
            "required": False,
            "properties": {
                "name": {"type": "string", "required": True},
                "description": {"type": "string", "required": False},
                "parameters": {
                    "type": "object",
                    "required": True,
                    "properties": {
                        "type": {"type": "string", "required": False},
                        "properties": {"type": "map", "values": _TOOL_PARAMETER, "required": True},
                        "required": {"type": "array", "items": {"type": "string"}, "required": False},
                        "additionalProperties": {"type": "boolean", "required": False},
                    },
                },
                "strict": {"type": "boolean", "required": False},
            },
        },
    },
}
_USAGE = {
    "type": "object",
    "properties": {
        "prompt_tokens": {"type": "long", "required": True},
        "completion_tokens": {"type": "long", "required": True},
        "total_tokens": {"type": "long", "required": True},
    },
}


def _col(name: str, spec: Mapping[str, Any] | str, required: bool = False) -> dict[str, Any]:
    body = {"type": spec} if isinstance(spec, str) else dict(spec)
    body.pop("required", None)
    return {**body, "name": name, "required": required}


_OPTIONS = [
    _col("temperature", "double"),
    _col("max_tokens", "long"),
    _col("stop", {"type": "array", "items": {"type": "string"}}),
    _col("n", "long"),
    _col("stream", "boolean"),
]
CHAT_INPUT_COLUMNS: list[dict[str, Any]] = [
    _col("messages", {"type": "array", "items": _MESSAGE}, required=True),
    *_OPTIONS,
    _col("top_p", "double"),
    _col("top_k", "long"),
    _col("frequency_penalty", "double"),
    _col("presence_penalty", "double"),
    _col("tools", {"type": "array", "items": _TOOL}),
    _col("custom_inputs", {"type": "map", "values": {"type": "any"}}),
]
CHAT_OUTPUT_COLUMNS: list[dict[str, Any]] = [
    _col("id", "string", True),
    _col("object", "string", True),
    _col("created", "long", True),
    _col("model", "string", True),
    _col(
        "choices",
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "long", "required": True},
                    "message": {**_MESSAGE, "required": True},
                    "finish_reason": {"type": "string", "required": True},
                },
            },
        },
        True,
    ),
    _col("usage", _USAGE),
    _col("custom_outputs", {"type": "map", "values": {"type": "any"}}),
]
COMPLETIONS_INPUT_COLUMNS: list[dict[str, Any]] = [_col("prompt", "string", True), *_OPTIONS]
COMPLETIONS_OUTPUT_COLUMNS: list[dict[str, Any]] = [
    _col("id", "string", True),
    _col("object", "string", True),
    _col("created", "long", True),
    _col("model", "string", True),
    _col(
        "choices",
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "long", "required": True},
                    "finish_reason": {"type": "string", "required": True},
                    "text": {"type": "string", "required": True},
                },
            },
        },
        True,
    ),
    _col("usage", _USAGE, True),
]


def llm_signature(task: str) -> ModelSignature:
    """MLflow's signature for ``llm/v1/chat`` or ``llm/v1/completions``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for another task.
    """
    if task == TASK_CHAT:
        inputs, outputs = CHAT_INPUT_COLUMNS, CHAT_OUTPUT_COLUMNS
    elif task == TASK_COMPLETIONS:
        inputs, outputs = COMPLETIONS_INPUT_COLUMNS, COMPLETIONS_OUTPUT_COLUMNS
    else:
        raise errors.invalid(f"Unknown LLM task {task!r}; use one of {list(LLM_TASKS)}")
    return ModelSignature(Schema.from_json(json.dumps(inputs)), Schema.from_json(json.dumps(outputs)))


# ------------------------------------------------------------------------------------------------ requests
def _missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(row: Mapping[str, Any], key: str, kind: type, low: float | None = None, high: float | None = None) -> Any:
    value = row.get(key)
    if _missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or hasattr(value, "__len__"):
        try:
            import numpy as np

            if isinstance(value, np.generic):
                value = value.item()
        except ImportError:  # pragma: no cover - numpy is always there with pandas
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.invalid(f"'{key}' must be a number, got {type(value).__name__} {value!r}")
    if kind is int:
        if float(value) != int(value):
            raise errors.invalid(f"'{key}' must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if low is not None and value < low:
        raise errors.invalid(f"'{key}' must be >= {low:g}, got {value!r}")
    if high is not None and value > high:
        raise errors.invalid(f"'{key}' must be <= {high:g}, got {value!r}")
    return value


def _to_list(value: Any) -> Any:
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def parse_options(row: Mapping[str, Any]) -> GenerationOptions:
    """The generation options of a request row.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for max_tokens < 1, n < 1, a temperature outside [0, 2], top_p
            outside (0, 1], top_k < 0, or a stop that is not a string or a list of strings.
    """
    max_tokens = _number(row, "max_tokens", int)
    if max_tokens is not None and max_tokens < 1:
        raise errors.invalid(f"'max_tokens' must be a positive integer, got {max_tokens}")
    n = _number(row, "n", int)
    if n is not None and n < 1:
        raise errors.invalid(f"'n' must be a positive integer, got {n}")
    top_p = _number(row, "top_p", float, 0.0, 1.0)
    if top_p is not None and top_p == 0:
        raise errors.invalid("'top_p' must be greater than 0")
    stop = _to_list(row.get("stop"))
    if _missing(stop):
        stop = []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise errors.invalid(f"'stop' must be a string or a list of strings, got {stop!r}")
    return GenerationOptions(
        max_tokens=max_tokens,
        temperature=_number(row, "temperature", float, 0.0, 2.0),
        top_p=top_p,
        top_k=_number(row, "top_k", int, 0),
        n=n or 1,
        stop=tuple(s for s in stop if s),
    )


def _message(index: int, message: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise errors.invalid(
            f"messages[{index}] must be an object with 'role' and 'content', got {type(message).__name__}"
        )
    role = message.get("role")
    if role not in ROLES:
        raise errors.invalid(f"messages[{index}].role must be one of {list(ROLES)}, got {role!r}")
    content = message.get("content")
    content = _to_list(content)
    if isinstance(content, list):  # OpenAI's content parts: keep the text parts
        texts = [p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"]
        if len(texts) != len(content):
            raise errors.invalid(f"messages[{index}].content may only hold text parts")
        content = "".join(texts)
    if _missing(content):
        content = ""
    if not isinstance(content, str):
        raise errors.invalid(f"messages[{index}].content must be a string, got {type(content).__name__}")
    out = {k: v for k, v in message.items() if not _missing(v)}
    out["role"], out["content"] = role, content
    return out


def parse_chat_request(row: Mapping[str, Any]) -> LLMRequest:
    """Validate one chat request row (``{"messages": [...], "max_tokens": ..., ...}``).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with what is wrong: no messages, a message without a valid role, bad
            options (see :func:`parse_options`).
    """
    if not isinstance(row, Mapping):
        raise errors.invalid(f"A chat request must be an object with 'messages', got {type(row).__name__}")
    messages = _to_list(row.get("messages"))
    if _missing(messages) or (isinstance(messages, list) and not messages):
        raise errors.invalid("'messages' is required and must be a non-empty list of {'role', 'content'} objects")
    if not isinstance(messages, list):
        raise errors.invalid(
            f"'messages' must be a list of {{'role', 'content'}} objects, got {type(messages).__name__}"
        )
    parsed = tuple(_message(i, m) for i, m in enumerate(messages))
    stream = row.get("stream")
    return LLMRequest(parse_options(row), messages=parsed, stream=bool(not _missing(stream) and stream))


def parse_completions_request(row: Mapping[str, Any]) -> LLMRequest:
    """Validate one completions request row (``{"prompt": "...", ...}``).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a missing or non-string prompt, or bad options.
    """
    if not isinstance(row, Mapping):
        raise errors.invalid(f"A completions request must be an object with 'prompt', got {type(row).__name__}")
    prompt = row.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise errors.invalid(f"'prompt' is required and must be a string, got {type(prompt).__name__}")
    stream = row.get("stream")
    return LLMRequest(parse_options(row), prompt=prompt, stream=bool(not _missing(stream) and stream))


def request_rows(data: Any) -> list[dict[str, Any]]:
    """The request rows of a pyfunc input: a dict (one request), a list of dicts, or a DataFrame (one per row).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for other input types.
    """
    if isinstance(data, Mapping):
        return [dict(data)]
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return [{str(k): v for k, v in r.items() if not _missing(v)} for r in data.to_dict(orient="records")]
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        return [dict(r) for r in data]
    if isinstance(data, str):
        return [{"prompt": data}]
    raise errors.invalid(f"Expected a request object, a list of them or a DataFrame, got {type(data).__name__}")


# ----------------------------------------------------------------------------------------------- responses
def new_id(prefix: str = "chatcmpl") -> str:
    """A fresh response id."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _usage(prompt_tokens: int, generations: Iterable[Generation]) -> dict[str, int]:
    completion = sum(g.completion_tokens for g in generations)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


def chat_completion(model: str, prompt_tokens: int, generations: Sequence[Generation]) -> dict[str, Any]:
    """A ``chat.completion`` object (MLflow's and OpenAI's shape)."""
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": g.text}, "finish_reason": g.finish_reason}
            for i, g in enumerate(generations)
        ],
        "usage": _usage(prompt_tokens, generations),
    }


def text_completion(model: str, prompt_tokens: int, generations: Sequence[Generation]) -> dict[str, Any]:
    """A ``text_completion`` object."""
    return {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": i, "text": g.text, "finish_reason": g.finish_reason} for i, g in enumerate(generations)],
        "usage": _usage(prompt_tokens, generations),
    }


def chat_chunk(
    chunk_id: str,
    model: str,
    created: int,
    content: str | None,
    index: int = 0,
    finish_reason: str | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` object (one streamed piece)."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}],
    }


def text_chunk(
    chunk_id: str, model: str, created: int, text: str, index: int = 0, finish_reason: str | None = None
) -> dict[str, Any]:
    """A streamed ``text_completion`` piece (completions models)."""
    return {
        "id": chunk_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"index": index, "text": text, "finish_reason": finish_reason}],
    }


# ------------------------------------------------------------------------------------------ chat pyfunc
def llm_pyfunc_of(model: Any) -> LLMPyfunc | None:
    """The :class:`LLMPyfunc` behind a loaded pyfunc model (the implementation itself, or its ``llm`` attribute),
    else None.

    The OpenAI routes call it directly with requests they validated: the pyfunc's schema enforcement would repeat
    that validation and turn the request into a DataFrame first (about 1 ms per request).
    """
    impl = getattr(model, "implementation", model)
    found = impl if isinstance(impl, LLMPyfunc) else getattr(impl, "llm", None)
    return found if isinstance(found, LLMPyfunc) else None


class LLMPyfunc:
    """The pyfunc of an ``llm/v1/chat`` or ``llm/v1/completions`` model over a flavor's
    :class:`~mltrail.models.generation.TextGeneration`.

    ``predict`` takes one request (a dict), a list of them or a DataFrame (one request per row) and returns one
    ``chat.completion`` (or ``text_completion``) per request; ``predict_stream`` takes one request and yields
    ``chat.completion.chunk`` objects (or ``text_completion`` pieces), the last one with ``usage``. Params
    override the request's fields.

    Args:
        generator: the flavor's generator.
        task: ``llm/v1/chat`` or ``llm/v1/completions``.
        model_name: the ``model`` field of the responses.
    """

    def __init__(self, generator: TextGeneration, task: str, model_name: str) -> None:
        self.generator = generator
        self.task = task
        self.model_name = model_name

    def get_raw_model(self) -> TextGeneration:
        """The flavor's generator."""
        return self.generator

    def requests(self, data: Any, params: dict[str, Any] | None = None) -> list[LLMRequest]:
        """The validated requests of a pyfunc input.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE with what is wrong.
        """
        parse = parse_chat_request if self.task == TASK_CHAT else parse_completions_request
        return [parse({**row, **(params or {})}) for row in request_rows(data)]

    def complete(self, requests: Sequence[LLMRequest], keep_stop: bool = True) -> list[dict[str, Any]]:
        """One ``chat.completion`` / ``text_completion`` object per validated request (generated together where
        the generator batches).

        Args:
            requests: validated requests (see :func:`parse_chat_request`).
            keep_stop: keep a stop string that ended a choice in its text (MLflow's ``predict``); ``False`` leaves
                it out, as OpenAI does.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a prompt longer than the context.
        """
        build = chat_completion if self.task == TASK_CHAT else text_completion
        generated = self.generator.generate(requests, keep_stop=keep_stop)
        return [build(self.model_name, n, gens) for n, gens in generated]

    def stream(self, request: LLMRequest, keep_stop: bool = True) -> Iterator[dict[str, Any]]:
        """Stream one validated request: ``chat.completion.chunk`` objects (or ``text_completion`` pieces), the last
        one with ``usage``; ``keep_stop`` as in :meth:`complete`.

        Raises:
            MltrailError: when iterated, INVALID_PARAMETER_VALUE for a prompt longer than the context.
        """
        chat = self.task == TASK_CHAT
        chunk_id, created = new_id("chatcmpl" if chat else "cmpl"), int(time.time())

        def chunk(text: str | None, index: int, reason: str | None, role: str | None) -> dict[str, Any]:
            if chat:
                return chat_chunk(chunk_id, self.model_name, created, text, index, reason, role)
            return text_chunk(chunk_id, self.model_name, created, text or "", index, reason)

        if request.options.n > 1:  # several choices: generate them together, one chunk each
            ((_, generations),) = self.generator.generate([request], keep_stop=keep_stop)
            for i, g in enumerate(generations):
                yield chunk(g.text, i, g.finish_reason, "assistant")
            return
        first = True
        for item in self.generator.stream(request, keep_stop=keep_stop):
            if isinstance(item, StreamEnd):  # the last chunk carries the usage (the server moves it for OpenAI)
                yield {**chunk(None if chat else "", 0, item.finish_reason, None), "usage": item.usage()}
            else:
                yield chunk(item, 0, None, "assistant" if first else None)
                first = False

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One ``chat.completion`` / ``text_completion`` object per request (the stop string kept, as in MLflow).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a bad request or a prompt longer than the context.
        """
        return self.complete(self.requests(data, params))

    def predict_stream(self, data: Any, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Stream one request: ``chat.completion.chunk`` objects, or ``text_completion`` pieces.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a bad request or more than one request (when iterated, for
                errors of generation).
        """
        requests = self.requests(data, params)
        if len(requests) != 1:
            raise errors.invalid("predict_stream takes exactly one request")
        return self.stream(requests[0])
