"""The examples/phi3 ONNX GenAI PythonModel wrapper: saved, loaded, predicted and served."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.llm.tiny_phi3 import CODER_ANSWER, COOKBOOK_PROMPT, ROOT
from tests.serving.live import live_scoring_server

pytest.importorskip("onnxruntime_genai")


@pytest.fixture(scope="module")
def onnx_model(tiny_phi3_dirs: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    import mltrail.pyfunc
    from mltrail.models import infer_signature

    sys.path.insert(0, str(ROOT / "examples" / "phi3"))
    try:
        from phi3_onnx_model import Phi3Model
    finally:
        sys.path.remove(str(ROOT / "examples" / "phi3"))
    path = tmp_path_factory.mktemp("onnx") / "model"
    example = {"prompt": COOKBOOK_PROMPT}
    mltrail.pyfunc.save_model(
        path,
        python_model=Phi3Model(),
        artifacts={"phi3-mini-onnx": tiny_phi3_dirs[1]},
        input_example=example,
        signature=infer_signature(example, ["Run"]),
        extra_pip_requirements=["onnxruntime-genai==0.18.0"],
    )
    assert (Path(path) / "artifacts" / "onnx-int4" / "genai_config.json").exists()
    return mltrail.pyfunc.load_model(str(path))


def test_predict(onnx_model: Any) -> None:
    assert onnx_model.predict({"prompt": COOKBOOK_PROMPT}) == CODER_ANSWER
    spain = "<|user|>\nWhat is the capital of Spain?<|end|>\n<|assistant|>\n"
    assert onnx_model.predict({"prompt": spain}) == "The capital of Spain is Madrid."


def test_served(onnx_model: Any) -> None:
    with live_scoring_server(onnx_model) as (url, _):
        r = httpx.post(f"{url}/invocations", json={"prompt": COOKBOOK_PROMPT})
        assert r.status_code == 200 and r.json() == CODER_ANSWER
        r = httpx.post(f"{url}/invocations", json={"dataframe_records": [{"prompt": COOKBOOK_PROMPT}]})
        assert r.json() == {"predictions": CODER_ANSWER}
        assert httpx.get(f"{url}/v1/models").status_code == 404
