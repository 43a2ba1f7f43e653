"""Signatures with the official client: MLflow's ``llm/v1`` signatures, and MLflow's objects given to mltrail.

- mltrail's ``llm/v1/chat`` and ``llm/v1/completions`` signatures equal MLflow 3.17.2's ``to_dict()`` exactly.
- MLflow's ``ModelSignature`` (from ``mlflow.models.infer_signature`` or built from ``mlflow.types.Schema``) passed to
  mltrail's ``log_model``/``save_model`` is kept as given, and MLflow reads it back unchanged; a value mltrail cannot
  use is INVALID_PARAMETER_VALUE, never dropped for an inferred signature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow.models import infer_signature as mlflow_infer_signature
from mlflow.models.signature import ModelSignature as MlflowSignature
from mlflow.types import ColSpec, Schema

import mltrail
import mltrail.pyfunc
from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.models.llm import llm_signature


class _Echo(mltrail.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return list(model_input["prompt"])


@pytest.mark.parametrize("task", ["llm/v1/chat", "llm/v1/completions"])
def test_llm_signature_equals_mlflows(task: str) -> None:
    from mlflow.transformers.llm_inference_utils import _SIGNATURE_FOR_LLM_INFERENCE_TASK

    assert llm_signature(task).to_dict() == _SIGNATURE_FOR_LLM_INFERENCE_TASK[task].to_dict()


def test_chat_signature_details() -> None:
    """The three points where mltrail differed: finish_reason and tools.function.parameters are required, and
    parameters.properties maps to MLflow's typed property object (not ``any``)."""
    import json

    outputs = {c["name"]: c for c in json.loads(llm_signature("llm/v1/chat").to_dict()["outputs"])}
    assert outputs["choices"]["items"]["properties"]["finish_reason"]["required"] is True
    inputs = {c["name"]: c for c in json.loads(llm_signature("llm/v1/chat").to_dict()["inputs"])}
    function = inputs["tools"]["items"]["properties"]["function"]["properties"]
    assert function["parameters"]["required"] is True
    values = function["parameters"]["properties"]["properties"]["values"]
    assert values["type"] == "object" and values["properties"]["type"] == {"type": "string", "required": True}


def test_mlflow_signature_is_kept_by_log_model(tracking_uri: str, clean_fluent_state: Path) -> None:
    example = {"prompt": "<|user|>What is the capital of Spain?<|end|><|assistant|>"}
    signature = mlflow_infer_signature(example, ["Run"])
    mltrail.set_tracking_uri(tracking_uri)
    with mltrail.start_run():
        info = mltrail.pyfunc.log_model(
            name="echo", python_model=_Echo(), input_example=example, signature=signature, pip_requirements=[]
        )
    assert info.signature is not None and info.signature.to_dict() == signature.to_dict()
    # The official client reads the same signature back from the server.
    assert mlflow.models.get_model_info(info.model_uri).signature == signature


def test_mlflow_schema_signature_with_sklearn(tmp_path: Path) -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    import numpy as np
    import pandas as pd

    import mltrail.sklearn

    X = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) * 2})
    model = sklearn.LinearRegression().fit(X, np.arange(6.0))
    signature = MlflowSignature(
        inputs=Schema([ColSpec("double", "a"), ColSpec("double", "b")]), outputs=Schema([ColSpec("double")])
    )
    # The example alone would infer other types (and no output name): the given signature must win.
    mltrail.sklearn.save_model(model, tmp_path / "m", signature=signature, input_example=X.head(2))
    assert mlflow.models.Model.load(str(tmp_path / "m")).signature == signature
    # MLflow's own loader accepts what mltrail wrote.
    assert mlflow.models.get_model_info(str(tmp_path / "m")).signature.to_dict() == signature.to_dict()


def test_mlflow_schema_inside_mltrail_signature(tmp_path: Path) -> None:
    from mltrail.models import ModelSignature

    signature = ModelSignature(inputs=Schema([ColSpec("string", "prompt")]))
    mltrail.pyfunc.save_model(tmp_path / "m", python_model=_Echo(), signature=signature, pip_requirements=[])
    assert mlflow.models.Model.load(str(tmp_path / "m")).signature.inputs == Schema([ColSpec("string", "prompt")])


def test_mlflow_input_example_objects(tmp_path: Path) -> None:
    """MLflow's ``_Example`` and its LLM dataclasses are saved as the data they hold."""
    from mlflow.models.utils import _Example
    from mlflow.types.llm import ChatCompletionRequest, ChatMessage

    request = ChatCompletionRequest(messages=[ChatMessage(role="user", content="hi")])
    mltrail.pyfunc.save_model(
        tmp_path / "a", python_model=_Echo(), input_example=request, signature=False, pip_requirements=[]
    )
    assert mlflow.models.Model.load(str(tmp_path / "a")).load_input_example(str(tmp_path / "a")) == request.to_dict()
    example = _Example({"prompt": "hello"})
    mltrail.pyfunc.save_model(tmp_path / "b", python_model=_Echo(), input_example=example, pip_requirements=[])
    loaded = mlflow.models.Model.load(str(tmp_path / "b"))
    assert loaded.load_input_example(str(tmp_path / "b")) == {"prompt": "hello"}
    assert loaded.signature.inputs == Schema([ColSpec("string", "prompt")])


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("inputs: string", "signature must be a ModelSignature"),
        (Schema([ColSpec("string", "prompt")]), "could not be converted"),
        ({"inputs": "not json"}, "signature inputs could not be used as a schema"),
        ({"input": '[{"type": "string"}]'}, "unknown keys ['input']"),
    ],
)
def test_unusable_signature_is_an_error(tmp_path: Path, bad: Any, words: str) -> None:
    with pytest.raises(MltrailError) as caught:
        mltrail.pyfunc.save_model(
            tmp_path / "m", python_model=_Echo(), input_example={"prompt": "x"}, signature=bad, pip_requirements=[]
        )
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert words in caught.value.message
