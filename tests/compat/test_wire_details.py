"""Wire details where mltrail once answered differently from MLflow 3.17.2 (issue 16), one case per difference.

Each expectation was taken from a real MLflow 3.17.2 server sent the same request; the official client makes the
calls it has, raw HTTP the rest (the UI's routes, MLflow's exact error messages).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import requests
from mlflow.entities import Metric

from tests.server.live import live_server

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
UPLOAD = f"{AJAX}/upload-artifact"
_HELP = " See the API docs for more information about request parameters."


def _error(response: requests.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": message}


# ------------------------------------------------------------------------------------------ empty tag values
def test_empty_tag_values_are_set(experiment_id: str, client: mlflow.MlflowClient, server_url: str) -> None:
    """Experiment, registered model and model version tags take "" (and a missing value) as MLflow does."""
    client.set_experiment_tag(experiment_id, "empty", "")
    assert client.get_experiment(experiment_id).tags["empty"] == ""

    name = f"empty-tags-{experiment_id}"
    client.create_registered_model(name)
    client.set_registered_model_tag(name, "empty", "")
    assert client.get_registered_model(name).tags == {"empty": ""}
    version = client.create_model_version(name, "s3://bucket/empty-tags").version
    client.set_model_version_tag(name, version, "empty", "")
    assert client.get_model_version(name, version).tags == {"empty": ""}

    for path, body in (
        ("experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "novalue"}),
        ("registered-models/set-tag", {"name": name, "key": "novalue"}),
        ("model-versions/set-tag", {"name": name, "version": version, "key": "novalue"}),
    ):
        response = requests.post(f"{server_url}{API}/{path}", json=body, timeout=30)
        assert (response.status_code, response.json()) == (200, {}), (path, response.text)
    assert client.get_experiment(experiment_id).tags["novalue"] == ""
    assert client.get_registered_model(name).tags["novalue"] == ""
    assert client.get_model_version(name, version).tags["novalue"] == ""


# -------------------------------------------------------------------------- the Default experiment's location
def test_default_experiment_uses_the_default_artifact_root(tmp_path: Path) -> None:
    """A new database's Default experiment (id 0) lies under ``--default-artifact-root``, like new experiments.

    MLflow creates the Default experiment once: a database that already has it keeps its stored location when a
    server starts on it with another root.
    """
    root = tmp_path / "root"
    with live_server(tmp_path, default_artifact_root=str(root)) as url:
        client = mlflow.MlflowClient(tracking_uri=url)
        assert client.get_experiment("0").artifact_location == str(root / "0")
        created = client.create_experiment("after-default")
        assert client.get_experiment(created).artifact_location == str(root / created)
    with live_server(tmp_path, default_artifact_root=str(tmp_path / "elsewhere")) as url:
        client = mlflow.MlflowClient(tracking_uri=url)
        assert client.get_experiment("0").artifact_location == str(root / "0")

    proxied = tmp_path / "proxied"
    proxied.mkdir()
    with live_server(proxied) as url:  # no root given: the artifact proxy's, as for every experiment
        assert mlflow.MlflowClient(tracking_uri=url).get_experiment("0").artifact_location == "mlflow-artifacts:/0"


# ----------------------------------------------------------------------------------------- bulk metric history
def test_metric_history_bulk_errors_in_mlflows_words(
    experiment_id: str, client: mlflow.MlflowClient, server_url: str
) -> None:
    """Both bulk endpoints refuse bad requests with MLflow's messages, each naming its own endpoint."""
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "m", 1.0, timestamp=1, step=0)
    bulk = f"{server_url}{AJAX}/metrics/get-history-bulk"
    interval = f"{server_url}{API}/metrics/get-history-bulk-interval"

    def get(url: str, **params: object) -> requests.Response:
        return requests.get(url, params=params, timeout=30)

    _error(get(bulk, metric_key="m"), 400, "GetMetricHistoryBulk request must specify at least one run_id.")
    _error(get(bulk, run_id=run_id), 400, "GetMetricHistoryBulk request must specify a metric_key.")
    _error(
        get(bulk, run_id=[run_id] * 101),
        400,
        "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.",
    )
    assert get(f"{server_url}{API}/metrics/get-history-bulk", run_id=run_id, metric_key="m").status_code == 404
    assert [m["value"] for m in get(bulk, run_id=run_id, metric_key="m").json()["metrics"]] == [1.0]

    _error(get(interval, metric_key="m"), 400, f"Missing value for required parameter 'run_ids'.{_HELP}")
    _error(get(interval, run_ids=run_id), 400, f"Missing value for required parameter 'metric_key'.{_HELP}")
    _error(
        get(interval, run_ids=[run_id] * 101),  # the count is checked before the metric key, as in MLflow
        400,
        f"GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 101 run_ids.{_HELP}",
    )
    for bad in (0, 2501):
        _error(
            get(interval, run_ids=run_id, metric_key="m", max_results=bad),
            400,
            f"max_results must be between 1 and 2500.{_HELP}",
        )
    _error(
        get(interval, run_ids=run_id, metric_key="m", start_step=5, end_step=1),
        400,
        "end_step must be greater than start_step. Found start_step=5 and end_step=1.",
    )
    _error(
        get(interval, run_ids=run_id, metric_key="m", start_step=5),
        400,
        "If either start step or end step are specified, both must be specified.",
    )


#: (step, value, timestamp): steps 2 and 4 hold two values each.
_POINTS = [(0, 1.0, 1), (1, 2.0, 2), (2, 3.0, 3), (2, 3.5, 4), (3, 4.0, 5), (4, 5.0, 6), (4, 5.5, 7), (5, 6.0, 8)]
#: MLflow 3.17.2's answers for ``_POINTS``, by ``max_results``: its SQL store samples the rows (ordered by step,
#: timestamp, value) into ``max_results`` even buckets, keeps each bucket's first row and always the last row.
_SAMPLED = {
    1: [(5, 6.0)],
    2: [(0, 1.0), (5, 6.0)],
    3: [(0, 1.0), (2, 3.5), (5, 6.0)],
    4: [(0, 1.0), (2, 3.0), (3, 4.0), (5, 6.0)],
    5: [(0, 1.0), (2, 3.0), (3, 4.0), (4, 5.5), (5, 6.0)],
    6: [(0, 1.0), (2, 3.0), (3, 4.0), (4, 5.0), (4, 5.5), (5, 6.0)],
    10: [(s, v) for s, v, _ in _POINTS],
}


def test_metric_history_bulk_interval_samples_as_mlflow(
    experiment_id: str, client: mlflow.MlflowClient, server_url: str
) -> None:
    """The interval endpoint returns MLflow's sample: first and last point, at most ``max_results`` per run,
    every value of a step when the cap allows (two values at one step: both), and each run sampled on its own."""
    run_id = client.create_run(experiment_id).info.run_id
    other = client.create_run(experiment_id).info.run_id
    client.log_batch(run_id, metrics=[Metric("m", v, t, s) for s, v, t in _POINTS], synchronous=True)
    client.log_batch(other, metrics=[Metric("m", float(s), s, s) for s in range(10)], synchronous=True)

    def sample(runs: list[str], max_results: int, **steps: int) -> list[tuple[str, int, float]]:
        params = {"run_ids": runs, "metric_key": "m", "max_results": max_results, **steps}
        response = requests.get(f"{server_url}{API}/metrics/get-history-bulk-interval", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return [(m["run_id"], m["step"], m["value"]) for m in response.json()["metrics"]]

    # The official client has no call for this endpoint: its RestStore samples the full history client-side.
    for max_results, expected in _SAMPLED.items():
        assert sample([run_id], max_results) == [(run_id, s, v) for s, v in expected], max_results
    assert sample([run_id], 2, start_step=1, end_step=4) == [(run_id, 1, 2.0), (run_id, 4, 5.5)]
    assert [(r, s) for r, s, _ in sample([run_id, other], 3)] == [
        *((run_id, s) for s in (0, 2, 5)),
        *((other, s) for s in (0, 4, 9)),  # NTILE(3) of 10 rows: buckets of 4, 3, 3; then the last
    ]


# --------------------------------------------------------------------------------------- the UI's upload route
def test_ui_upload_artifact(experiment_id: str, client: mlflow.MlflowClient, server_url: str, tmp_path: Path) -> None:
    """``POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=`` stores the raw body as one run artifact,
    with MLflow's checks and messages (and 400 where MLflow fails with a 500)."""
    run_id = client.create_run(experiment_id).info.run_id

    def upload(body: bytes | Iterator[bytes] = b"x", **params: str) -> requests.Response:
        headers = {"Content-Type": "application/json"}  # what MLflow's UI sends
        return requests.post(server_url + UPLOAD, params=params, data=body, headers=headers, timeout=60)

    stored = upload(b'{"a": 1}', run_uuid=run_id, path="notes/a.json")
    assert (stored.status_code, stored.content) == (200, b"")
    assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/a.json"]
    local = client.download_artifacts(run_id, "notes/a.json", str(tmp_path))
    assert Path(local).read_bytes() == b'{"a": 1}'
    assert upload(b"second", run_uuid=run_id, path="notes/a.json").status_code == 200  # replaces it
    assert Path(client.download_artifacts(run_id, "notes/a.json", str(tmp_path / "2"))).read_bytes() == b"second"

    _error(upload(path="a.txt"), 400, "Request must specify run_uuid.")
    _error(upload(run_uuid=run_id), 400, "Request must specify path.")
    _error(upload(b"", run_uuid=run_id, path="b.txt"), 400, "Request must specify data.")
    for bad in ("../x.txt", "a/../../x.txt", "/etc/x.txt", "file:///etc/x", "%2E%2E/x", "a#b"):
        _error(upload(run_uuid=run_id, path=bad), 400, "Invalid path")
    for root in (".", "d/"):  # MLflow: 500
        response = upload(run_uuid=run_id, path=root)
        assert response.status_code == 400 and response.json()["message"].startswith("Invalid path"), root
    big = upload(b"x" * (10 * 1024 * 1024 + 1), run_uuid=run_id, path="big.bin")
    _error(big, 400, "Artifact size is too large. Max size is 10MB.")
    chunked = upload(iter([b"x" * 1024 * 1024] * 11), run_uuid=run_id, path="big.bin")  # no Content-Length
    _error(chunked, 400, "Artifact size is too large. Max size is 10MB.")
    missing = upload(run_uuid="0123456789abcdef0123456789abcdef", path="x.txt")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert [f.path for f in client.list_artifacts(run_id)] == ["notes"]

    assert (
        requests.post(
            server_url + API + "/upload-artifact", params={"run_uuid": run_id, "path": "c"}, data=b"x", timeout=30
        ).status_code
        == 404
    )  # the UI's route only, as in MLflow
    assert upload(b"x" * (10 * 1024 * 1024), run_uuid=run_id, path="ten.bin").status_code == 200
