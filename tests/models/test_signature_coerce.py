"""``as_signature``: what a ``signature=`` argument may be, and that nothing is dropped silently (no mlflow needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.models.model import Model
from mltrail.models.schema import ColSpec, Schema
from mltrail.models.signature import ModelSignature, as_signature

INPUTS = '[{"type": "string", "name": "prompt", "required": true}]'


class _Foreign:
    """Stands in for another library's signature object with MLflow's ``to_dict()`` shape."""

    _is_signature_from_type_hint = True

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": INPUTS, "outputs": None, "params": None}


def test_forms_that_are_accepted() -> None:
    expected = ModelSignature(Schema([ColSpec("string", "prompt")]))
    assert as_signature(None) is None
    assert as_signature(expected) is expected
    assert as_signature({"inputs": INPUTS}) == expected
    assert (
        as_signature({"inputs": [{"type": "string", "name": "prompt", "required": True}], "params": None}) == expected
    )
    converted = as_signature(_Foreign())
    assert converted == expected and converted is not None and converted._is_signature_from_type_hint


def test_schema_objects_with_to_json_are_converted() -> None:
    class Foreign:
        def to_json(self) -> str:
            return INPUTS

    assert ModelSignature(inputs=Foreign()).inputs == Schema([ColSpec("string", "prompt")])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [42, "inputs", {"inputs": None}, {"inputs": "[1]"}, {"outputs": INPUTS, "x": 1}])
def test_unusable_values_are_errors(bad: Any) -> None:
    with pytest.raises(MltrailError) as caught:
        as_signature(bad)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE


def test_model_and_pyfunc_save_keep_or_refuse(tmp_path: Path) -> None:
    import mltrail.pyfunc

    class Echo(mltrail.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: Any) -> Any:
            return model_input

    assert Model(signature=_Foreign()).signature == ModelSignature(Schema([ColSpec("string", "prompt")]))
    # An example that would infer another signature: the given one wins.
    mltrail.pyfunc.save_model(
        tmp_path / "a", python_model=Echo(), input_example={"other": 1.5}, signature=_Foreign(), pip_requirements=[]
    )
    assert Model.load(str(tmp_path / "a" / "MLmodel")).signature.to_dict()["inputs"] == INPUTS
    with pytest.raises(MltrailError, match="signature must be a ModelSignature"):
        mltrail.pyfunc.save_model(tmp_path / "b", python_model=Echo(), input_example={"x": 1}, signature=object())
