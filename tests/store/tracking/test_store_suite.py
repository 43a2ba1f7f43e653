"""The shared tracking-store suite, written against the :class:`TrackingStore` interface only.

:class:`TrackingStoreSuite` needs one fixture, ``tracking_store``: a store on an empty backend (with the Default
experiment). ``tests/store/conftest.py`` provides it for SQLite, PostgreSQL and MySQL; another conftest can run
the same suite on another implementation (the REST store) by subclassing it in a ``Test*`` class beside a
``tracking_store`` fixture of its own.
"""

from __future__ import annotations

import math
import re
import threading
import time

from mltrail.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import (
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MltrailError,
)
from mltrail.store.tracking.base import LoggedModelOrderBy, TrackingStore


class _Error:
    """``with expect(code, "text"):`` checks both the error code and (a regex over) the message."""

    def __init__(self, code: str, match: str | None = None) -> None:
        self.code, self.match = code, match

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        assert exc is not None, f"expected MltrailError({self.code})"
        assert isinstance(exc, MltrailError), f"expected MltrailError, got {exc!r}"
        assert exc.error_code == self.code, f"{exc.error_code} != {self.code}: {exc.message}"
        if self.match:
            assert re.search(self.match, exc.message), f"{self.match!r} not in {exc.message!r}"
        return True


expect = _Error


def _exp(store: TrackingStore, name: str = "exp", **kwargs: object) -> str:
    return store.create_experiment(name, **kwargs)  # type: ignore[arg-type]


def _run(store: TrackingStore, exp_id: str, name: str | None = None, tags: list[RunTag] | None = None, start=None):
    return store.create_run(exp_id, "alice", start, tags or [], name)


class TrackingStoreSuite:
    """Behaviour every tracking store shares; subclasses provide the ``tracking_store`` fixture."""

    # ------------------------------------------------------------------------------------ experiments
    def test_default_experiment_exists(self, tracking_store: TrackingStore) -> None:
        exp = tracking_store.get_experiment("0")
        assert exp.name == "Default"
        assert exp.lifecycle_stage == LifecycleStage.ACTIVE
        assert exp.artifact_location.endswith("/0")
        assert tracking_store.get_experiment_by_name("Default").experiment_id == "0"

    def test_create_and_get_experiment(self, tracking_store: TrackingStore) -> None:
        before = int(time.time() * 1000)
        exp_id = tracking_store.create_experiment("first", tags=[ExperimentTag("team", "ml")])
        assert exp_id.isdigit() and exp_id != "0"
        exp = tracking_store.get_experiment(exp_id)
        assert exp.name == "first"
        assert exp.tags == {"team": "ml"}
        assert exp.artifact_location.endswith(f"/{exp_id}")
        assert exp.artifact_location == tracking_store.get_experiment("0").artifact_location[:-1] + exp_id
        assert exp.creation_time >= before and exp.last_update_time == exp.creation_time
        assert tracking_store.get_experiment_by_name("first") == exp
        assert tracking_store.get_experiment_by_name("missing") is None

    def test_experiment_explicit_artifact_location(self, tracking_store: TrackingStore) -> None:
        exp_id = tracking_store.create_experiment("s3", artifact_location="s3://bucket/path")
        assert tracking_store.get_experiment(exp_id).artifact_location == "s3://bucket/path"
        run = _run(tracking_store, exp_id)
        assert run.info.artifact_uri == f"s3://bucket/path/{run.info.run_id}/artifacts"

    def test_experiment_name_rules(self, tracking_store: TrackingStore) -> None:
        tracking_store.create_experiment("Case")
        tracking_store.create_experiment("case")  # names are case-sensitive
        with expect(RESOURCE_ALREADY_EXISTS, r"Experiment\(name=Case\) already exists"):
            tracking_store.create_experiment("Case")
        with expect(INVALID_PARAMETER_VALUE, "Invalid experiment name: ''|Missing value for required parameter 'name'"):
            tracking_store.create_experiment("")
        with expect(INVALID_PARAMETER_VALUE, "'name' exceeds the maximum length of 500 characters"):
            tracking_store.create_experiment("x" * 501)
        tracking_store.create_experiment("y" * 500)
        with expect(INVALID_PARAMETER_VALUE, "runs:/"):
            tracking_store.create_experiment("bad-loc", artifact_location="runs:/abc/x")

    def test_unknown_experiment(self, tracking_store: TrackingStore) -> None:
        with expect(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=123456 exists"):
            tracking_store.get_experiment("123456")
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.get_experiment("99999999999999")
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.delete_experiment("4242")
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.create_run("4242", "u", None, [], None)

    def test_delete_and_restore_experiment_cascades_to_runs(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        keep, early = _run(tracking_store, exp_id), _run(tracking_store, exp_id)
        tracking_store.delete_run(early.info.run_id)
        time.sleep(0.005)
        tracking_store.delete_experiment(exp_id)
        exp = tracking_store.get_experiment(exp_id)
        assert exp.lifecycle_stage == LifecycleStage.DELETED
        assert tracking_store.get_run(keep.info.run_id).info.lifecycle_stage == LifecycleStage.DELETED
        assert tracking_store.get_experiment_by_name("exp").lifecycle_stage == LifecycleStage.DELETED
        with expect(INVALID_PARAMETER_VALUE, "must be in the 'active' state"):
            _run(tracking_store, exp_id)
        all_runs = tracking_store.search_runs([exp_id], run_view_type=ViewType.ALL)
        assert len(all_runs) == 2
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.delete_experiment(exp_id)
        tracking_store.restore_experiment(exp_id)
        assert tracking_store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.ACTIVE
        assert tracking_store.get_run(keep.info.run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
        assert tracking_store.get_run(early.info.run_id).info.lifecycle_stage == LifecycleStage.DELETED
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.restore_experiment(exp_id)

    def test_rename_experiment(self, tracking_store: TrackingStore) -> None:
        exp_id, other = _exp(tracking_store, "old"), _exp(tracking_store, "other")
        tracking_store.rename_experiment(exp_id, "new")
        assert tracking_store.get_experiment(exp_id).name == "new"
        assert tracking_store.get_experiment_by_name("old") is None
        with expect(RESOURCE_ALREADY_EXISTS, "already exists"):
            tracking_store.rename_experiment(exp_id, "other")
        tracking_store.delete_experiment(other)
        with expect(INVALID_STATE, "Cannot rename a non-active experiment."):
            tracking_store.rename_experiment(other, "again")
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.rename_experiment(exp_id, "")

    def test_experiment_tags(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        tracking_store.set_experiment_tag(exp_id, ExperimentTag("k", "v1"))
        tracking_store.set_experiment_tag(exp_id, ExperimentTag("k", "v2"))
        tracking_store.set_experiment_tag(exp_id, ExperimentTag("long", "x" * 20000))
        assert tracking_store.get_experiment(exp_id).tags == {"k": "v2", "long": "x" * 20000}
        with expect(INVALID_PARAMETER_VALUE, "'value' exceeds the maximum length of 20000"):
            tracking_store.set_experiment_tag(exp_id, ExperimentTag("k", "x" * 20001))
        tracking_store.delete_experiment_tag(exp_id, "k")
        assert "k" not in tracking_store.get_experiment(exp_id).tags
        with expect(RESOURCE_DOES_NOT_EXIST, "No tag with name: k"):
            tracking_store.delete_experiment_tag(exp_id, "k")
        tracking_store.delete_experiment(exp_id)
        with expect(INVALID_PARAMETER_VALUE, "must be in the 'active' state"):
            tracking_store.set_experiment_tag(exp_id, ExperimentTag("k", "v"))

    def test_search_experiments(self, tracking_store: TrackingStore) -> None:
        ids = [tracking_store.create_experiment(f"search-{i}") for i in range(5)]
        tracking_store.set_experiment_tag(ids[1], ExperimentTag("flavor", "Vanilla"))
        tracking_store.delete_experiment(ids[4])
        active = tracking_store.search_experiments()
        assert {e.experiment_id for e in active} == {"0", *ids[:4]}
        assert [e.experiment_id for e in tracking_store.search_experiments(ViewType.DELETED_ONLY)] == [ids[4]]
        assert len(tracking_store.search_experiments(ViewType.ALL)) == 6
        found = tracking_store.search_experiments(filter_string="name LIKE 'search-%'", order_by=["name DESC"])
        assert [e.name for e in found] == ["search-3", "search-2", "search-1", "search-0"]
        assert tracking_store.search_experiments(filter_string="name LIKE 'SEARCH-%'") == []
        assert len(tracking_store.search_experiments(filter_string="name ILIKE 'SEARCH-%'")) == 4
        tagged = tracking_store.search_experiments(filter_string="tags.flavor = 'Vanilla'")
        assert [e.experiment_id for e in tagged] == [ids[1]]
        by_id = tracking_store.search_experiments(filter_string=f"experiment_id IN ('{ids[0]}', '{ids[2]}')")
        assert {e.experiment_id for e in by_id} == {ids[0], ids[2]}
        page1 = tracking_store.search_experiments(max_results=2, order_by=["name ASC"])
        assert len(page1) == 2 and page1.token
        page2 = tracking_store.search_experiments(max_results=2, order_by=["name ASC"], page_token=page1.token)
        page3 = tracking_store.search_experiments(max_results=2, order_by=["name ASC"], page_token=page2.token)
        names = [e.name for e in [*page1, *page2, *page3]]
        assert names == sorted(names) and len(names) == 5 and page3.token is None
        with expect(INVALID_PARAMETER_VALUE, "at most 50000"):
            tracking_store.search_experiments(max_results=50001)
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.search_experiments(filter_string="name = ")

    def test_search_experiments_default_order(self, tracking_store: TrackingStore) -> None:
        time.sleep(0.003)  # the Default experiment was created at setup; a same-millisecond tie orders by id
        first = tracking_store.create_experiment("a")
        time.sleep(0.003)
        second = tracking_store.create_experiment("b")
        ids = [e.experiment_id for e in tracking_store.search_experiments()]
        assert ids.index(second) < ids.index(first) < ids.index("0")

    # ------------------------------------------------------------------------------------------- runs
    def test_create_run(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        run = tracking_store.create_run(exp_id, "alice", 1234, [RunTag("k", "v")], None)
        info = run.info
        assert re.fullmatch(r"[0-9a-f]{32}", info.run_id)
        assert info.status == RunStatus.RUNNING and info.start_time == 1234 and info.end_time is None
        assert info.user_id == "alice" and info.experiment_id == exp_id
        assert info.artifact_uri == f"{tracking_store.get_experiment(exp_id).artifact_location}/{info.run_id}/artifacts"
        assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", info.run_name)
        assert run.data.tags == {"k": "v", "mlflow.runName": info.run_name}
        assert tracking_store.get_run(info.run_id) == run

    def test_run_name_and_tag(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        by_tag = _run(tracking_store, exp_id, tags=[RunTag("mlflow.runName", "from-tag")])
        assert by_tag.info.run_name == "from-tag"
        named = _run(tracking_store, exp_id, name="given")
        assert named.data.tags["mlflow.runName"] == "given"
        same = _run(tracking_store, exp_id, name="same", tags=[RunTag("mlflow.runName", "same")])
        assert same.info.run_name == "same"
        with expect(INVALID_PARAMETER_VALUE, "Both 'run_name' argument and 'mlflow.runName' tag are specified"):
            _run(tracking_store, exp_id, name="a", tags=[RunTag("mlflow.runName", "b")])

    def test_unknown_run(self, tracking_store: TrackingStore) -> None:
        missing = "0" * 32
        with expect(RESOURCE_DOES_NOT_EXIST, f"Run with id={missing} not found"):
            tracking_store.get_run(missing)
        for call in (
            lambda: tracking_store.log_batch(missing, metrics=[Metric("m", 1.0, 1)]),
            lambda: tracking_store.update_run_info(missing, RunStatus.FINISHED, 1, None),
            lambda: tracking_store.delete_run(missing),
            lambda: tracking_store.get_metric_history(missing, "m"),
            lambda: tracking_store.delete_tag(missing, "k"),
        ):
            with expect(RESOURCE_DOES_NOT_EXIST):
                call()
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.log_batch("../bad", metrics=[Metric("m", 1.0, 1)])

    def test_update_run_info(self, tracking_store: TrackingStore) -> None:
        run = _run(tracking_store, _exp(tracking_store))
        run_id = run.info.run_id
        info = tracking_store.update_run_info(run_id, RunStatus.FINISHED, 999, None)
        assert info.status == RunStatus.FINISHED and info.end_time == 999 and info.run_name == run.info.run_name
        info = tracking_store.update_run_info(run_id, None, None, "renamed")
        assert info.run_name == "renamed" and info.status == RunStatus.FINISHED
        assert tracking_store.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
        tracking_store.set_tag(run_id, RunTag("mlflow.runName", "via-tag"))
        assert tracking_store.get_run(run_id).info.run_name == "via-tag"

    def test_delete_restore_run(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        run_id = _run(tracking_store, exp_id).info.run_id
        tracking_store.delete_run(run_id)
        assert tracking_store.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
        message = f"The run {run_id} must be in the 'active' state. Current state is deleted."
        with expect(INVALID_PARAMETER_VALUE, re.escape(message)):
            tracking_store.log_metric(run_id, Metric("m", 1.0, 1))
        with expect(INVALID_PARAMETER_VALUE, "must be in the 'active' state"):
            tracking_store.set_tag(run_id, RunTag("k", "v"))
        with expect(INVALID_PARAMETER_VALUE, "must be in the 'active' state"):
            tracking_store.delete_tag(run_id, "mlflow.runName")
        assert tracking_store.search_runs([exp_id]) == []
        assert len(tracking_store.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)) == 1
        deleted = tracking_store.list_deleted_runs()
        assert [d.run_id for d in deleted] == [run_id] and deleted[0].deleted_time is not None
        tracking_store.restore_run(run_id)
        assert tracking_store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
        assert tracking_store.list_deleted_runs() == []
        tracking_store.log_metric(run_id, Metric("m", 1.0, 1))

    # -------------------------------------------------------------------------------------- log_batch
    def test_log_batch_round_trip(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        tracking_store.log_batch(
            run_id,
            metrics=[Metric("loss", 0.5, 100, 0), Metric("loss", 0.3, 200, 1), Metric("acc", 0.9, 150, 3)],
            params=[Param("lr", "0.01"), Param("empty", "")],
            tags=[RunTag("team", "a"), RunTag("note", "")],
        )
        data = tracking_store.get_run(run_id).data
        assert data.metrics == {"loss": 0.3, "acc": 0.9}
        assert {(m.key, m.step, m.timestamp) for m in data.metric_objects} == {("loss", 1, 200), ("acc", 3, 150)}
        assert data.params == {"lr": "0.01", "empty": ""}
        assert data.tags["team"] == "a" and data.tags["note"] == ""
        tracking_store.log_batch(run_id, tags=[RunTag("team", "b")])
        assert tracking_store.get_run(run_id).data.tags["team"] == "b"

    def test_latest_metric_rule(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        log = tracking_store.log_metric
        log(run_id, Metric("m", 5.0, 100, 2))
        log(run_id, Metric("m", 9.0, 999, 1))  # older step: not the latest despite later timestamp
        assert tracking_store.get_run(run_id).data.metrics["m"] == 5.0
        log(run_id, Metric("m", 4.0, 101, 2))  # same step, later timestamp wins
        assert tracking_store.get_run(run_id).data.metrics["m"] == 4.0
        log(run_id, Metric("m", 7.0, 101, 2))  # same step and timestamp: larger value wins
        log(run_id, Metric("m", 6.0, 101, 2))
        assert tracking_store.get_run(run_id).data.metrics["m"] == 7.0
        tracking_store.log_batch(
            run_id, metrics=[Metric("n", 1.0, 5, 0), Metric("n", 3.0, 5, 2), Metric("n", 2.0, 5, 1)]
        )
        assert tracking_store.get_run(run_id).data.metrics["n"] == 3.0

    def test_metric_history_and_special_values(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        values = [1.5, math.nan, math.inf, -math.inf, 0.0, -2.25, 1e300]
        tracking_store.log_batch(run_id, metrics=[Metric("x", v, 10 + i, i) for i, v in enumerate(values)])
        tracking_store.log_batch(run_id, metrics=[Metric("x", 1.5, 10, 0)])  # exact repeat: ignored
        history = tracking_store.get_metric_history(run_id, "x")
        assert [m.step for m in history] == list(range(len(values)))
        for got, want in zip(history, values, strict=True):
            assert (math.isnan(got.value) and math.isnan(want)) or got.value == want
            assert got.run_id == run_id and got.key == "x"
        assert history.token is None
        assert tracking_store.get_run(run_id).data.metrics["x"] == 1e300
        tracking_store.log_metric(run_id, Metric("x", math.nan, 1, 100))
        assert math.isnan(tracking_store.get_run(run_id).data.metrics["x"])
        assert list(tracking_store.get_metric_history(run_id, "missing")) == []

    def test_metric_history_paging(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        tracking_store.log_batch(run_id, metrics=[Metric("m", float(i), 1000 - i, i) for i in range(25)])
        seen, token = [], None
        while True:
            page = tracking_store.get_metric_history(run_id, "m", max_results=10, page_token=token)
            seen.extend(m.step for m in page)
            token = page.token
            if token is None:
                break
        assert seen == list(range(25))
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.get_metric_history(run_id, "m", max_results=0)
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.get_metric_history(run_id, "m", page_token="not-a-token!")

    def test_metric_history_bulk_interval(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        a, b = _run(tracking_store, exp_id).info.run_id, _run(tracking_store, exp_id).info.run_id
        tracking_store.log_batch(a, metrics=[Metric("m", float(i), 100 + i, i) for i in range(10)])
        tracking_store.log_batch(b, metrics=[Metric("m", float(i), 100 + i, i) for i in range(3)])
        sampled = tracking_store.get_metric_history_bulk_interval([a], "m", max_results=5)
        # MLflow 3.17's sampling: the first row of each of 5 NTILE buckets, the last row replacing the last
        assert [m.step for m in sampled] == [0, 2, 4, 6, 9]
        assert all(m.run_id == a for m in sampled)
        both = tracking_store.get_metric_history_bulk_interval([a, b], "m", max_results=5)
        assert [m.step for m in both if m.run_id == b] == [0, 1, 2]  # each run is sampled on its own
        assert [m.step for m in both if m.run_id == a] == [0, 2, 4, 6, 9]
        for limit in (1, 2, 3, 7, 9, 10, 11):
            points = tracking_store.get_metric_history_bulk_interval([a], "m", max_results=limit)
            assert len(points) == min(limit, 10)  # never more than max_results per run
            assert points[-1].step == 9 and (limit == 1 or points[0].step == 0)
        # many values at one step stay bounded too
        tracking_store.log_batch(b, metrics=[Metric("m", float(i), 1000 + i, 1) for i in range(50)])
        crowded = tracking_store.get_metric_history_bulk_interval([b], "m", max_results=4)
        assert len(crowded) == 4 and crowded[0].step == 0 and crowded[-1].step == 2
        ranged = tracking_store.get_metric_history_bulk_interval([a], "m", max_results=100, start_step=3, end_step=5)
        assert [m.step for m in ranged] == [3, 4, 5]
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.get_metric_history_bulk_interval([a], "m", start_step=1)

    def test_param_immutability(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        tracking_store.log_param(run_id, Param("p", "a"))
        tracking_store.log_param(run_id, Param("p", "a"))  # same value again is fine
        message = (
            f"Changing param values is not allowed. Param with key='p' was already logged with value='a' "
            f"for run ID='{run_id}'. Attempted logging new value 'b'."
        )
        with expect(INVALID_PARAMETER_VALUE, re.escape(message)):
            tracking_store.log_param(run_id, Param("p", "b"))
        with expect(INVALID_PARAMETER_VALUE, "Changing param values is not allowed"):
            tracking_store.log_batch(run_id, metrics=[Metric("m", 1.0, 1)], params=[Param("p", "c")])
        data = tracking_store.get_run(run_id).data
        assert data.params == {"p": "a"} and "m" not in data.metrics  # all or nothing

    def test_log_batch_limits_and_validation(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        with expect(INVALID_PARAMETER_VALUE, "A batch logging request can contain at most 1000 metrics. Got 1001"):
            tracking_store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, i) for i in range(1001)])
        with expect(INVALID_PARAMETER_VALUE, "at most 100 params"):
            tracking_store.log_batch(run_id, params=[Param(f"p{i}", "v") for i in range(101)])
        with expect(INVALID_PARAMETER_VALUE, "at most 100 tags"):
            tracking_store.log_batch(run_id, tags=[RunTag(f"t{i}", "v") for i in range(101)])
        with expect(INVALID_PARAMETER_VALUE, "at most 1000 metrics, params, and tags"):
            tracking_store.log_batch(
                run_id,
                metrics=[Metric("m", 1.0, 1, i) for i in range(950)],
                params=[Param(f"p{i}", "v") for i in range(51)],
            )
        with expect(INVALID_PARAMETER_VALUE, r"Duplicate parameter keys have been submitted: \['a'\]"):
            tracking_store.log_batch(run_id, params=[Param("a", "1"), Param("a", "2")])
        with expect(INVALID_PARAMETER_VALUE, "Names may be treated as files"):
            tracking_store.log_batch(run_id, params=[Param("../etc", "1")])
        with expect(INVALID_PARAMETER_VALUE, "Names may only contain alphanumerics"):
            tracking_store.log_batch(run_id, tags=[RunTag("bad*key", "1")])
        with expect(INVALID_PARAMETER_VALUE, r"Invalid value true for parameter 'metrics\[1\].value'"):
            tracking_store.log_batch(run_id, metrics=[Metric("ok", 1.0, 1), Metric("m", True, 1)])  # type: ignore[arg-type]
        with expect(INVALID_PARAMETER_VALUE, "Timestamp must be a nonnegative long"):
            tracking_store.log_metric(run_id, Metric("m", 1.0, -1))
        with expect(INVALID_PARAMETER_VALUE, "exceeds the maximum length of 250"):
            tracking_store.log_param(run_id, Param("k" * 251, "v"))
        assert tracking_store.get_run(run_id).data.params == {}
        tracking_store.log_batch(
            run_id,
            metrics=[Metric("m", 1.0, 1, i) for i in range(900)],
            params=[Param(f"p{i}", "v") for i in range(100)],
        )
        tracking_store.log_param(run_id, Param("with space/and:colon-._", "ok"))

    def test_long_values_are_truncated(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        tracking_store.log_batch(run_id, params=[Param("p", "x" * 7000)], tags=[RunTag("t", "y" * 9000)])
        data = tracking_store.get_run(run_id).data
        assert data.params["p"] == "x" * 6000 and data.tags["t"] == "y" * 8000

    def test_delete_tag(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        tracking_store.set_tag(run_id, RunTag("k", "v"))
        tracking_store.delete_tag(run_id, "k")
        assert "k" not in tracking_store.get_run(run_id).data.tags
        with expect(RESOURCE_DOES_NOT_EXIST, "No tag with name: k"):
            tracking_store.delete_tag(run_id, "k")

    def test_concurrent_log_batch(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                for b in range(10):
                    step0 = (n * 10 + b) * 10
                    tracking_store.log_batch(
                        run_id,
                        metrics=[Metric("shared", float(s), 1, s) for s in range(step0, step0 + 10)],
                        tags=[RunTag("shared-tag", str(n))],
                        params=[Param(f"p{n}-{b}", "v")],
                    )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        history = tracking_store.get_metric_history(run_id, "shared")
        assert [m.step for m in history] == list(range(400))
        data = tracking_store.get_run(run_id).data
        assert data.metrics["shared"] == 399.0 and len(data.params) == 40
        assert tracking_store.search_runs(
            [tracking_store.get_run(run_id).info.experiment_id], "avg(metrics.shared) = 199.5"
        )

    def test_concurrent_metric_writers_keep_every_point_and_summary(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                for b in range(10):
                    step0 = (n * 10 + b) * 10
                    batch = [Metric("m", float(s), 1, s) for s in range(step0, step0 + 10)]
                    batch.append(Metric("dup", 1.0, 1, b))  # every writer logs the same points: stored once
                    tracking_store.log_batch(run_id, metrics=batch)
                    tracking_store.log_metric(run_id, Metric("single", float(step0), 2, step0))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert [m.step for m in tracking_store.get_metric_history(run_id, "m")] == list(range(800))
        assert [m.step for m in tracking_store.get_metric_history(run_id, "dup")] == list(range(10))
        assert len(tracking_store.get_metric_history(run_id, "single")) == 80
        run = tracking_store.get_run(run_id)
        assert run.data.metrics == {"m": 799.0, "dup": 1.0, "single": 790.0}
        exp_id = run.info.experiment_id
        for condition in (
            "avg(metrics.m) = 399.5",
            "min(metrics.m) = 0",
            "max(metrics.m) = 799",
            "avg(metrics.dup) = 1",
            "avg(metrics.single) = 395",
        ):
            assert [r.info.run_id for r in tracking_store.search_runs([exp_id], condition)] == [run_id], condition

    def test_metric_summaries_skip_repeats_and_nan(self, tracking_store: TrackingStore) -> None:
        run_id = _run(tracking_store, _exp(tracking_store)).info.run_id
        exp_id = tracking_store.get_run(run_id).info.experiment_id
        tracking_store.log_metric(run_id, Metric("m", math.nan, 1, 5))
        assert math.isnan(tracking_store.get_run(run_id).data.metrics["m"])
        assert not tracking_store.search_runs([exp_id], "min(metrics.m) < 100")
        tracking_store.log_batch(run_id, metrics=[Metric("m", 4.0, 1, 0), Metric("m", 2.0, 1, 1)])
        tracking_store.log_batch(run_id, metrics=[Metric("m", 4.0, 1, 0), Metric("m", 6.0, 1, 2)])  # 4.0 repeats
        assert math.isnan(tracking_store.get_run(run_id).data.metrics["m"])  # step 5 is still the latest
        for condition in ("avg(metrics.m) = 4", "min(metrics.m) = 2", "max(metrics.m) = 6"):
            assert tracking_store.search_runs([exp_id], condition), condition
        tracking_store.log_metric(run_id, Metric("m", -1.0, 2, 5))  # same step, later timestamp: the new latest
        assert tracking_store.get_run(run_id).data.metrics["m"] == -1.0
        assert tracking_store.search_runs([exp_id], "avg(metrics.m) = 2.75")
        assert [m.value for m in tracking_store.get_metric_history(run_id, "m")][:3] == [4.0, 2.0, 6.0]

    # ------------------------------------------------------------------------------------ search_runs
    def _search_fixture(self, store: TrackingStore) -> tuple[str, list[str]]:
        exp_id = _exp(store, "search")
        ids = []
        for i in range(6):
            run = store.create_run(exp_id, f"user{i % 2}", 1000 + i, [], f"run-{i}")
            ids.append(run.info.run_id)
            metrics = [Metric("acc", i / 10, 1, 0)]
            if i != 5:
                metrics.append(Metric("loss", float(10 - i), 1, 0))
                metrics.append(Metric("loss", float(20 + i), 1, 1))
            store.log_batch(
                run.info.run_id,
                metrics=metrics,
                params=[Param("model", "Forest" if i % 2 else "linear"), Param("depth", str(i))],
                tags=[RunTag("group", "A" if i < 3 else "B")],
            )
        store.log_metric(ids[2], Metric("loss", math.nan, 2, 5))
        return exp_id, ids

    def test_search_runs_filters(self, tracking_store: TrackingStore) -> None:
        exp_id, ids = self._search_fixture(tracking_store)

        def found(flt: str) -> set[int]:
            return {ids.index(r.info.run_id) for r in tracking_store.search_runs([exp_id], flt)}

        assert found("metrics.acc > 0.25") == {3, 4, 5}
        assert found("metrics.acc >= 0.3 and tags.group = 'B'") == {3, 4, 5}
        assert found("metrics.loss != 23") == {0, 1, 2, 4}
        assert found("params.model = 'Forest'") == {1, 3, 5}
        assert found("params.model LIKE 'F%'") == {1, 3, 5}
        assert found("params.model LIKE 'f%'") == set()
        assert found("params.model ILIKE 'f%'") == {1, 3, 5}
        assert found("params.model != 'linear'") == {1, 3, 5}
        assert found("params.missing IS NULL") == set(range(6))
        assert found("tags.group IS NOT NULL and params.depth = '1'") == {1}
        assert found("attributes.run_name = 'run-2'") == {2}
        assert found("run_name LIKE 'run-%'") == set(range(6))
        assert found(f"attributes.run_id IN ('{ids[0]}', '{ids[4]}')") == {0, 4}
        assert found(f"run_id NOT IN ('{ids[0]}')") == {1, 2, 3, 4, 5}
        assert found("attributes.user_id = 'user1'") == {1, 3, 5}
        assert found("attributes.start_time >= 1003") == {3, 4, 5}
        assert found("attributes.status = 'RUNNING'") == set(range(6))
        assert found("min(metrics.loss) < 8") == {3, 4}
        assert found("max(metrics.loss) >= 23") == {3, 4}
        assert found("avg(metrics.loss) = 15") == {0, 1, 2, 3, 4}
        assert found("metrics.acc < 0.1 or tags.group = 'B'") == {0, 3, 4, 5}
        assert found("(metrics.acc < 0.1 or metrics.acc > 0.45) and params.model = 'Forest'") == {5}
        assert found("") == set(range(6))

    def test_search_runs_awkward_values(self, tracking_store: TrackingStore) -> None:
        """Quotes, backslashes, percent signs and signs in filter values match exactly (PostgreSQL inlines them)."""
        exp_id = _exp(tracking_store, "awkward")
        values = ["it's", "a\\b", "50%", "100%%", "é\\'x", "%(name)s", "-- c", "E'q'"]
        ids = []
        for i, value in enumerate(values):
            run = _run(tracking_store, exp_id, f"awkward-{i}")
            ids.append(run.info.run_id)
            tracking_store.log_batch(
                run.info.run_id, metrics=[Metric("m", float(-i), 1, 0)], params=[Param("p", value)], tags=[]
            )

        def found(flt: str, order: str = "metrics.m DESC") -> list[int]:
            return [ids.index(r.info.run_id) for r in tracking_store.search_runs([exp_id], flt, order_by=[order])]

        for i, value in enumerate(values):
            quoted = value.replace("\\", "\\\\").replace("'", "\\'")
            assert found(f"params.p = '{quoted}'") == [i], value
        assert found("params.p LIKE '50%'") == [2]
        assert found("params.p LIKE '%(%'") == [5]
        assert found("params.p ILIKE 'IT%'") == [0]
        assert found("metrics.m < -5.5") == [6, 7]
        assert found("metrics.m <= -2 and metrics.m > -4", "metrics.m ASC") == [3, 2]
        assert found("metrics.m != -0.0") == [1, 2, 3, 4, 5, 6, 7]

    def test_search_runs_order_and_paging(self, tracking_store: TrackingStore) -> None:
        exp_id, ids = self._search_fixture(tracking_store)

        def order(*clauses: str) -> list[int]:
            return [ids.index(r.info.run_id) for r in tracking_store.search_runs([exp_id], order_by=list(clauses))]

        assert order() == [5, 4, 3, 2, 1, 0]  # start_time DESC by default
        assert order("metrics.acc ASC") == [0, 1, 2, 3, 4, 5]
        # run 2's latest loss is NaN and run 5 has none: both last, NaN before missing, in both directions
        assert order("metrics.loss DESC") == [4, 3, 1, 0, 2, 5]
        assert order("metrics.loss ASC") == [0, 1, 3, 4, 2, 5]
        assert order("min(metrics.loss) ASC")[:2] == [4, 3]
        assert order("params.depth DESC") == [5, 4, 3, 2, 1, 0]
        assert order("tags.group ASC", "attributes.start_time ASC") == [0, 1, 2, 3, 4, 5]
        assert order("attributes.run_name DESC") == [5, 4, 3, 2, 1, 0]
        page = tracking_store.search_runs([exp_id], max_results=4, order_by=["metrics.acc DESC"])
        rest = tracking_store.search_runs([exp_id], max_results=4, order_by=["metrics.acc DESC"], page_token=page.token)
        assert [ids.index(r.info.run_id) for r in [*page, *rest]] == [5, 4, 3, 2, 1, 0] and rest.token is None
        # pages that cross from runs with a value to the NaN and missing ones
        for size, want in ((3, [4, 3, 1, 0, 2, 5]), (4, [4, 3, 1, 0, 2, 5]), (5, [0, 1, 3, 4, 2, 5])):
            clause = ["metrics.loss DESC"] if size != 5 else ["metrics.loss ASC"]
            first = tracking_store.search_runs([exp_id], max_results=size, order_by=clause)
            second = tracking_store.search_runs([exp_id], max_results=size, order_by=clause, page_token=first.token)
            assert [ids.index(r.info.run_id) for r in [*first, *second]] == want and second.token is None
        with expect(INVALID_PARAMETER_VALUE, "It must be at most 50000"):
            tracking_store.search_runs([exp_id], max_results=50001)
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.search_runs([exp_id], "metrics.acc > 'x'")
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.search_runs([exp_id], order_by=["nonsense.key"])

    def test_search_runs_returns_full_runs(self, tracking_store: TrackingStore) -> None:
        exp_id, ids = self._search_fixture(tracking_store)
        other = _exp(tracking_store, "other")
        _run(tracking_store, other)
        runs = tracking_store.search_runs([exp_id, other], "params.depth = '1'")
        assert len(runs) == 1 and runs[0] == tracking_store.get_run(ids[1])
        assert len(tracking_store.search_runs([exp_id, other])) == 7
        assert tracking_store.search_runs([]) == []

    def test_search_runs_wire_is_to_dict(self, tracking_store: TrackingStore) -> None:
        store = tracking_store
        exp_id, ids = self._search_fixture(store)
        store.log_batch(ids[0], metrics=[Metric("inf", math.inf, 3, 2), Metric("ninf", -math.inf, 3, 2)])
        store.update_run_info(ids[1], RunStatus.FINISHED, end_time=5000)
        ds = Dataset("train", "d1", "code", '{"uri": "x"}')
        store.log_inputs(ids[3], [DatasetInput(ds, (InputTag("mlflow.data.context", "training"),))])
        model = store.create_logged_model(exp_id, "model", source_run_id=ids[4])
        store.log_outputs(ids[4], [LoggedModelOutput(model.model_id, 2)])
        store.log_inputs(ids[4], models=[LoggedModelInput(model.model_id)])
        bare = _run(store, exp_id, "bare")
        for flt, order in (
            (None, None),
            ("metrics.acc > 0.05", ["metrics.loss DESC"]),
            ("params.model = 'Forest'", ["params.depth ASC"]),
            (None, ["metrics.inf ASC"]),
        ):
            runs = store.search_runs([exp_id], flt, order_by=order, max_results=4)
            wire = store.search_runs_wire([exp_id], flt, order_by=order, max_results=4)
            assert list(wire) == [r.to_dict() for r in runs] and wire.token == runs.token
        everything = {r["info"]["run_id"]: r for r in store.search_runs_wire([exp_id])}
        assert everything[ids[3]]["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "train"
        assert everything[ids[4]]["outputs"] == {"model_outputs": [{"model_id": model.model_id, "step": 2}]}
        assert everything[ids[1]]["info"]["end_time"] == 5000 and everything[ids[1]]["info"]["status"] == "FINISHED"
        assert {m["key"]: m["value"] for m in everything[ids[0]]["data"]["metrics"]}["ninf"] == "-Infinity"
        assert everything[bare.info.run_id]["data"]["tags"] == [{"key": "mlflow.runName", "value": "bare"}]

    # ---------------------------------------------------------------------------- inputs and outputs
    def test_log_inputs_and_search_datasets(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        r1, r2 = _run(tracking_store, exp_id).info.run_id, _run(tracking_store, exp_id).info.run_id
        ds = Dataset("train", "abc123", "code", '{"uri": "x"}', schema='{"cols": 1}', profile='{"rows": 2}')
        ctx = (InputTag("mlflow.data.context", "training"),)
        tracking_store.log_inputs(r1, [DatasetInput(ds, ctx), DatasetInput(ds, ctx)])
        tracking_store.log_inputs(r1, [DatasetInput(ds, ctx)])
        tracking_store.log_inputs(r2, [DatasetInput(ds, (InputTag("mlflow.data.context", "eval"),))])
        tracking_store.log_inputs(r2, [DatasetInput(Dataset("test", "d2", "code", "src"))])
        run1 = tracking_store.get_run(r1)
        assert run1.inputs.dataset_inputs == (DatasetInput(ds, ctx),)
        assert len(tracking_store.get_run(r2).inputs.dataset_inputs) == 2
        summaries = {(s.name, s.digest, s.context) for s in tracking_store.search_datasets([exp_id])}
        assert summaries == {("train", "abc123", "training"), ("train", "abc123", "eval"), ("test", "d2", None)}

        def found(flt: str) -> set[str]:
            return {r.info.run_id for r in tracking_store.search_runs([exp_id], flt)}

        assert found("datasets.name = 'train'") == {r1, r2}
        assert found("datasets.context = 'training'") == {r1}
        assert found("datasets.digest IN ('d2')") == {r2}
        with expect(INVALID_PARAMETER_VALUE, "'digest' exceeds the maximum length of 36"):
            tracking_store.log_inputs(r1, [DatasetInput(Dataset("x", "d" * 37, "code", "s"))])

    def test_log_model_inputs_and_outputs(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        run_id = _run(tracking_store, exp_id).info.run_id
        model = tracking_store.create_logged_model(exp_id, "model", source_run_id=run_id)
        tracking_store.log_outputs(run_id, [LoggedModelOutput(model.model_id, 3)])
        tracking_store.log_inputs(run_id, models=[LoggedModelInput(model.model_id)])
        run = tracking_store.get_run(run_id)
        assert run.outputs.model_outputs == (LoggedModelOutput(model.model_id, 3),)
        assert run.inputs.model_inputs == (LoggedModelInput(model.model_id),)

    # -------------------------------------------------------------------------------- logged models
    def test_logged_models(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        run_id = _run(tracking_store, exp_id).info.run_id
        model = tracking_store.create_logged_model(
            exp_id, "clf", run_id, tags=[RunTag("t", "1")], params=[Param("alpha", "0.5")], model_type="agent"
        )
        assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
        location = tracking_store.get_experiment(exp_id).artifact_location
        assert model.artifact_location == f"{location}/models/{model.model_id}/artifacts"
        assert model.status == LoggedModelStatus.PENDING and model.source_run_id == run_id
        assert model.tags == {"t": "1"} and model.params == {"alpha": "0.5"} and model.model_type == "agent"
        ready = tracking_store.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
        assert ready.status == LoggedModelStatus.READY
        tracking_store.set_logged_model_tags(model.model_id, [RunTag("t", "2"), RunTag("u", "x")])
        tracking_store.delete_logged_model_tag(model.model_id, "u")
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.delete_logged_model_tag(model.model_id, "u")
        tracking_store.log_logged_model_params(model.model_id, [Param("beta", "2")])
        tracking_store.log_batch(
            run_id, metrics=[Metric("acc", 0.8, 5, 1, model_id=model.model_id, dataset_name="ds", dataset_digest="d")]
        )
        got = tracking_store.get_logged_model(model.model_id)
        assert got.tags == {"t": "2"} and got.params == {"alpha": "0.5", "beta": "2"}
        assert [(m.key, m.value, m.model_id, m.run_id, m.dataset_name) for m in got.metrics] == [
            ("acc", 0.8, model.model_id, run_id, "ds")
        ]
        assert tracking_store.get_run(run_id).data.metrics == {"acc": 0.8}
        unnamed = tracking_store.create_logged_model(exp_id)
        assert unnamed.name
        tracking_store.delete_logged_model(unnamed.model_id)
        with expect(RESOURCE_DOES_NOT_EXIST, "Logged model with ID"):
            tracking_store.get_logged_model(unnamed.model_id)
        assert tracking_store.get_logged_model(unnamed.model_id, allow_deleted=True).lifecycle_stage == "deleted"
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.get_logged_model("m-" + "0" * 32)
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.log_metric(run_id, Metric("acc", 1.0, 1, model_id="m-" + "1" * 32))

    def test_search_logged_models(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        run_id = _run(tracking_store, exp_id).info.run_id
        models = []
        for i in range(4):
            m = tracking_store.create_logged_model(
                exp_id, f"model-{i}", params=[Param("kind", "tree" if i % 2 else "linear")]
            )
            tracking_store.log_batch(
                run_id, metrics=[Metric("acc", i / 10, 1, 0, model_id=m.model_id, dataset_name="val")]
            )
            models.append(m.model_id)
            time.sleep(0.002)
        found = tracking_store.search_logged_models([exp_id])
        assert [m.model_id for m in found] == models[::-1]
        flt = tracking_store.search_logged_models([exp_id], filter_string="metrics.acc > 0.15 and params.kind = 'tree'")
        assert [m.model_id for m in flt] == [models[3]]
        by_name = tracking_store.search_logged_models([exp_id], filter_string="name LIKE 'model-%'")
        assert len(by_name) == 4
        ordered = tracking_store.search_logged_models(
            [exp_id], order_by=[LoggedModelOrderBy("metrics.acc", ascending=False)], max_results=3
        )
        assert [m.model_id for m in ordered] == models[::-1][:3] and ordered.token
        rest = tracking_store.search_logged_models(
            [exp_id], order_by=[LoggedModelOrderBy("metrics.acc", ascending=False)], page_token=ordered.token
        )
        assert [m.model_id for m in rest] == [models[0]]
        by_ds = tracking_store.search_logged_models([exp_id], datasets=[{"dataset_name": "val"}])
        assert len(by_ds) == 4
        assert tracking_store.search_logged_models([exp_id], datasets=[{"dataset_name": "other"}]) == []
        assert len(tracking_store.search_logged_models([exp_id], order_by=[LoggedModelOrderBy("name")])) == 4

    # ---------------------------------------------------------------------------------- move and gc
    def test_move_runs(self, tracking_store: TrackingStore) -> None:
        src, dst = _exp(tracking_store, "src"), _exp(tracking_store, "dst")
        parent = _run(tracking_store, src).info.run_id
        child = _run(tracking_store, src, tags=[RunTag("mlflow.parentRunId", parent)]).info.run_id
        grandchild = _run(tracking_store, src, tags=[RunTag("mlflow.parentRunId", child)]).info.run_id
        other = _run(tracking_store, src).info.run_id
        tracking_store.move_runs([parent], dst)
        moved = {r.info.run_id for r in tracking_store.search_runs([dst])}
        assert moved == {parent, child, grandchild}
        assert [r.info.run_id for r in tracking_store.search_runs([src])] == [other]
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.move_runs([other, "f" * 32], dst)
        assert tracking_store.get_run(other).info.experiment_id == src  # all or nothing
        tracking_store.delete_experiment(dst)
        with expect(INVALID_PARAMETER_VALUE, "must be in the 'active' state"):
            tracking_store.move_runs([other], dst)

    def test_list_and_purge(self, tracking_store: TrackingStore) -> None:
        exp_id = _exp(tracking_store)
        run_id = _run(tracking_store, exp_id).info.run_id
        tracking_store.log_batch(run_id, [Metric("m", 1.0, 1)], [Param("p", "v")], [RunTag("t", "v")])
        tracking_store.log_inputs(run_id, [DatasetInput(Dataset("d", "1", "code", "s"), (InputTag("k", "v"),))])
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.purge_run(run_id)
        tracking_store.delete_experiment(exp_id)
        assert [d.experiment_id for d in tracking_store.list_deleted_experiments()] == [exp_id]
        assert tracking_store.list_deleted_experiments(older_than_ms=3_600_000) == []
        assert [d.run_id for d in tracking_store.list_deleted_runs(experiment_ids=[exp_id])] == [run_id]
        assert tracking_store.list_deleted_runs(older_than_ms=3_600_000) == []
        with expect(INVALID_PARAMETER_VALUE):
            tracking_store.purge_experiment(exp_id)  # still has a run
        tracking_store.purge_run(run_id)
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.get_run(run_id)
        tracking_store.purge_experiment(exp_id)
        with expect(RESOURCE_DOES_NOT_EXIST):
            tracking_store.get_experiment(exp_id)
        assert tracking_store.list_deleted_experiments() == []
        new_id = tracking_store.create_experiment("exp")  # the name is free again
        assert tracking_store.get_experiment(new_id).name == "exp"


class TestTrackingStore(TrackingStoreSuite):
    """The suite on the ``tracking_store`` fixture of the nearest conftest (SQL: three backends)."""
