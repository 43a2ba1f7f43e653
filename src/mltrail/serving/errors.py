"""Errors of the scoring server in MLflow's shapes: ``{"error_code", "message", "sqlstate", "error_class"}``.

MLflow 3 adds ``sqlstate`` and ``error_class`` to every serialized exception (``mlflow/error_classification.py``):
both are derived from the error code unless the raise site names a finer class, as schema enforcement does
(``SCHEMA_ENFORCEMENT_FAILED`` / ``KAM01``). Clients that only read ``error_code`` and ``message`` are unaffected.
"""

from __future__ import annotations

import traceback

from mltrail.errors import BAD_REQUEST, INVALID_PARAMETER_VALUE, MltrailError

SCHEMA_ENFORCEMENT_FAILED = "SCHEMA_ENFORCEMENT_FAILED"

_ERROR_CLASS: dict[str, str] = {
    "BAD_REQUEST": "INVALID_PARAMETER_VALUE",
    "INVALID_PARAMETER_VALUE": "INVALID_PARAMETER_VALUE",
    "CUSTOMER_UNAUTHORIZED": "PERMISSION_DENIED",
    "PERMISSION_DENIED": "PERMISSION_DENIED",
    "ENDPOINT_NOT_FOUND": "RESOURCE_NOT_FOUND",
    "NOT_FOUND": "RESOURCE_NOT_FOUND",
    "RESOURCE_DOES_NOT_EXIST": "RESOURCE_NOT_FOUND",
    "RESOURCE_ALREADY_EXISTS": "RESOURCE_ALREADY_EXISTS",
    "INTERNAL_ERROR": "CLIENT_INTERNAL_ERROR",
    "INVALID_STATE": "CLIENT_INTERNAL_ERROR",
    "TEMPORARILY_UNAVAILABLE": "CLIENT_INTERNAL_ERROR",
}
_SQLSTATE_BY_CLASS: dict[str, str] = {SCHEMA_ENFORCEMENT_FAILED: "KAM01", "PREDICTION_FUNCTION_FAILED": "KAM02"}
_INTERNAL_CODES = {"INTERNAL_ERROR", "INVALID_STATE", "TEMPORARILY_UNAVAILABLE"}

#: MLflow's wording, kept so that people and scripts searching for it find it.
REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)
SCORING_PROTOCOL_CHANGE_INFO = (
    "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing this "
    "error, you are likely using an outdated scoring request format. To resolve the error, update your request "
    'format: wrap the data in one of the keys above, e.g. {"dataframe_split": {"columns": [...], '
    '"data": [[...]]}}. For more information, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.'
)
UNEXPECTED_MODEL_ERROR = (
    "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is "
    "compatible with the model for inference."
)
_MAX_ECHO = 1000


def shorten(text: str, limit: int = _MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters with a marker, so error messages never echo megabytes back."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def classify(error_code: str, message: str, error_class: str | None = None) -> tuple[str, str]:
    """MLflow's ``(error_class, sqlstate)`` for an error."""
    if error_class is None:
        if "Failed to enforce schema" in message:
            error_class = SCHEMA_ENFORCEMENT_FAILED
        else:
            error_class = _ERROR_CLASS.get(error_code, "CLIENT_INTERNAL_ERROR")
    sqlstate = _SQLSTATE_BY_CLASS.get(error_class) or ("XXM00" if error_code in _INTERNAL_CODES else "KAM00")
    return error_class, sqlstate


def serving_error(
    message: str, error_code: str = BAD_REQUEST, *, stack_trace: bool | str = False, error_class: str | None = None
) -> MltrailError:
    """An :class:`MltrailError` carrying MLflow's serving error fields.

    Args:
        message: the message for people.
        error_code: the MLflow error code (HTTP 400 for BAD_REQUEST and INVALID_PARAMETER_VALUE).
        stack_trace: True to attach the traceback of the exception being handled, or the trace text itself.
        error_class: a finer class than the code's default (e.g. ``SCHEMA_ENFORCEMENT_FAILED``).
    """
    klass, sqlstate = classify(error_code, message, error_class)
    details: dict[str, str] = {"sqlstate": sqlstate, "error_class": klass}
    if stack_trace:
        details["stack_trace"] = stack_trace if isinstance(stack_trace, str) else traceback.format_exc()
    return MltrailError(message, error_code, **details)


def invalid_input(message: str, *, stack_trace: bool = False) -> MltrailError:
    """MLflow's ``MlflowInvalidInputException``: BAD_REQUEST with the "Invalid input. " prefix."""
    return serving_error(f"Invalid input. {message}", BAD_REQUEST, stack_trace=stack_trace)


def with_serving_fields(error: MltrailError) -> MltrailError:
    """``error`` with ``sqlstate`` and ``error_class`` filled in where the raise site did not set them."""
    if "sqlstate" in error.details and "error_class" in error.details:
        return error
    klass, sqlstate = classify(error.error_code, error.message, error.details.get("error_class"))
    details = {"sqlstate": sqlstate, "error_class": klass, **error.details}
    return MltrailError(error.message, error.error_code, **details)


def schema_error(message: str) -> MltrailError:
    """INVALID_PARAMETER_VALUE for data that does not match the signature."""
    return serving_error(message, INVALID_PARAMETER_VALUE, error_class=SCHEMA_ENFORCEMENT_FAILED)
