"""What a chat flavor's generator works with: validated requests, generated choices, stop strings and defaults.

:class:`LLMRequest` (with its :class:`GenerationOptions`) is what :mod:`mltrail.models.llm` parses a request into.
A flavor's generator (:class:`TextGeneration`; the transformers and ONNX GenAI flavors have one each) answers
requests with :class:`Generation` objects, or streams one as text pieces and a :class:`StreamEnd`. What both
generators do alike is here: defaults from the model config (:func:`default_max_tokens`, :func:`new_token_limit`,
:func:`sampling`), requests with equal options generated together (:func:`generate_in_groups`), text cut at stop
strings (:func:`cut_at_stop`, :class:`StopScanner`) and a prompt longer than the context refused
(:func:`prompt_too_long`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from mltrail import errors
from mltrail.errors import MltrailError

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "Generation",
    "GenerationOptions",
    "LLMRequest",
    "Sampling",
    "StopScanner",
    "StreamEnd",
    "TextGeneration",
    "cut_at_stop",
    "default_max_tokens",
    "generate_in_groups",
    "new_token_limit",
    "prompt_too_long",
    "sampling",
]

#: New tokens per choice when neither the request nor the model config says.
DEFAULT_MAX_TOKENS = 256


# ------------------------------------------------------------------------------------------------ requests
@dataclass(frozen=True)
class GenerationOptions:
    """Sampling options of one request (None: the model's default)."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    n: int = 1
    stop: tuple[str, ...] = ()

    @property
    def sample(self) -> bool:
        """Whether to sample (temperature > 0) rather than decode greedily."""
        return self.temperature is not None and self.temperature > 0

    def sampling_temperature(self, defaults: Mapping[str, Any]) -> float | None:
        """The temperature to sample with (the request's, else the model config's), or None to decode greedily."""
        temperature = self.temperature if self.temperature is not None else defaults.get("temperature")
        return float(temperature) if temperature is not None and temperature > 0 else None


@dataclass(frozen=True)
class LLMRequest:
    """One validated chat (``messages``) or completions (``prompt``) request."""

    options: GenerationOptions
    messages: tuple[dict[str, Any], ...] = ()
    prompt: str | None = None
    stream: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ defaults
def default_max_tokens(config: Mapping[str, Any], model_default: int | None = None) -> int:
    """New tokens per choice when the request does not say: the model config's ``max_tokens`` (or
    ``max_new_tokens``), else the model's own default, else :data:`DEFAULT_MAX_TOKENS`."""
    return int(config.get("max_tokens") or config.get("max_new_tokens") or model_default or DEFAULT_MAX_TOKENS)


def new_token_limit(options: GenerationOptions, default: int, context_length: int, prompt_tokens: int) -> int:
    """How many tokens to generate: the request's ``max_tokens`` (else ``default``), at most what the context has
    left after the prompt, at least 1."""
    return max(1, min(options.max_tokens or default, context_length - prompt_tokens))


@dataclass(frozen=True)
class Sampling:
    """How to pick tokens: greedily (``temperature`` None), or sampled with ``temperature``, ``top_p`` and
    ``top_k`` (None: no top-k limit)."""

    temperature: float | None = None
    top_p: float = 1.0
    top_k: int | None = None


def sampling(options: GenerationOptions, config: Mapping[str, Any]) -> Sampling:
    """The request's sampling settings, each falling back on the model config's; greedy unless the temperature is
    above 0."""
    temperature = options.sampling_temperature(config)
    if temperature is None:
        return Sampling()
    top_p = options.top_p if options.top_p is not None else config.get("top_p")
    top_k = options.top_k if options.top_k is not None else config.get("top_k")
    return Sampling(temperature, float(top_p) if top_p is not None else 1.0, int(top_k) if top_k else None)


# ------------------------------------------------------------------------------------------------- choices
@dataclass(frozen=True)
class Generation:
    """One generated choice: its text, why it ended, and how many tokens it took."""

    text: str
    finish_reason: str
    completion_tokens: int


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a streamed generation: why it ended, and its token counts (for ``usage``)."""

    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    def usage(self) -> dict[str, int]:
        """OpenAI's ``usage`` object."""
        total = self.prompt_tokens + self.completion_tokens
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "total_tokens": total}


# -------------------------------------------------------------------------------------------- stop strings
def cut_at_stop(text: str, stop: Sequence[str], keep: bool = True, start: int = 0) -> tuple[str, bool]:
    """``text`` up to the stop string that ends first, and whether one was found.

    Args:
        text: the generated text.
        stop: the stop strings.
        keep: keep the stop string in the text (MLflow's behaviour, used by pyfunc ``predict`` and
            ``/invocations``); ``False`` drops it, as OpenAI does (``/v1/chat/completions``).
        start: where to start looking (text before it is known to hold no stop string).
    """
    span = _first_stop(text, stop, start)
    if span is None:
        return text, False
    return text[: span[1] if keep else span[0]], True


def _first_stop(text: str, stop: Sequence[str], start: int) -> tuple[int, int] | None:
    """``(begin, end)`` of the stop string in ``text[start:]`` that ends first (the longest of those ending there)."""
    end, begin = -1, -1
    for s in stop:
        at = text.find(s, start)
        if at >= 0 and (end < 0 or at + len(s) < end or (at + len(s) == end and at < begin)):
            end, begin = at + len(s), at
    return None if end < 0 else (begin, end)


class StopScanner:
    """Cuts streamed text at the first stop string without ever sending part of one.

    Feed each generated piece to :meth:`feed` and send what it returns; text that could be the start of a stop
    string is held back until it is known not to be. After the end of generation, send :meth:`flush`.

    Args:
        stop: the stop strings (none: every piece passes through at once).
        keep: keep the stop string in the text (see :func:`cut_at_stop`).
    """

    def __init__(self, stop: Sequence[str], keep: bool = True) -> None:
        self.stop = tuple(s for s in stop if s)
        self.keep = keep
        self.hold = max((len(s) for s in self.stop), default=1) - 1
        self.text = ""
        self.sent = 0
        self.hit = False
        self.found = ""  # the stop string that ended the text

    def feed(self, piece: str) -> str:
        """Add a generated piece; returns the text that can be sent now ("" after a stop string was found)."""
        if self.hit or not piece:
            return ""
        start = max(0, len(self.text) - self.hold)
        self.text += piece
        if self.stop:
            span = _first_stop(self.text, self.stop, start)
            if span is not None:
                self.hit, self.found = True, self.text[span[0] : span[1]]
                self.text = self.text[: span[1] if self.keep else span[0]]
                return self.flush()
        safe = len(self.text) - self.hold
        if safe <= self.sent:
            return ""
        out, self.sent = self.text[self.sent : safe], safe
        return out

    def flush(self) -> str:
        """The text held back so far (call once generation has ended)."""
        out, self.sent = self.text[self.sent :], len(self.text)
        return out

    @property
    def generated(self) -> str:
        """The text generated so far, with the stop string that ended it even when it is not kept."""
        return self.text if self.keep else self.text + self.found


def prompt_too_long(tokens: int, context_length: int) -> MltrailError | None:
    """The 400 for a prompt that does not fit the model's context (None when it fits)."""
    if tokens < context_length:
        return None
    return errors.invalid(
        f"The prompt is {tokens} tokens long, but the model's context length is {context_length} tokens; "
        "shorten the messages."
    )


# ---------------------------------------------------------------------------------------------- generators
class TextGeneration(Protocol):
    """What a chat flavor's generator provides to :class:`~mltrail.models.llm.LLMPyfunc`.

    ``keep_stop``: keep a stop string that ended a choice in its text (MLflow's behaviour, for pyfunc ``predict``
    and ``/invocations``), or leave it out (OpenAI's, for ``/v1/chat/completions``).
    """

    def generate(self, requests: Sequence[LLMRequest], keep_stop: bool = True) -> list[tuple[int, list[Generation]]]:
        """``(prompt_tokens, generations)`` per request, in order (``options.n`` generations each)."""
        ...

    def stream(self, request: LLMRequest, keep_stop: bool = True) -> Iterator[str | StreamEnd]:
        """One choice: text pieces while generating, then one :class:`StreamEnd`."""
        ...


P = TypeVar("P")


def generate_in_groups(
    requests: Sequence[LLMRequest],
    encode: Callable[[LLMRequest], P],
    run_group: Callable[[list[P], GenerationOptions, bool], list[list[Generation]]],
    keep_stop: bool = True,
    length: Callable[[P], int] = len,  # type: ignore[assignment]
) -> list[tuple[int, list[Generation]]]:
    """Encode every request first (so a bad one fails before any generation), then generate the requests with
    equal options together with ``run_group(prompts, options, keep_stop)`` (one batched call per group).

    Returns:
        ``(prompt_tokens, generations)`` per request, in order.
    """
    encoded = [encode(r) for r in requests]
    results: list[tuple[int, list[Generation]] | None] = [None] * len(requests)
    groups: dict[GenerationOptions, list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault(request.options, []).append(i)
    for options, indexes in groups.items():
        for i, generations in zip(indexes, run_group([encoded[i] for i in indexes], options, keep_stop), strict=True):
            results[i] = (length(encoded[i]), generations)
    return [r for r in results if r is not None]
