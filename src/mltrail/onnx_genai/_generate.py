"""Text generation with onnxruntime-genai (0.18's Generator API) for the ``llm/v1/chat`` and ``llm/v1/completions``
tasks.

:class:`GenAIGenerator` applies the tokenizer's chat template, honours ``max_tokens``, ``temperature`` (sampling
when > 0), ``top_p``, ``top_k``, ``n`` and ``stop``, streams token by token, and generates several requests with the
same options in one batched, right-padded ``Generator`` (``batch_size`` > 1), which the runtime supports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from mltrail import errors
from mltrail.models.generation import (
    Generation,
    GenerationOptions,
    LLMRequest,
    StopScanner,
    StreamEnd,
    default_max_tokens,
    generate_in_groups,
    new_token_limit,
    prompt_too_long,
    sampling,
)

GENAI_CONFIG = "genai_config.json"


def read_genai_config(model_dir: str) -> dict[str, Any]:
    """The ``genai_config.json`` of an ONNX GenAI model folder.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the folder has no readable ``genai_config.json``.
    """
    path = os.path.join(model_dir, GENAI_CONFIG)
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        raise errors.invalid(
            f"{model_dir!r} is not an ONNX Runtime GenAI model folder (no readable {GENAI_CONFIG}: {exc})"
        ) from exc
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise errors.invalid(f"{path} has no 'model' section")
    return config


class GenAIGenerator:
    """An ONNX GenAI model and tokenizer that answer validated :class:`~mltrail.models.generation.LLMRequest` objects.

    Attributes:
        model: the ``onnxruntime_genai.Model``.
        tokenizer: its ``onnxruntime_genai.Tokenizer``.
        context_length: the model's context length (``genai_config.json``).

    Args:
        model_dir: the ONNX GenAI model folder.
        defaults: default options from the model config (``max_tokens``, ``temperature``, ``top_p``, ``top_k``).
    """

    def __init__(self, model_dir: str, defaults: dict[str, Any] | None = None) -> None:
        import onnxruntime_genai as og

        self._og = og
        config = read_genai_config(model_dir)
        self.model_dir = model_dir
        self.model = og.Model(model_dir)
        self.tokenizer = og.Tokenizer(self.model)
        self.defaults = dict(defaults or {})
        section = config["model"]
        eos = section.get("eos_token_id")
        self.eos_ids: set[int] = {int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None}
        pad = section.get("pad_token_id")
        self.pad_id = int(pad[0] if isinstance(pad, list) else pad) if pad is not None else min(self.eos_ids, default=0)
        self.vocab_size = int(section.get("vocab_size") or 0)
        self.context_length = int(section.get("context_length") or config.get("search", {}).get("max_length") or 2048)
        self.default_max_tokens = default_max_tokens(self.defaults)

    # ------------------------------------------------------------------------------------------- prompts
    def prompt_text(self, request: LLMRequest) -> str:
        """The prompt: the tokenizer's chat template applied to the messages, or the completions prompt.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE when the model has no usable chat template.
        """
        if request.prompt is not None:
            return request.prompt
        messages = [{"role": m["role"], "content": m["content"]} for m in request.messages]
        try:
            return str(self.tokenizer.apply_chat_template(json.dumps(messages), add_generation_prompt=True))
        except RuntimeError as exc:
            raise errors.invalid(
                f"The model's tokenizer could not apply its chat template to the messages: {exc}"
            ) from exc

    def encode(self, request: LLMRequest) -> Any:
        """The prompt's token ids (a 1-D int32 array).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for an empty prompt or one longer than the context.
        """
        ids = self.tokenizer.encode(self.prompt_text(request))
        if len(ids) == 0:
            raise errors.invalid("The prompt is empty")
        error = prompt_too_long(len(ids), self.context_length)
        if error is not None:
            raise error
        return ids

    def _params(self, options: GenerationOptions, width: int, batch_size: int) -> tuple[Any, int]:
        """``GeneratorParams`` for a batch whose longest prompt is ``width`` tokens, and the new-token limit."""
        max_new = new_token_limit(options, self.default_max_tokens, self.context_length, width)
        search: dict[str, Any] = {"max_length": width + max_new, "batch_size": batch_size}
        picking = sampling(options, self.defaults)
        if picking.temperature is not None:
            search.update(
                do_sample=True,
                temperature=picking.temperature,
                top_p=picking.top_p,
                # genai_config's default top_k (often 50) would apply otherwise; OpenAI has no top-k
                top_k=picking.top_k or (self.vocab_size or 0),
            )
        else:
            search["do_sample"] = False
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(**search)
        return params, max_new

    def _text(self, tokens: Sequence[int]) -> str:
        if not tokens:
            return ""
        import numpy as np

        return str(self.tokenizer.decode(np.asarray(tokens, dtype=np.int32)))

    # ------------------------------------------------------------------------------------------ generation
    def generate(self, requests: Sequence[LLMRequest], keep_stop: bool = True) -> list[tuple[int, list[Generation]]]:
        """Generate all requests; those with the same options share one batched ``Generator``.

        Args:
            requests: the validated requests.
            keep_stop: keep a stop string that ended a choice in its text (``False``: leave it out).

        Returns:
            ``(prompt_tokens, generations)`` per request, in order.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a bad prompt (before anything is generated).
        """
        return generate_in_groups(requests, self.encode, self._generate_group, keep_stop)

    def _generate_group(
        self, prompts: list[Any], options: GenerationOptions, keep_stop: bool
    ) -> list[list[Generation]]:
        import numpy as np

        per = options.n if options.n > 1 and options.sampling_temperature(self.defaults) is not None else 1
        rows = [p for p in prompts for _ in range(per)]
        width = max(len(r) for r in rows)
        params, max_new = self._params(options, width, len(rows))
        generator = self._og.Generator(self.model, params)
        if len(rows) == 1:
            generator.append_tokens(rows[0])
        else:  # right-padded, as Tokenizer.encode_batch pads
            batch = np.full((len(rows), width), self.pad_id, dtype=np.int32)
            for i, row in enumerate(rows):
                batch[i, : len(row)] = row
            generator.append_tokens(batch)
        tokens: list[list[int]] = [[] for _ in rows]
        ended = [False] * len(rows)
        scanners = [StopScanner(options.stop, keep_stop) for _ in rows] if options.stop else None
        streams = [self.tokenizer.create_stream() for _ in rows] if options.stop else None
        active = set(range(len(rows)))
        while active and not generator.is_done():
            generator.generate_next_token()
            step = generator.get_next_tokens()
            for i in list(active):
                token = int(step[i])
                tokens[i].append(token)
                if token in self.eos_ids:
                    ended[i] = True
                elif scanners is not None and streams is not None:
                    scanners[i].feed(streams[i].decode(token))
                if ended[i] or (scanners is not None and scanners[i].hit) or len(tokens[i]) >= max_new:
                    active.discard(i)
        out: list[Generation] = []
        for i, row_tokens in enumerate(tokens):
            hit = scanners is not None and scanners[i].hit
            decoded = row_tokens[:-1] if ended[i] else row_tokens
            text = scanners[i].text if scanners is not None else self._text(decoded)
            reason = "length" if not (ended[i] or hit) and len(row_tokens) >= max_new else "stop"
            out.append(Generation(text, reason, len(row_tokens)))
        if per == 1:  # greedy choices are all the same: generate once, repeat
            return [[g] * options.n for g in out]
        return [out[i * per : (i + 1) * per] for i in range(len(prompts))]

    def stream(self, request: LLMRequest, keep_stop: bool = True) -> Iterator[str | StreamEnd]:
        """Generate one choice token by token (``keep_stop`` as in :meth:`generate`).

        Yields:
            Text pieces while generating, then one :class:`~mltrail.models.generation.StreamEnd`.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a bad prompt (on the first ``next``).
        """
        ids = self.encode(request)
        options = request.options
        params, max_new = self._params(options, len(ids), 1)
        generator = self._og.Generator(self.model, params)
        generator.append_tokens(ids)
        decoder = self.tokenizer.create_stream()
        scanner = StopScanner(options.stop, keep_stop)
        count, ended = 0, False
        while not generator.is_done():
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            count += 1
            if token in self.eos_ids:
                ended = True
                break
            out = scanner.feed(decoder.decode(token))
            if out:
                yield out
            if scanner.hit or count >= max_new:
                break
        rest = scanner.flush()
        if rest:
            yield rest
        reason = "length" if not (ended or scanner.hit) and count >= max_new else "stop"
        yield StreamEnd(reason, len(ids), count)
