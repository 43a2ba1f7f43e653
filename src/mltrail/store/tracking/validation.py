"""Input validation for the tracking stores, with MLflow's limits and message texts.

Every check raises :class:`~mltrail.errors.MltrailError` with ``INVALID_PARAMETER_VALUE`` and the same message
MLflow's ``mlflow/utils/validation.py`` produces, so clients that match on messages keep working. Long param and
tag values are truncated with a warning, as MLflow does by default (``MLFLOW_TRUNCATE_LONG_VALUES=true``).

Beyond MLflow, what no database can store is refused here too, so every store and every client path gets the same
message: integers outside int64 (:func:`validate_int64`) and text with a NUL character (:func:`validate_text`;
PostgreSQL text cannot hold one).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import numbers
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from mltrail import errors
from mltrail.entities import DatasetInput, ExperimentTag, Metric, Param, RunTag

_logger = logging.getLogger(__name__)

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ENTITY_KEY_LENGTH = 250
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500
#: The range of MLflow's int64 fields (timestamps, steps), which is what the databases' BIGINT columns hold.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_FLOAT_INT_LIMIT = 2**1023  # integer metric values must convert to a double

_RUN_ID_REGEX = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_EXPERIMENT_ID_REGEX = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")
_NAME_REGEX = re.compile(r"^[/\w.\- :]*$")
_MISSING_KEY_NAME_MESSAGE = "A key name must be provided."
_BAD_CHARACTER_MESSAGE = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) "
    "and slashes (/)."
)


def invalid_value(path: str, value: Any, message: str | None = None) -> str:
    """MLflow's standard message for an invalid parameter value.

    Args:
        path: the request path of the field, such as ``metrics[0].value``.
        value: the offending value (rendered as compact JSON).
        message: an optional explanation appended after a colon.

    Returns:
        The message text.
    """
    try:
        formatted = json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        formatted = json.dumps(str(value))
    if message:
        return f"Invalid value {formatted} for parameter '{path}' supplied: {message}"
    return f"Invalid value {formatted} for parameter '{path}' supplied."


def missing_value(path: str) -> str:
    """MLflow's message for a missing required field."""
    return f"Missing value for required parameter '{path}'."


def exceeds_maximum_length(path: str, limit: int) -> str:
    """MLflow's message for a value over its length limit."""
    return f"'{path}' exceeds the maximum length of {limit} characters"


def validate_text(value: Any, path: str) -> None:
    """Refuse text with a NUL character, which PostgreSQL cannot store (other databases would, but differently).

    Args:
        value: the text; anything that is not a ``str`` is left to the other checks.
        path: the request path for the message (``name``, ``params[0].value``).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if isinstance(value, str) and "\x00" in value:
        raise errors.invalid(invalid_value(path, value, "text cannot contain NUL (\\u0000) characters."))


def validate_int64(value: Any, path: str) -> None:
    """Refuse an integer outside int64, which the databases' BIGINT columns cannot hold.

    Args:
        value: the integer; ``None`` and non-integers are left to the other checks.
        path: the request path for the message (``start_time``).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise errors.invalid(invalid_value(path, value, "Value must be a 64-bit integer."))


def validate_older_than_ms(older_than_ms: Any) -> None:
    """Check a garbage-collection age: ``None`` or a non-negative int64 number of milliseconds.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if older_than_ms is not None and not (
        isinstance(older_than_ms, int) and not isinstance(older_than_ms, bool) and 0 <= older_than_ms <= INT64_MAX
    ):
        raise errors.invalid(
            invalid_value("older_than_ms", older_than_ms, "it must be a non-negative number of milliseconds.")
        )


def _join_path(current: str, value: str) -> str:
    if not current:
        return value
    return f"{current}{value}" if value.startswith("[") else f"{current}.{value}"


def _bad_path_message(name: str) -> str:
    return (
        "Names may be treated as files in certain cases, and must not resolve to other names"
        f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}"
    )


def _path_not_unique(name: str) -> bool:
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith("..") or norm.startswith("/")


@functools.lru_cache(maxsize=8192)
def _key_problem(name: str) -> str | None:
    if not _NAME_REGEX.match(name):
        return _BAD_CHARACTER_MESSAGE
    if _path_not_unique(name):
        return _bad_path_message(name)
    return None


def validate_key_name(name: str | None, path: str, missing_message: str | None = None) -> None:
    """Check a metric, param or tag key: present, allowed characters, no path normalisation.

    Args:
        name: the key.
        path: the request path for messages (``key``, ``params[3].key``).
        missing_message: the message for a missing key; MLflow's param message by default.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if name is None:
        raise errors.invalid(missing_message or invalid_value(path, "", _MISSING_KEY_NAME_MESSAGE))
    if not isinstance(name, str):
        raise errors.invalid(invalid_value(path, name, _BAD_CHARACTER_MESSAGE))
    problem = _key_problem(name)
    if problem is not None:
        raise errors.invalid(invalid_value(path, name, problem))


def validate_length(entity_name: str, limit: int, value: str | None, *, truncate: bool = False) -> str | None:
    """Check a value's length; truncate with a warning when ``truncate`` is set.

    Args:
        entity_name: the name used in messages (``Param value``, ``tags[0].value``).
        limit: the maximum number of characters.
        value: the value, or None (returned as is).
        truncate: cut the value to ``limit`` with a warning instead of failing.

    Returns:
        The value, truncated if needed.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when too long and not truncated.
    """
    if value is None or len(value) <= limit:
        return value
    if truncate:
        _logger.warning(
            "%s '%s...' (%d characters) is truncated to %d characters to meet the length limit.",
            entity_name,
            value[:100],
            len(value),
            limit,
        )
        return value[:limit]
    raise errors.invalid(exceeds_maximum_length(entity_name, limit))


def _is_numeric(value: Any) -> bool:
    kind = type(value)
    if kind is float or kind is int:
        return True
    return kind is not bool and isinstance(value, numbers.Number)


def validate_metric(metric: Metric, path: str = "") -> None:
    """Check one metric point: key, numeric (not bool) value, timestamp in [0, 2^63 - 1], int64 step.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with MLflow's message.
    """
    key, value, timestamp, step = metric.key, metric.value, metric.timestamp, metric.step
    if (  # the common case, checked cheaply
        type(key) is str
        and (type(value) is float or (type(value) is int and -_FLOAT_INT_LIMIT < value < _FLOAT_INT_LIMIT))
        and type(timestamp) is int
        and 0 <= timestamp <= INT64_MAX
        and type(step) is int
        and INT64_MIN <= step <= INT64_MAX
        and len(key) <= MAX_ENTITY_KEY_LENGTH
        and _key_problem(key) is None
    ):
        return
    name_path = _join_path(path, "name")
    if key is None:
        raise errors.invalid(invalid_value(name_path, None, f"Metric name cannot be None. {_MISSING_KEY_NAME_MESSAGE}"))
    validate_key_name(key, name_path)
    if value is None:
        raise errors.invalid(missing_value(_join_path(path, "value")))
    if not _is_numeric(value) or (isinstance(value, int) and not -_FLOAT_INT_LIMIT < value < _FLOAT_INT_LIMIT):
        raise errors.invalid(
            invalid_value(
                _join_path(path, "value"),
                value,
                f"(timestamp={timestamp}). Please specify value as a valid double (64-bit floating point)",
            )
        )
    if not _is_numeric(timestamp) or not 0 <= timestamp <= INT64_MAX:
        raise errors.invalid(
            invalid_value(
                _join_path(path, "timestamp"),
                timestamp,
                f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer) ",
            )
        )
    if (
        not _is_numeric(step)
        or (isinstance(step, float) and not math.isfinite(step))
        or not INT64_MIN <= step <= INT64_MAX
    ):
        raise errors.invalid(
            invalid_value(
                _join_path(path, "step"),
                step,
                f"metric '{key}' (value={value}). Step must be a valid long (64-bit integer).",
            )
        )
    validate_length("Metric name", MAX_ENTITY_KEY_LENGTH, key)


def validate_param(param: Param, path: str = "") -> Param:
    """Check a param; return it with its value truncated to 6000 characters if needed.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    validate_key_name(param.key, _join_path(path, "key"))
    validate_length("Param key", MAX_ENTITY_KEY_LENGTH, param.key)
    value = "" if param.value is None else str(param.value)
    validate_text(value, _join_path(path, "value"))
    truncated = validate_length("Param value", MAX_PARAM_VAL_LENGTH, value, truncate=True)
    return param if truncated == param.value else Param(param.key, truncated or "")


def validate_tag(tag: RunTag, path: str = "") -> RunTag:
    """Check a run tag; return it with its value truncated to 8000 characters if needed.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    key_path = _join_path(path, "key")
    validate_key_name(tag.key, key_path, missing_value(key_path))
    validate_length(key_path, MAX_ENTITY_KEY_LENGTH, tag.key)
    value = "" if tag.value is None else str(tag.value)
    validate_text(value, _join_path(path, "value"))
    truncated = validate_length(_join_path(path, "value"), MAX_TAG_VAL_LENGTH, value, truncate=True)
    return tag if truncated == tag.value else RunTag(tag.key, truncated or "")


def validate_experiment_tag(tag: ExperimentTag) -> None:
    """Check an experiment tag: key rules, key <= 250 and value <= 20000 characters.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    validate_key_name(tag.key, "key", missing_value("key"))
    validate_length("key", MAX_EXPERIMENT_TAG_KEY_LENGTH, tag.key)
    validate_length("value", MAX_EXPERIMENT_TAG_VAL_LENGTH, tag.value)
    validate_text(tag.value, "value")


def validate_experiment_name(name: Any) -> None:
    """Check an experiment name: a non-empty string of at most 500 characters.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if name == "" or name is None:
        raise errors.invalid(f"Invalid experiment name: '{name}'")
    if not isinstance(name, str):
        raise errors.invalid(f"Invalid experiment name: {name}. Expects a string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise errors.invalid(exceeds_maximum_length("name", MAX_EXPERIMENT_NAME_LENGTH))
    validate_text(name, "name")


def validate_artifact_location(location: str | None) -> None:
    """Reject ``runs:/`` URIs as experiment artifact locations.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if location is not None and location.startswith("runs:"):
        raise errors.invalid(f"Artifact location cannot be a runs:/ URI. Given: '{location}'")


def validate_run_fields(
    user_id: str | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    run_name: str | None = None,
) -> None:
    """Check the plain fields of a run being created or updated: int64 times, no NUL in text.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    validate_int64(start_time, "start_time")
    validate_int64(end_time, "end_time")
    validate_text(user_id, "user_id")
    validate_text(run_name, "run_name")


def validate_run_id(run_id: Any, path: str = "run_id") -> None:
    """Check a run id against MLflow's pattern.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if not isinstance(run_id, str) or _RUN_ID_REGEX.match(run_id) is None:
        raise errors.invalid(invalid_value(path, run_id))


def validate_experiment_id(experiment_id: Any) -> None:
    """Check an experiment id against MLflow's pattern.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    if experiment_id is not None and (
        not isinstance(experiment_id, str) or _EXPERIMENT_ID_REGEX.match(experiment_id) is None
    ):
        raise errors.invalid(f"Invalid experiment ID: '{experiment_id}'")


def parse_experiment_id(experiment_id: Any) -> int:
    """Parse an experiment id (string or int) into the integer the SQL store keys on.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for anything that is not an integer.
    """
    if isinstance(experiment_id, bool):
        experiment_id = str(experiment_id)
    try:
        return int(experiment_id)
    except (ValueError, TypeError):
        raise errors.invalid(
            f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
        ) from None


def _validate_batch_limit(entity_name: str, limit: int, length: int) -> None:
    if length > limit:
        raise errors.invalid(
            f"A batch logging request can contain at most {limit} {entity_name}. "
            f"Got {length} {entity_name}. Please split up {entity_name} across multiple"
            " requests and try again."
        )


def validate_batch_limits(metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]) -> None:
    """Check log-batch sizes: <= 1000 metrics, 100 params, 100 tags and 1000 items in all.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    _validate_batch_limit("metrics", MAX_METRICS_PER_BATCH, len(metrics))
    _validate_batch_limit("params", MAX_PARAMS_TAGS_PER_BATCH, len(params))
    _validate_batch_limit("tags", MAX_PARAMS_TAGS_PER_BATCH, len(tags))
    _validate_batch_limit("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, len(metrics) + len(params) + len(tags))


def validate_param_keys_unique(params: Sequence[Param]) -> None:
    """Reject a batch that logs the same param key twice.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    seen: set[str] = set()
    dupes: list[str] = []
    for param in params:
        if param.key in seen:
            dupes.append(param.key)
        seen.add(param.key)
    if dupes:
        raise errors.invalid(
            f"Duplicate parameter keys have been submitted: {dupes}. Please ensure "
            "the request contains only one param value per param key."
        )


def validate_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> tuple[list[Param], list[RunTag]]:
    """Validate a whole log-batch in MLflow's order; return params and tags with long values truncated.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for the first problem found.
    """
    single = len(metrics) == 1 and not params and not tags
    for index, metric in enumerate(metrics):
        validate_metric(metric, "" if single else f"metrics[{index}]")
    checked_params = [validate_param(p, f"params[{i}]") for i, p in enumerate(params)]
    checked_tags = [validate_tag(t, f"tags[{i}]") for i, t in enumerate(tags)]
    validate_batch_limits(metrics, checked_params, checked_tags)
    validate_param_keys_unique(checked_params)
    return checked_params, checked_tags


def validate_dataset_inputs(inputs: Sequence[DatasetInput]) -> None:
    """Check datasets and input tags against MLflow's size limits (and for NUL characters).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE.
    """
    for item in inputs:
        ds = item.dataset
        if ds is None:
            raise errors.invalid("Dataset cannot be None")
        for field_name in ("name", "digest", "source_type", "source"):
            if getattr(ds, field_name) is None:
                raise errors.invalid(f"Dataset {field_name} cannot be None")
        limits = (
            ("name", ds.name, MAX_DATASET_NAME_SIZE),
            ("digest", ds.digest, MAX_DATASET_DIGEST_SIZE),
            ("source", ds.source, MAX_DATASET_SOURCE_SIZE),
            ("schema", ds.schema, MAX_DATASET_SCHEMA_SIZE),
            ("profile", ds.profile, MAX_DATASET_PROFILE_SIZE),
        )
        for field_name, value, limit in limits:
            if value is not None and len(value) > limit:
                raise errors.invalid(exceeds_maximum_length(field_name, limit))
            validate_text(value, field_name)
        validate_text(ds.source_type, "source_type")
        for tag in item.tags:
            if tag.key is None:
                raise errors.invalid("InputTag key cannot be None")
            if tag.value is None:
                raise errors.invalid("InputTag value cannot be None")
            validate_text(tag.key, "key")
            validate_text(tag.value, "value")
            if len(tag.key) > MAX_INPUT_TAG_KEY_SIZE:
                raise errors.invalid(exceeds_maximum_length("key", MAX_INPUT_TAG_KEY_SIZE))
            if len(tag.value) > MAX_INPUT_TAG_VALUE_SIZE:
                raise errors.invalid(exceeds_maximum_length("value", MAX_INPUT_TAG_VALUE_SIZE))
