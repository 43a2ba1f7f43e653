"""Evaluating parsed filters in Python and sorting by parsed order_by, against real entities."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from mltrail.entities import Dataset, DatasetInput, Experiment, InputTag, Metric, Run, RunData, RunInfo, RunStatus
from mltrail.entities.run import RunInputs
from mltrail.search.ast import Comparison, Identifier, OrderBy
from mltrail.search.evaluate import compare, like, matches, sort_key
from mltrail.search.grammar import EXPERIMENTS, MODEL_VERSIONS, REGISTERED_MODELS, RUNS, parse_filter, parse_order_by

Lookup = Callable[[Identifier], object]

_HISTORY = {
    "r1": {"loss": [0.9, 0.2, 0.5], "acc": [0.5, 0.7]},
    "r2": {"loss": [0.4, 0.3], "acc": [0.9]},
    "r3": {"loss": [float("nan")]},
}


def make_run(
    run_id: str,
    *,
    name: str,
    start: int,
    status: RunStatus = RunStatus.FINISHED,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    datasets: tuple[tuple[str, str, str | None], ...] = (),
    end: int | None = None,
) -> Run:
    history = _HISTORY.get(run_id, {})
    metrics = tuple(
        Metric(key=key, value=value, timestamp=start + step, step=step)
        for key, values in history.items()
        for step, value in enumerate(values)
    )
    inputs = tuple(
        DatasetInput(
            Dataset(name=ds_name, digest=digest, source_type="local", source="/d"),
            tags=(InputTag("mlflow.data.context", context),) if context else (),
        )
        for ds_name, digest, context in datasets
    )
    info = RunInfo(
        run_id=run_id,
        experiment_id="0",
        run_name=name,
        user_id="alice",
        status=status,
        start_time=start,
        end_time=end,
        artifact_uri=f"/artifacts/{run_id}",
    )
    return Run(
        info=info,
        data=RunData(metric_objects=metrics, params=params or {}, tags=tags or {}),
        inputs=RunInputs(dataset_inputs=inputs),
    )


def run_lookup(run: Run) -> Lookup:
    """The kind of accessor a Python-evaluating store writes."""

    def lookup(identifier: Identifier) -> object:
        if identifier.kind == "metric":
            history = [m.value for m in run.data.metric_objects if m.key == identifier.key]
            if not history:
                return None
            if identifier.aggregate == "min":
                return min(history)
            if identifier.aggregate == "max":
                return max(history)
            if identifier.aggregate == "avg":
                return sum(history) / len(history)
            return history[-1]
        if identifier.kind == "param":
            return run.data.params.get(identifier.key)
        if identifier.kind == "tag":
            return run.data.tags.get(identifier.key)
        if identifier.kind == "dataset":
            if identifier.key == "context":
                return [t.value for d in run.inputs.dataset_inputs for t in d.tags if t.key == "mlflow.data.context"]
            return [getattr(d.dataset, identifier.key) for d in run.inputs.dataset_inputs]
        return getattr(run.info, identifier.key)

    return lookup


RUNS_FIXTURE = [
    make_run(
        "r1",
        name="alpha-run",
        start=100,
        params={"lr": "0.1", "model": "LinearRegression"},
        tags={"mlflow.runName": "alpha-run", "team": "Vision"},
        datasets=(("train-set", "d1", "training"), ("eval-set", "d2", "eval")),
        end=150,
    ),
    make_run(
        "r2",
        name="beta_run",
        start=300,
        status=RunStatus.RUNNING,
        params={"lr": "0.01"},
        tags={"team": "nlp"},
        datasets=(("train-set", "d3", None),),
    ),
    make_run("r3", name="Gamma", start=200, status=RunStatus.FAILED, params={"model": "it's 100%"}),
    make_run("r4", name="delta", start=200),
]


def search(filter_string: str) -> list[str]:
    expr = parse_filter(filter_string, RUNS)
    return [run.info.run_id for run in RUNS_FIXTURE if matches(expr, run_lookup(run), target=RUNS)]


# --- filters on runs


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("", ["r1", "r2", "r3", "r4"]),
        ("metrics.loss < 0.45", ["r2"]),
        ("metrics.loss = 0.5", ["r1"]),
        ("metrics.loss != 0.5", ["r2", "r3"]),
        ("metrics.loss >= 0.3", ["r1", "r2"]),
        ("metrics.loss > 0.3", ["r1"]),
        ("metrics.loss <= 0.3", ["r2"]),
        ("metrics.acc > 0", ["r1", "r2"]),
        ("params.lr = '0.1'", ["r1"]),
        ("params.lr != '0.1'", ["r2"]),
        ("params.model LIKE 'Linear%'", ["r1"]),
        ("params.model LIKE 'linear%'", []),
        ("params.model ILIKE 'linear%'", ["r1"]),
        ("params.model LIKE 'it''s 100%'", ["r3"]),
        ("params.lr LIKE '0._'", ["r1"]),
        ("params.lr LIKE '0.__'", ["r2"]),
        ("params.model IS NULL", ["r2", "r4"]),
        ("params.model IS NOT NULL", ["r1", "r3"]),
        ("tags.team = 'Vision'", ["r1"]),
        ("tags.team = 'vision'", []),
        ("tags.team ILIKE 'VISION'", ["r1"]),
        ("tags.team != 'nlp'", ["r1"]),
        ("tags.team IS NULL", ["r3", "r4"]),
        ("tags.`mlflow.runName` = 'alpha-run'", ["r1"]),
        ("status = 'RUNNING'", ["r2"]),
        ("status != 'RUNNING'", ["r1", "r3", "r4"]),
        ("status LIKE 'F%'", ["r1", "r3", "r4"]),
        ("attributes.status ILIKE 'failed'", ["r3"]),
        ("run_id IN ('r1', 'r3', 'nope')", ["r1", "r3"]),
        ("run_id NOT IN ('r1', 'r3')", ["r2", "r4"]),
        ("run name = 'Gamma'", ["r3"]),
        ("attributes.run_name LIKE '%run'", ["r1", "r2"]),
        ("run_name ILIKE '%RUN'", ["r1", "r2"]),
        ("created >= 200", ["r2", "r3", "r4"]),
        ("start_time = 200", ["r3", "r4"]),
        ("end_time > 0", ["r1"]),
        ("user_id = 'alice'", ["r1", "r2", "r3", "r4"]),
        ("artifact_uri LIKE '%/r2'", ["r2"]),
        ("datasets.name = 'train-set'", ["r1", "r2"]),
        ("datasets.name = 'eval-set'", ["r1"]),
        ("datasets.digest IN ('d2', 'd3')", ["r1", "r2"]),
        ("datasets.name != 'train-set'", ["r1"]),
        ("datasets.context = 'training'", ["r1"]),
        ("datasets.context LIKE '%'", ["r1"]),
        ("datasets.name LIKE '%set'", ["r1", "r2"]),
    ],
)
def test_run_filters(filter_string: str, expected: list[str]) -> None:
    assert search(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.loss < 0.45 AND params.lr = '0.01'", ["r2"]),
        ("metrics.loss < 0.45 AND params.lr = '0.1'", []),
        ("metrics.loss < 0.45 OR params.lr = '0.1'", ["r1", "r2"]),
        ("status = 'FAILED' OR status = 'RUNNING' AND params.lr = '0.1'", ["r3"]),
        ("(status = 'FAILED' OR status = 'RUNNING') AND params.lr = '0.01'", ["r2"]),
        ("tags.team IS NULL OR (metrics.acc > 0.8 AND start_time > 250)", ["r2", "r3", "r4"]),
    ],
)
def test_boolean_structure(filter_string: str, expected: list[str]) -> None:
    assert search(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("min(metrics.loss) < 0.25", ["r1"]),
        ("max(metrics.loss) < 0.5", ["r2"]),
        ("avg(metrics.loss) < 0.4", ["r2"]),
        ("last(metrics.loss) = 0.5", ["r1"]),
        ("max(metrics.acc) >= 0.7 AND min(metrics.acc) < 0.6", ["r1"]),
    ],
)
def test_aggregates_go_through_the_lookup(filter_string: str, expected: list[str]) -> None:
    assert search(filter_string) == expected


def test_missing_values_never_match_except_is_null() -> None:
    # r4 has no metrics, params, tags or datasets at all.
    assert "r4" not in search("metrics.loss != 1")
    assert "r4" not in search("params.lr != 'x'")
    assert "r4" not in search("tags.team != 'x'")
    assert "r4" not in search("datasets.name != 'x'")
    assert "r4" not in search("run_id IN ('r1')")
    assert "r4" in search("params.lr IS NULL")
    assert search("end_time < 1000") == ["r1"]  # None end times never compare


def test_nan_metric() -> None:
    assert search("metrics.loss > 0") == ["r1", "r2"]
    assert search("metrics.loss < 10") == ["r1", "r2"]
    assert "r3" in search("metrics.loss != 1")


# --- registry: missing tags


def _tags_lookup(tags: dict[str, str]) -> Lookup:
    return lambda identifier: tags.get(identifier.key) if identifier.kind == "tag" else None


@pytest.mark.parametrize("target", [REGISTERED_MODELS, MODEL_VERSIONS])
@pytest.mark.parametrize(
    ("filter_string", "model", "prompt"),
    [
        ("tags.`mlflow.prompt.is_prompt` != 'true'", True, False),
        ("tags.`mlflow.prompt.is_prompt` = 'false'", True, False),
        ("tags.`mlflow.prompt.is_prompt` = 'true'", False, True),
        ("tags.`mlflow.prompt.is_prompt` LIKE 'f%'", True, False),
        ("tags.other != 'true'", False, False),
    ],
)
def test_registry_missing_prompt_tag(filter_string: str, target: object, model: bool, prompt: bool) -> None:
    expr = parse_filter(filter_string, target)  # type: ignore[arg-type]
    assert matches(expr, _tags_lookup({}), target=target) is model  # type: ignore[arg-type]
    assert matches(expr, _tags_lookup({"mlflow.prompt.is_prompt": "true"}), target=target) is prompt  # type: ignore[arg-type]


def test_missing_tag_defaults_only_apply_with_target() -> None:
    expr = parse_filter("tags.`mlflow.prompt.is_prompt` != 'true'", REGISTERED_MODELS)
    assert matches(expr, _tags_lookup({})) is False
    assert matches(expr, _tags_lookup({}), target=RUNS) is False


# --- experiments


def test_experiment_filters() -> None:
    experiments = [
        Experiment("1", "Default", "/a", tags={"owner": "me"}, creation_time=10, last_update_time=40),
        Experiment("2", "exp-two", "/b", creation_time=20, last_update_time=20),
        Experiment("3", "Exp-Three", "/c", tags={"owner": "you"}, creation_time=30, last_update_time=30),
    ]

    def found(filter_string: str) -> list[str]:
        expr = parse_filter(filter_string, EXPERIMENTS)
        return [
            e.experiment_id
            for e in experiments
            if matches(expr, lambda i, e=e: e.tags.get(i.key) if i.kind == "tag" else getattr(e, i.key))
        ]

    assert found("name ILIKE 'exp-%'") == ["2", "3"]
    assert found("name LIKE 'exp-%'") == ["2"]
    assert found("experiment_id IN ('1', '3')") == ["1", "3"]
    assert found("creation_time > 15 AND last_update_time < 25") == ["2"]
    assert found("tags.owner IS NULL") == ["2"]
    assert found("tags.owner IS NOT NULL OR name = 'exp-two'") == ["1", "2", "3"]


# --- compare and like


@pytest.mark.parametrize(
    ("value", "pattern", "ignore_case", "expected"),
    [
        ("abc", "abc", False, True),
        ("abc", "a%", False, True),
        ("abc", "%c", False, True),
        ("abc", "%b%", False, True),
        ("abc", "a_c", False, True),
        ("abc", "a_", False, False),
        ("abc", "ABC", False, False),
        ("abc", "ABC", True, True),
        ("a.c", "a.c", False, True),
        ("abc", "a.c", False, False),
        ("a(b)*c", "a(b)*%", False, True),
        ("line1\nline2", "line1%", False, True),
        ("", "%", False, True),
        ("x", "", False, False),
    ],
)
def test_like(value: str, pattern: str, ignore_case: bool, expected: bool) -> None:
    assert like(value, pattern, ignore_case=ignore_case) is expected


@pytest.mark.parametrize(
    ("actual", "comparator", "value", "expected"),
    [
        (1, "=", 1.0, True),
        (2.5, ">", 2, True),
        ("3", "<", 4.0, True),
        ("abc", ">", 1.0, False),
        (5, "=", "5", True),
        (RunStatus.RUNNING, "=", "RUNNING", True),
        (RunStatus.RUNNING, "IN", ("FINISHED", "RUNNING"), True),
        (RunStatus.RUNNING, "NOT IN", ("FINISHED",), True),
        ("b", "NOT IN", ("a", "b"), False),
        (float("nan"), "=", 1.0, False),
        (float("nan"), "!=", 1.0, True),
    ],
)
def test_compare(actual: object, comparator: str, value: object, expected: bool) -> None:
    assert compare(actual, comparator, value) is expected


def test_compare_unknown_comparator() -> None:
    with pytest.raises(Exception, match="Invalid comparator 'RLIKE'"):
        compare("a", "RLIKE", "a")


def test_matches_rejects_foreign_nodes() -> None:
    with pytest.raises(Exception, match="Invalid search expression"):
        matches("metrics.a > 1", lambda i: None)  # type: ignore[arg-type]


def test_matches_none_is_everything() -> None:
    assert matches(None, lambda i: None) is True


def test_comparison_built_by_hand() -> None:
    comparison = Comparison(Identifier("param", "p"), "=", "x")
    assert matches(comparison, lambda i: "x") is True
    assert matches(comparison, lambda i: "y") is False


# --- sorting


def ordered(order_by: list[str], runs: list[Run] | None = None) -> list[str]:
    clauses = RUNS.complete_order_by(parse_order_by(order_by, RUNS))
    items = RUNS_FIXTURE if runs is None else runs
    return [r.info.run_id for r in sorted(items, key=lambda r: sort_key(clauses, run_lookup(r)))]


def test_default_run_order_is_start_time_desc_then_run_id() -> None:
    assert ordered([]) == ["r2", "r3", "r4", "r1"]


def test_sort_by_attribute_both_ways() -> None:
    assert ordered(["run_name ASC"]) == ["r3", "r1", "r2", "r4"]  # "Gamma" < "alpha-run" (case-sensitive)
    assert ordered(["run_name DESC"]) == ["r4", "r2", "r1", "r3"]
    assert ordered(["start_time ASC"]) == ["r1", "r3", "r4", "r2"]


def test_missing_and_nan_sort_last_both_ways() -> None:
    # last loss: r1 0.5, r2 0.3, r3 NaN, r4 missing.
    assert ordered(["metrics.loss ASC"]) == ["r2", "r1", "r3", "r4"]
    assert ordered(["metrics.loss DESC"]) == ["r1", "r2", "r3", "r4"]


def test_sort_by_aggregate() -> None:
    # min loss: r1 0.2, r2 0.3.
    assert ordered(["min(metrics.loss) ASC"])[:2] == ["r1", "r2"]
    assert ordered(["max(metrics.loss) ASC"])[:2] == ["r2", "r1"]


def test_mixed_directions_and_ties() -> None:
    # r3 and r4 share start_time 200; the second key decides.
    assert ordered(["start_time DESC", "run_name DESC"]) == ["r2", "r4", "r3", "r1"]
    assert ordered(["start_time DESC", "run_name ASC"]) == ["r2", "r3", "r4", "r1"]
    assert ordered(["params.lr DESC"]) == ["r1", "r2", "r3", "r4"]


def test_sort_key_with_incomparable_types_does_not_raise() -> None:
    clauses = [OrderBy(Identifier("param", "p"), True)]
    values = [3, "a", None, 1.5, math.nan]
    keys = sorted(values, key=lambda v: sort_key(clauses, lambda i, v=v: v))
    assert keys[-2:][1] is None
    assert math.isnan(keys[-2])


def test_experiment_default_order() -> None:
    experiments = [
        Experiment("1", "a", "/a", creation_time=10),
        Experiment("2", "b", "/b", creation_time=30),
        Experiment("3", "c", "/c", creation_time=30),
        Experiment("4", "d", "/d", creation_time=None),
    ]
    clauses = EXPERIMENTS.complete_order_by(parse_order_by(None, EXPERIMENTS))
    result = sorted(experiments, key=lambda e: sort_key(clauses, lambda i, e=e: getattr(e, i.key)))
    assert [e.experiment_id for e in result] == ["2", "3", "1", "4"]
