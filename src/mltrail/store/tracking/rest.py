"""The REST tracking store: the :class:`TrackingStore` interface over an MLflow-compatible server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mltrail.entities import (
    DatasetInput,
    DatasetSummary,
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.http import HttpClient, drop_none, key_value_dicts
from mltrail.store.tracking.base import (
    SEARCH_MAX_RESULTS_DEFAULT,
    DeletedExperiment,
    DeletedRun,
    LoggedModelOrderBy,
    TrackingStore,
)

API = "/api/2.0/mlflow"
EXT = "/api/2.0/mltrail"


def _metric_body(m: Metric) -> dict[str, Any]:
    body = m.to_dict()
    body.pop("run_id", None)
    body.setdefault("step", 0)
    return body


class RestTrackingStore(TrackingStore):
    """Talks to ``mltrail server`` or ``mlflow server`` over MLflow's REST API.

    Args:
        base_url: the server root, e.g. ``http://127.0.0.1:5000``.
        client: an :class:`HttpClient` to share (one is created when omitted).
    """

    def __init__(self, base_url: str, client: HttpClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = client or HttpClient(self.base_url)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, idempotent: bool = False) -> Any:
        return self.http.call(method, API + path, body, idempotent=idempotent)

    # ----------------------------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] | None = None
    ) -> str:
        """Create an experiment and return its id."""
        body: dict[str, Any] = {"name": name, "tags": key_value_dicts(tags)}
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self._call("POST", "/experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id."""
        return Experiment.from_dict(
            self._call("GET", "/experiments/get", {"experiment_id": experiment_id})["experiment"]
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name, or None."""
        try:
            data = self._call("GET", "/experiments/get-by-name", {"experiment_name": name})
        except MltrailError as error:
            if error.error_code == RESOURCE_DOES_NOT_EXIST:
                return None
            raise
        return Experiment.from_dict(data["experiment"])

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments; one page at a time."""
        body = {
            "view_type": ViewType.parse(view_type).value,
            "max_results": max_results,
            "filter": filter_string,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        data = self._call("POST", "/experiments/search", drop_none(body), idempotent=True)
        return PagedList([Experiment.from_dict(e) for e in data.get("experiments", [])], data.get("next_page_token"))

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment."""
        self._call("POST", "/experiments/delete", {"experiment_id": experiment_id}, idempotent=True)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a soft-deleted experiment."""
        self._call("POST", "/experiments/restore", {"experiment_id": experiment_id}, idempotent=True)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment."""
        body = {"experiment_id": experiment_id, "new_name": new_name}
        self._call("POST", "/experiments/update", body, idempotent=True)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set a tag on an experiment."""
        body = {"experiment_id": experiment_id, "key": tag.key, "value": tag.value}
        self._call("POST", "/experiments/set-experiment-tag", body, idempotent=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete a tag from an experiment."""
        self._call("POST", "/experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": key})

    # ------------------------------------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        """Create a run."""
        body = {
            "experiment_id": experiment_id,
            "user_id": user_id,
            "start_time": start_time,
            "tags": key_value_dicts(tags),
            "run_name": run_name,
        }
        return Run.from_dict(self._call("POST", "/runs/create", drop_none(body))["run"])

    def get_run(self, run_id: str) -> Run:
        """Return a run with its data."""
        return Run.from_dict(self._call("GET", "/runs/get", {"run_id": run_id})["run"])

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Apply the given fields to a run."""
        body = {
            "run_id": run_id,
            "status": RunStatus.parse(run_status).value if run_status is not None else None,
            "end_time": end_time,
            "run_name": run_name,
        }
        return RunInfo.from_dict(self._call("POST", "/runs/update", drop_none(body), idempotent=True)["run_info"])

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._call("POST", "/runs/delete", {"run_id": run_id}, idempotent=True)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._call("POST", "/runs/restore", {"run_id": run_id}, idempotent=True)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags in one request."""
        body = {
            "run_id": run_id,
            "metrics": [_metric_body(m) for m in metrics],
            "params": key_value_dicts(params),
            "tags": key_value_dicts(tags),
        }
        self._call("POST", "/runs/log-batch", body)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point."""
        self._call("POST", "/runs/log-metric", {"run_id": run_id, **_metric_body(metric)})

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param (same value again is harmless, so it is retried)."""
        body = {"run_id": run_id, "key": param.key, "value": param.value}
        self._call("POST", "/runs/log-parameter", body, idempotent=True)

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set one tag."""
        self._call("POST", "/runs/set-tag", {"run_id": run_id, "key": tag.key, "value": tag.value}, idempotent=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag from a run."""
        self._call("POST", "/runs/delete-tag", {"run_id": run_id, "key": key})

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        """Every point of a metric; all pages unless ``max_results`` is given."""
        points: list[Metric] = []
        token = page_token
        while True:
            body = {
                "run_id": run_id,
                "metric_key": metric_key,
                "max_results": 25000 if max_results is None else max_results,
                "page_token": token,
            }
            data = self._call("GET", "/metrics/get-history", drop_none(body))
            points.extend(Metric.from_dict({**m, "run_id": m.get("run_id", run_id)}) for m in data.get("metrics", []))
            token = data.get("next_page_token")
            if not token or max_results is not None:
                return PagedList(points, token if max_results is not None else None)

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_results: int = 2500,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """Evenly sampled points per run."""
        body = {
            "run_ids": list(run_ids),
            "metric_key": metric_key,
            "max_results": max_results,
            "start_step": start_step,
            "end_step": end_step,
        }
        data = self._call("GET", "/metrics/get-history-bulk-interval", drop_none(body))
        return [Metric.from_dict(m) for m in data.get("metrics", [])]

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Search runs; one page at a time."""
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter_string,
            "run_view_type": ViewType.parse(run_view_type).value,
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        data = self._call("POST", "/runs/search", drop_none(body), idempotent=True)
        return PagedList([Run.from_dict(r) for r in data.get("runs", [])], data.get("next_page_token"))

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record the datasets and models a run used."""
        body = {
            "run_id": run_id,
            "datasets": [d.to_dict() for d in datasets or []],
            "models": [m.to_dict() for m in models or []],
        }
        self._call("POST", "/runs/log-inputs", body, idempotent=True)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record the logged models a run produced."""
        self._call("POST", "/runs/outputs", {"run_id": run_id, "models": [m.to_dict() for m in models]})

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """Datasets used by runs of these experiments."""
        data = self._call("POST", "/experiments/search-datasets", {"experiment_ids": list(experiment_ids)})
        return [
            DatasetSummary(str(d["experiment_id"]), d["name"], d["digest"], d.get("context"))
            for d in data.get("dataset_summaries", [])
        ]

    # --------------------------------------------------------------------------- beyond MLflow: gc, move
    def move_runs(self, run_ids: Sequence[str], experiment_id: str) -> None:
        """Move runs to another experiment (mltrail servers only)."""
        self.http.call("POST", EXT + "/runs/move", {"run_ids": list(run_ids), "experiment_id": experiment_id})

    def list_deleted_runs(
        self, older_than_ms: int | None = None, experiment_ids: Sequence[str] | None = None
    ) -> list[DeletedRun]:
        """Soft-deleted runs (mltrail servers only)."""
        body = drop_none({"older_than_ms": older_than_ms, "experiment_ids": list(experiment_ids or []) or None})
        data = self.http.call("GET", EXT + "/runs/list-deleted", body)
        return [
            DeletedRun(r["run_id"], str(r["experiment_id"]), r["artifact_uri"], r.get("deleted_time"))
            for r in data.get("runs", [])
        ]

    def list_deleted_experiments(self, older_than_ms: int | None = None) -> list[DeletedExperiment]:
        """Soft-deleted experiments (mltrail servers only)."""
        data = self.http.call("GET", EXT + "/experiments/list-deleted", drop_none({"older_than_ms": older_than_ms}))
        return [
            DeletedExperiment(str(e["experiment_id"]), e["artifact_location"], e.get("deleted_time"))
            for e in data.get("experiments", [])
        ]

    def purge_run(self, run_id: str) -> None:
        """Permanently delete a soft-deleted run's rows (mltrail servers only)."""
        self.http.call("POST", EXT + "/runs/purge", {"run_id": run_id}, idempotent=True)

    def purge_experiment(self, experiment_id: str) -> None:
        """Permanently delete a soft-deleted, empty experiment (mltrail servers only)."""
        self.http.call("POST", EXT + "/experiments/purge", {"experiment_id": experiment_id}, idempotent=True)

    # ---------------------------------------------------------------------------------- logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[RunTag] | None = None,
        params: Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a logged model."""
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": source_run_id,
            "tags": key_value_dicts(tags),
            "params": key_value_dicts(params),
            "model_type": model_type,
        }
        return LoggedModel.from_dict(self._call("POST", "/logged-models", drop_none(body))["model"])

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """Return a logged model."""
        body = {"allow_deleted": True} if allow_deleted else None
        return LoggedModel.from_dict(self._call("GET", f"/logged-models/{model_id}", body)["model"])

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's status."""
        body = {"model_id": model_id, "status": LoggedModelStatus.parse(status).value}
        return LoggedModel.from_dict(self._call("PATCH", f"/logged-models/{model_id}", body, idempotent=True)["model"])

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""
        self._call("DELETE", f"/logged-models/{model_id}", idempotent=True)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, str]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrderBy] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Search logged models."""
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter_string,
            "datasets": list(datasets or []),
            "max_results": max_results,
            "order_by": [drop_none(_order(o)) for o in order_by or []],
            "page_token": page_token,
        }
        data = self._call("POST", "/logged-models/search", drop_none(body), idempotent=True)
        return PagedList([LoggedModel.from_dict(m) for m in data.get("models", [])], data.get("next_page_token"))

    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None:
        """Set tags on a logged model."""
        self._call("PATCH", f"/logged-models/{model_id}/tags", {"tags": key_value_dicts(tags)}, idempotent=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Delete a tag from a logged model."""
        from urllib.parse import quote

        self._call("DELETE", f"/logged-models/{model_id}/tags/{quote(key, safe='')}")

    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        """Add params to a logged model, 100 per request."""
        items = list(params)
        for start in range(0, len(items), 100):
            body = {"model_id": model_id, "params": key_value_dicts(items[start : start + 100])}
            self._call("POST", f"/logged-models/{model_id}/params", body, idempotent=True)


def _order(o: LoggedModelOrderBy) -> dict[str, Any]:
    return {
        "field_name": o.field_name,
        "ascending": o.ascending,
        "dataset_name": o.dataset_name,
        "dataset_digest": o.dataset_digest,
    }
