"""``mltrail gc``: artifacts really leave the disk, rows leave the database, dry runs change nothing."""

from __future__ import annotations

import json

import pytest

from mltrail.errors import MltrailError


def _gone(store, run_id: str) -> bool:
    with pytest.raises(MltrailError) as info:
        store.get_run(run_id)
    return info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_gc_purges_deleted_runs_and_their_artifacts(invoke, env, make_run, artifact_dir):
    keep, drop = make_run(name="keep"), make_run(name="drop")
    drop_dir = artifact_dir(env.store.get_run(drop).info.artifact_uri)
    keep_dir = artifact_dir(env.store.get_run(keep).info.artifact_uri)
    assert (drop_dir / "model.txt").is_file()
    env.store.delete_run(drop)

    result = invoke("gc")
    assert result.exit_code == 0, result.output
    assert "Permanently deleted 1 run and 0 experiments." in result.stdout
    assert drop in result.stdout
    assert _gone(env.store, drop)
    assert not drop_dir.exists()
    assert not drop_dir.parent.exists()  # the <run_id>/ directory goes too
    assert (keep_dir / "model.txt").is_file()
    assert env.store.get_run(keep).info.lifecycle_stage == "active"


def test_gc_dry_run_changes_nothing(invoke, env, make_run, artifact_dir):
    run_id = make_run()
    run_dir = artifact_dir(env.store.get_run(run_id).info.artifact_uri)
    env.store.delete_run(run_id)
    result = invoke("gc", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would permanently delete 1 run" in result.stdout
    assert run_id in result.stdout
    assert (run_dir / "model.txt").is_file()
    assert env.store.get_run(run_id).info.lifecycle_stage == "deleted"


def test_gc_of_a_run_that_is_not_deleted_is_an_error(invoke, env, make_run, artifact_dir, one_error_line):
    active, deleted = make_run(), make_run()
    env.store.delete_run(deleted)
    line = one_error_line(invoke("gc", "--run-ids", f"{deleted},{active}"))
    assert active in line and "not deleted" in line
    # Checked before anything is touched: the deleted run is still there, with its artifacts.
    run = env.store.get_run(deleted)
    assert (artifact_dir(run.info.artifact_uri) / "model.txt").is_file()


def test_gc_unknown_run_is_an_error(invoke, one_error_line):
    one_error_line(invoke("gc", "--run-ids", "a" * 32))


def test_gc_run_ids_only_touches_those(invoke, env, make_run):
    a, b = make_run(), make_run()
    env.store.delete_run(a)
    env.store.delete_run(b)
    result = invoke("gc", "--run-ids", a, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [r["run_id"] for r in payload["runs"]] == [a]
    assert payload["dry_run"] is False and payload["failures"] == []
    assert _gone(env.store, a)
    assert env.store.get_run(b).info.lifecycle_stage == "deleted"


def test_gc_older_than_keeps_recent_deletions(invoke, env, make_run):
    run_id = make_run()
    env.store.delete_run(run_id)
    result = invoke("gc", "--older-than", "1h30m")
    assert result.exit_code == 0, result.output
    assert "Permanently deleted 0 runs" in result.stdout
    assert env.store.get_run(run_id).info.lifecycle_stage == "deleted"


def test_gc_older_than_with_explicit_recent_run_is_an_error(invoke, env, make_run, one_error_line):
    run_id = make_run()
    env.store.delete_run(run_id)
    one_error_line(invoke("gc", "--older-than", "30d", "--run-ids", run_id))
    assert env.store.get_run(run_id).info.lifecycle_stage == "deleted"


def test_gc_bad_duration_is_one_error_line(invoke, one_error_line):
    line = one_error_line(invoke("gc", "--older-than", "thirty days"))
    assert "30d" in line  # the message shows valid examples


def test_gc_deleted_experiment_goes_with_its_runs(invoke, env, make_run, artifact_dir):
    experiment_id = env.store.create_experiment("doomed")
    location = artifact_dir(env.store.get_experiment(experiment_id).artifact_location)
    runs = [make_run(experiment_id), make_run(experiment_id)]
    assert location.is_dir()
    env.store.delete_experiment(experiment_id)

    result = invoke("gc", "--experiment-ids", experiment_id)
    assert result.exit_code == 0, result.output
    assert "Permanently deleted 2 runs and 1 experiment." in result.stdout
    assert all(_gone(env.store, r) for r in runs)
    with pytest.raises(MltrailError):
        env.store.get_experiment(experiment_id)
    assert not location.exists()


def test_gc_of_an_active_experiment_is_an_error(invoke, env, one_error_line):
    experiment_id = env.store.create_experiment("alive")
    line = one_error_line(invoke("gc", "--experiment-ids", experiment_id))
    assert "not deleted" in line
    assert env.store.get_experiment(experiment_id).lifecycle_stage == "active"


def test_gc_everything_includes_deleted_experiments(invoke, env, make_run):
    experiment_id = env.store.create_experiment("old")
    run_id = make_run(experiment_id)
    env.store.delete_experiment(experiment_id)
    payload = json.loads(invoke("gc", "--json").stdout)
    assert [e["experiment_id"] for e in payload["experiments"]] == [experiment_id]
    assert [r["run_id"] for r in payload["runs"]] == [run_id]
