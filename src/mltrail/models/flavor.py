"""What every flavor shares: the save steps around the flavor's own files, and ``log_model`` as MLflow 3.x does it.

A flavor is one module with ``FLAVOR_NAME``, ``save_model(obj, path, ...)``, ``log_model(obj, name, ...)``,
``load_model(model_uri)`` and ``_load_pyfunc(path[, model_config])``. Its ``save_model`` looks like::

    model = start_save(path, mlflow_model)                 # new directory, Model()
    example = save_example(model, input_example, path)      # input_example.json, serving_input_example.json
    ... write the flavor's files ...
    code = copy_code_paths(code_paths, path)
    set_signature(model, signature, example, predict)       # given, or inferred from the example
    add_pyfunc_flavor(model, loader_module=..., code=code, ...)
    model.add_flavor(FLAVOR_NAME, ...)
    finish_save(path, model, metadata=..., pip_requirements=..., ...)   # MLmodel + environment files

and its ``log_model`` is ``log_model(this_module, name=..., **save_model_kwargs)`` from here: create a logged
model, record it as the run's output, save into a temporary directory, upload to the logged model's artifact
location, finalize it READY (UPLOAD_FAILED on error), register it when asked.

``loader_module``: flavors that MLflow also has write MLflow's module name (``mlflow.sklearn``,
``mlflow.pyfunc.model``) so that MLflow loads mltrail's files with its own code; mltrail maps ``mlflow.X`` back to
``mltrail.X`` on load (:data:`LOADER_MODULE_ALIASES`).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.models.environment import (
    CONDA_ENV_FILE_NAME,
    PYTHON_ENV_FILE_NAME,
    infer_pip_requirements,
    python_version,
    write_environment,
)
from mltrail.models.example import InputExample
from mltrail.models.model import MLMODEL_FILE_NAME, Model, ModelInfo
from mltrail.models.signature import ModelSignature, as_signature

if TYPE_CHECKING:
    from mltrail.tracking.client import MltrailClient

__all__ = [
    "CODE_DIR",
    "LOADER_MODULE_ALIASES",
    "PYFUNC_FLAVOR_NAME",
    "add_pyfunc_flavor",
    "copy_code_paths",
    "ensure_on_path",
    "finish_save",
    "flavor_conf",
    "flavor_module",
    "log_model",
    "resolve_name",
    "set_signature",
    "start_save",
]

_logger = logging.getLogger(__name__)

PYFUNC_FLAVOR_NAME = "python_function"
CODE_DIR = "code"

#: MLflow loader modules that mltrail implements itself.
LOADER_MODULE_ALIASES: dict[str, str] = {
    "mlflow.pyfunc.model": "mltrail.pyfunc.model",
    "mlflow.sklearn": "mltrail.sklearn",
    "mlflow.transformers": "mltrail.transformers",
}


# ------------------------------------------------------------------------------------------------ saving
def start_save(path: str | os.PathLike[str], mlflow_model: Model | None = None) -> Model:
    """Create the model directory (which must not exist, or be empty) and return the Model to fill.

    Raises:
        MltrailError: RESOURCE_ALREADY_EXISTS when ``path`` exists and is not empty.
    """
    path = os.fspath(path)
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise errors.already_exists(f"Path '{path}' already exists and is not empty")
    os.makedirs(path, exist_ok=True)
    return mlflow_model if mlflow_model is not None else Model()


def copy_code_paths(code_paths: Sequence[str] | None, path: str) -> str | None:
    """Copy files and directories into ``<path>/code``; returns ``"code"`` or None when there are none.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a path that does not exist.
    """
    if not code_paths:
        return None
    target = os.path.join(path, CODE_DIR)
    os.makedirs(target, exist_ok=True)
    for source in code_paths:
        source = os.fspath(source)
        if not os.path.exists(source):
            raise errors.invalid(f"The code path {source!r} does not exist")
        destination = os.path.join(target, os.path.basename(os.path.normpath(source)))
        if os.path.isdir(source):
            shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)
    return CODE_DIR


def set_signature(
    model: Model,
    signature: ModelSignature | bool | None,
    example: InputExample | None,
    predict: Callable[[Any, dict[str, Any] | None], Any] | None = None,
) -> None:
    """Set ``model.signature``: the one given, else one inferred from the example (and the model's output).

    ``signature=False`` means no signature even when there is an example. A given signature may be mltrail's,
    MLflow's, or its ``to_dict()`` form (see :func:`~mltrail.models.signature.as_signature`).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a signature that cannot be used (it is never dropped silently).
    """
    if signature is False:
        return
    if signature is not None and signature is not True:
        model.signature = as_signature(signature)
        return
    if example is None:
        return
    from mltrail.models.signature import infer_signature

    try:
        output = predict(example.data, example.params) if predict is not None else None
    except Exception as exc:  # the example does not have to be predictable for the input schema to be useful
        _logger.warning("Failed to run the model on the input example to infer the output schema: %s", exc)
        output = None
    try:
        model.signature = infer_signature(example.data, output, example.params)
    except Exception as exc:
        _logger.warning("Failed to infer the model signature from the input example: %s", exc)


def add_pyfunc_flavor(
    model: Model,
    loader_module: str,
    data: str | None = None,
    code: str | None = None,
    conda_env: str | None = CONDA_ENV_FILE_NAME,
    python_env: str | None = PYTHON_ENV_FILE_NAME,
    model_config: dict[str, Any] | None = None,
    model_code_path: str | None = None,
    **kwargs: Any,
) -> Model:
    """Add the ``python_function`` flavor (MLflow's ``pyfunc.add_to_model``).

    Args:
        model: the Model to update.
        loader_module: the module whose ``_load_pyfunc(data_path[, model_config])`` loads the model.
        data: the path handed to the loader, relative to the model directory.
        code: the directory (relative) to prepend to ``sys.path`` before loading.
        conda_env, python_env: the environment file names.
        model_config: configuration handed to the model at load time.
        model_code_path: the model's code file (models from code).
        **kwargs: more keys for the flavor configuration.

    Returns:
        ``model``.
    """
    params: dict[str, Any] = dict(kwargs)
    params["loader_module"] = loader_module
    params["python_version"] = python_version()
    if code:
        params["code"] = code
    if data:
        params["data"] = data
    if conda_env or python_env:
        params["env"] = {}
        if conda_env:
            params["env"]["conda"] = conda_env
        if python_env:
            params["env"]["virtualenv"] = python_env
    if model_config:
        params["config"] = model_config
    if model_code_path:
        params["model_code_path"] = model_code_path
    return model.add_flavor(PYFUNC_FLAVOR_NAME, **params)


def _directory_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def finish_save(
    path: str,
    model: Model,
    metadata: dict[str, Any] | None = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
    loader_modules: Sequence[str] = (),
) -> None:
    """Write ``MLmodel`` (with ``model_size_bytes``) and the environment files.

    Args:
        path: the model directory.
        model: the filled-in Model.
        metadata: user metadata for ``MLmodel``.
        pip_requirements, extra_pip_requirements, conda_env: see :func:`~mltrail.models.environment.write_environment`.
        loader_modules: modules the flavor's loader imports in any case (added to the inferred requirements).
    """
    if metadata is not None:
        model.metadata = metadata
    model.model_size_bytes = _directory_size(path) or None
    model.save(os.path.join(path, MLMODEL_FILE_NAME))
    inferred = (
        [] if pip_requirements is not None or conda_env is not None else infer_pip_requirements(path, loader_modules)
    )
    write_environment(path, inferred, pip_requirements, extra_pip_requirements, conda_env)


# ----------------------------------------------------------------------------------------------- logging
def _client() -> MltrailClient:
    from mltrail.tracking.client import MltrailClient

    return MltrailClient()


def _run_and_experiment(client: MltrailClient) -> tuple[str | None, str]:
    from mltrail.tracking import fluent

    run = fluent.active_run()
    if run is not None:
        return run.info.run_id, run.info.experiment_id
    return None, fluent._get_experiment_id()


def resolve_name(name: str | None, artifact_path: str | None) -> str:
    """The logged model's name: ``name``, else the deprecated ``artifact_path``, else ``"model"``.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when both are given and differ.
    """
    if name is not None and artifact_path is not None and name != artifact_path:
        raise errors.invalid("Both `artifact_path` and `name` were specified; use only `name`.")
    return name or artifact_path or "model"


def log_model(
    flavor: ModuleType,
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Log a model with ``flavor.save_model`` as a logged model (MLflow 3.x's ``Model.log``).

    Args:
        flavor: the flavor module.
        name: the logged model's name (``artifact_path`` is its deprecated alias).
        registered_model_name: also register the logged model under this name.
        params, tags, model_type: recorded on the logged model (the active run's params are added).
        step: the step of the run output.
        model_id: log into this existing logged model instead of creating one.
        metadata: user metadata for ``MLmodel``.
        **save_kwargs: passed to ``flavor.save_model``.

    Returns:
        The :class:`ModelInfo` (``model_uri`` is ``models:/<model_id>``).

    Raises:
        MltrailError: from the store, the upload, or the flavor; the logged model is then UPLOAD_FAILED.
    """
    from mltrail.entities import LoggedModelOutput

    name = resolve_name(name, artifact_path)
    client = _client()
    run_id, experiment_id = _run_and_experiment(client)
    if model_id is not None:
        logged = client.get_logged_model(model_id)
    else:
        all_params = {**(params or {}), **(client.get_run(run_id).data.params if run_id else {})}
        logged = client.create_logged_model(
            experiment_id,
            name,
            source_run_id=run_id,
            tags=tags,
            params={k: str(v) for k, v in all_params.items()},
            model_type=model_type,
        )
    try:
        if run_id is not None:
            client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step)])
        model = Model(
            artifact_path=logged.artifact_location,
            model_uuid=logged.model_id,
            run_id=run_id,
            metadata=metadata,
            model_id=logged.model_id,
        )
        with tempfile.TemporaryDirectory(prefix="mltrail-log-model-") as tmp:
            local = os.path.join(tmp, "model")
            flavor.save_model(path=local, mlflow_model=model, **save_kwargs)
            client.log_model_artifacts(logged.model_id, local)
            if run_id is not None and isinstance(model_config := save_kwargs.get("model_config"), dict):
                _log_model_config(client, run_id, model_config)
    except BaseException:
        try:
            client.finalize_logged_model(logged.model_id, "LOGGED_MODEL_UPLOAD_FAILED")
        except Exception as exc:  # report the original error, not this one
            _logger.warning("Could not mark logged model %s as UPLOAD_FAILED: %s", logged.model_id, exc)
        raise
    logged = client.finalize_logged_model(logged.model_id, "LOGGED_MODEL_READY")
    info = model.get_model_info(logged)
    if registered_model_name is not None:
        info.registered_model_version = _register(f"models:/{logged.model_id}", registered_model_name, tags)
    return info


def _log_model_config(client: MltrailClient, run_id: str, config: dict[str, Any]) -> None:
    flat: dict[str, Any] = {}

    def flatten(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                flatten(f"{prefix}/{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = value

    flatten("", config)
    try:
        from mltrail.entities import Param

        existing = client.get_run(run_id).data.params
        new = [Param(k, str(v)) for k, v in flat.items() if k not in existing]
        if new:
            client.log_batch(run_id, params=new)
    except Exception as exc:  # logging the config as params is a convenience
        _logger.warning("Failed to log model config as params: %s", exc)


def _register(model_uri: str, name: str, tags: dict[str, Any] | None) -> int | None:
    import mltrail

    register = getattr(mltrail, "register_model", None)
    if register is None:
        raise errors.invalid(
            "registered_model_name needs the model registry (mltrail.register_model), which this installation "
            "of mltrail does not provide yet; the model was logged as " + model_uri
        )
    version = register(model_uri, name, tags=tags) if tags else register(model_uri, name)
    found = getattr(version, "version", None)
    return int(found) if found is not None else None


def flavor_conf(model_dir: str, flavor_name: str) -> dict[str, Any]:
    """The configuration of the flavor ``flavor_name`` in the ``MLmodel`` file of ``model_dir`` (a copy).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the model does not have that flavor.
    """
    conf = Model.load(os.path.join(model_dir, MLMODEL_FILE_NAME)).flavors.get(flavor_name)
    if conf is None:
        raise errors.invalid(f'Model does not have the "{flavor_name}" flavor')
    return dict(conf)


def flavor_module(loader_module: str) -> ModuleType:
    """Import a ``loader_module``, using mltrail's implementation for MLflow's flavors that mltrail has.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the module cannot be imported.
    """
    import importlib

    name = LOADER_MODULE_ALIASES.get(loader_module, loader_module)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        hint = " (install mlflow to load models of this flavor)" if name.startswith("mlflow") else ""
        raise errors.invalid(f"Could not import the model's loader module {loader_module!r}{hint}: {exc}") from exc


def ensure_on_path(directory: str) -> None:
    """Put ``directory`` (a model's ``code/``) first on ``sys.path``, once."""
    if directory not in sys.path:
        sys.path.insert(0, directory)
