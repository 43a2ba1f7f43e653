"""The fluent API's experiments: the active experiment, the client it logs through, experiment calls and search.

The active experiment is per process: :func:`set_experiment`, else ``$MLFLOW_EXPERIMENT_NAME`` /
``$MLFLOW_EXPERIMENT_ID`` (and their ``MLTRAIL_`` twins), else the Default experiment ("0"). The client is built
once per tracking URI and shared by every fluent call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mltrail import errors
from mltrail.entities import DEFAULT_EXPERIMENT_ID, Experiment, LifecycleStage, Run, ViewType
from mltrail.errors import RESOURCE_ALREADY_EXISTS, MltrailError
from mltrail.store.tracking.base import SEARCH_MAX_RESULTS_THRESHOLD
from mltrail.tracking._config import EXPERIMENT_ID_ENV, EXPERIMENT_NAME_ENV, env_value, get_tracking_uri
from mltrail.tracking.client import MltrailClient

if TYPE_CHECKING:
    import pandas

SEARCH_MAX_RESULTS_PANDAS = 100_000

_active_experiment_id: str | None = None
_client_cache: MltrailClient | None = None


def fluent_client() -> MltrailClient:
    """The client for the current tracking URI (built again when the URI changes)."""
    global _client_cache
    uri = get_tracking_uri()
    found = _client_cache
    if found is None or found.tracking_uri != uri:
        found = _client_cache = MltrailClient(uri)
    return found


def active_experiment_id() -> str | None:
    """The experiment made active with :func:`set_experiment`, or None."""
    return _active_experiment_id


def reset() -> None:
    """Forget the active experiment and the cached client."""
    global _active_experiment_id, _client_cache
    _active_experiment_id = None
    _client_cache = None


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the active one, creating it (by name) when it does not exist.

    Args:
        experiment_name: the experiment's name.
        experiment_id: or its id (exactly one of the two).

    Returns:
        The active experiment.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for both/neither argument or a deleted experiment;
            RESOURCE_DOES_NOT_EXIST for an unknown id.
    """
    global _active_experiment_id
    if (experiment_name is not None) == (experiment_id is not None):
        raise errors.invalid("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = fluent_client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        experiment = client.get_experiment_by_name(experiment_name) or _create_by_name(client, experiment_name)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise errors.invalid(
            f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. You can restore the "
            "experiment, or permanently delete the experiment to create a new one."
        )
    _active_experiment_id = experiment.experiment_id
    os.environ[EXPERIMENT_ID_ENV[0]] = experiment.experiment_id  # subprocesses inherit it, as with MLflow
    return experiment


def _create_by_name(client: MltrailClient, name: str) -> Experiment:
    try:
        return client.get_experiment(client.create_experiment(name))
    except MltrailError as exc:  # another process created it first
        if exc.error_code != RESOURCE_ALREADY_EXISTS:
            raise
        existing = client.get_experiment_by_name(name)
        if existing is None:
            raise
        return existing


def _experiment_id_from_env() -> str | None:
    name = env_value(EXPERIMENT_NAME_ENV)
    exp_id = env_value(EXPERIMENT_ID_ENV)
    client = fluent_client()
    if name is not None:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return client.create_experiment(name)
        if exp_id and exp_id != experiment.experiment_id:
            raise errors.invalid(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{exp_id}` does not match the "
                f"experiment id `{experiment.experiment_id}` for experiment name `{name}`"
            )
        return experiment.experiment_id
    if exp_id is not None:
        try:
            return client.get_experiment(exp_id).experiment_id
        except MltrailError as exc:
            raise errors.invalid(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{exp_id}` does not exist in the "
                "tracking store. Provide a valid experiment_id."
            ) from exc
    return None


def current_experiment_id() -> str:
    """The active experiment, else the environment's, else the Default experiment ("0")."""
    return _active_experiment_id or _experiment_id_from_env() or DEFAULT_EXPERIMENT_ID


def create_experiment(name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None) -> str:
    """Create an experiment and return its id. Raises RESOURCE_ALREADY_EXISTS for a taken name."""
    return fluent_client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """Return an experiment by id. Raises RESOURCE_DOES_NOT_EXIST."""
    return fluent_client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """Return the experiment with this name, or None."""
    return fluent_client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    """Soft-delete an experiment and its runs."""
    fluent_client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restore a soft-deleted experiment."""
    fluent_client().restore_experiment(experiment_id)


def search_experiments(
    view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Search experiments, following pages.

    Args:
        view_type: ACTIVE_ONLY, DELETED_ONLY or ALL.
        max_results: the most to return; all when None.
        filter_string: such as ``"name LIKE 'exp%'"``.
        order_by: such as ``["name ASC"]``.

    Returns:
        The matching experiments.
    """
    client = fluent_client()
    results: list[Experiment] = []
    token: str | None = None
    while True:
        page_size = SEARCH_MAX_RESULTS_THRESHOLD if max_results is None else min(max_results - len(results), 50_000)
        page = client.search_experiments(view_type, page_size, filter_string, order_by, token)
        results.extend(page)
        token = page.token
        if not token or (max_results is not None and len(results) >= max_results):
            return results


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: Sequence[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> list[Run] | pandas.DataFrame:
    """Search runs, following pages, as a pandas DataFrame (default) or a list of runs.

    Args:
        experiment_ids: the experiments; the active one when neither these nor names are given.
        filter_string: such as ``"metrics.loss < 2"``.
        run_view_type: ACTIVE_ONLY, DELETED_ONLY or ALL.
        max_results: the most runs to return.
        order_by: such as ``["metrics.loss DESC"]``.
        output_format: "pandas" (columns ``run_id, experiment_id, status, artifact_uri, start_time,
            end_time, metrics.*, params.*, tags.*``) or "list".
        search_all_experiments: search every active experiment when no ids or names are given.
        experiment_names: experiments by name (unknown names are skipped).

    Returns:
        A DataFrame or a list of :class:`~mltrail.entities.Run`.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for both ids and names, or an unknown output format.
    """
    if output_format not in ("pandas", "list"):
        raise errors.invalid(
            f"Unsupported output format: {output_format}. Supported string values are 'pandas' or 'list'"
        )
    client = fluent_client()
    if experiment_ids and experiment_names:
        raise errors.invalid("Only experiment_ids or experiment_names can be used, but not both")
    if experiment_names:
        found = [client.get_experiment_by_name(n) for n in experiment_names]
        ids = [e.experiment_id for e in found if e is not None]
    elif experiment_ids:
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else [str(i) for i in experiment_ids]
    elif search_all_experiments:
        ids = [e.experiment_id for e in search_experiments()]
    else:
        ids = [current_experiment_id()]
    runs: list[Run] = []
    token: str | None = None
    while ids and len(runs) < max_results:
        page_size = min(max_results - len(runs), SEARCH_MAX_RESULTS_THRESHOLD)
        page = client.search_runs(ids, filter_string, run_view_type, page_size, order_by, token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    from mltrail.tracking._runs_frame import runs_to_dataframe

    return runs_to_dataframe(runs)
