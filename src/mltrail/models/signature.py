"""Model signatures: the input, output and params schemas stored in ``MLmodel`` (MLflow format §3.3).

In the file each part is a JSON *string* (``{"inputs": '[{"type": "double", ...}]', "outputs": ..., "params": ...}``),
which keeps the YAML compact and is what MLflow reads and writes.
"""

from __future__ import annotations

from typing import Any

from mltrail import errors
from mltrail.models.params import ParamSchema
from mltrail.models.schema import Schema

__all__ = [
    "ModelSignature",
    "infer_signature",
]


class ModelSignature:
    """What a model takes and returns.

    Args:
        inputs: the input :class:`Schema` (or None).
        outputs: the output :class:`Schema` (or None).
        params: the :class:`ParamSchema` of inference params (or None).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when a part has the wrong type, or all three are None.
    """

    def __init__(
        self, inputs: Schema | None = None, outputs: Schema | None = None, params: ParamSchema | None = None
    ) -> None:
        for label, value, kind in (
            ("inputs", inputs, Schema),
            ("outputs", outputs, Schema),
            ("params", params, ParamSchema),
        ):
            if value is not None and not isinstance(value, kind):
                raise errors.invalid(
                    f"{label} must be mltrail.models.schema.{kind.__name__} or None, got '{type(value).__name__}'"
                )
        if inputs is None and outputs is None and params is None:
            raise errors.invalid("At least one of inputs, outputs or params must be provided")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        self._is_signature_from_type_hint = False
        self._is_type_hint_from_example = False

    def to_dict(self) -> dict[str, Any]:
        """``{"inputs": str|None, "outputs": str|None, "params": str|None}`` with JSON strings."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: dict[str, Any]) -> ModelSignature:
        """Parse :meth:`to_dict` output (missing or null parts are None)."""
        inputs = signature_dict.get("inputs")
        outputs = signature_dict.get("outputs")
        params = signature_dict.get("params")
        return cls(
            Schema.from_json(inputs) if inputs else None,
            Schema.from_json(outputs) if outputs else None,
            ParamSchema.from_json(params) if params else None,
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ModelSignature)
            and self.inputs == other.inputs
            and self.outputs == other.outputs
            and self.params == other.params
        )

    def __repr__(self) -> str:
        return f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\nparams: \n  {self.params!r}\n"


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Infer a signature from example input, output and params, with MLflow's rules.

    Args:
        model_input: a DataFrame, Series, ndarray, dict (of arrays or of values), list (of scalars or dicts),
            or a scalar such as a string.
        model_output: the model's output for ``model_input`` (same kinds), or None.
        params: inference params with their default values (scalars, 1-D lists, dicts), or None.

    Returns:
        A :class:`ModelSignature`.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when a part cannot be inferred.
    """
    from mltrail.models._infer import infer_param_schema, infer_schema

    inputs = infer_schema(model_input) if model_input is not None else None
    outputs = infer_schema(model_output) if model_output is not None else None
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(inputs, outputs, param_schema)
