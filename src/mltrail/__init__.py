"""mltrail: an open-source platform for the machine-learning lifecycle, compatible with MLflow.

``import mltrail as mlflow`` gives MLflow's fluent tracking API (``start_run``, ``log_param``, ``log_metric``,
...), the client (``mltrail.Client``, also ``MlflowClient``), the error type and the entities. Everything is
loaded on first use (PEP 562), so importing the package costs almost nothing and pulls in no third-party
module; the ``TYPE_CHECKING`` block below gives IDEs and type checkers the full surface.
"""

from __future__ import annotations

import importlib

# ``typing`` costs more to import than the rest of this module; type checkers treat this name as usual.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it (the attribute has the same name unless mapped in _RENAMED).
_LAZY: dict[str, str] = {}
_RENAMED: dict[str, str] = {"Client": "MltrailClient"}


def _register(module: str, *names: str) -> None:
    for name in names:
        _LAZY[name] = module


_register(
    "mltrail.tracking.fluent",
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
)
_register("mltrail.tracking.client", "Client", "MltrailClient", "MlflowClient")
_register(
    "mltrail.tracking.registry",
    "get_registry_uri",
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "set_registry_uri",
)
_register("mltrail.tracking.async_logging", "RunOperations")
_register("mltrail.errors", "MltrailError", "MlflowException")
_register(
    "mltrail.entities",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelStatus",
    "Metric",
    "ModelVersion",
    "ModelVersionTag",
    "Param",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
)

#: Subpackages reachable as attributes (``mltrail.entities``) without an explicit import.
_SUBMODULES = frozenset(
    {
        "entities",
        "errors",
        "models",
        "onnx_genai",
        "pyfunc",
        "search",
        "sklearn",
        "store",
        "tracking",
        "transformers",
    }
)

__all__ = [
    "ActiveRun",
    "Client",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelStatus",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "MltrailClient",
    "MltrailError",
    "ModelVersion",
    "ModelVersionTag",
    "Param",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOperations",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
    "__version__",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "entities",
    "errors",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "models",
    "onnx_genai",
    "pyfunc",
    "register_model",
    "restore_experiment",
    "restore_run",
    "search",
    "search_experiments",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
    "store",
    "tracking",
    "transformers",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is not None:
        value = getattr(importlib.import_module(module_name), _RENAMED.get(name, name))
        globals()[name] = value  # later lookups skip __getattr__
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


if TYPE_CHECKING:  # pragma: no cover - for IDEs and type checkers only
    from mltrail import (
        entities,
        errors,
        models,
        onnx_genai,
        pyfunc,
        search,
        sklearn,
        store,
        tracking,
        transformers,
    )
    from mltrail.entities import (
        Dataset,
        DatasetInput,
        Experiment,
        ExperimentTag,
        FileInfo,
        InputTag,
        LifecycleStage,
        LoggedModel,
        LoggedModelInput,
        LoggedModelOutput,
        LoggedModelStatus,
        Metric,
        ModelVersion,
        ModelVersionTag,
        Param,
        RegisteredModel,
        RegisteredModelAlias,
        RegisteredModelTag,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunOutputs,
        RunStatus,
        RunTag,
        ViewType,
    )
    from mltrail.errors import MlflowException, MltrailError
    from mltrail.tracking.async_logging import RunOperations
    from mltrail.tracking.client import MlflowClient, MltrailClient
    from mltrail.tracking.client import MltrailClient as Client
    from mltrail.tracking.fluent import (
        ActiveRun,
        active_run,
        create_experiment,
        delete_experiment,
        delete_experiment_tag,
        delete_run,
        delete_tag,
        end_run,
        flush_async_logging,
        get_artifact_uri,
        get_experiment,
        get_experiment_by_name,
        get_parent_run,
        get_run,
        get_tracking_uri,
        is_tracking_uri_set,
        last_active_run,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_input,
        log_inputs,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_table,
        log_text,
        restore_experiment,
        restore_run,
        search_experiments,
        search_runs,
        set_experiment,
        set_experiment_tag,
        set_experiment_tags,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )
    from mltrail.tracking.registry import (
        get_registry_uri,
        register_model,
        search_model_versions,
        search_registered_models,
        set_registry_uri,
    )
