"""Worker of ``bench/llm_serving.py``; runs under either venv (standard library + transformers + torch + the side).

Commands (the result is the last stdout line, see ``_common.emit_result``):

- ``save mltrail|mlflow HF_DIR OUT_DIR``: save a text-generation pipeline over HF_DIR with that side's
  transformers flavor, ``task="llm/v1/chat"``;
- ``inprocess HF_DIR MODEL_DIR ROUNDS MAX_TOKENS``: tokens per second of the pipeline called in-process
  (one request at a time, greedy), and of mltrail's pyfunc ``predict`` on MODEL_DIR when MODEL_DIR is not ``-``.
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


def inprocess(hf_dir: str, model_dir: str, rounds: int, max_tokens: int, requests: list) -> dict:
    import torch

    pipe = _pipeline(hf_dir)
    tokenizer = pipe.tokenizer
    eos = pipe.model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos])

    def tokens_of(prompt_messages: list) -> int:
        # the same count as usage.completion_tokens: the answer's tokens plus the end token when it ended
        prompt = tokenizer.apply_chat_template(prompt_messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            out = pipe.model.generate(ids, max_new_tokens=max_tokens, do_sample=False)
        new = out[0, ids.shape[1] :].tolist()
        for i, t in enumerate(new):
            if t in eos_ids:
                return i + 1
        return len(new)

    counts = [tokens_of(r) for r in requests]
    answers = []
    for r in requests:  # warm-up, and the answers for the comparison
        out = pipe(r, max_new_tokens=max_tokens, do_sample=False)
        answers.append(out[0]["generated_text"][-1]["content"])
    started = time.perf_counter()
    for _ in range(rounds):
        for r in requests:
            pipe(r, max_new_tokens=max_tokens, do_sample=False)
    elapsed = time.perf_counter() - started
    result = {
        "pipeline_tps": rounds * sum(counts) / elapsed,
        "pipeline_rps": rounds * len(requests) / elapsed,
        "tokens_per_round": sum(counts),
        "answers": answers,
    }
    if model_dir != "-":
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
        result["pyfunc_tps"] = tokens / elapsed
        result["pyfunc_tokens_per_round"] = tokens // rounds
    return result


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "save":
        emit_result(save(argv[1], argv[2], argv[3]))
    elif command == "inprocess":
        requests = json.loads(argv[5])
        emit_result(inprocess(argv[1], argv[2], int(argv[3]), int(argv[4]), requests))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
