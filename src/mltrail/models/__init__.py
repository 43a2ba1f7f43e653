"""The model format: ``MLmodel``, signatures and schemas, input examples, environments and model URIs.

Names load on first use, so ``import mltrail.models`` pulls in neither numpy nor pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "Model": "mltrail.models.model",
    "ModelInfo": "mltrail.models.model",
    "get_model_info": "mltrail.models.model",
    "ModelSignature": "mltrail.models.signature",
    "infer_signature": "mltrail.models.signature",
    "set_model": "mltrail.models.from_code",
    "ModelConfig": "mltrail.models.from_code",
    "convert_input_example_to_serving_input": "mltrail.models.example",
    "infer_pip_requirements": "mltrail.models.environment",
}

__all__ = [
    "Model",
    "ModelConfig",
    "ModelInfo",
    "ModelSignature",
    "convert_input_example_to_serving_input",
    "get_model_info",
    "infer_pip_requirements",
    "infer_signature",
    "set_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:  # pragma: no cover
    from mltrail.models.environment import infer_pip_requirements
    from mltrail.models.example import convert_input_example_to_serving_input
    from mltrail.models.from_code import ModelConfig, set_model
    from mltrail.models.model import Model, ModelInfo, get_model_info
    from mltrail.models.signature import ModelSignature, infer_signature
