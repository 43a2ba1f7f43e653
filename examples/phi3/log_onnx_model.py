"""Log the ONNX GenAI Phi-3 wrapper as a model (and register it), then predict with it.

    python examples/phi3/log_onnx_model.py [--onnx-dir PATH]   # default: build the tiny Phi-3 in ./tiny-phi3

Serve it with ``mltrail models serve -m models:/phi3-onnx/1 -p 5000 --env-manager local`` and query::

    curl -s localhost:5000/invocations -H 'Content-Type: application/json' \\
      -d '{"prompt": "<|user|>What is the capital of Spain?<|end|><|assistant|>"}'
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from phi3_onnx_model import Phi3Model

import mltrail
from mltrail.models import infer_signature

PROMPT = (
    "<|system|>You are a python coder.<|end|><|user|>Create a python code snippet that prints hello world."
    "<|end|><|assistant|>"
)


def main() -> None:
    parser = argparse.ArgumentParser(description="Log the ONNX GenAI Phi-3 wrapper")
    parser.add_argument("--onnx-dir", help="an ONNX Runtime GenAI Phi-3 folder (default: build the tiny model)")
    parser.add_argument("--register", default="phi3-onnx", help="registered model name ('' to skip)")
    args = parser.parse_args()
    onnx_dir = args.onnx_dir
    if onnx_dir is None:
        from build_tiny_phi3 import build, convert_to_onnx_genai

        hf_dir, onnx_dir = os.path.abspath("tiny-phi3/hf"), os.path.abspath("tiny-phi3/onnx-int4")
        if not os.path.isdir(onnx_dir):
            if not os.path.isdir(hf_dir):
                build(hf_dir)
            convert_to_onnx_genai(hf_dir, onnx_dir)  # absolute: the builder runs in its cache folder
    example = {"prompt": PROMPT}
    with mltrail.start_run():
        info = mltrail.pyfunc.log_model(
            name="phi3-onnx",
            python_model=Phi3Model(),
            artifacts={"phi3-mini-onnx": onnx_dir},
            # the class is pickled by reference: ship its module so the server can import it anywhere
            code_paths=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "phi3_onnx_model.py")],
            input_example=example,
            signature=infer_signature(example, ["Run"]),
            extra_pip_requirements=["onnxruntime-genai==0.18.0", "numpy"],
            registered_model_name=args.register or None,
        )
    print("logged", info.model_uri)
    print("answer:", mltrail.pyfunc.load_model(info.model_uri).predict(example))


if __name__ == "__main__":
    main()
