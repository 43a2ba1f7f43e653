"""Models from code: the model file calls :func:`set_model`; the loader runs the file and picks the model up.

MLflow's files call ``mlflow.models.set_model``, mltrail's ``mltrail.models.set_model``; each side looks at both
(``mlflow.models.model.__mlflow_model__`` when MLflow is already imported), so either kind of file loads in either
tool. :class:`ModelConfig` gives the file the ``model_config`` passed at save or load time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from mltrail import errors

_state = threading.local()


def set_model(model: Any) -> None:
    """Declare the model defined by a models-from-code file.

    Args:
        model: a PythonModel instance or a callable.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for None.
    """
    if model is None:
        raise errors.invalid("Model should not be None when calling set_model.")
    _state.model = model
    mlflow_model_module = sys.modules.get("mlflow.models.model")
    if mlflow_model_module is not None:  # let MLflow's loader see it too
        mlflow_model_module.__mlflow_model__ = model  # type: ignore[attr-defined]


def reset_captured_model() -> None:
    """Forget the last model passed to :func:`set_model` (mltrail's and MLflow's)."""
    _state.model = None
    mlflow_model_module = sys.modules.get("mlflow.models.model")
    if mlflow_model_module is not None and hasattr(mlflow_model_module, "__mlflow_model__"):
        mlflow_model_module.__mlflow_model__ = None  # type: ignore[attr-defined]


def captured_model() -> Any:
    """The model the last executed file declared (with mltrail's or MLflow's ``set_model``), or None."""
    model = getattr(_state, "model", None)
    if model is None:
        mlflow_model_module = sys.modules.get("mlflow.models.model")
        model = getattr(mlflow_model_module, "__mlflow_model__", None) if mlflow_model_module else None
    return model


@contextlib.contextmanager
def model_config_context(config: dict[str, Any] | None) -> Iterator[None]:
    """Make ``config`` what :class:`ModelConfig` returns while a model file runs."""
    previous = getattr(_state, "config", None)
    _state.config = config
    try:
        yield
    finally:
        _state.config = previous


class ModelConfig:
    """The configuration of a models-from-code model, read inside the model file.

    Args:
        development_config: a dict or a YAML file path used when no config was passed at save/load time.
    """

    def __init__(self, development_config: str | os.PathLike[str] | dict[str, Any] | None = None) -> None:
        config = getattr(_state, "config", None)
        if config is None and development_config is not None:
            if isinstance(development_config, dict):
                config = development_config
            else:
                import yaml

                with open(development_config, encoding="utf-8") as handle:
                    config = yaml.safe_load(handle) or {}
        self._config: dict[str, Any] = dict(config or {})

    def to_dict(self) -> dict[str, Any]:
        """The whole configuration."""
        return dict(self._config)

    def get(self, key: str) -> Any:
        """One value.

        Raises:
            KeyError: when the key is not in the configuration.
        """
        if key not in self._config:
            raise KeyError(f"Key {key!r} not found in the model config")
        return self._config[key]
