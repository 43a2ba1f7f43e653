"""Garbage collection: permanently delete soft-deleted runs and experiments, artifacts first.

The order is what makes this safe to interrupt: for each run the artifacts are deleted first and the rows
second, so a gc that dies half-way leaves every run it had not finished still soft-deleted (and still
listed by ``list_deleted_runs``); running gc again finishes the job. A run whose artifacts cannot be
deleted keeps its rows, so nothing is left pointing at files that nobody will ever clean up.

Experiments are purged only once they hold no runs at all; their artifact location is removed only when
it is empty by then (two experiments may share one location, and logged models live there too).

Two collections may run at once (two ``mltrail gc``, or through two server replicas): both may delete the
same artifacts (deleting what is gone is not an error; a deletion that fails is tried once more, as the other
one removing the same tree meanwhile can trip it), and the store's purge locks the row and removes it once,
so the slower one finds the run or experiment gone. That one is skipped, not reported as deleted or failed:
each run and experiment appears in exactly one of the reports.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mltrail import errors
from mltrail.entities import LifecycleStage, ViewType
from mltrail.errors import RESOURCE_DOES_NOT_EXIST, MltrailError
from mltrail.store.artifacts.base import ArtifactRepository
from mltrail.store.tracking.base import DeletedExperiment, DeletedRun, TrackingStore

#: Builds the artifact repository for a URI (``mltrail.store.uris.get_artifact_repository``).
ArtifactRepoFactory = Callable[[str], ArtifactRepository]

_DURATION = re.compile(
    r"^(?:(?P<weeks>\d+(?:\.\d+)?)w)?(?:(?P<days>\d+(?:\.\d+)?)d)?(?:(?P<hours>\d+(?:\.\d+)?)h)?"
    r"(?:(?P<minutes>\d+(?:\.\d+)?)m)?(?:(?P<seconds>\d+(?:\.\d+)?)s)?$"
)
_MS_PER_UNIT = {
    "weeks": 604_800_000,
    "days": 86_400_000,
    "hours": 3_600_000,
    "minutes": 60_000,
    "seconds": 1000,
}


def parse_duration(text: str) -> int:
    """Parse a duration such as ``30d``, ``12h``, ``1h30m``, ``2w`` or ``45s`` into milliseconds.

    Args:
        text: units ``w``, ``d``, ``h``, ``m``, ``s`` in that order, each optional, numbers may be decimal.

    Returns:
        The duration in milliseconds.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the text is not such a duration.
    """
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise errors.invalid(
            f"Invalid duration {text!r}: use units w, d, h, m, s in that order, e.g. '30d', '12h', '1h30m'"
        )
    return int(sum(float(v) * _MS_PER_UNIT[unit] for unit, v in match.groupdict().items() if v))


@dataclass(frozen=True, slots=True)
class GcFailure:
    """Something gc could not delete; ``kind`` is ``run`` or ``experiment``."""

    kind: str
    id: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready form."""
        return {"kind": self.kind, "id": self.id, "message": self.message}


@dataclass(slots=True)
class GcReport:
    """What a gc did (or, with ``dry_run``, would do).

    Attributes:
        dry_run: nothing was changed.
        runs: runs permanently deleted (or that would be), artifacts and rows.
        experiments: experiments permanently deleted (or that would be).
        kept_experiments: ``(experiment_id, reason)`` for selected experiments left in place.
        failures: what could not be deleted; those runs keep their rows and can be retried.
    """

    dry_run: bool
    runs: list[DeletedRun] = field(default_factory=list)
    experiments: list[DeletedExperiment] = field(default_factory=list)
    kept_experiments: list[tuple[str, str]] = field(default_factory=list)
    failures: list[GcFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything selected was deleted."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """A stable JSON-ready form."""
        return {
            "dry_run": self.dry_run,
            "runs": [
                {
                    "run_id": r.run_id,
                    "experiment_id": r.experiment_id,
                    "artifact_uri": r.artifact_uri,
                    "deleted_time": r.deleted_time,
                }
                for r in self.runs
            ],
            "experiments": [
                {
                    "experiment_id": e.experiment_id,
                    "artifact_location": e.artifact_location,
                    "deleted_time": e.deleted_time,
                }
                for e in self.experiments
            ],
            "kept_experiments": [{"experiment_id": i, "reason": why} for i, why in self.kept_experiments],
            "failures": [f.to_dict() for f in self.failures],
        }


def collect_garbage(
    store: TrackingStore,
    older_than_ms: int | None = None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
    dry_run: bool = False,
    artifact_repo_factory: ArtifactRepoFactory | None = None,
) -> GcReport:
    """Permanently delete soft-deleted runs and experiments, and the runs' artifacts.

    Selection: with neither ``run_ids`` nor ``experiment_ids``, every deleted run and every deleted
    experiment (deleted more than ``older_than_ms`` ago, when given). Otherwise exactly the runs in
    ``run_ids`` plus the experiments in ``experiment_ids``; an experiment brings along all its deleted runs.
    Everything named explicitly is checked before anything is touched, so a bad id changes nothing.

    Args:
        store: the tracking store.
        older_than_ms: only what was deleted at least this long ago.
        run_ids: runs to delete; each must exist and be deleted (and old enough).
        experiment_ids: experiments to delete; each must exist and be deleted (and old enough).
        dry_run: report what would be deleted, change nothing.
        artifact_repo_factory: builds the artifact repository for a URI; required unless ``dry_run``.

    Returns:
        A :class:`GcReport`; check :attr:`GcReport.ok` for failures.

    Raises:
        MltrailError: RESOURCE_DOES_NOT_EXIST for an unknown id, INVALID_PARAMETER_VALUE for a run or
            experiment that is not deleted, or not deleted long enough ago.
    """
    if older_than_ms is not None and older_than_ms < 0:
        raise errors.invalid("older_than must not be negative")
    if not dry_run and artifact_repo_factory is None:
        raise errors.invalid("gc needs an artifact repository factory to delete artifacts")

    explicit = run_ids is not None or experiment_ids is not None
    runs, experiments = (
        _select_explicit(store, older_than_ms, _unique(run_ids or ()), _unique(experiment_ids or ()))
        if explicit
        else _select_all(store, older_than_ms)
    )
    report = GcReport(dry_run=dry_run)
    if dry_run:
        report.runs = runs
        report.experiments = experiments
        return report

    assert artifact_repo_factory is not None
    for run in runs:
        try:
            _twice(functools.partial(_delete_run_artifacts, run, artifact_repo_factory))
        except Exception as exc:  # any failure keeps the rows; reported per run
            message = f"artifacts not deleted, run kept: {_why(exc)}"
            report.failures.append(GcFailure("run", run.run_id, message))
            continue
        if _purged_here(functools.partial(store.purge_run, run.run_id)):
            report.runs.append(run)

    for experiment in experiments:
        remaining = store.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1)
        if remaining:
            report.kept_experiments.append((experiment.experiment_id, "it still holds runs"))
            continue
        try:
            _twice(functools.partial(_delete_location_if_empty, experiment.artifact_location, artifact_repo_factory))
        except Exception as exc:  # the location stays; the rows can go
            message = f"artifact location not removed: {_why(exc)}"
            report.failures.append(GcFailure("experiment", experiment.experiment_id, message))
        if _purged_here(functools.partial(store.purge_experiment, experiment.experiment_id)):
            report.experiments.append(experiment)
    return report


def _twice(delete: Callable[[], None]) -> None:
    """Run a deletion, and once more if it fails: a concurrent gc removing the same tree can trip a tree walk."""
    try:
        delete()
    except Exception:
        delete()


def _purged_here(purge: Callable[[], None]) -> bool:
    """Run ``purge``; False when the run or experiment was already gone (a concurrent gc purged it first)."""
    try:
        purge()
    except MltrailError as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        return False
    return True


def _select_all(store: TrackingStore, older_than_ms: int | None) -> tuple[list[DeletedRun], list[DeletedExperiment]]:
    experiments = store.list_deleted_experiments(older_than_ms)
    runs = store.list_deleted_runs(older_than_ms)
    if experiments:
        # An experiment goes with all its runs, however recently they were deleted (deleting the
        # experiment deleted them with it).
        runs = _merge_runs(runs, store.list_deleted_runs(None, [e.experiment_id for e in experiments]))
    return runs, experiments


def _select_explicit(
    store: TrackingStore, older_than_ms: int | None, run_ids: list[str], experiment_ids: list[str]
) -> tuple[list[DeletedRun], list[DeletedExperiment]]:
    deleted_runs = {r.run_id: r for r in store.list_deleted_runs(older_than_ms)} if run_ids else {}
    runs: list[DeletedRun] = []
    for run_id in run_ids:
        info = store.get_run(run_id).info
        if info.lifecycle_stage != LifecycleStage.DELETED:
            raise errors.invalid(
                f"Run {run_id} is not deleted (lifecycle stage {info.lifecycle_stage!r}); "
                "only deleted runs can be garbage-collected"
            )
        if run_id in deleted_runs:
            runs.append(deleted_runs[run_id])
        elif older_than_ms:
            raise errors.invalid(f"Run {run_id} was deleted too recently for older_than")
        else:  # deleted, but not listed (a store listing only some): still fine to collect
            runs.append(DeletedRun(run_id, info.experiment_id, info.artifact_uri, None))

    deleted_experiments = {e.experiment_id: e for e in store.list_deleted_experiments(older_than_ms)}
    experiments: list[DeletedExperiment] = []
    for experiment_id in experiment_ids:
        experiment = store.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.DELETED:
            raise errors.invalid(
                f"Experiment {experiment_id} is not deleted "
                f"(lifecycle stage {experiment.lifecycle_stage!r}); "
                "only deleted experiments can be garbage-collected"
            )
        if experiment_id not in deleted_experiments:
            raise errors.invalid(f"Experiment {experiment_id} was deleted too recently for older_than")
        experiments.append(deleted_experiments[experiment_id])
    if experiments:
        runs = _merge_runs(runs, store.list_deleted_runs(None, [e.experiment_id for e in experiments]))
    return runs, experiments


def _merge_runs(first: Iterable[DeletedRun], second: Iterable[DeletedRun]) -> list[DeletedRun]:
    """Both lists, each run once, first occurrence wins (it may carry a deleted_time the other lacks)."""
    merged: dict[str, DeletedRun] = {}
    for run in [*first, *second]:
        if run.run_id not in merged or merged[run.run_id].deleted_time is None:
            merged[run.run_id] = run
    return list(merged.values())


def _delete_run_artifacts(run: DeletedRun, factory: ArtifactRepoFactory) -> None:
    """Delete a run's artifacts, and the ``<run_id>/`` directory around them when it is the usual layout."""
    if not run.artifact_uri:
        return
    uri = run.artifact_uri.rstrip("/")
    suffix = f"/{run.run_id}/artifacts"
    # The default layout is <experiment location>/<run_id>/artifacts: the run-id directory belongs to the
    # run alone, so it goes too (it may hold more than artifacts/). Any other layout: only the artifact root.
    target = uri[: -len("/artifacts")] if uri.endswith(suffix) else uri
    factory(target).delete_artifacts()


def _delete_location_if_empty(location: str, factory: ArtifactRepoFactory) -> None:
    """Remove an experiment's artifact location when nothing is left in it."""
    if not location:
        return
    repo = factory(location)
    if not repo.list_artifacts():
        repo.delete_artifacts()


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in ids if i.strip()))


def _why(exc: BaseException) -> str:
    return exc.message if isinstance(exc, MltrailError) else f"{type(exc).__name__}: {exc}"
