"""Run MLflow scripts unchanged on mltrail: an opt-in ``mlflow`` import alias.

``alias_mlflow()`` (or ``python -m mltrail.compat script.py [args]``) installs a meta-path finder that makes
``import mlflow`` and its submodules (``mlflow.pyfunc``, ``mlflow.models``, ``mlflow.models.signature``,
``mlflow.transformers``, ``mlflow.sklearn``, ``mlflow.tracking``, ``mlflow.entities``, ``mlflow.exceptions``, ...)
resolve to mltrail's. Each alias is a thin module that looks names up in mltrail's modules on use, so
``from mlflow.models import infer_signature`` gives mltrail's function and ``mlflow.pyfunc.PythonModel`` is
mltrail's class. Anything mltrail does not provide fails with an ImportError or AttributeError that names it
("mltrail does not provide mlflow.xyz").

It never shadows a real MLflow: when the ``mlflow`` package is installed (or imported already), ``alias_mlflow()``
refuses with INVALID_STATE and ``python -m mltrail.compat`` exits with status 2. Use ``import mltrail as mlflow``
or uninstall mlflow there.
"""

from __future__ import annotations

from mltrail.compat._alias import ALIASES, alias_mlflow, is_aliased, unalias_mlflow

__all__ = ["ALIASES", "alias_mlflow", "is_aliased", "unalias_mlflow"]
