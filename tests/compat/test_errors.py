"""Error codes the official client sees from mltrail, and that they arrive at once (4xx, never retried 5xx).

The client retries 408/429/5xx up to 7 times with exponential backoff, so a user error answered with a 5xx would
take minutes; every case here must come back in under two seconds with the right ``error_code``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import mlflow
import pytest
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException, RestException

FAST_SECONDS = 2.0
_MISSING_RUN = "0123456789abcdef0123456789abcdef"


def _raises(error_code: str, call: Callable[[], Any]) -> MlflowException:
    """Run ``call``; it must raise ``error_code`` within :data:`FAST_SECONDS`.

    The client re-raises some REST errors as a plain ``MlflowException`` with the same code (e.g. a changed param
    in ``log_batch``), so both are accepted.
    """
    started = time.monotonic()
    with pytest.raises(MlflowException) as info:
        call()
    elapsed = time.monotonic() - started
    assert info.value.error_code == error_code, info.value.message
    assert elapsed < FAST_SECONDS, f"{error_code} took {elapsed:.2f}s: retried as a server error?"
    return info.value


def test_unknown_run(client: mlflow.MlflowClient) -> None:
    """An unknown run id is RESOURCE_DOES_NOT_EXIST for reads and writes alike."""
    error = _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.get_run(_MISSING_RUN))
    assert isinstance(error, RestException)
    assert _MISSING_RUN in error.message
    assert error.get_http_status_code() == 404
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.log_param(_MISSING_RUN, "k", "v"))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.log_metric(_MISSING_RUN, "m", 1.0))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.set_terminated(_MISSING_RUN))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.delete_run(_MISSING_RUN))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: mlflow.start_run(run_id=_MISSING_RUN))


def test_unknown_experiment_and_model(client: mlflow.MlflowClient) -> None:
    """Unknown experiments and logged models are RESOURCE_DOES_NOT_EXIST."""
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.get_experiment("987654321"))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.create_run("987654321"))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.get_logged_model("m-0123456789abcdef0123456789abcdef"))


def test_duplicate_experiment(experiment_name: str, client: mlflow.MlflowClient) -> None:
    """Creating an experiment whose name exists is RESOURCE_ALREADY_EXISTS (HTTP 400, like MLflow)."""
    client.create_experiment(experiment_name)
    error = _raises("RESOURCE_ALREADY_EXISTS", lambda: client.create_experiment(experiment_name))
    assert experiment_name in error.message
    other = client.create_experiment(f"{experiment_name}-2")
    _raises("RESOURCE_ALREADY_EXISTS", lambda: client.rename_experiment(other, experiment_name))
    client.delete_experiment(other)
    _raises("RESOURCE_ALREADY_EXISTS", lambda: client.create_experiment(f"{experiment_name}-2"))  # deleted names stay
    # MLflow's code for this is INVALID_STATE, which it sends as a 500 that the client retries for minutes.
    state_error = _raises("INVALID_STATE", lambda: client.rename_experiment(other, f"{experiment_name}-3"))
    assert "non-active" in state_error.message
    _raises("INVALID_PARAMETER_VALUE", lambda: client.create_run(other))
    _raises("RESOURCE_DOES_NOT_EXIST", lambda: client.delete_experiment(other))


def test_changing_a_param(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Logging a different value for an existing param is INVALID_PARAMETER_VALUE; the same value is fine."""
    with mlflow.start_run() as run:
        mlflow.log_param("lr", "0.1")
        mlflow.log_param("lr", "0.1")
        error = _raises("INVALID_PARAMETER_VALUE", lambda: mlflow.log_param("lr", "0.2"))
        assert "Changing param values is not allowed" in error.message
        _raises("INVALID_PARAMETER_VALUE", lambda: mlflow.log_params({"lr": "0.3", "new": "1"}))
    # The failed batch was all or nothing.
    assert client.get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_writes_to_a_deleted_run_and_bad_requests(experiment_id: str, client: mlflow.MlflowClient) -> None:
    """Writes to a deleted run, bad search input and oversized batches are INVALID_PARAMETER_VALUE."""
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    _raises("INVALID_PARAMETER_VALUE", lambda: client.log_metric(run_id, "m", 1.0))
    _raises("INVALID_PARAMETER_VALUE", lambda: client.set_tag(run_id, "k", "v"))

    _raises("INVALID_PARAMETER_VALUE", lambda: client.search_runs([experiment_id], filter_string="nonsense ~ 3"))
    _raises("INVALID_PARAMETER_VALUE", lambda: client.search_runs([experiment_id], order_by=["metrics.x SIDEWAYS"]))
    _raises("INVALID_PARAMETER_VALUE", lambda: client.search_runs([experiment_id], page_token="not-a-token"))
    _raises("INVALID_PARAMETER_VALUE", lambda: client.search_experiments(filter_string="name === 'x'"))

    live = client.create_run(experiment_id).info.run_id
    too_many = [Metric("m", float(i), 0, i) for i in range(1001)]
    store = client._tracking_client.store  # the REST store sends one request, so the server's limit applies
    _raises("INVALID_PARAMETER_VALUE", lambda: store.log_batch(live, metrics=too_many, params=[], tags=[]))
