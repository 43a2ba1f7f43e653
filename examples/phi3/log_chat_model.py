"""Log a transformers text-generation pipeline as an ``llm/v1/chat`` model and register it.

python examples/phi3/log_chat_model.py [--model-dir PATH]   # default: build the tiny Phi-3 in ./tiny-phi3
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import transformers

import mltrail


def main() -> None:
    parser = argparse.ArgumentParser(description="Log a Phi-3 pipeline as a chat model")
    parser.add_argument("--model-dir", help="a Hugging Face Phi-3 folder (default: build the tiny model)")
    parser.add_argument("--register", default="phi3-chat", help="registered model name ('' to skip)")
    args = parser.parse_args()
    model_dir = args.model_dir
    if model_dir is None:
        from build_tiny_phi3 import build

        model_dir = "tiny-phi3/hf"
        if not os.path.isdir(model_dir):
            build(model_dir)
    pipe = transformers.pipeline("text-generation", model=model_dir)
    with mltrail.start_run():
        info = mltrail.transformers.log_model(
            transformers_model=pipe,
            name="phi3-chat",
            task="llm/v1/chat",
            model_config={"max_tokens": 64},
            registered_model_name=args.register or None,
        )
    print("logged", info.model_uri)
    model = mltrail.pyfunc.load_model(info.model_uri)
    print(model.predict({"messages": [{"role": "user", "content": "What is the capital of Spain?"}]}))


if __name__ == "__main__":
    main()
