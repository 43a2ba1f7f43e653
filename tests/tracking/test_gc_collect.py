"""``collect_garbage`` on a real SQLite store: ordering, failures, interruption, durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail.entities import RunTag
from mltrail.errors import MltrailError
from mltrail.store.artifacts.base import ArtifactRepository
from mltrail.store.artifacts.local import LocalArtifactRepository, local_path_from_uri
from mltrail.store.tracking.sql.store import SqlTrackingStore
from mltrail.tracking.gc import collect_garbage, parse_duration


@pytest.fixture
def store(tmp_path: Path) -> SqlTrackingStore:
    return SqlTrackingStore(f"sqlite:///{tmp_path / 'gc.db'}", str(tmp_path / "artifacts"))


def _run_with_artifact(store: SqlTrackingStore, tmp_path: Path, experiment_id: str = "0") -> tuple[str, Path]:
    run = store.create_run(experiment_id, "u", 0, [RunTag("k", "v")], None)
    src = tmp_path / f"{run.info.run_id}.bin"
    src.write_bytes(b"x" * 10)
    LocalArtifactRepository(run.info.artifact_uri).log_artifact(str(src))
    return run.info.run_id, Path(local_path_from_uri(run.info.artifact_uri))


class _FailingFor(LocalArtifactRepository):
    """A local repository whose deletion fails for URIs containing ``needle``."""

    needle = ""

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        if self.needle and self.needle in self.artifact_uri:
            raise OSError("disk on fire")
        super().delete_artifacts(artifact_path)


def _failing_factory(needle: str):
    def factory(uri: str) -> ArtifactRepository:
        repo = _FailingFor(uri)
        repo.needle = needle
        return repo

    return factory


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30d", 30 * 86_400_000), ("12h", 12 * 3_600_000), ("1h30m", 5_400_000), ("2w", 14 * 86_400_000),
     ("45s", 45_000), ("1.5h", 5_400_000), ("0s", 0)],
)  # fmt: skip
def test_parse_duration(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "30", "d", "1x", "30m1h", "-1d", "1 d"])
def test_parse_duration_rejects(text):
    with pytest.raises(MltrailError) as info:
        parse_duration(text)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_artifact_failure_keeps_the_run_and_a_rerun_finishes(store, tmp_path):
    bad, bad_dir = _run_with_artifact(store, tmp_path)
    good, good_dir = _run_with_artifact(store, tmp_path)
    store.delete_run(bad)
    store.delete_run(good)

    report = collect_garbage(store, artifact_repo_factory=_failing_factory(bad))
    assert not report.ok
    assert [f.id for f in report.failures] == [bad]
    assert [r.run_id for r in report.runs] == [good]
    assert not good_dir.exists()
    # The failed run keeps both its rows and its files: nothing half-deleted.
    assert store.get_run(bad).info.lifecycle_stage == "deleted"
    assert bad_dir.is_dir()

    again = collect_garbage(store, artifact_repo_factory=LocalArtifactRepository)
    assert again.ok and [r.run_id for r in again.runs] == [bad]
    assert not bad_dir.exists()
    with pytest.raises(MltrailError):
        store.get_run(bad)


def test_rerun_after_interruption_between_artifacts_and_rows(store, tmp_path):
    """An interrupted gc may have removed the files but not the rows: the next gc completes it."""
    run_id, run_dir = _run_with_artifact(store, tmp_path)
    store.delete_run(run_id)
    LocalArtifactRepository(str(run_dir.parent)).delete_artifacts()  # what the interrupted gc did
    report = collect_garbage(store, artifact_repo_factory=LocalArtifactRepository)
    assert report.ok and [r.run_id for r in report.runs] == [run_id]


def test_experiment_with_a_kept_run_is_kept(store, tmp_path):
    experiment_id = store.create_experiment("e")
    run_id, _ = _run_with_artifact(store, tmp_path, experiment_id)
    store.delete_experiment(experiment_id)
    report = collect_garbage(store, experiment_ids=[experiment_id], artifact_repo_factory=_failing_factory(run_id))
    assert [f.id for f in report.failures] == [run_id]
    assert report.experiments == []
    assert report.kept_experiments == [(experiment_id, "it still holds runs")]
    assert store.get_experiment(experiment_id).lifecycle_stage == "deleted"


def test_shared_artifact_location_is_not_removed_while_in_use(store, tmp_path):
    shared = tmp_path / "shared"
    doomed = store.create_experiment("doomed", str(shared))
    alive = store.create_experiment("alive", str(shared))
    _run_with_artifact(store, tmp_path, doomed)
    _, alive_dir = _run_with_artifact(store, tmp_path, alive)
    store.delete_experiment(doomed)
    report = collect_garbage(store, artifact_repo_factory=LocalArtifactRepository)
    assert [e.experiment_id for e in report.experiments] == [doomed]
    assert alive_dir.is_dir() and shared.is_dir()


def test_dry_run_needs_no_factory_and_changes_nothing(store, tmp_path):
    run_id, run_dir = _run_with_artifact(store, tmp_path)
    store.delete_run(run_id)
    report = collect_garbage(store, dry_run=True)
    assert report.dry_run and [r.run_id for r in report.runs] == [run_id]
    assert run_dir.is_dir()
    assert store.get_run(run_id).info.lifecycle_stage == "deleted"


def test_real_run_needs_a_factory(store):
    with pytest.raises(MltrailError):
        collect_garbage(store)


class _StaleListing:
    """The store as a second gc saw it: it listed the deleted runs and experiments before the first gc purged
    them (everything else goes to the real store)."""

    def __init__(self, store: SqlTrackingStore) -> None:
        self.store = store
        self.runs = store.list_deleted_runs()
        self.experiments = store.list_deleted_experiments()

    def list_deleted_runs(self, older_than_ms=None, experiment_ids=None):
        return [r for r in self.runs if experiment_ids is None or r.experiment_id in experiment_ids]

    def list_deleted_experiments(self, older_than_ms=None):
        return self.experiments

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_gc_racing_another_skips_what_that_one_purged(store, tmp_path):
    experiment_id = store.create_experiment("e")
    run_id, folder = _run_with_artifact(store, tmp_path, experiment_id)
    store.delete_experiment(experiment_id)
    slower = _StaleListing(store)
    first = collect_garbage(store, artifact_repo_factory=LocalArtifactRepository)
    assert [r.run_id for r in first.runs] == [run_id] and [e.experiment_id for e in first.experiments] == [
        experiment_id
    ]
    second = collect_garbage(slower, artifact_repo_factory=LocalArtifactRepository)  # type: ignore[arg-type]
    assert second.ok and second.runs == [] and second.experiments == []
    assert not folder.exists()
