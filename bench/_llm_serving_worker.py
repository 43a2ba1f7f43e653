"""Worker of ``bench/llm_serving.py``; runs under either venv (standard library + transformers + torch + the side).

Commands (the result is the last stdout line, see ``_common.emit_result``):

- ``save mltrail|mlflow HF_DIR OUT_DIR``: save a text-generation pipeline over HF_DIR with that side's
  transformers flavor, ``task="llm/v1/chat"``;
- ``save-onnx ONNX_DIR OUT_DIR``: save an ONNX GenAI folder with ``mltrail.onnx_genai`` (``llm/v1/chat``);
- ``inprocess HF_DIR MODEL_DIR ROUNDS MAX_TOKENS REQUESTS``: tokens per second of the pipeline called in-process
  (one request at a time, greedy), and of mltrail's pyfunc ``predict`` on MODEL_DIR when MODEL_DIR is not ``-``;
- ``inprocess-onnx ONNX_DIR MODEL_DIR ROUNDS MAX_TOKENS REQUESTS``: the same for onnxruntime-genai's Generator
  loop written by hand (chat template, encode, generate token by token, decode: the Cookbook's way) and for
  ``mltrail.onnx_genai``'s pyfunc on MODEL_DIR;
- ``build-long HF_DIR OUT_HF OUT_ONNX``: a randomly initialised model with HF_DIR's architecture and tokenizer
  (seed 0), which does not stop by itself, so every answer is ``max_tokens`` long; and its ONNX GenAI int4 twin.
"""

from __future__ import annotations

import json
import os
import sys
import time

from _common import emit_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _pipeline(hf_dir: str):
    import transformers

    return transformers.pipeline("text-generation", model=hf_dir)


def save(side: str, hf_dir: str, out_dir: str) -> dict:
    import torch
    import transformers

    pipe = _pipeline(hf_dir)
    started = time.perf_counter()
    if side == "mltrail":
        import mltrail.transformers

        mltrail.transformers.save_model(pipe, out_dir, task="llm/v1/chat")
    else:
        import mlflow.transformers

        reqs = [f"transformers=={transformers.__version__}", f"torch=={torch.__version__.split('+')[0]}"]
        mlflow.transformers.save_model(pipe, out_dir, task="llm/v1/chat", pip_requirements=reqs)
    return {"seconds": time.perf_counter() - started, "path": out_dir}


def pipeline_caller(hf_dir: str, max_tokens: int):
    """``call(messages) -> (tokens, answer)``: one greedy ``pipeline(...)`` call, the reference of the bench.

    ``tokens`` is the same count as ``usage.completion_tokens`` (the answer's tokens plus the end token when it
    ended), taken once per prompt from ``model.generate`` outside the timed call.
    """
    import torch

    pipe = _pipeline(hf_dir)
    tokenizer = pipe.tokenizer
    eos = pipe.model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos])
    counts: dict[str, int] = {}

    def tokens_of(prompt_messages: list) -> int:
        prompt = tokenizer.apply_chat_template(prompt_messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            out = pipe.model.generate(ids, max_new_tokens=max_tokens, do_sample=False)
        new = out[0, ids.shape[1] :].tolist()
        for i, t in enumerate(new):
            if t in eos_ids:
                return i + 1
        return len(new)

    def call(messages: list) -> tuple[int, str]:
        key = json.dumps(messages)
        if key not in counts:
            counts[key] = tokens_of(messages)
        out = pipe(messages, max_new_tokens=max_tokens, do_sample=False)
        return counts[key], out[0]["generated_text"][-1]["content"]

    return call


def onnx_caller(onnx_dir: str, max_tokens: int):
    """``call(messages) -> (tokens, answer)`` with onnxruntime-genai's Generator loop written by hand (chat
    template, encode, generate token by token, decode: the Cookbook's way)."""
    import numpy as np
    import onnxruntime_genai as og

    model = og.Model(onnx_dir)
    tokenizer = og.Tokenizer(model)
    with open(os.path.join(onnx_dir, "genai_config.json"), encoding="utf-8") as handle:
        eos = json.load(handle)["model"]["eos_token_id"]
    eos_ids = set(eos if isinstance(eos, list) else [eos])

    def call(messages: list) -> tuple[int, str]:
        ids = tokenizer.encode(tokenizer.apply_chat_template(json.dumps(messages), add_generation_prompt=True))
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(ids) + max_tokens)
        generator = og.Generator(model, params)
        generator.append_tokens(ids)
        new: list[int] = []
        while not generator.is_done():
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            new.append(token)
            if token in eos_ids:
                break
        text = tokenizer.decode(np.asarray([t for t in new if t not in eos_ids], dtype=np.int32))
        return len(new), text

    return call


def _timed(call, rounds: int, requests: list) -> tuple[float, int, list]:
    """(tokens/s, tokens per round, answers) of ``call`` over ``rounds`` passes, after one warm-up pass."""
    answers = [call(r)[1] for r in requests]
    tokens = 0
    started = time.perf_counter()
    for _ in range(rounds):
        for r in requests:
            tokens += call(r)[0]
    return tokens / (time.perf_counter() - started), tokens // rounds, answers


def inprocess(hf_dir: str, model_dir: str, rounds: int, max_tokens: int, requests: list) -> dict:
    tps, per_round, answers = _timed(pipeline_caller(hf_dir, max_tokens), rounds, requests)
    result = {"pipeline_tps": tps, "tokens_per_round": per_round, "answers": answers}
    if model_dir != "-":
        result.update(_timed_pyfunc(model_dir, rounds, max_tokens, requests))
    return result


def _timed_pyfunc(model_dir: str, rounds: int, max_tokens: int, requests: list) -> dict:
    """Tokens per second of mltrail's pyfunc ``predict`` on ``model_dir``, one request at a time."""
    import mltrail.pyfunc

    model = mltrail.pyfunc.load_model(model_dir)
    for r in requests:
        model.predict({"messages": r, "max_tokens": max_tokens})
    tokens = 0
    started = time.perf_counter()
    for _ in range(rounds):
        for r in requests:
            tokens += model.predict({"messages": r, "max_tokens": max_tokens})[0]["usage"]["completion_tokens"]
    elapsed = time.perf_counter() - started
    return {"pyfunc_tps": tokens / elapsed, "pyfunc_tokens_per_round": tokens // rounds}


def save_onnx(onnx_dir: str, out_dir: str) -> dict:
    import mltrail.onnx_genai

    started = time.perf_counter()
    mltrail.onnx_genai.save_model(onnx_dir, out_dir)
    return {"seconds": time.perf_counter() - started, "path": out_dir}


def inprocess_onnx(onnx_dir: str, model_dir: str, rounds: int, max_tokens: int, requests: list) -> dict:
    tps, per_round, answers = _timed(onnx_caller(onnx_dir, max_tokens), rounds, requests)
    result = {"loop_tps": tps, "tokens_per_round": per_round, "answers": answers}
    if model_dir != "-":
        result.update(_timed_pyfunc(model_dir, rounds, max_tokens, requests))
    return result


def build_long(hf_dir: str, out_hf: str, out_onnx: str) -> dict:
    import torch
    from transformers import AutoConfig, AutoTokenizer, Phi3ForCausalLM

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "phi3"))
    from build_tiny_phi3 import convert_to_onnx_genai

    torch.manual_seed(0)
    model = Phi3ForCausalLM(AutoConfig.from_pretrained(hf_dir)).eval()
    model.generation_config.eos_token_id = [0, 4]
    model.generation_config.pad_token_id = 0
    model.save_pretrained(out_hf)
    AutoTokenizer.from_pretrained(hf_dir).save_pretrained(out_hf)
    convert_to_onnx_genai(os.path.abspath(out_hf), os.path.abspath(out_onnx))
    return {"hf": out_hf, "onnx": out_onnx}


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "save":
        emit_result(save(argv[1], argv[2], argv[3]))
    elif command == "save-onnx":
        emit_result(save_onnx(argv[1], argv[2]))
    elif command == "inprocess-onnx":
        emit_result(inprocess_onnx(argv[1], argv[2], int(argv[3]), int(argv[4]), json.loads(argv[5])))
    elif command == "build-long":
        emit_result(build_long(argv[1], argv[2], argv[3]))
    elif command == "inprocess":
        requests = json.loads(argv[5])
        emit_result(inprocess(argv[1], argv[2], int(argv[3]), int(argv[4]), requests))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
