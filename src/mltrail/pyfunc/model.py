"""Custom Python models: :class:`PythonModel`, its save/log functions, and its pyfunc loader.

A :class:`PythonModel` is saved with cloudpickle (``python_model.pkl``) or, for *models from code*, as the Python
file that defines it (``python_model="my_model.py"``, where the file calls :func:`mltrail.models.set_model`).
The ``python_function`` configuration follows MLflow's (``loader_module: mlflow.pyfunc.model``,
``python_model``, ``cloudpickle_version``, ``artifacts``, ``streamable``, ``model_code_path``, ``config``), so
MLflow loads these models too, and mltrail loads MLflow's.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import sys
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.models import flavor
from mltrail.models.example import save_example
from mltrail.models.from_code import captured_model, reset_captured_model
from mltrail.models.model import Model

if TYPE_CHECKING:
    from mltrail.models.model import ModelInfo
    from mltrail.models.signature import ModelSignature

FLAVOR_NAME = "python_function"
LOADER_MODULE = "mlflow.pyfunc.model"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


class PythonModelContext:
    """What :meth:`PythonModel.load_context` and ``predict`` receive.

    Args:
        artifacts: artifact name -> local path of the artifact inside the loaded model.
        model_config: the model's configuration (saved, updated by ``load_model(model_config=...)``).
    """

    def __init__(self, artifacts: dict[str, str] | None = None, model_config: dict[str, Any] | None = None) -> None:
        self._artifacts = dict(artifacts or {})
        self._model_config = dict(model_config or {})

    @property
    def artifacts(self) -> dict[str, str]:
        """Artifact name -> local path."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        """The model configuration."""
        return self._model_config


@dataclass(frozen=True)
class TypeHints:
    """The type hints of a ``predict`` method's input and output (None when absent)."""

    input: Any = None
    output: Any = None


def type_hints_of(function: Any) -> TypeHints:
    """The input (the data argument, after ``context``) and return hints of ``function``."""
    try:
        hints = typing.get_type_hints(function)
        names = [n for n in inspect.signature(function).parameters if n not in ("self", "context", "params")]
    except Exception:  # unresolvable forward references: no hints
        return TypeHints()
    return TypeHints(hints.get(names[0]) if names else None, hints.get("return"))


class PythonModel:
    """Base class of custom models: override :meth:`predict` (and optionally :meth:`load_context`).

    ``predict`` may be written ``predict(self, context, model_input, params=None)`` or, as MLflow 3 allows,
    ``predict(self, model_input, params=None)``.
    """

    @property
    def predict_type_hints(self) -> TypeHints:
        """The type hints of :meth:`predict` (MLflow's loader reads them to convert inputs)."""
        return type_hints_of(self.predict)

    def load_context(self, context: PythonModelContext) -> None:
        """Load what the model needs (files from ``context.artifacts``) when the model is loaded."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Compute predictions for ``model_input`` (a DataFrame, array, dict, list or scalar)."""
        raise NotImplementedError("PythonModel subclasses must implement predict")

    def predict_stream(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Iterator[Any]:
        """Yield predictions piece by piece (optional)."""
        raise NotImplementedError("This model does not implement predict_stream")


def _overrides(python_model: Any, method: str) -> bool:
    implementation = getattr(type(python_model), method, None)
    return implementation is not None and implementation is not getattr(PythonModel, method)


def _takes_context(function: Any) -> bool:
    parameters = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "params"
    ]
    return any(p.name == "context" for p in parameters) or len(parameters) >= 2


class PythonModelWrapper:
    """The pyfunc implementation around a loaded :class:`PythonModel` (or a plain function)."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        # method name -> (the function inspected, takes params, takes context): inspect once, not per call
        self._calling: dict[str, tuple[Any, bool, bool]] = {}

    def _call(self, method: str, model_input: Any, params: dict[str, Any] | None) -> Any:
        function = getattr(self.python_model, method, None)
        if function is None and method == "predict" and callable(self.python_model):
            function = self.python_model  # a plain function used as the model
        if function is None:
            raise errors.invalid(f"This model does not implement {method}")
        identity = getattr(function, "__func__", function)  # a bound method is a new object on each access
        calling = self.__dict__.setdefault("_calling", {})
        known = calling.get(method)
        if known is None or known[0] is not identity:
            found = inspect.signature(function).parameters.get("params")
            accepts_params = found is not None and found.kind is not found.VAR_KEYWORD
            known = calling[method] = (identity, accepts_params, _takes_context(function))
        _, accepts_params, takes_context = known
        kwargs = {"params": params} if accepts_params else {}
        if takes_context:
            return function(self.context, model_input, **kwargs)
        return function(model_input, **kwargs)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Run the model's ``predict``."""
        return self._call("predict", model_input, params)

    def predict_stream(self, model_input: Any, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Run the model's ``predict_stream``."""
        return self._call("predict_stream", model_input, params)

    def unwrap_python_model(self) -> Any:
        """The user's model object."""
        return self.python_model


# ------------------------------------------------------------------------------------------------ saving
def _load_config(model_config: str | os.PathLike[str] | dict[str, Any] | None) -> dict[str, Any] | None:
    if model_config is None or isinstance(model_config, dict):
        return model_config
    import json

    import yaml

    path = os.fspath(model_config)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    loaded = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise errors.invalid(f"The model config file {path!r} must hold a mapping")
    return loaded


def _copy_artifacts(artifacts: dict[str, str], path: str) -> dict[str, dict[str, str]]:
    from mltrail.models.uris import download_model

    target = os.path.join(path, ARTIFACTS_DIR)
    os.makedirs(target, exist_ok=True)
    saved = {}
    for name, uri in artifacts.items():
        local = download_model(uri)
        destination = os.path.join(target, os.path.basename(os.path.normpath(local)))
        if os.path.isdir(local):
            shutil.copytree(local, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(local, destination)
        saved[name] = {"path": f"{ARTIFACTS_DIR}/{os.path.basename(destination)}", "uri": str(uri)}
    return saved


def _load_code_model(code_path: str, model_config: dict[str, Any] | None) -> Any:
    """Run a models-from-code file and return the model it passed to ``set_model``."""
    from mltrail.models.from_code import model_config_context

    reset_captured_model()
    name = f"mltrail_model_code_{abs(hash(code_path))}"
    spec = importlib.util.spec_from_file_location(name, code_path)
    if spec is None or spec.loader is None:
        raise errors.invalid(f"Could not load the model code file {code_path!r}")
    module = importlib.util.module_from_spec(spec)
    with model_config_context(model_config):
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop(name, None)
    model = captured_model()
    if model is None:
        raise errors.invalid(
            f"The model code file {code_path!r} did not call set_model(model) "
            "(mltrail.models.set_model or mlflow.models.set_model)."
        )
    return model


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    code_paths: Sequence[str] | None = None,
    input_example: Any = None,
    signature: ModelSignature | bool | None = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    model_config: str | os.PathLike[str] | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    streamable: bool | None = None,
    **_ignored: Any,
) -> None:
    """Save a :class:`PythonModel` (or a models-from-code file) as an MLflow model directory.

    Args:
        path: the new model directory.
        python_model: a :class:`PythonModel` instance, a function of the input, or the path of a ``.py`` file that
            calls :func:`mltrail.models.set_model` (models from code).
        artifacts: artifact name -> URI or path; copied into the model, available as ``context.artifacts``.
        code_paths: files or directories copied into ``code/`` and put on ``sys.path`` at load time.
        input_example: example input (or ``(input, params)``), saved and used to infer the signature.
        signature: the :class:`ModelSignature`; False for none.
        pip_requirements, extra_pip_requirements, conda_env: the model's environment (MLflow's semantics).
        mlflow_model: the Model to fill in (``log_model`` passes one).
        model_config: a dict or a YAML/JSON file, available as ``context.model_config``.
        metadata: user metadata for ``MLmodel``.
        streamable: whether ``predict_stream`` is available (default: whether the model overrides it).

    Raises:
        MltrailError: RESOURCE_ALREADY_EXISTS for a non-empty ``path``; INVALID_PARAMETER_VALUE for bad arguments.
    """
    path = os.fspath(path)
    if python_model is None:
        raise errors.invalid("`python_model` must be a PythonModel, a callable, or a file path")
    config = _load_config(model_config)
    model = flavor.start_save(path, mlflow_model)
    example = save_example(model, input_example, path)
    extra_conf: dict[str, Any] = {}
    code_file: str | None = None
    if isinstance(python_model, (str, os.PathLike)):
        source = os.fspath(python_model)
        if not (os.path.isfile(source) and source.endswith(".py")):
            raise errors.invalid(f"The python_model path {source!r} must be an existing .py file (models from code)")
        code_file = os.path.basename(source)
        shutil.copy2(source, os.path.join(path, code_file))
        live_model = _load_code_model(source, config)
    else:
        import cloudpickle

        if not (isinstance(python_model, PythonModel) or hasattr(python_model, "predict") or callable(python_model)):
            raise errors.invalid(
                "`python_model` must be a PythonModel instance, a callable object, or a path to a script that "
                f"uses set_model(); got {type(python_model).__name__}"
            )
        with open(os.path.join(path, PYTHON_MODEL_FILE), "wb") as out:
            cloudpickle.dump(python_model, out)
        extra_conf.update({"cloudpickle_version": cloudpickle.__version__, "python_model": PYTHON_MODEL_FILE})
        live_model = python_model
    if artifacts:
        extra_conf["artifacts"] = _copy_artifacts(artifacts, path)
    code = flavor.copy_code_paths(code_paths, path)
    if streamable is None:
        streamable = _overrides(live_model, "predict_stream")

    def predict(data: Any, params: dict[str, Any] | None) -> Any:
        local_artifacts = {k: os.path.join(path, v["path"]) for k, v in extra_conf.get("artifacts", {}).items()}
        context = PythonModelContext(local_artifacts, config)
        if hasattr(live_model, "load_context"):
            live_model.load_context(context)
        return PythonModelWrapper(live_model, context).predict(data, params)

    flavor.set_signature(model, signature, example, predict)
    flavor.add_pyfunc_flavor(
        model,
        loader_module=LOADER_MODULE,
        code=code,
        model_config=config,
        model_code_path=code_file,
        streamable=bool(streamable),
        **extra_conf,
    )
    if code is None:
        model.flavors[FLAVOR_NAME]["code"] = None
    modules = ["pandas", "numpy"] + (["cloudpickle"] if code_file is None else [])
    flavor.finish_save(
        path,
        model,
        metadata=metadata,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        loader_modules=modules,
    )


def log_model(
    name: str | None = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    code_paths: Sequence[str] | None = None,
    input_example: Any = None,
    signature: ModelSignature | bool | None = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
    model_config: str | os.PathLike[str] | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    streamable: bool | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log a :class:`PythonModel` (or models-from-code file) as a logged model of the active run (if any).

    Args:
        name: the logged model's name (``artifact_path`` is the deprecated alias).
        registered_model_name: also register it under this name.
        params, tags, model_type, step, model_id: as in MLflow 3.x's ``log_model``.
        Other arguments: see :func:`save_model`.

    Returns:
        The :class:`~mltrail.models.model.ModelInfo`; ``model_uri`` is ``models:/<model_id>``.
    """
    return flavor.log_model(
        sys.modules[__name__],
        name=name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        metadata=metadata,
        python_model=python_model,
        artifacts=artifacts,
        code_paths=code_paths,
        input_example=input_example,
        signature=signature,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        model_config=model_config,
        streamable=streamable,
        **kwargs,
    )


# ----------------------------------------------------------------------------------------------- loading
def _load_pyfunc(model_path: str, model_config: dict[str, Any] | None = None) -> PythonModelWrapper:
    """Load a saved PythonModel (pickled or from code) for :func:`mltrail.pyfunc.load_model`.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the configuration names no model.
    """
    meta = Model.load(model_path)
    conf = meta.flavors.get(FLAVOR_NAME, {})
    if conf.get("model_code_path"):
        code_path = os.path.join(model_path, os.path.basename(conf["model_code_path"]))
        python_model = _load_code_model(code_path, model_config)
    else:
        subpath = conf.get("python_model")
        if subpath is None:
            raise errors.invalid("Python model path was not specified in the model configuration")
        import cloudpickle

        with open(os.path.join(model_path, subpath), "rb") as handle:
            python_model = cloudpickle.load(handle)
    artifacts = {
        name: os.path.join(model_path, *info["path"].split("/")) for name, info in conf.get("artifacts", {}).items()
    }
    context = PythonModelContext(artifacts, model_config)
    if hasattr(python_model, "load_context"):
        python_model.load_context(context=context)
    return PythonModelWrapper(python_model, context)
