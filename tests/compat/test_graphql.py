"""``POST /graphql`` as MLflow 3.17.2 serves it, with the data logged by the official client.

The queries are the shapes MLflow's web UI sends (``mlflowGetRun`` with its run page's fields, ``mlflowSearchRuns``
with ``experiment``, ``mlflowListArtifacts``, ``mlflowGetMetricHistoryBulkInterval``, ``mlflowSearchDatasets``) with
the ``@component`` directive it adds. The last test sends the same requests to a real MLflow 3.17.2 server started
from ``bench/.venv-mlflow`` and compares the answers; it is skipped where that environment is absent (CI).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest

from tests.server.live import free_port

GET_RUN = """
query MlflowGetRunQuery($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetRun(input: $data) {
    apiError { helpUrl code message }
    run {
      info { runName status runUuid runId experimentId artifactUri endTime lifecycleStage startTime userId }
      experiment { experimentId name tags { key value } artifactLocation lifecycleStage lastUpdateTime creationTime }
      modelVersions { status version name source runId }
      data {
        metrics { key value step timestamp datasetName datasetDigest modelId runId }
        params { key value }
        tags { key value }
      }
      inputs {
        datasetInputs { dataset { digest name profile schema source sourceType } tags { key value } }
        modelInputs { modelId }
      }
      outputs { modelOutputs { modelId step } }
    }
  }
}
"""
GET_EXPERIMENT = """
query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetExperiment(input: $input) {
    apiError { code message }
    experiment {
      experimentId name artifactLocation lifecycleStage lastUpdateTime creationTime tags { key value }
      workspace effectiveTraceArchivalRetention
    }
  }
}
"""
SEARCH_RUNS = """
mutation SearchRuns($data: MlflowSearchRunsInput) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowSearchRuns(input: $data) {
    apiError { code message }
    nextPageToken
    runs {
      info { runId runName status }
      data { metrics { key value step } params { key value } }
      experiment { experimentId name }
    }
  }
}
"""
LIST_ARTIFACTS = """
query ListArtifacts($input: MlflowListArtifactsInput) {
  mlflowListArtifacts(input: $input) { rootUri nextPageToken files { path isDir fileSize } }
}
"""
INTERVAL = """
query Interval($input: MlflowGetMetricHistoryBulkIntervalInput) {
  mlflowGetMetricHistoryBulkInterval(input: $input) { apiError { code } metrics { key value step timestamp runId } }
}
"""
SEARCH_DATASETS = """
mutation SearchDatasets($input: MlflowSearchDatasetsInput) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowSearchDatasets(input: $input) { datasetSummaries { experimentId name digest context } }
}
"""


#: Eleven aliased root fields (MLflow allows ten), a selection eleven levels deep (MLflow allows ten).
ELEVEN_ROOT_FIELDS = "{ " + " ".join(f"a{i}: __typename" for i in range(11)) + " }"
ELEVEN_DEEP = "{ __schema { types { fields { type " + "{ ofType " * 6 + "{ name }" + " }" * 10


def graphql(url: str, body: Any, status: int = 200) -> Any:
    """POST ``body`` to ``url``'s ``/graphql`` and return the decoded answer."""
    response = httpx.post(f"{url}/graphql", json=body, timeout=60)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def seed(client: mlflow.MlflowClient, experiment_name: str, folder: Path) -> dict[str, str]:
    """An experiment with one finished run: a param, tags, metrics (two values at one step, NaN, +Inf), two
    artifacts (one in a folder), a dataset input, and a second run that is still running."""
    import pandas as pd

    experiment_id = client.create_experiment(experiment_name, tags={"team": "ml"})
    run_id = client.create_run(experiment_id, run_name="first", tags={"k": "v"}).info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "loss", 1.5, step=0, timestamp=1000)
    client.log_metric(run_id, "loss", 2.5, step=1, timestamp=2000)
    client.log_metric(run_id, "loss", 2.75, step=1, timestamp=2001)
    client.log_metric(run_id, "nan_metric", math.nan, step=0, timestamp=1000)
    client.log_metric(run_id, "inf_metric", math.inf, step=0, timestamp=1000)
    (folder / "a.txt").write_text("hello")
    client.log_artifact(run_id, str(folder / "a.txt"))
    client.log_artifact(run_id, str(folder / "a.txt"), "sub")
    dataset = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="train-set")
    client.log_inputs(
        run_id,
        [
            mlflow.entities.DatasetInput(
                dataset._to_mlflow_entity(), [mlflow.entities.InputTag("mlflow.data.context", "training")]
            )
        ],
    )
    client.set_terminated(run_id, end_time=5000)
    running = client.create_run(experiment_id, run_name="second").info.run_id
    return {"experiment_id": experiment_id, "run_id": run_id, "running": running}


@pytest.fixture
def seeded(client: mlflow.MlflowClient, experiment_name: str, tmp_path: Path) -> dict[str, str]:
    return seed(client, experiment_name, tmp_path)


def test_get_run_answers_the_run_page_query(server_url: str, seeded: dict[str, str]) -> None:
    answer = graphql(
        server_url,
        {"query": GET_RUN, "variables": {"data": {"runId": seeded["run_id"]}}, "operationName": "MlflowGetRunQuery"},
    )
    assert answer["errors"] is None
    result = answer["data"]["mlflowGetRun"]
    assert result["apiError"] is None
    run = result["run"]
    info = run["info"]
    assert info["runId"] == info["runUuid"] == seeded["run_id"]
    assert (info["runName"], info["status"], info["experimentId"]) == ("first", "FINISHED", seeded["experiment_id"])
    assert info["endTime"] == "5000" and isinstance(info["startTime"], str)  # int64 as LongString
    assert info["artifactUri"].endswith(f"{seeded['run_id']}/artifacts")
    assert run["experiment"]["experimentId"] == seeded["experiment_id"]
    assert run["experiment"]["tags"] == [{"key": "team", "value": "ml"}]
    assert run["modelVersions"] == []
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"] == {
        "key": "loss", "value": 2.75, "step": "1", "timestamp": "2001",
        "datasetName": "", "datasetDigest": "", "modelId": "", "runId": "",
    }  # fmt: skip
    assert metrics["nan_metric"]["value"] is None  # MLflow's MlflowMetricExtension: NaN is null
    assert metrics["inf_metric"]["value"] == 1.7976931348623157e308  # what MLflow's store keeps for +Inf
    assert run["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    assert {"key": "k", "value": "v"} in run["data"]["tags"]
    (dataset_input,) = run["inputs"]["datasetInputs"]
    assert dataset_input["dataset"]["name"] == "train-set" and dataset_input["dataset"]["sourceType"]
    assert dataset_input["tags"] == [{"key": "mlflow.data.context", "value": "training"}]
    assert run["inputs"]["modelInputs"] == [] and run["outputs"] == {"modelOutputs": []}


def test_unset_fields_read_as_mlflows_defaults(server_url: str, seeded: dict[str, str]) -> None:
    query = "query Q($id: String) { mlflowGetRun(input: {runId: $id}) { run { info { status endTime } data { metrics { key } params { key } } inputs { datasetInputs { tags { key } } modelInputs { modelId } } } } }"  # noqa: E501
    run = graphql(server_url, {"query": query, "variables": {"id": seeded["running"]}})["data"]["mlflowGetRun"]["run"]
    assert run == {
        "info": {"status": "RUNNING", "endTime": "0"},
        "data": {"metrics": [], "params": []},
        "inputs": {"datasetInputs": [], "modelInputs": []},
    }


def test_get_experiment(server_url: str, seeded: dict[str, str], experiment_name: str) -> None:
    answer = graphql(
        server_url, {"query": GET_EXPERIMENT, "variables": {"input": {"experimentId": seeded["experiment_id"]}}}
    )
    experiment = answer["data"]["mlflowGetExperiment"]["experiment"]
    assert answer["errors"] is None and answer["data"]["mlflowGetExperiment"]["apiError"] is None
    assert experiment["name"] == experiment_name and experiment["lifecycleStage"] == "active"
    assert experiment["tags"] == [{"key": "team", "value": "ml"}]
    assert experiment["workspace"] == "default" and experiment["effectiveTraceArchivalRetention"] == ""
    assert experiment["creationTime"].isdigit()
    missing = graphql(server_url, {"query": GET_EXPERIMENT, "variables": {"input": {"experimentId": "987654321"}}})
    assert missing["data"] == {"mlflowGetExperiment": None}
    assert missing["errors"] == ["No Experiment with id=987654321 exists"]


def test_search_runs_with_a_filter_as_query_and_mutation(server_url: str, seeded: dict[str, str]) -> None:
    search = {"experimentIds": [seeded["experiment_id"]], "filter": "metrics.loss > 2", "maxResults": 10}
    answer = graphql(server_url, {"query": SEARCH_RUNS, "variables": {"data": search}})
    assert answer["errors"] is None
    result = answer["data"]["mlflowSearchRuns"]
    assert [r["info"]["runId"] for r in result["runs"]] == [seeded["run_id"]]
    assert result["runs"][0]["experiment"]["experimentId"] == seeded["experiment_id"]
    assert result["nextPageToken"] == ""
    query = SEARCH_RUNS.replace("mutation", "query", 1)
    everything = {"experimentIds": [seeded["experiment_id"]], "runViewType": "ALL", "orderBy": ["attributes.run_name"]}
    runs = graphql(server_url, {"query": query, "variables": {"data": everything}})["data"]["mlflowSearchRuns"]["runs"]
    assert [r["info"]["runName"] for r in runs] == ["first", "second"]
    bad = graphql(server_url, {"query": SEARCH_RUNS, "variables": {"data": {"experimentIds": ["0"], "filter": "x >"}}})
    assert bad["data"] == {"mlflowSearchRuns": None} and len(bad["errors"]) == 1


def test_list_artifacts(server_url: str, seeded: dict[str, str]) -> None:
    root = graphql(server_url, {"query": LIST_ARTIFACTS, "variables": {"input": {"runId": seeded["run_id"]}}})
    listing = root["data"]["mlflowListArtifacts"]
    assert listing["rootUri"].endswith(f"{seeded['run_id']}/artifacts")
    assert listing["files"] == [
        {"path": "a.txt", "isDir": False, "fileSize": "5"},
        {"path": "sub", "isDir": True, "fileSize": "0"},
    ]
    sub = graphql(
        server_url, {"query": LIST_ARTIFACTS, "variables": {"input": {"runUuid": seeded["run_id"], "path": "sub"}}}
    )
    assert sub["data"]["mlflowListArtifacts"]["files"] == [{"path": "sub/a.txt", "isDir": False, "fileSize": "5"}]
    escape = {"runId": seeded["run_id"], "path": "../x"}
    refused = graphql(server_url, {"query": LIST_ARTIFACTS, "variables": {"input": escape}})
    assert refused["data"] == {"mlflowListArtifacts": None} and refused["errors"]


def test_metric_history_bulk_interval_and_nan(server_url: str, seeded: dict[str, str]) -> None:
    ask = {"runIds": [seeded["run_id"]], "metricKey": "loss", "maxResults": 10}
    answer = graphql(server_url, {"query": INTERVAL, "variables": {"input": ask}})
    assert answer["errors"] is None
    points = answer["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"]
    assert [(p["step"], p["value"]) for p in points] == [("0", 1.5), ("1", 2.5), ("1", 2.75)]
    assert {p["runId"] for p in points} == {seeded["run_id"]}
    nan = graphql(server_url, {"query": INTERVAL, "variables": {"input": {**ask, "metricKey": "nan_metric"}}})
    assert nan["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"][0]["value"] is None
    too_many = graphql(server_url, {"query": INTERVAL, "variables": {"input": {**ask, "runIds": ["r"] * 101}}})
    assert too_many["data"] == {"mlflowGetMetricHistoryBulkInterval": None}
    assert "at most 100 run_ids" in too_many["errors"][0]


def test_search_datasets(server_url: str, seeded: dict[str, str]) -> None:
    answer = graphql(
        server_url, {"query": SEARCH_DATASETS, "variables": {"input": {"experimentIds": [seeded["experiment_id"]]}}}
    )
    (summary,) = answer["data"]["mlflowSearchDatasets"]["datasetSummaries"]
    assert summary["experimentId"] == seeded["experiment_id"] and summary["name"] == "train-set"
    assert summary["context"] == "training" and summary["digest"]
    as_query = graphql(server_url, {"query": SEARCH_DATASETS.replace("mutation", "query", 1)})
    assert as_query["data"] is None  # a mutation only, as in MLflow's schema
    assert as_query["errors"][0].startswith("Cannot query field 'mlflowSearchDatasets' on type 'Query'.")


def test_batched_list_and_errors_as_messages(server_url: str, seeded: dict[str, str]) -> None:
    batch = [
        {"query": GET_EXPERIMENT, "variables": {"input": {"experimentId": seeded["experiment_id"]}}},
        {"query": LIST_ARTIFACTS, "variables": {"input": {"runId": seeded["run_id"]}}},
        {"query": "{ nope }"},
    ]
    first, second, third = graphql(server_url, batch)
    assert first["data"]["mlflowGetExperiment"]["experiment"]["experimentId"] == seeded["experiment_id"]
    assert len(second["data"]["mlflowListArtifacts"]["files"]) == 2
    assert third == {"data": None, "errors": ["Cannot query field 'nope' on type 'Query'."]}
    assert graphql(server_url, {"query": "{ mlflowGetRun(input: {runId: "}) == {
        "data": None,
        "errors": ["Syntax Error: Unexpected <EOF>."],
    }
    assert graphql(server_url, {"query": '{ test(inputString: "hi") { output } }'})["data"] == {
        "test": {"output": "hi"}
    }
    not_json = httpx.post(f"{server_url}/graphql", content=b"{}", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400 and not_json.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert graphql(server_url, {"variables": {}}, status=400)["error_code"] == "INVALID_PARAMETER_VALUE"
    get = httpx.get(f"{server_url}/graphql", params={"query": "{ __typename }"})
    assert get.status_code == 405 and get.headers["allow"] == "POST"  # MLflow declares GET and answers it with a 500


def test_query_size_limits_match_mlflows(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert graphql(server_url, {"query": ELEVEN_ROOT_FIELDS})["errors"] == [
        "GraphQL queries should have at most 10 root fields, got 11 root fields. To increase the limit, set the "
        "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable."
    ]
    aliases = " ".join(f"n{i}: name" for i in range(11))
    nested = '{ mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ' + aliases + " } } }"
    assert graphql(server_url, {"query": nested})["errors"] == [
        "GraphQL queries should have at most 10 aliases, got 11 aliases. To increase the limit, set the "
        "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES environment variable."
    ]
    assert graphql(server_url, {"query": ELEVEN_DEEP}) == {
        "data": None,
        "errors": ["Query exceeds maximum depth of 10"],
    }
    wide = "{ __schema { types { " + " ".join(["name"] * 1001) + " } } }"
    assert graphql(server_url, {"query": wide})["errors"] == ["Query exceeds maximum total selections of 1000"]
    monkeypatch.setenv("MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS", "12")  # read per request, as MLflow does
    monkeypatch.setenv("MLFLOW_SERVER_GRAPHQL_MAX_ALIASES", "11")
    assert graphql(server_url, {"query": ELEVEN_ROOT_FIELDS})["errors"] is None


# --- the same requests against MLflow 3.17.2 ------------------------------------------------------------------
_BENCH = Path(__file__).resolve().parents[2] / "bench" / ".venv-mlflow" / "bin" / "mlflow"


@pytest.fixture(scope="module")
def mlflow_server() -> Iterator[str]:
    """A real ``mlflow server`` 3.17.2 (SQLite, proxied artifacts) from the bench environment."""
    if not _BENCH.exists():
        pytest.skip("bench/.venv-mlflow is absent (bench/setup.sh makes it); CI compares with recorded answers only")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [str(_BENCH), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{tmp}/m.db", "--artifacts-destination", f"{tmp}/art"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("mlflow server did not start: " + (Path(tmp) / "log").read_text()[-2000:])
                time.sleep(0.5)
            yield url
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
            log.close()


def _normalized(answer: Any, ids: dict[str, str]) -> Any:
    """An answer with ids (``ids``, experiment ids) and clock times replaced, lists of key/value objects sorted:
    comparable across servers."""
    if isinstance(answer, dict):
        out = {k: _normalized(v, ids) for k, v in sorted(answer.items())}
        for key in ("startTime", "creationTime", "lastUpdateTime"):
            if isinstance(out.get(key), str) and len(out[key]) >= 12:
                out[key] = "<time>"
        if "experimentId" in out:
            out["experimentId"] = "<exp>"
        return out
    if isinstance(answer, list):
        items = [_normalized(v, ids) for v in answer]
        if (
            items
            and all(isinstance(i, dict) and "key" in i for i in items)
            and len({i["key"] for i in items}) == len(items)
        ):
            items.sort(key=lambda i: i["key"])
        return items
    if isinstance(answer, str):
        for real, placeholder in ids.items():
            answer = answer.replace(real, placeholder)
        return re.sub(r"(mlflow-artifacts:/)\d+/", r"\1<exp>/", re.sub(r"(mlflow-artifacts:/)\d+$", r"\1<exp>", answer))
    return answer


def test_answers_equal_mlflow_3_17_2s(mlflow_server: str, server_url: str, tmp_path: Path) -> None:
    sides = {}
    for name, url in (("mlflow", mlflow_server), ("mltrail", server_url)):
        seeded = seed(mlflow.MlflowClient(url), "graphql-compare", tmp_path)
        ids = {seeded["run_id"]: "<run>", seeded["running"]: "<running>"}
        variables = {"experimentIds": [seeded["experiment_id"]]}
        requests = {
            "get_run": {"query": GET_RUN, "variables": {"data": {"runId": seeded["run_id"]}}},
            "search_runs": {"query": SEARCH_RUNS, "variables": {"data": {**variables, "filter": "metrics.loss > 2"}}},
            "list": {"query": LIST_ARTIFACTS, "variables": {"input": {"runId": seeded["run_id"], "path": "sub"}}},
            "interval": {
                "query": INTERVAL,
                "variables": {"input": {"runIds": [seeded["run_id"]], "metricKey": "loss"}},
            },
            "datasets": {"query": SEARCH_DATASETS, "variables": {"input": variables}},
            "missing_run": {"query": GET_RUN, "variables": {"data": {"runId": "0" * 32}}},
            "root_fields": {"query": ELEVEN_ROOT_FIELDS},
            "depth": {"query": ELEVEN_DEEP},
            "unknown_field": {"query": "{ nope }"},
            "test": {"query": '{ test(inputString: "x") { output } }'},
        }
        sides[name] = {key: _normalized(graphql(url, body), ids) for key, body in requests.items()}
    for key in sides["mlflow"]:
        assert sides["mltrail"][key] == sides["mlflow"][key], key
