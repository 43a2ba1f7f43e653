"""``GET /api/2.0/mltrail/metrics/get-history-downsampled`` against a live server (and the REST store's default)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mltrail.store.tracking.rest import RestTrackingStore

PATH = "/metrics/get-history-downsampled"


@pytest.fixture(scope="module")
def http(live_url: str) -> Iterator[httpx.Client]:
    """One client for the module (the logged run below is module-scoped too)."""
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def run_id(http: httpx.Client) -> str:
    exp = http.post("/api/2.0/mlflow/experiments/create", json={"name": "ds"}).json()["experiment_id"]
    run = http.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp, "start_time": 1}).json()
    rid = run["run"]["info"]["run_id"]
    for k in range(0, 2000, 1000):
        metrics = [
            {"key": "loss", "value": 100.0 if i == 1377 else (i % 7) / 10, "timestamp": 5 + i, "step": i}
            for i in range(k, k + 1000)
        ]
        assert http.post("/api/2.0/mlflow/runs/log-batch", json={"run_id": rid, "metrics": metrics}).status_code == 200
    return rid


@pytest.mark.parametrize("prefix", ["/api/2.0/mltrail", "/ajax-api/2.0/mltrail"])
def test_happy_path(http: httpx.Client, run_id: str, prefix: str) -> None:
    response = http.get(prefix + PATH, params={"run_ids": [run_id], "metric_key": "loss", "max_points": 80})
    assert response.status_code == 200
    points = response.json()["metrics"]
    assert 0 < len(points) <= 80
    assert points[0]["step"] == 0 and points[-1]["step"] == 1999
    assert {"key": "loss", "value": 100.0, "timestamp": 1382, "step": 1377, "run_id": run_id} in points
    ranged = http.get(
        prefix + PATH, params={"run_ids": [run_id], "metric_key": "loss", "start_step": 10, "end_step": 20}
    ).json()["metrics"]
    assert [p["step"] for p in ranged] == list(range(10, 21))
    assert http.get(prefix + PATH, params={"run_ids": [run_id], "metric_key": "nope"}).json() == {}


def test_default_max_points(http: httpx.Client, run_id: str) -> None:
    points = http.get("/api/2.0/mltrail" + PATH, params={"run_ids": [run_id], "metric_key": "loss"}).json()["metrics"]
    assert len(points) <= 1000 and any(p["value"] == 100.0 for p in points)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"run_ids": ["x"]}, "metric_key"),
        ({"metric_key": "loss", "run_ids": None}, "run_ids"),
        ({"metric_key": "loss", "run_ids": [f"r{i}" for i in range(101)]}, "more than 100 run_ids"),
        ({"metric_key": "loss", "max_points": 3}, "max_points must be between 4 and 5000"),
        ({"metric_key": "loss", "max_points": 5001}, "max_points must be between 4 and 5000"),
        ({"metric_key": "loss", "max_points": "many"}, "max_points"),
        ({"metric_key": "loss", "start_step": 9, "end_step": 3}, "end_step must be greater than start_step"),
        ({"metric_key": "loss", "start_step": "one"}, "start_step"),
    ],
)
def test_validation_errors(http: httpx.Client, run_id: str, params: dict, message: str) -> None:
    params = {k: v for k, v in {"run_ids": [run_id], **params}.items() if v is not None}
    response = http.get("/api/2.0/mltrail" + PATH, params=params)
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in body["message"]


def test_unknown_run_is_404(http: httpx.Client, run_id: str) -> None:
    response = http.get("/api/2.0/mltrail" + PATH, params={"run_ids": [run_id, "f" * 32], "metric_key": "loss"})
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_rest_store_default_matches_the_endpoint(http: httpx.Client, live_url: str, run_id: str) -> None:
    wire = http.get("/api/2.0/mltrail" + PATH, params={"run_ids": [run_id], "metric_key": "loss", "max_points": 60})
    points = RestTrackingStore(live_url).get_metric_history_downsampled([run_id], "loss", max_points=60)
    assert [m.to_dict() for m in points] == wire.json()["metrics"]
