"""``search_runs`` and ``search_experiments`` through the official client: filters, ordering and paging."""

from __future__ import annotations

import time
from collections.abc import Iterator

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.store.entities.paged_list import PagedList

#: (name, lr, loss, acc, model tag, finished?) for the shared search experiment.
_ROWS = [
    ("run-a", "0.1", 0.9, 0.50, "cnn", True),
    ("run-b", "0.01", 0.5, 0.70, "cnn", True),
    ("run-c", "0.001", 0.3, 0.85, "transformer", True),
    ("run-d", "0.01", 0.2, 0.90, "transformer", False),
    ("other-e", "0.5", 1.2, 0.10, "mlp", True),
]


@pytest.fixture(scope="module")
def search_experiment(server_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """An experiment with five runs of known params, metrics, tags and start times; yields (id, name -> run id)."""
    client = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = client.create_experiment(f"search-{time.time_ns()}")
    base = 1_700_000_000_000
    ids: dict[str, str] = {}
    for offset, (name, lr, loss, acc, model, finished) in enumerate(_ROWS):
        run = client.create_run(experiment_id, start_time=base + offset * 1000, run_name=name, tags={"model": model})
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("loss", loss, base, 0), Metric("acc", acc, base, 0)],
            params=[Param("lr", lr), Param("optimizer", "sgd" if model == "cnn" else "adam")],
            tags=[RunTag("dataset", "mnist-v2" if offset % 2 else "cifar-10")],
            synchronous=True,
        )
        if finished:
            client.set_terminated(run_id, end_time=base + offset * 1000 + 500)
        ids[name] = run_id
    yield experiment_id, ids


def _names(runs: list[mlflow.entities.Run]) -> list[str]:
    """The run names, in order."""
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.loss < 0.6", {"run-b", "run-c", "run-d"}),
        ("metrics.acc >= 0.85 and metrics.loss > 0.2", {"run-c"}),
        ("metric.loss = 0.5", {"run-b"}),
        ("params.lr = '0.01'", {"run-b", "run-d"}),
        ("params.optimizer != 'sgd'", {"run-c", "run-d", "other-e"}),
        ("param.lr LIKE '0.0%'", {"run-b", "run-c", "run-d"}),
        ("tags.model = 'transformer'", {"run-c", "run-d"}),
        ("tags.dataset LIKE 'mnist%'", {"run-b", "run-d"}),
        ("tags.dataset ILIKE '%CIFAR%'", {"run-a", "run-c", "other-e"}),
        ("attributes.status = 'RUNNING'", {"run-d"}),
        ("attributes.run_name LIKE 'run-%'", {"run-a", "run-b", "run-c", "run-d"}),
        ("attributes.run_name = 'other-e'", {"other-e"}),
        ("tags.`mlflow.runName` = 'run-a'", {"run-a"}),
        ("attributes.start_time >= 1700000002000", {"run-c", "run-d", "other-e"}),
        ("params.lr = '0.01' and tags.model = 'cnn' and metrics.loss <= 0.5", {"run-b"}),
        ("params.missing = 'x'", set()),
        ("params.lr IS NOT NULL and tags.model != 'cnn'", {"run-c", "run-d", "other-e"}),
        ("tags.absent IS NULL and metrics.loss > 1", {"other-e"}),
        ("metrics.acc != 0.5", {"run-b", "run-c", "run-d", "other-e"}),
        ("attributes.end_time > 0", {"run-a", "run-b", "run-c", "other-e"}),
        ("attributes.run_name ILIKE 'RUN-_'", {"run-a", "run-b", "run-c", "run-d"}),
        ("attributes.status != 'FINISHED'", {"run-d"}),
        ("attributes.user_id LIKE '%'", {"run-a", "run-b", "run-c", "run-d", "other-e"}),
        ('tags."model" = "mlp"', {"other-e"}),
    ],
)
def test_search_runs_filters(
    search_experiment: tuple[str, dict[str, str]], filter_string: str, expected: set[str]
) -> None:
    """Each filter selects exactly the runs MLflow's grammar says it should."""
    experiment_id, _ = search_experiment
    runs = mlflow.search_runs([experiment_id], filter_string=filter_string, output_format="list")
    assert set(_names(runs)) == expected


def test_search_runs_by_run_id_in(search_experiment: tuple[str, dict[str, str]]) -> None:
    """``attributes.run_id IN (...)`` picks runs by id."""
    experiment_id, ids = search_experiment
    wanted = [ids["run-a"], ids["other-e"]]
    runs = mlflow.search_runs(
        [experiment_id], filter_string=f"attributes.run_id IN ('{wanted[0]}', '{wanted[1]}')", output_format="list"
    )
    assert {r.info.run_id for r in runs} == set(wanted)


def test_search_runs_by_run_id_not_in(search_experiment: tuple[str, dict[str, str]]) -> None:
    """``attributes.run_id NOT IN (...)`` excludes runs by id."""
    experiment_id, ids = search_experiment
    runs = mlflow.search_runs(
        [experiment_id], filter_string=f"attributes.run_id NOT IN ('{ids['run-a']}')", output_format="list"
    )
    assert set(_names(runs)) == {"run-b", "run-c", "run-d", "other-e"}


def test_search_runs_across_experiments(search_experiment: tuple[str, dict[str, str]]) -> None:
    """``search_all_experiments`` and several experiment ids search across experiments."""
    experiment_id, _ = search_experiment
    other = mlflow.MlflowClient().create_experiment(f"search-other-{time.time_ns()}")
    with mlflow.start_run(experiment_id=other, run_name="elsewhere"):
        mlflow.log_metric("loss", 0.01)
    both = mlflow.search_runs([experiment_id, other], filter_string="metrics.loss < 0.25", output_format="list")
    assert set(_names(both)) == {"run-d", "elsewhere"}
    everywhere = mlflow.search_runs(search_all_experiments=True, filter_string="metrics.loss < 0.25")
    assert {"run-d", "elsewhere"} <= set(everywhere["tags.mlflow.runName"])


def test_search_runs_order_by(search_experiment: tuple[str, dict[str, str]]) -> None:
    """Ordering by a metric, a param, a tag or an attribute; the default is newest first."""
    experiment_id, _ = search_experiment

    def ordered(*order_by: str) -> list[str]:
        return _names(mlflow.search_runs([experiment_id], order_by=list(order_by), output_format="list"))

    assert ordered() == ["other-e", "run-d", "run-c", "run-b", "run-a"]
    assert ordered("metrics.loss ASC") == ["run-d", "run-c", "run-b", "run-a", "other-e"]
    assert ordered("metrics.acc DESC") == ["run-d", "run-c", "run-b", "run-a", "other-e"]
    assert ordered("attributes.start_time ASC") == ["run-a", "run-b", "run-c", "run-d", "other-e"]
    assert ordered("attributes.run_name DESC") == ["run-d", "run-c", "run-b", "run-a", "other-e"]
    assert ordered("params.lr DESC", "metrics.loss ASC")[:3] == ["other-e", "run-a", "run-d"]
    assert ordered("tags.model ASC", "metrics.loss DESC") == ["run-a", "run-b", "other-e", "run-c", "run-d"]


def test_search_runs_pandas(search_experiment: tuple[str, dict[str, str]]) -> None:
    """The pandas output has MLflow's columns with the logged values."""
    experiment_id, ids = search_experiment
    frame = mlflow.search_runs([experiment_id], filter_string="metrics.loss < 1", order_by=["metrics.loss ASC"])
    assert list(frame["tags.mlflow.runName"]) == ["run-d", "run-c", "run-b", "run-a"]
    assert list(frame["run_id"]) == [ids["run-d"], ids["run-c"], ids["run-b"], ids["run-a"]]
    assert list(frame["metrics.loss"]) == [0.2, 0.3, 0.5, 0.9]
    assert list(frame["params.lr"]) == ["0.01", "0.001", "0.01", "0.1"]
    assert list(frame["status"]) == ["RUNNING", "FINISHED", "FINISHED", "FINISHED"]
    assert set(frame["experiment_id"]) == {experiment_id}
    assert {"start_time", "end_time", "artifact_uri", "tags.model", "metrics.acc"} <= set(frame.columns)

    by_name = mlflow.search_runs(experiment_names=[mlflow.get_experiment(experiment_id).name])
    assert len(by_name) == len(_ROWS)


def test_search_runs_paging(search_experiment: tuple[str, dict[str, str]], client: mlflow.MlflowClient) -> None:
    """``MlflowClient.search_runs`` pages with ``page_token`` and omits the token on the last page."""
    experiment_id, ids = search_experiment
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page: PagedList = client.search_runs(
            [experiment_id], max_results=2, order_by=["attributes.start_time ASC"], page_token=token
        )
        pages += 1
        assert len(page) <= 2
        seen.extend(r.info.run_name for r in page)
        token = page.token
        if not token:
            break
    assert pages == 3
    assert seen == ["run-a", "run-b", "run-c", "run-d", "other-e"]

    # The fluent API follows the tokens itself.
    assert len(mlflow.search_runs([experiment_id], max_results=3, output_format="list")) == 3
    assert {r.info.run_id for r in client.search_runs([experiment_id])} == set(ids.values())


def test_search_runs_bad_filter_is_invalid_parameter(search_experiment: tuple[str, dict[str, str]]) -> None:
    """A malformed filter is a client error, answered without retries."""
    experiment_id, _ = search_experiment
    started = time.monotonic()
    with pytest.raises(MlflowException) as info:
        mlflow.search_runs([experiment_id], filter_string="metrics.loss <<< 1", output_format="list")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert time.monotonic() - started < 2


def test_search_experiments(client: mlflow.MlflowClient) -> None:
    """Filters on name and tags, ordering, view types and paging for experiments."""
    prefix = f"sexp-{time.time_ns()}"
    ids = [client.create_experiment(f"{prefix}-{i}", tags={"idx": str(i), "group": "g"}) for i in range(5)]
    client.delete_experiment(ids[4])

    found = mlflow.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [e.name for e in found] == [f"{prefix}-{i}" for i in (3, 2, 1, 0)]
    by_tag = client.search_experiments(filter_string=f"name LIKE '{prefix}%' and tags.idx = '2'")
    assert [e.experiment_id for e in by_tag] == [ids[2]]
    everything = client.search_experiments(view_type=ViewType.ALL, filter_string=f"name LIKE '{prefix}%'")
    assert {e.experiment_id for e in everything} == set(ids)
    assert any(e.name == "Default" for e in mlflow.search_experiments())

    seen: list[str] = []
    token = None
    while True:
        page = client.search_experiments(
            max_results=2, filter_string=f"name LIKE '{prefix}%'", order_by=["name ASC"], page_token=token
        )
        seen.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            break
    assert seen == ids[:4]
