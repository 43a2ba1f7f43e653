"""The Phi-3 Cookbook's two MLflow snippets, run exactly as printed under ``python -m mltrail.compat``.

The scripts in ``cookbook/`` hold the Cookbook's text (md/06.E2ESamples/E2E_Phi-3-MLflow.md) unchanged except the
model path (the tiny local Phi-3 of ``tiny_phi3_dirs``) and, in the custom wrapper, the two lines of ``predict`` that
onnxruntime-genai 0.18 removed. They run in a subprocess where mlflow is not installed (see conftest.py), so every
``mlflow`` name they use is mltrail's.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.compat_alias.conftest import COOKBOOK, run_python
from tests.llm.tiny_phi3 import CODER_ANSWER, SPAIN_ANSWER


def test_transformer_pipeline_snippet(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    from mltrail.models.llm import llm_signature

    result = run_python(
        ["-m", "mltrail.compat", str(COOKBOOK / "transformer_pipeline.py"), tiny_phi3_dirs[0]], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["Response:"] == SPAIN_ANSWER
    assert json.loads(lines["SIGNATURE"]) == json.loads(llm_signature("llm/v1/chat").to_dict()["outputs"])
    assert lines["MODULES"] == "mlflow AliasModule mltrail.pyfunc.loader"


def test_custom_python_wrapper_snippet(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    result = run_python(
        ["-m", "mltrail.compat", str(COOKBOOK / "custom_python_wrapper.py"), tiny_phi3_dirs[1]], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ANSWER {CODER_ANSWER}" in result.stdout
    assert (
        'SIGNATURE {\'inputs\': \'[{"type": "string", "name": "prompt", "required": true}]\', '
        "'outputs': '[{\"type\": \"string\", \"required\": true}]', 'params': None}"
    ) in result.stdout
