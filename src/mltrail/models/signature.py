"""Model signatures: the input, output and params schemas stored in ``MLmodel`` (MLflow format §3.3).

In the file each part is a JSON *string* (``{"inputs": '[{"type": "double", ...}]', "outputs": ..., "params": ...}``),
which keeps the YAML compact and is what MLflow reads and writes.

:func:`as_signature` is the one place where a value given as ``signature=`` becomes a :class:`ModelSignature`:
mltrail's own, MLflow's (or any object whose ``to_dict()`` has MLflow's ``{"inputs", "outputs", "params"}``
shape), or such a dict. A value it cannot use is an error, never silently replaced by an inferred signature.
"""

from __future__ import annotations

import json
from typing import Any

from mltrail import errors
from mltrail.models.params import ParamSchema
from mltrail.models.schema import Schema

__all__ = [
    "ModelSignature",
    "as_param_schema",
    "as_schema",
    "as_signature",
    "infer_signature",
]

_PARTS = ("inputs", "outputs", "params")


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _from_json_text(label: str, value: Any, parse: Any) -> Any:
    """``parse(text)`` for a schema given as JSON text, a JSON-able list, or an object with ``to_json()``."""
    if isinstance(value, (list, tuple)):
        value = json.dumps(list(value))
    elif not isinstance(value, str):
        to_json = getattr(value, "to_json", None)
        if not callable(to_json):
            raise errors.invalid(
                f"{label} must be a schema (mltrail's or MLflow's), its JSON string or list, or None; "
                f"got '{_type_name(value)}'"
            )
        value = to_json()
    try:
        return parse(value)
    except errors.MltrailError as exc:
        raise errors.invalid(f"{label} could not be used as a schema: {exc.message}") from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise errors.invalid(f"{label} could not be used as a schema: {type(exc).__name__}: {exc}") from exc


def as_schema(value: Any, label: str = "schema") -> Schema | None:
    """A :class:`Schema` from mltrail's, MLflow's (anything with ``to_json()``), its JSON text or list; None stays None.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a value that is not a schema or does not parse as one.
    """
    if value is None or isinstance(value, Schema):
        return value
    return _from_json_text(label, value, Schema.from_json)


def as_param_schema(value: Any, label: str = "params") -> ParamSchema | None:
    """A :class:`ParamSchema` from mltrail's, MLflow's, its JSON text or list; None stays None.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a value that is not a params schema or does not parse as one.
    """
    if value is None or isinstance(value, ParamSchema):
        return value
    return _from_json_text(label, value, ParamSchema.from_json)


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
        inputs = as_schema(inputs, "inputs")
        outputs = as_schema(outputs, "outputs")
        params = as_param_schema(params, "params")
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


def as_signature(value: Any) -> ModelSignature | None:
    """The :class:`ModelSignature` that a ``signature=`` argument stands for (None for None).

    Accepts mltrail's ModelSignature; MLflow's ``mlflow.models.ModelSignature`` or any object whose ``to_dict()``
    returns ``{"inputs": ..., "outputs": ..., "params": ...}`` (each a JSON string, a list, or None); and such a
    dict. Flags MLflow keeps on its object (``_is_signature_from_type_hint``, ``_is_type_hint_from_example``)
    are carried over.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for anything else (a signature is never dropped silently), for a
            dict with other keys, or for parts that do not parse.
    """
    if value is None or isinstance(value, ModelSignature):
        return value
    source = value
    if not isinstance(value, dict):
        to_dict = getattr(value, "to_dict", None)
        if not callable(to_dict) or isinstance(value, (str, bytes, bool)):
            raise errors.invalid(
                "signature must be a ModelSignature (mltrail's or MLflow's), a dict with 'inputs', 'outputs' "
                f"and 'params', False or None; got '{_type_name(value)}'"
            )
        try:
            value = to_dict()
        except Exception as exc:
            raise errors.invalid(
                f"signature of type '{_type_name(source)}' could not be converted: to_dict() failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(value, dict):
            raise errors.invalid(
                f"signature of type '{_type_name(source)}' could not be converted: its to_dict() returned "
                f"'{_type_name(value)}', not a dict with 'inputs', 'outputs' and 'params'"
            )
    unknown = sorted(str(k) for k in value if k not in _PARTS)
    if unknown:
        raise errors.invalid(
            f"signature dict has unknown keys {unknown}; expected only 'inputs', 'outputs' and 'params'"
        )
    signature = ModelSignature(
        as_schema(value.get("inputs") or None, "signature inputs"),
        as_schema(value.get("outputs") or None, "signature outputs"),
        as_param_schema(value.get("params") or None, "signature params"),
    )
    signature._is_signature_from_type_hint = bool(getattr(source, "_is_signature_from_type_hint", False))
    signature._is_type_hint_from_example = bool(getattr(source, "_is_type_hint_from_example", False))
    return signature
