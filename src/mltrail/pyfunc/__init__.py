"""The generic ``python_function`` model interface: custom models, and loading any model to predict.

- :class:`PythonModel` / :class:`PythonModelContext`: write a custom model;
- :func:`save_model` / :func:`log_model`: save or log one (or a models-from-code file);
- :func:`load_model` -> :class:`PyFuncModel`: load any mltrail or MLflow model with a ``python_function`` flavor.
"""

from __future__ import annotations

from mltrail.models.flavor import add_pyfunc_flavor as add_to_model
from mltrail.pyfunc.loader import FLAVOR_NAME, PyFuncModel, load_model
from mltrail.pyfunc.model import PythonModel, PythonModelContext, log_model, save_model

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "add_to_model",
    "load_model",
    "log_model",
    "save_model",
]
