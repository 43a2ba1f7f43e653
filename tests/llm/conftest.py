"""Fixtures of the LLM tests: the tiny Phi-3 (Hugging Face folder and ONNX GenAI int4 folder)."""

from __future__ import annotations

import pytest

from tests.llm import tiny_phi3


@pytest.fixture(scope="session")
def tiny_phi3_dirs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """``(hf_dir, onnx_dir)`` of the trained tiny Phi-3 (cached in pytest's cache folder when it is enabled)."""
    pytest.importorskip("transformers")
    pytest.importorskip("onnxruntime_genai")
    cache = getattr(request.config, "cache", None)
    root = cache.mkdir("mltrail-llm") if cache is not None else tmp_path_factory.getbasetemp() / "llm"
    return tiny_phi3.build(str(root))
