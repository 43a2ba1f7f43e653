"""``mltrail runs``: list, describe, delete, restore, move, against a real SQLite store."""

from __future__ import annotations

import json

from mltrail.cli.output import format_time


def test_list_table_default_columns(invoke, env, make_run):
    make_run(name="first")
    make_run(name="second")
    result = invoke("runs", "list", "--experiment-id", "0")
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header == ["RUN_ID", "RUN_NAME", "STATUS", "START_TIME", "DURATION"]
    assert "first" in result.stdout and "second" in result.stdout
    assert format_time(1_700_000_000_000) in result.stdout  # start time as local ISO 8601


def test_list_filter_order_columns(invoke, env, make_run):
    make_run(name="low", params={"lr": "0.1"}, metrics={"acc": 0.5})
    make_run(name="high", params={"lr": "0.1"}, metrics={"acc": 0.9})
    make_run(name="other", params={"lr": "0.2"}, metrics={"acc": 0.99})
    result = invoke(
        "runs", "list", "-x", "0", "--filter", "params.lr = '0.1'", "--order-by", "metrics.acc DESC",
        "--columns", "run_name,metrics.acc,params.*",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RUN_NAME", "metrics.acc", "params.lr"]
    assert [line.split()[0] for line in lines[2:]] == ["high", "low"]
    assert lines[2].split()[1:] == ["0.9", "0.1"]


def test_list_json_is_wire_shape(invoke, make_run):
    run_id = make_run(name="r", params={"p": "1"}, metrics={"m": 2.0})
    payload = json.loads(invoke("runs", "list", "-x", "0", "--json").stdout)
    assert payload["next_page_token"] is None
    (run,) = payload["runs"]
    assert run["info"]["run_id"] == run_id
    assert run["data"]["params"] == [{"key": "p", "value": "1"}]
    assert run["data"]["metrics"][0]["key"] == "m"


def test_list_by_experiment_name_and_views(invoke, env, make_run):
    experiment_id = env.store.create_experiment("named")
    keep = make_run(experiment_id, name="keep")
    gone = make_run(experiment_id, name="gone")
    env.store.delete_run(gone)
    active = json.loads(invoke("runs", "list", "--experiment-name", "named", "--json").stdout)
    assert [r["info"]["run_id"] for r in active["runs"]] == [keep]
    deleted = json.loads(invoke("runs", "list", "--experiment-name", "named", "--view", "deleted", "--json").stdout)
    assert [r["info"]["run_id"] for r in deleted["runs"]] == [gone]
    both = json.loads(invoke("runs", "list", "-x", experiment_id, "--view", "all", "--json").stdout)
    assert {r["info"]["run_id"] for r in both["runs"]} == {keep, gone}


def test_list_needs_an_experiment(invoke):
    result = invoke("runs", "list")
    assert result.exit_code == 2
    assert "--experiment-id" in result.stderr


def test_list_unknown_column_is_usage_error(invoke, make_run):
    make_run()
    result = invoke("runs", "list", "-x", "0", "--columns", "bogus")
    assert result.exit_code == 2
    assert "bogus" in result.stderr


def test_list_bad_filter_is_one_error_line(invoke, one_error_line):
    one_error_line(invoke("runs", "list", "-x", "0", "--filter", "metrics.acc >>> 1"))


def test_describe(invoke, make_run):
    run_id = make_run(name="described", params={"lr": "0.01"}, metrics={"loss": 0.25})
    result = invoke("runs", "describe", run_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert run_id in out and "described" in out
    assert "Params (1)" in out and "lr" in out and "0.01" in out
    assert "Metrics (1" in out and "loss" in out and "0.25" in out
    assert "Tags" in out and "team" in out
    payload = json.loads(invoke("runs", "describe", run_id, "--json").stdout)
    assert payload["run"]["info"]["run_id"] == run_id
    assert payload["run"]["data"]["params"] == [{"key": "lr", "value": "0.01"}]


def test_describe_missing_run_is_one_error_line(invoke, one_error_line):
    line = one_error_line(invoke("runs", "describe", "0" * 32))
    assert "0" * 32 in line


def test_delete_and_restore_several(invoke, env, make_run):
    a, b = make_run(name="a"), make_run(name="b")
    result = invoke("runs", "delete", a, b)
    assert result.exit_code == 0, result.output
    assert f"Deleted run {a}" in result.stdout
    assert {env.store.get_run(i).info.lifecycle_stage for i in (a, b)} == {"deleted"}
    result = invoke("runs", "restore", a, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["info"]["lifecycle_stage"] == "active"
    assert env.store.get_run(b).info.lifecycle_stage == "deleted"


def test_delete_with_one_missing_run_changes_nothing(invoke, env, make_run, one_error_line):
    a = make_run()
    one_error_line(invoke("runs", "delete", a, "f" * 32))
    assert env.store.get_run(a).info.lifecycle_stage == "active"


def test_move(invoke, env, make_run):
    target = env.store.create_experiment("target")
    a, b = make_run(name="a"), make_run(name="b")
    result = invoke("runs", "move", a, b, "--to-experiment-id", target)
    assert result.exit_code == 0, result.output
    assert {env.store.get_run(i).info.experiment_id for i in (a, b)} == {target}
    env.store.create_experiment("second")
    result = invoke("runs", "move", a, "--to-experiment-name", "second", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["runs"][0]["info"]["experiment_id"] == payload["experiment_id"] != target


def test_move_needs_exactly_one_target(invoke, make_run):
    run_id = make_run()
    assert invoke("runs", "move", run_id).exit_code == 2
    assert invoke("runs", "move", run_id, "--to-experiment-id", "0", "--to-experiment-name", "x").exit_code == 2


def test_move_to_missing_experiment_is_one_error_line(invoke, env, make_run, one_error_line):
    run_id = make_run()
    one_error_line(invoke("runs", "move", run_id, "--to-experiment-id", "987654"))
    assert env.store.get_run(run_id).info.experiment_id == "0"
