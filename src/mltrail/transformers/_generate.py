"""Text generation with a Hugging Face causal LM for the ``llm/v1/chat`` and ``llm/v1/completions`` tasks.

Unlike MLflow 3.18, which passes the request to the pipeline, :class:`TextGenerator` calls ``model.generate``
itself, so that it can honour ``temperature``/``top_p``/``top_k`` (sampling when temperature > 0), return ``n``
choices, stop at ``stop`` strings with the saved tokenizer (no source folder needed), stream token by token, and
generate several requests in one left-padded batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from mltrail import errors
from mltrail.models.generation import (
    Generation,
    GenerationOptions,
    LLMRequest,
    StopScanner,
    StreamEnd,
    cut_at_stop,
    default_max_tokens,
    generate_in_groups,
    new_token_limit,
    prompt_too_long,
    sampling,
)


class TextGenerator:
    """Generates completions for validated :class:`~mltrail.models.generation.LLMRequest` objects.

    Args:
        model: a ``transformers`` causal LM (``PreTrainedModel`` with ``generate``).
        tokenizer: its tokenizer (with a chat template for chat requests).
        defaults: default options from the model config (``max_tokens``/``max_new_tokens``, ``temperature``, ...).
    """

    def __init__(self, model: Any, tokenizer: Any, defaults: dict[str, Any] | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.defaults = dict(defaults or {})
        config = model.generation_config
        eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id: int = config.pad_token_id if config.pad_token_id is not None else min(self.eos_ids, default=0)
        self.context_length: int = int(
            getattr(model.config, "max_position_embeddings", None) or tokenizer.model_max_length or 2048
        )
        self.default_max_tokens = default_max_tokens(self.defaults, config.max_new_tokens)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- prompts
    def prompt_text(self, request: LLMRequest) -> str:
        """The prompt: the chat template applied to the messages, or the completions prompt."""
        if request.prompt is not None:
            return request.prompt
        if getattr(self.tokenizer, "chat_template", None) is None:
            raise errors.invalid("The model's tokenizer has no chat template for chat requests")
        return self.tokenizer.apply_chat_template(
            [{"role": m["role"], "content": m["content"]} for m in request.messages],
            tokenize=False,
            add_generation_prompt=True,
        )

    def _encode(self, request: LLMRequest) -> list[int]:
        ids = self.tokenizer(self.prompt_text(request), add_special_tokens=False)["input_ids"]
        error = prompt_too_long(len(ids), self.context_length)
        if error is not None:
            raise error
        return ids

    def _kwargs(self, options: GenerationOptions, prompt_width: int) -> dict[str, Any]:
        picking = sampling(options, self.defaults)
        kwargs: dict[str, Any] = {
            "max_new_tokens": new_token_limit(options, self.default_max_tokens, self.context_length, prompt_width),
            "num_return_sequences": options.n if options.n > 1 and picking.temperature is not None else 1,
            "pad_token_id": self.pad_id,
            "eos_token_id": sorted(self.eos_ids) or None,
        }
        if picking.temperature is not None:
            kwargs.update(do_sample=True, temperature=picking.temperature, top_p=picking.top_p, top_k=picking.top_k)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if options.stop:
            kwargs.update(stop_strings=list(options.stop), tokenizer=self.tokenizer)
        return kwargs

    def _finish(self, tokens: Sequence[int], options: GenerationOptions, limit: int, keep_stop: bool) -> Generation:
        count = len(tokens)
        ended = False
        for i, token in enumerate(tokens):
            if token in self.eos_ids:
                count, ended = i + 1, True
                break
        text = self.tokenizer.decode(list(tokens[:count]), skip_special_tokens=True)
        text, hit = cut_at_stop(text, options.stop, keep_stop)
        reason = "stop" if ended or hit else "length"
        if not ended and not hit and count < limit:
            reason = "stop"
        return Generation(text, reason, count)

    # ------------------------------------------------------------------------------------------ generation
    def generate(self, requests: Sequence[LLMRequest], keep_stop: bool = True) -> list[tuple[int, list[Generation]]]:
        """Generate all requests; those with the same options share one batched ``generate`` call.

        Args:
            requests: the validated requests.
            keep_stop: keep a stop string that ended a choice in its text (``False``: leave it out).

        Returns:
            ``(prompt_tokens, generations)`` per request, in order.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a prompt longer than the context.
        """
        return generate_in_groups(requests, self._encode, self._generate_group, keep_stop)

    def _generate_group(
        self, prompts: list[list[int]], options: GenerationOptions, keep_stop: bool
    ) -> list[list[Generation]]:
        import torch

        width = max(len(p) for p in prompts)
        input_ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts])
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        kwargs = self._kwargs(options, width)
        with torch.inference_mode():
            output = self.model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        new = output[:, width:].tolist()
        limit, per = kwargs["max_new_tokens"], kwargs["num_return_sequences"]
        if per == 1:  # greedy choices are all the same: decode once, repeat
            return [[self._finish(new[i], options, limit, keep_stop)] * options.n for i in range(len(prompts))]
        return [
            [self._finish(new[i * per + j], options, limit, keep_stop) for j in range(per)] for i in range(len(prompts))
        ]

    def stream(self, request: LLMRequest, keep_stop: bool = True) -> Iterator[str | StreamEnd]:
        """Generate one choice token by token (``keep_stop`` as in :meth:`generate`).

        Yields:
            Text pieces while generating, then one :class:`~mltrail.models.generation.StreamEnd`.
        """
        import torch
        from transformers import TextIteratorStreamer

        ids = self._encode(request)
        options = request.options
        kwargs = self._kwargs(GenerationOptions(**{**options.__dict__, "n": 1}), len(ids))
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failures: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(
                        input_ids=torch.tensor([ids]),
                        attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                        streamer=streamer,
                        **kwargs,
                    )
            except BaseException as exc:  # reported to the consumer below
                failures.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="mltrail-generate", daemon=True)
        thread.start()
        scanner = StopScanner(options.stop, keep_stop)
        for piece in streamer:
            out = scanner.feed(piece)
            if out:
                yield out
            if scanner.hit:
                break
        if scanner.hit:  # drain: generation ends on its own through stop_strings
            for _ in streamer:
                pass
        thread.join()
        if failures:
            raise failures[0]
        rest = scanner.flush()
        if rest:
            yield rest
        text = scanner.generated  # counted with its stop string, as predict counts its tokens
        tokens = len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0
        ended = not scanner.hit and tokens < kwargs["max_new_tokens"]  # at an end token, counted as predict does
        reason = "stop" if scanner.hit or ended else "length"
        yield StreamEnd(reason, len(ids), tokens + int(ended))
