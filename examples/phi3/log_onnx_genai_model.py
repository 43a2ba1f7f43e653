"""Log an ONNX Runtime GenAI Phi-3 folder with the ``mltrail.onnx_genai`` flavor (a chat model) and register it.

    python examples/phi3/log_onnx_genai_model.py [--onnx-dir PATH]   # default: build the tiny Phi-3 in ./tiny-phi3

No wrapper class to write: the flavor applies the tokenizer's chat template, takes OpenAI's chat options, streams,
and batches concurrent requests. Serve it with
``mltrail models serve -m models:/phi3-onnx-chat/1 -p 5002 --env-manager local`` and query it with curl or
``python examples/phi3/query_openai.py --url http://127.0.0.1:5002``.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mltrail

QUESTION = [{"role": "user", "content": "What is the capital of Spain?"}]


def tiny_onnx_dir() -> str:
    """The tiny Phi-3 converted to ONNX GenAI int4 (built on first use)."""
    from build_tiny_phi3 import build, convert_to_onnx_genai

    hf_dir, onnx_dir = os.path.abspath("tiny-phi3/hf"), os.path.abspath("tiny-phi3/onnx-int4")
    if not os.path.isdir(onnx_dir):
        if not os.path.isdir(hf_dir):
            build(hf_dir)
        convert_to_onnx_genai(hf_dir, onnx_dir)  # absolute: the builder runs in its cache folder
    return onnx_dir


def main() -> None:
    parser = argparse.ArgumentParser(description="Log an ONNX GenAI Phi-3 folder as a chat model")
    parser.add_argument("--onnx-dir", help="an ONNX Runtime GenAI Phi-3 folder (default: build the tiny model)")
    parser.add_argument("--register", default="phi3-onnx-chat", help="registered model name ('' to skip)")
    args = parser.parse_args()
    onnx_dir = args.onnx_dir or tiny_onnx_dir()
    with mltrail.start_run():
        info = mltrail.onnx_genai.log_model(
            onnx_dir,
            name="phi3-onnx-chat",
            model_config={"max_tokens": 64},
            input_example={"messages": QUESTION},
            registered_model_name=args.register or None,
        )
    print("logged", info.model_uri)
    model = mltrail.pyfunc.load_model(info.model_uri)
    print(model.predict({"messages": QUESTION})[0]["choices"][0]["message"]["content"])
    for chunk in model.predict_stream({"messages": QUESTION, "temperature": 0.7}):
        print(chunk["choices"][0]["delta"].get("content") or "", end="", flush=True)
    print()


if __name__ == "__main__":
    main()
