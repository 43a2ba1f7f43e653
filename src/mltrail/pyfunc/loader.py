"""Loading any model through its ``python_function`` flavor: :func:`load_model` and :class:`PyFuncModel`."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from typing import Any

from mltrail import errors
from mltrail.models import flavor
from mltrail.models.model import MLMODEL_FILE_NAME, Model

FLAVOR_NAME = "python_function"


def _accepts_params(function: Any) -> bool:
    """Whether ``function`` takes a ``params`` argument (not just ``**kwargs``)."""
    try:
        found = inspect.signature(function).parameters.get("params")
    except (TypeError, ValueError):
        return False
    return found is not None and found.kind is not found.VAR_KEYWORD


class PyFuncModel:
    """A loaded model with the generic interface: ``predict(data, params=None)``, ``predict_stream``, metadata.

    Inputs are checked and converted against the model's signature before the model sees them
    (:func:`mltrail.models.enforce.validate_prediction_input`).
    """

    def __init__(
        self,
        model_meta: Model,
        model_impl: Any,
        predict_fn: str = "predict",
        predict_stream_fn: str | None = "predict_stream",
        model_config: dict[str, Any] | None = None,
    ) -> None:
        if not hasattr(model_impl, predict_fn):
            raise errors.invalid(f"Model implementation is missing required {predict_fn} method.")
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._predict_fn = getattr(model_impl, predict_fn)
        self._predict_stream_fn = getattr(model_impl, predict_stream_fn, None) if predict_stream_fn else None
        # Inspected once here rather than on every call (inspect.signature costs more than a small prediction).
        self._predict_takes_params = _accepts_params(self._predict_fn)
        self._stream_takes_params = self._predict_stream_fn is not None and _accepts_params(self._predict_stream_fn)
        self._model_config = model_config or {}

    @property
    def metadata(self) -> Model:
        """The model's :class:`~mltrail.models.model.Model` (its ``MLmodel``)."""
        return self._model_meta

    @property
    def loader_module(self) -> str | None:
        """The ``loader_module`` of the ``python_function`` flavor."""
        return self._model_meta.flavors.get(FLAVOR_NAME, {}).get("loader_module")

    @property
    def model_config(self) -> dict[str, Any]:
        """The configuration the model was loaded with."""
        return self._model_config

    @property
    def model_id(self) -> str | None:
        """The logged model id, when the model was logged."""
        return self._model_meta.model_id

    def _prepare(self, data: Any, params: dict[str, Any] | None) -> tuple[Any, dict[str, Any] | None]:
        meta = self._model_meta
        input_schema, params_schema = meta.get_input_schema(), meta.get_params_schema()
        if input_schema is None and params_schema is None and params in (None, {}):
            return data, params  # nothing to enforce (what validate_prediction_input would return)
        from mltrail.models.enforce import validate_prediction_input

        return validate_prediction_input(data, params, input_schema, params_schema)

    @staticmethod
    def _call(function: Any, data: Any, params: dict[str, Any] | None, takes_params: bool) -> Any:
        return function(data, params=params) if takes_params else function(data)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict ``data`` (a DataFrame, Series, ndarray, dict, list or scalar), with optional params.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE (``error_class`` SCHEMA_ENFORCEMENT_FAILED) when the data does not
                fit the signature, or for invalid params.
        """
        data, params = self._prepare(data, params)
        return self._call(self._predict_fn, data, params, self._predict_takes_params)

    def predict_stream(self, data: Any, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Stream predictions for ``data``.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE when the model does not stream.
        """
        if self._predict_stream_fn is None or not self._model_meta.flavors.get(FLAVOR_NAME, {}).get("streamable", True):
            raise errors.invalid("This model does not support predict_stream method.")
        data, params = self._prepare(data, params)
        return self._call(self._predict_stream_fn, data, params, self._stream_takes_params)

    def unwrap_python_model(self) -> Any:
        """The user's :class:`~mltrail.pyfunc.PythonModel` behind this pyfunc.

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for models that are not PythonModels.
        """
        unwrap = getattr(self._model_impl, "unwrap_python_model", None)
        if unwrap is None:
            python_model = getattr(self._model_impl, "python_model", None)
            if python_model is None:
                raise errors.invalid(
                    "unwrap_python_model is only supported for models saved as mltrail.pyfunc.PythonModel"
                )
            return python_model
        return unwrap()

    @property
    def implementation(self) -> Any:
        """The flavor's pyfunc implementation object that this model wraps (what the loader module returned)."""
        return self._model_impl

    def get_raw_model(self) -> Any:
        """The flavor's native model object behind the pyfunc (for example the sklearn estimator)."""
        raw = getattr(self._model_impl, "get_raw_model", None)
        return raw() if raw is not None else self._model_impl

    def __repr__(self) -> str:
        info = {"flavor": self.loader_module}
        if self._model_meta.run_id:
            info["run_id"] = self._model_meta.run_id
        if self._model_meta.artifact_path:
            info["artifact_path"] = self._model_meta.artifact_path
        return "mltrail.pyfunc.loaded_model:\n" + "\n".join(f"  {k}: {v}" for k, v in info.items())


def _call_loader(module: Any, data_path: str, model_config: dict[str, Any] | None) -> Any:
    loader = module._load_pyfunc
    try:
        parameters = inspect.signature(loader).parameters
    except (TypeError, ValueError):
        parameters = {}
    if "model_config" in parameters or len(parameters) >= 2:
        return loader(data_path, model_config)
    return loader(data_path)


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
    suppress_warnings: bool = False,
) -> PyFuncModel:
    """Load a model (mltrail's or MLflow's) through its ``python_function`` flavor.

    Args:
        model_uri: a local path or a model URI (``runs:/``, ``models:/``, ``file://``, ``mlflow-artifacts:/``,
            ``http(s)://``).
        dst_path: where to download a remote model (default: a temporary directory).
        model_config: updates to the saved model configuration.
        suppress_warnings: accepted for MLflow compatibility.

    Returns:
        A :class:`PyFuncModel`.

    Raises:
        MltrailError: RESOURCE_DOES_NOT_EXIST when there is no model; INVALID_PARAMETER_VALUE when the model has
            no ``python_function`` flavor or its loader cannot be imported.
    """
    from mltrail.models.uris import download_model

    local = download_model(model_uri, dst_path)
    mlmodel = os.path.join(local, MLMODEL_FILE_NAME)
    if not os.path.isfile(mlmodel):
        raise errors.not_found(f'Could not find an "{MLMODEL_FILE_NAME}" configuration file at "{model_uri}"')
    meta = Model.load(mlmodel)
    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise errors.invalid(
            f'Model does not have the "{FLAVOR_NAME}" flavor'
            + (f" (it has: {', '.join(meta.flavors)})" if meta.flavors else "")
        )
    if conf.get("code"):
        flavor.ensure_on_path(os.path.join(local, conf["code"]))
    config = {**(conf.get("config") or {}), **(model_config or {})} or None
    data_path = os.path.join(local, conf["data"]) if conf.get("data") else local
    module = flavor.flavor_module(conf["loader_module"])
    impl = _call_loader(module, data_path, config)
    return PyFuncModel(
        meta,
        impl,
        predict_fn=conf.get("predict_fn", "predict"),
        predict_stream_fn=conf.get("predict_stream_fn", "predict_stream"),
        model_config=config,
    )
