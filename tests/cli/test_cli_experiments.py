"""``mltrail experiments``: create, list, describe, rename, delete, restore, against a real SQLite store."""

from __future__ import annotations

import json


def test_create_prints_id_and_sets_tags(invoke, env):
    result = invoke("experiments", "create", "fraud", "--tag", "team=risk", "-t", "owner=ana")
    assert result.exit_code == 0, result.output
    assert "Created experiment 'fraud' with id" in result.stdout
    experiment = env.store.get_experiment_by_name("fraud")
    assert experiment is not None
    assert experiment.tags == {"team": "risk", "owner": "ana"}


def test_create_json_and_artifact_location(invoke, env):
    location = env.tmp / "elsewhere"
    result = invoke("experiments", "create", "exp", "--artifact-location", str(location), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["experiment"]["name"] == "exp"
    assert payload["experiment"]["lifecycle_stage"] == "active"
    assert str(location) in payload["experiment"]["artifact_location"]


def test_create_duplicate_is_one_error_line(invoke, one_error_line):
    assert invoke("experiments", "create", "dup").exit_code == 0
    line = one_error_line(invoke("experiments", "create", "dup"))
    assert "dup" in line


def test_create_bad_tag_is_usage_error(invoke):
    result = invoke("experiments", "create", "x", "--tag", "novalue")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr
    assert "Traceback" not in result.output


def test_list_table_and_views(invoke):
    invoke("experiments", "create", "alpha")
    invoke("experiments", "create", "beta")
    result = invoke("experiments", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "STAGE"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    names = {line.split()[1] for line in lines[2:]}
    assert {"alpha", "beta", "Default"} <= names
    # Columns are aligned: every NAME cell starts at the same offset.
    offset = lines[0].index("NAME")
    assert all(line[offset:].split()[0] in names for line in lines[2:])

    invoke("experiments", "delete", "--by-name", "beta")
    active = invoke("experiments", "list", "--json")
    assert {e["name"] for e in json.loads(active.stdout)["experiments"]} >= {"alpha", "Default"}
    assert "beta" not in {e["name"] for e in json.loads(active.stdout)["experiments"]}
    deleted = json.loads(invoke("experiments", "list", "--view", "deleted", "--json").stdout)
    assert [e["name"] for e in deleted["experiments"]] == ["beta"]
    everything = json.loads(invoke("experiments", "list", "--view", "all", "--json").stdout)
    assert {"alpha", "beta", "Default"} <= {e["name"] for e in everything["experiments"]}


def test_list_filter_order_and_max_results(invoke):
    for name in ("c-exp", "a-exp", "b-exp", "other"):
        invoke("experiments", "create", name)
    result = invoke("experiments", "list", "--filter", "name LIKE '%-exp'", "--order-by", "name ASC", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [e["name"] for e in payload["experiments"]] == ["a-exp", "b-exp", "c-exp"]
    assert payload["next_page_token"] is None

    paged = invoke("experiments", "list", "--order-by", "name ASC", "--max-results", "2", "--json")
    first = json.loads(paged.stdout)
    assert len(first["experiments"]) == 2
    assert first["next_page_token"]
    rest = invoke(
        "experiments", "list", "--order-by", "name ASC", "--max-results", "2", "--page-token",
        first["next_page_token"], "--json",
    )  # fmt: skip
    assert [e["name"] for e in first["experiments"]] == ["Default", "a-exp"]  # byte order
    assert [e["name"] for e in json.loads(rest.stdout)["experiments"]] == ["b-exp", "c-exp"]


def test_list_bad_filter_is_one_error_line(invoke, one_error_line):
    one_error_line(invoke("experiments", "list", "--filter", "name ===== 'x"))


def test_list_bad_view_is_usage_error(invoke):
    result = invoke("experiments", "list", "--view", "archived")
    assert result.exit_code == 2
    assert "archived" in result.stderr


def test_rename_by_id_and_by_name(invoke, env):
    experiment_id = env.store.create_experiment("old")
    result = invoke("experiments", "rename", experiment_id, "new")
    assert result.exit_code == 0, result.output
    assert env.store.get_experiment(experiment_id).name == "new"

    result = invoke("experiments", "rename", "--by-name", "new", "newer", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["experiment"]["name"] == "newer"


def test_rename_missing_is_one_error_line(invoke, one_error_line):
    one_error_line(invoke("experiments", "rename", "424242", "whatever"))
    line = one_error_line(invoke("experiments", "rename", "--by-name", "nope", "whatever"))
    assert "nope" in line


def test_delete_and_restore(invoke, env):
    a = env.store.create_experiment("a")
    b = env.store.create_experiment("b")
    result = invoke("experiments", "delete", a, b)
    assert result.exit_code == 0, result.output
    assert f"Deleted experiment {a}" in result.stdout
    assert env.store.get_experiment(a).lifecycle_stage == "deleted"
    assert env.store.get_experiment(b).lifecycle_stage == "deleted"

    result = invoke("experiments", "restore", "--by-name", "a", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["experiments"][0]["lifecycle_stage"] == "active"
    assert env.store.get_experiment(b).lifecycle_stage == "deleted"


def test_delete_with_one_bad_id_changes_nothing(invoke, env, one_error_line):
    a = env.store.create_experiment("a")
    one_error_line(invoke("experiments", "delete", a, "999999"))
    assert env.store.get_experiment(a).lifecycle_stage == "active"


def test_describe_shows_tags(invoke, env):
    invoke("experiments", "create", "tagged", "-t", "team=vision")
    result = invoke("experiments", "describe", "--by-name", "tagged")
    assert result.exit_code == 0, result.output
    assert "tagged" in result.stdout
    assert "team" in result.stdout and "vision" in result.stdout
    payload = json.loads(invoke("experiments", "describe", "--by-name", "tagged", "--json").stdout)
    assert payload["experiment"]["tags"] == [{"key": "team", "value": "vision"}]


def test_explicit_tracking_uri_option_wins(invoke, env, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert invoke("experiments", "create", "only-in-other", "--tracking-uri", other).exit_code == 0
    assert env.store.get_experiment_by_name("only-in-other") is None
    listed = json.loads(invoke("experiments", "list", "--tracking-uri", other, "--json").stdout)
    assert "only-in-other" in {e["name"] for e in listed["experiments"]}
