"""The one exception type of mltrail, carrying MLflow's wire error codes.

Every user-facing failure raises :class:`MltrailError` with one of the codes below. The server turns it into
``{"error_code": ..., "message": ...}`` with the HTTP status from :data:`ERROR_CODE_TO_HTTP_STATUS`; the REST
store turns such a body back into the same exception.

Raising, one way: the common codes have a function each, used everywhere in mltrail::

    raise errors.invalid(f"Invalid value {value!r} for parameter 'step'")     # 400 INVALID_PARAMETER_VALUE
    raise errors.not_found(f"Run with id={run_id} not found")                   # 404 RESOURCE_DOES_NOT_EXIST
    raise errors.already_exists(f"Experiment '{name}' already exists.")        # 400 RESOURCE_ALREADY_EXISTS
    raise errors.invalid_state(f"The run {run_id} must be in the 'active' state.")  # 409 INVALID_STATE

and any other code is given by name: ``MltrailError(message, PERMISSION_DENIED)``. The classmethods
``MltrailError.invalid_parameter_value`` and ``.not_found`` stay for code written against MLflow's
``MlflowException``.
"""

from __future__ import annotations

import json
from typing import Any

# MLflow's error codes (databricks.proto::ErrorCode), as names on the wire.
INTERNAL_ERROR = "INTERNAL_ERROR"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
IO_ERROR = "IO_ERROR"
BAD_REQUEST = "BAD_REQUEST"
INVALID_STATE = "INVALID_STATE"
DATA_LOSS = "DATA_LOSS"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
MALFORMED_REQUEST = "MALFORMED_REQUEST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
CUSTOMER_UNAUTHORIZED = "CUSTOMER_UNAUTHORIZED"
PERMISSION_DENIED = "PERMISSION_DENIED"
ABORTED = "ABORTED"
ALREADY_EXISTS = "ALREADY_EXISTS"
RESOURCE_CONFLICT = "RESOURCE_CONFLICT"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
CANCELLED = "CANCELLED"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"

#: Error code -> HTTP status, as MLflow maps them (mlflow/exceptions.py) except INVALID_STATE. Absent: 500.
ERROR_CODE_TO_HTTP_STATUS: dict[str, int] = {
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    MALFORMED_REQUEST: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    UNAUTHENTICATED: 401,
    CUSTOMER_UNAUTHORIZED: 401,
    PERMISSION_DENIED: 403,
    RESOURCE_DOES_NOT_EXIST: 404,
    NOT_FOUND: 404,
    ENDPOINT_NOT_FOUND: 404,
    ABORTED: 409,
    ALREADY_EXISTS: 409,
    RESOURCE_CONFLICT: 409,
    REQUEST_LIMIT_EXCEEDED: 429,
    RESOURCE_EXHAUSTED: 429,
    CANCELLED: 499,
    NOT_IMPLEMENTED: 501,
    TEMPORARILY_UNAVAILABLE: 503,
    DEADLINE_EXCEEDED: 504,
    # MLflow sends INVALID_STATE (e.g. renaming a deleted experiment) as 500, which its client retries seven
    # times with backoff (minutes); it is the user's request that conflicts with the state, so: 409.
    INVALID_STATE: 409,
    INTERNAL_ERROR: 500,
    DATA_LOSS: 500,
    IO_ERROR: 500,
}

_HTTP_STATUS_TO_ERROR_CODE: dict[int, str] = {
    400: BAD_REQUEST,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: ENDPOINT_NOT_FOUND,
    409: RESOURCE_CONFLICT,
    429: REQUEST_LIMIT_EXCEEDED,
    499: CANCELLED,
    501: NOT_IMPLEMENTED,
    503: TEMPORARILY_UNAVAILABLE,
    504: DEADLINE_EXCEEDED,
}


def http_status_for(error_code: str) -> int:
    """Return the HTTP status MLflow uses for ``error_code`` (500 for unknown codes)."""
    return ERROR_CODE_TO_HTTP_STATUS.get(error_code, 500)


def error_code_for_http_status(status: int) -> str:
    """Return the error code a client infers from a bare HTTP status without a JSON error body."""
    return _HTTP_STATUS_TO_ERROR_CODE.get(status, INTERNAL_ERROR)


class MltrailError(Exception):
    """An error with an MLflow error code, a message for people, and optional details.

    Args:
        message: what went wrong, in one readable sentence.
        error_code: one of this module's codes; defaults to ``INTERNAL_ERROR``.
        **details: extra JSON-serialisable fields sent along on the wire.
    """

    def __init__(self, message: object, error_code: str = INTERNAL_ERROR, **details: Any) -> None:
        self.message = str(message)
        self.error_code = error_code
        self.details = details
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        """The HTTP status for this error's code."""
        return http_status_for(self.error_code)

    def to_dict(self) -> dict[str, Any]:
        """The wire form: ``{"error_code": ..., "message": ..., **details}``."""
        return {"error_code": self.error_code, "message": self.message, **self.details}

    def to_json(self) -> str:
        """The wire form as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def invalid_parameter_value(cls, message: str) -> MltrailError:
        """Shorthand for a user mistake in a request (HTTP 400)."""
        return cls(message, INVALID_PARAMETER_VALUE)

    @classmethod
    def not_found(cls, message: str) -> MltrailError:
        """Shorthand for a missing resource (HTTP 404)."""
        return cls(message, RESOURCE_DOES_NOT_EXIST)

    def __repr__(self) -> str:
        return f"MltrailError({self.message!r}, error_code={self.error_code!r})"


#: MLflow's name for the same type, so ``except mlflow.MlflowException`` style code keeps working.
MlflowException = MltrailError


def invalid(message: str) -> MltrailError:
    """A user's mistake in a request: ``INVALID_PARAMETER_VALUE`` (HTTP 400)."""
    return MltrailError(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> MltrailError:
    """A resource that does not exist: ``RESOURCE_DOES_NOT_EXIST`` (HTTP 404)."""
    return MltrailError(message, RESOURCE_DOES_NOT_EXIST)


def already_exists(message: str) -> MltrailError:
    """A resource that already exists: ``RESOURCE_ALREADY_EXISTS`` (HTTP 400, as MLflow sends it)."""
    return MltrailError(message, RESOURCE_ALREADY_EXISTS)


def invalid_state(message: str) -> MltrailError:
    """A request that conflicts with the resource's state: ``INVALID_STATE`` (HTTP 409)."""
    return MltrailError(message, INVALID_STATE)
