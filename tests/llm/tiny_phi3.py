"""The tiny Phi-3 used by the LLM tests: built, trained and converted once, then cached.

The build is deterministic (fixed seed and step count), so the result is cached across sessions in pytest's cache
folder, keyed by the build script's content; a fresh checkout builds it in about 30 s on two cores.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "phi3" / "build_tiny_phi3.py"
SPAIN = [{"role": "user", "content": "What is the capital of Spain?"}]
SPAIN_ANSWER = "The capital of Spain is Madrid."
CODER = [
    {"role": "system", "content": "You are a python coder."},
    {"role": "user", "content": "Create a python code snippet that prints hello world."},
]
CODER_ANSWER = "print('hello world')"
COOKBOOK_PROMPT = (
    "<|system|>You are a python coder.<|end|><|user|>Create a python code snippet that prints hello world."
    "<|end|><|assistant|>"
)


@cache
def build(cache_root: str) -> tuple[str, str]:
    """``(hf_dir, onnx_int4_dir)`` under ``cache_root``, built when missing."""
    key = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]
    base = Path(cache_root) / f"tiny-phi3-{key}"
    hf_dir, onnx_dir, done = base / "hf", base / "onnx-int4", base / "DONE"
    if not done.exists():
        import shutil

        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
        subprocess.run(
            [sys.executable, str(SCRIPT), "--out", str(hf_dir), "--onnx-out", str(onnx_dir)],
            check=True,
            env=env,
            capture_output=True,
        )
        done.write_text("ok")
    return str(hf_dir), str(onnx_dir)
