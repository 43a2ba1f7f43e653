"""Compare chart in Chromium: the series come from the peak-preserving downsampled endpoint, so a one-step spike
in 10,000 steps is plotted (MLflow's evenly spaced steps would skip it)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import _call
from tests.server.live import live_server

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect

STEPS, SPIKE_STEP, SPIKE = 10_000, 7_777, 1_000.0


@pytest.fixture(scope="module")
def spiky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """Its own server (the shared seed stays as it is): two runs of 10,000 steps, one with a single spike."""
    with live_server(tmp_path_factory.mktemp("spiky")) as base:
        exp = _call(base, "experiments/create", {"name": "spiky"})["experiment_id"]
        run_ids = []
        for r in range(2):
            run_id = _call(base, "runs/create", {"experiment_id": exp, "run_name": f"spiky-{r}", "start_time": 1})[
                "run"
            ]["info"]["run_id"]
            values = [0.5 + 0.1 * ((s * 37) % 11) / 11 for s in range(STEPS)]
            if r == 0:
                values[SPIKE_STEP] = SPIKE
            for k in range(0, STEPS, 1000):
                metrics = [
                    {"key": "loss", "value": values[s], "timestamp": 1_700_000_000_000 + s, "step": s}
                    for s in range(k, k + 1000)
                ]
                _call(base, "runs/log-batch", {"run_id": run_id, "metrics": metrics})
            run_ids.append(run_id)
        yield base, run_ids


def _bulk_interval_max(base: str, run_id: str) -> float:
    query = f"run_ids={run_id}&metric_key=loss&max_results=1000"
    url = f"{base}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?{query}"
    with urllib.request.urlopen(url) as res:
        return max(m["value"] for m in json.load(res)["metrics"])


def test_compare_chart_plots_the_spike(page: Any, spiky: tuple[str, list[str]], tmp_path: Path) -> None:
    base, run_ids = spiky
    # The premise: MLflow's evenly spaced steps (the endpoint the UI used before) miss the spike.
    assert _bulk_interval_max(base, run_ids[0]) < SPIKE
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    with page.expect_response(lambda res: "metrics/get-history-downsampled" in res.url) as info:
        page.goto(f"{base}/#/compare?runs={','.join(run_ids)}")
    response = info.value
    assert response.status == 200
    assert len(response.json()["metrics"]) <= 2 * 1000
    chart = page.locator(".chart")
    expect(chart).to_have_attribute("data-y-max", re.compile(r"^-?[0-9][0-9.e+-]*$"))
    assert float(chart.get_attribute("data-y-max")) >= SPIKE
    expect(page.locator(".chart .u-legend .u-series")).to_have_count(3)  # x + 2 runs
    assert not [u for u in requests if "get-history-bulk-interval" in u]
