"""What the scoring server needs to know about a model's signature, read once when the app is built.

The server parses request bodies with the types of the model's input schema (CSV dtypes, ``dataframe_split``
casts, tensors for ``instances``/``inputs``) and splits unified LLM bodies by the names in its param schema.
Both are read from the signature's MLflow wire form (``ModelSignature.to_dict()``: JSON strings of
``[{"type": ..., "name": ..., "required": ...}]``), which is a stable, documented format, so this module
depends on no more of :mod:`mltrail.models` than ``metadata.signature`` and ``to_dict()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

#: MLflow scalar type name -> numpy dtype name (``DataType.to_numpy``); datetime and binary are special-cased.
SCALAR_NUMPY_TYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


@dataclass(frozen=True)
class InputSpec:
    """One input of a schema: a column (``ColSpec``) or a tensor (``TensorSpec``).

    Attributes:
        name: the column/input name, or None for an unnamed spec.
        type: the scalar type name (``double``, ``string``...), ``tensor``, or ``array``/``object``/``map``/``any``.
        required: whether the input must be present.
        tensor_dtype: the numpy dtype of a tensor spec.
    """

    name: str | None
    type: str
    required: bool = True
    tensor_dtype: str | None = None

    @property
    def is_scalar(self) -> bool:
        """A column of one of MLflow's scalar types."""
        return self.type in SCALAR_NUMPY_TYPES

    @property
    def numpy_dtype(self) -> str | None:
        """The numpy dtype to cast to, or None for a type that is left to predict-time enforcement."""
        if self.type == "tensor":
            return self.tensor_dtype
        return SCALAR_NUMPY_TYPES.get(self.type)


@dataclass(frozen=True)
class ServingSchema:
    """The parts of a model's signature that request parsing uses.

    Attributes:
        inputs: the input specs, empty when the model has no signature.
        param_names: names in the model's ``ParamSchema``.
        from_type_hint: the signature was inferred from type hints (``inputs`` is passed through raw).
        llm_field: the field a language model's requests must carry: ``"messages"`` for a chat model,
            ``"prompt"`` for a completions model, else None (named in the error for a body without it).
    """

    inputs: tuple[InputSpec, ...] = ()
    param_names: frozenset[str] = field(default_factory=frozenset)
    from_type_hint: bool = False
    llm_field: str | None = None

    @property
    def has_schema(self) -> bool:
        """Whether the model declares an input schema."""
        return bool(self.inputs)

    @property
    def is_tensor(self) -> bool:
        """Whether the inputs are tensor specs."""
        return bool(self.inputs) and self.inputs[0].type == "tensor"

    @cached_property
    def has_names(self) -> bool:
        """Whether every input is named (a column schema or named tensors)."""
        return bool(self.inputs) and all(spec.name is not None for spec in self.inputs)

    def by_name(self) -> dict[str, InputSpec]:
        """Named inputs by name."""
        return dict(self._by_name)

    @cached_property
    def _by_name(self) -> dict[str, InputSpec]:
        return {spec.name: spec for spec in self.inputs if spec.name is not None}

    def scalar_dtype(self, name: Any) -> str | None:
        """The numpy dtype of the named scalar column ``name``; None for an unknown name or a non-scalar input."""
        spec = self._by_name.get(name)
        return spec.numpy_dtype if spec is not None and spec.is_scalar else None

    def column_index(self, columns: list[Any]) -> Any:
        """A pandas Index of ``columns``, built once per distinct column list (a request's ``columns``).

        Building an Index from a list of labels costs more than the rest of a one-row frame; requests to one
        model nearly always repeat the same columns. Each call returns a fresh view of the cached Index, so a
        model that sets its input's ``columns.name`` changes only its own frame.

        Raises:
            TypeError: a label is unhashable.
        """
        return self._columns(columns)[1].view()

    def shared_scalar_dtype(self, columns: list[Any]) -> str | None:
        """The numpy dtype of every one of ``columns`` when all are named scalar columns of one type, else None.

        Raises:
            TypeError: a label is unhashable.
        """
        return self._columns(columns)[0]

    def _columns(self, columns: list[Any]) -> tuple[str | None, Any]:
        key = tuple(columns)
        cache = self._column_cache
        found = cache.get(key)
        if found is None:
            import pandas as pd

            dtypes = {self.scalar_dtype(c) for c in key}
            found = (dtypes.pop() if len(dtypes) == 1 else None), pd.Index(columns)
            if len(cache) >= 64:  # many different column lists: keep the cache small
                cache.clear()
            cache[key] = found
        return found

    @cached_property
    def _column_cache(self) -> dict[tuple[Any, ...], tuple[str | None, Any]]:
        return {}

    def csv_dtypes(self) -> dict[str, str]:
        """``read_csv`` dtypes for the named scalar columns (datetime and binary are converted afterwards)."""
        return {
            spec.name: dtype
            for spec in self.inputs
            if spec.name is not None
            and (dtype := spec.numpy_dtype) is not None
            and spec.type not in ("datetime", "binary")
        }


def _spec_from_json(raw: dict[str, Any]) -> InputSpec:
    kind = raw.get("type")
    if kind == "tensor":
        dtype = (raw.get("tensor-spec") or {}).get("dtype")
        return InputSpec(raw.get("name"), "tensor", bool(raw.get("required", True)), dtype)
    if isinstance(kind, dict):  # a nested array/object/map/any written inline
        kind = kind.get("type", "any")
    return InputSpec(raw.get("name"), str(kind or "any"), bool(raw.get("required", True)))


def _loads(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return json.loads(value)
    return value


def parse_signature_dict(signature: dict[str, Any] | None, from_type_hint: bool = False) -> ServingSchema:
    """Build a :class:`ServingSchema` from ``ModelSignature.to_dict()`` (the ``signature`` block of MLmodel)."""
    if not signature:
        return ServingSchema(from_type_hint=from_type_hint)
    inputs = _loads(signature.get("inputs")) or []
    params = _loads(signature.get("params")) or []
    return ServingSchema(
        inputs=tuple(_spec_from_json(item) for item in inputs if isinstance(item, dict)),
        param_names=frozenset(p["name"] for p in params if isinstance(p, dict) and "name" in p),
        from_type_hint=from_type_hint,
    )


_LLM_FIELDS = {"llm/v1/chat": "messages", "llm/v1/completions": "prompt"}


def _llm_task(metadata: Any) -> str | None:
    """``llm/v1/chat`` or ``llm/v1/completions`` from the model's ``metadata.task`` or a flavor's
    ``inference_task``, else None."""
    task = (getattr(metadata, "metadata", None) or {}).get("task")
    if task in _LLM_FIELDS:
        return str(task)
    flavors = getattr(metadata, "flavors", None) or {}
    for conf in flavors.values():
        if isinstance(conf, dict) and conf.get("inference_task") in _LLM_FIELDS:
            return str(conf["inference_task"])
    return None


def serving_schema_of(model: Any) -> ServingSchema:
    """Read the serving schema of a loaded model (anything with ``.metadata.signature``); empty when absent."""
    metadata = getattr(model, "metadata", None)
    if metadata is None:
        return ServingSchema()
    from_type_hint = bool(getattr(metadata, "is_signature_from_type_hint", False))
    task = _llm_task(metadata)
    llm_field = _LLM_FIELDS[task] if task else None
    signature = getattr(metadata, "signature", None)
    if signature is None:
        return ServingSchema(from_type_hint=from_type_hint, llm_field=llm_field)
    from_type_hint = from_type_hint or bool(getattr(signature, "_is_signature_from_type_hint", False))
    to_dict = getattr(signature, "to_dict", None)
    raw = to_dict() if callable(to_dict) else signature
    schema = parse_signature_dict(raw if isinstance(raw, dict) else None, from_type_hint)
    if llm_field is None and schema.has_names and "messages" in schema.by_name():
        llm_field = "messages"  # a chat PythonModel: its input signature has messages
    return replace(schema, llm_field=llm_field) if llm_field else schema
