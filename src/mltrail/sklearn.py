"""The scikit-learn flavor: save, log and load estimators, and ``autolog()``.

Files and ``MLmodel`` keys are MLflow's (``sklearn: {pickled_model, serialization_format, sklearn_version,
skops_trusted_types, code}`` and ``python_function: {loader_module: mlflow.sklearn, model_path, predict_fn}``),
so models move between mltrail and MLflow both ways. Serialization: ``skops`` (safe; the default when skops is
installed, as in MLflow 3.18), ``cloudpickle`` (the default otherwise) or ``pickle``.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.errors import MltrailError
from mltrail.models import autolog as _autolog
from mltrail.models import flavor
from mltrail.models.example import save_example
from mltrail.models.model import MLMODEL_FILE_NAME, Model

if TYPE_CHECKING:
    from mltrail.models.model import ModelInfo
    from mltrail.models.signature import ModelSignature

__all__ = [
    "FLAVOR_NAME",
    "LOADER_MODULE",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_PREDICT_FNS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "SklearnModelWrapper",
    "autolog",
    "default_serialization_format",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "sklearn"
LOADER_MODULE = "mlflow.sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
)
SUPPORTED_PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")

_logger = logging.getLogger(__name__)


def default_serialization_format() -> str:
    """``skops`` when it is installed, else ``cloudpickle``."""
    import importlib.util

    return SERIALIZATION_FORMAT_SKOPS if importlib.util.find_spec("skops") else SERIALIZATION_FORMAT_CLOUDPICKLE


# ------------------------------------------------------------------------------------------------- files
def _dump(sk_model: Any, path: str, serialization_format: str, trusted: list[str] | None) -> None:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        try:
            skops.io.dump(sk_model, path)
        except Exception as exc:
            raise errors.invalid(
                "The sklearn model could not be serialized in the skops serialization format (skops does not "
                "support custom functions or classes defined outside importable modules); use "
                f"serialization_format='cloudpickle'. Error: {exc}"
            ) from exc
        untrusted = [t for t in skops.io.get_untrusted_types(file=path) if t not in (trusted or [])]
        if untrusted:
            raise errors.invalid(
                f"The saved sklearn model references untrusted types: {untrusted}. If you trust them, pass "
                "skops_trusted_types with these names to save_model or log_model."
            )
        return
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle as library
    else:
        library = pickle  # type: ignore[assignment]
    with open(path, "wb") as out:
        library.dump(sk_model, out, protocol=pickle.DEFAULT_PROTOCOL)


def _load_file(path: str, serialization_format: str, trusted: list[str] | None = None) -> Any:
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise errors.invalid(
            f"Unrecognized serialization format: {serialization_format}. Please specify one of the following "
            f"supported formats: {list(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        return skops.io.load(path, trusted=trusted)
    with open(path, "rb") as handle:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(handle)
        return pickle.load(handle)


class SklearnModelWrapper:
    """The pyfunc implementation: ``predict`` plus the estimator's other predict methods."""

    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for name in SUPPORTED_PREDICT_FNS[1:]:
            method = getattr(sklearn_model, name, None)
            if method is not None:
                setattr(self, name, method)

    def get_raw_model(self) -> Any:
        """The estimator."""
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """``estimator.predict(data)``."""
        return self.sklearn_model.predict(data)


# ---------------------------------------------------------------------------------------------- save/log
def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: str | dict[str, Any] | None = None,
    code_paths: Sequence[str] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
) -> None:
    """Save a scikit-learn estimator as an MLflow model directory.

    Args:
        sk_model: the fitted estimator (or pipeline).
        path: the new model directory.
        conda_env, pip_requirements, extra_pip_requirements: the model's environment (MLflow's semantics).
        code_paths: files or directories copied into ``code/``.
        mlflow_model: the Model to fill in (``log_model`` passes one).
        serialization_format: ``skops``, ``cloudpickle`` or ``pickle`` (default: :func:`default_serialization_format`).
        signature: the :class:`~mltrail.models.signature.ModelSignature`; False for none; inferred from
            ``input_example`` when None.
        input_example: example input, saved with the model.
        pyfunc_predict_fn: the method the pyfunc ``predict`` calls: predict, predict_proba, predict_log_proba,
            predict_joint_log_proba or score.
        metadata: user metadata for ``MLmodel``.
        skops_trusted_types: types to trust when loading a skops file.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unknown format or predict function, or an unserializable model;
            RESOURCE_ALREADY_EXISTS for a non-empty ``path``.
    """
    import sklearn

    path = os.fspath(path)
    serialization_format = serialization_format or default_serialization_format()
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise errors.invalid(
            f"Unrecognized serialization format: {serialization_format}. Please specify one of the following "
            f"supported formats: {list(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    if pyfunc_predict_fn not in SUPPORTED_PREDICT_FNS:
        raise errors.invalid(
            f"pyfunc_predict_fn must be one of {list(SUPPORTED_PREDICT_FNS)}, got {pyfunc_predict_fn!r}"
        )
    model = flavor.start_save(path, mlflow_model)
    example = save_example(model, input_example, path)
    data_file = "model.skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else "model.pkl"
    _dump(sk_model, os.path.join(path, data_file), serialization_format, skops_trusted_types)
    code = flavor.copy_code_paths(code_paths, path)
    wrapper = SklearnModelWrapper(sk_model)
    flavor.set_signature(model, signature, example, lambda data, _params: getattr(wrapper, pyfunc_predict_fn)(data))
    if hasattr(sk_model, pyfunc_predict_fn):
        flavor.add_pyfunc_flavor(
            model, loader_module=LOADER_MODULE, model_path=data_file, code=code, predict_fn=pyfunc_predict_fn
        )
    else:
        _logger.warning("Model was missing function: %s. Not logging python_function flavor!", pyfunc_predict_fn)
    model.add_flavor(
        FLAVOR_NAME,
        pickled_model=data_file,
        sklearn_version=sklearn.__version__,
        serialization_format=serialization_format,
        code=code,
        skops_trusted_types=skops_trusted_types,
    )
    flavor.finish_save(
        path,
        model,
        metadata=metadata,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        loader_modules=["sklearn", "numpy", serialization_format if serialization_format != "pickle" else ""],
    )


def log_model(
    sk_model: Any,
    name: str | None = None,
    conda_env: str | dict[str, Any] | None = None,
    code_paths: Sequence[str] | None = None,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    skops_trusted_types: list[str] | None = None,
    artifact_path: str | None = None,
) -> ModelInfo:
    """Log an estimator as a logged model (of the active run, if any); see :func:`save_model` for the arguments.

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
        sk_model=sk_model,
        conda_env=conda_env,
        code_paths=code_paths,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        pyfunc_predict_fn=pyfunc_predict_fn,
        skops_trusted_types=skops_trusted_types,
    )


# ------------------------------------------------------------------------------------------------- load
def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """Load the estimator saved at ``model_uri`` (a path or any model URI).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the model has no sklearn flavor.
    """
    from mltrail.models.uris import download_model

    local = download_model(model_uri, dst_path)
    conf = flavor.flavor_conf(local, FLAVOR_NAME)
    if conf.get("code"):
        flavor.ensure_on_path(os.path.join(local, conf["code"]))
    return _load_file(
        os.path.join(local, conf["pickled_model"]),
        conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
        conf.get("skops_trusted_types"),
    )


def _load_pyfunc(path: str) -> SklearnModelWrapper:
    """The pyfunc implementation for ``path`` (the model directory, or the serialized file itself)."""
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    try:
        conf = flavor.flavor_conf(model_dir, FLAVOR_NAME)
        fmt, trusted = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE), conf.get("skops_trusted_types")
    except MltrailError:
        _logger.warning("Could not find scikit-learn flavor configuration; assuming 'pickle' serialization format.")
        fmt, trusted, conf = SERIALIZATION_FORMAT_PICKLE, None, {}
    if not os.path.isfile(path):
        meta = Model.load(os.path.join(path, MLMODEL_FILE_NAME))
        path = os.path.join(path, meta.flavors[flavor.PYFUNC_FLAVOR_NAME].get("model_path", conf.get("pickled_model")))
    return SklearnModelWrapper(_load_file(path, fmt, trusted))


# ---------------------------------------------------------------------------------------------- autolog
def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    disable: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
    serialization_format: str | None = None,
) -> None:
    """Log params, training metrics and the model whenever a scikit-learn estimator is fitted.

    Patches ``fit``, ``fit_transform`` and ``fit_predict`` of every scikit-learn estimator. The outermost call
    logs to the active run, or starts a run and ends it when fitting returns. Logged: the estimator's
    ``get_params()``; ``estimator_name`` and ``estimator_class`` tags; ``training_score`` and, for classifiers,
    ``training_accuracy_score``, ``training_precision_score``, ``training_recall_score``, ``training_f1_score``
    (weighted averages), ``training_log_loss`` and ``training_roc_auc`` where ``predict_proba`` exists; for
    regressors ``training_mean_squared_error``, ``training_root_mean_squared_error``,
    ``training_mean_absolute_error`` and ``training_r2_score``; and the model as a logged model named ``model``.

    Args:
        log_input_examples: save a few training rows as the input example.
        log_model_signatures: infer the signature from the training data and predictions.
        log_models: log the fitted model.
        disable: turn autologging off (restore the original methods).
        silent: hide autologging warnings.
        registered_model_name: register each logged model under this name.
        extra_tags: tags to set on the run.
        serialization_format: the format for logged models (default: :func:`default_serialization_format`).
    """
    _autolog.unpatch_all(FLAVOR_NAME)
    if disable:
        return
    from sklearn.utils import all_estimators

    options = {
        "log_input_examples": log_input_examples,
        "log_model_signatures": log_model_signatures,
        "log_models": log_models,
        "registered_model_name": registered_model_name,
        "extra_tags": extra_tags,
        "serialization_format": serialization_format,
        "silent": silent,
    }
    from sklearn.pipeline import Pipeline

    classes = {cls for _, cls in all_estimators()} | {Pipeline}
    for cls in classes:
        for method in ("fit", "fit_transform", "fit_predict"):
            _autolog.patch(FLAVOR_NAME, cls, method, _make_wrapper(options))


def _make_wrapper(options: dict[str, Any]) -> Any:
    def wrapper(original: Any, estimator: Any, *args: Any, **kwargs: Any) -> Any:
        with _autolog.training_session() as outermost:
            if not outermost:
                return original(estimator, *args, **kwargs)
            return _fit_and_log(original, estimator, args, kwargs, options)

    return wrapper


def _training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any) -> dict[str, float]:
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    results: dict[str, float] = {}

    def add(name: str, compute: Any) -> None:
        value = _autolog.safely(f"compute {name}", compute)
        if value is not None:
            results[name] = float(value)

    if is_classifier(estimator):
        predicted = estimator.predict(X)
        add("training_accuracy_score", lambda: metrics.accuracy_score(y, predicted, sample_weight=sample_weight))
        for label, function in (
            ("precision", metrics.precision_score),
            ("recall", metrics.recall_score),
            ("f1", metrics.f1_score),
        ):
            add(
                f"training_{label}_score",
                lambda f=function: f(y, predicted, average="weighted", sample_weight=sample_weight, zero_division=0),
            )
        if hasattr(estimator, "predict_proba"):
            proba = _autolog.safely("predict probabilities", lambda: estimator.predict_proba(X))
            if proba is not None:
                add(
                    "training_log_loss",
                    lambda: metrics.log_loss(y, proba, sample_weight=sample_weight, labels=estimator.classes_),
                )
                add(
                    "training_roc_auc",
                    lambda: metrics.roc_auc_score(
                        y,
                        proba[:, 1] if proba.shape[1] == 2 else proba,
                        multi_class="ovr",
                        average="weighted",
                        sample_weight=sample_weight,
                        labels=None if proba.shape[1] == 2 else estimator.classes_,
                    ),
                )
    elif is_regressor(estimator):
        predicted = estimator.predict(X)
        add(
            "training_mean_squared_error", lambda: metrics.mean_squared_error(y, predicted, sample_weight=sample_weight)
        )
        if "training_mean_squared_error" in results:
            results["training_root_mean_squared_error"] = results["training_mean_squared_error"] ** 0.5
        add(
            "training_mean_absolute_error",
            lambda: metrics.mean_absolute_error(y, predicted, sample_weight=sample_weight),
        )
        add("training_r2_score", lambda: metrics.r2_score(y, predicted, sample_weight=sample_weight))
    if hasattr(estimator, "score") and y is not None:
        add(
            "training_score",
            lambda: (
                estimator.score(X, y, sample_weight=sample_weight)
                if sample_weight is not None
                else estimator.score(X, y)
            ),
        )
    return results


def _fit_and_log(
    original: Any, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: dict[str, Any]
) -> Any:
    from mltrail.tracking import fluent

    cls = type(estimator)
    tags = {
        "estimator_name": cls.__name__,
        "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
        **(options["extra_tags"] or {}),
    }
    with _autolog.run_for_autolog(tags) as run_id:
        params = _autolog.safely("read params", lambda: estimator.get_params(deep=True)) or {}
        _autolog.safely("log params", lambda: fluent.log_params({k: str(v)[:6000] for k, v in params.items()}))
        result = original(estimator, *args, **kwargs)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        sample_weight = kwargs.get("sample_weight")
        if X is not None:
            found = _training_metrics(estimator, X, y, sample_weight)
            if found:
                _autolog.safely("log metrics", lambda: fluent.log_metrics(found))
        if options["log_models"]:
            _autolog.safely("log the model", lambda: _log_fitted_model(estimator, X, options, run_id))
    return result


def _log_fitted_model(estimator: Any, X: Any, options: dict[str, Any], run_id: str) -> None:
    sample = None
    if X is not None and (options["log_input_examples"] or options["log_model_signatures"]):
        sample = X.iloc[:5] if hasattr(X, "iloc") else X[:5]
    signature: Any = False
    if options["log_model_signatures"] and sample is not None and hasattr(estimator, "predict"):
        from mltrail.models.signature import infer_signature

        signature = _autolog.safely("infer the signature", lambda: infer_signature(sample, estimator.predict(sample)))
        signature = signature or False
    log_model(
        estimator,
        name="model",
        signature=signature,
        input_example=sample if options["log_input_examples"] else None,
        serialization_format=options["serialization_format"],
        registered_model_name=options["registered_model_name"],
    )
