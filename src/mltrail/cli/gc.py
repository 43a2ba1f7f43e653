"""``mltrail gc``: permanently delete soft-deleted runs and experiments, with their artifacts."""

from __future__ import annotations

import sys

import click

from mltrail.cli._shared import (
    artifact_repository,
    json_option,
    open_store,
    resolve_tracking_uri,
    split_csv,
    tracking_uri_option,
)
from mltrail.cli.output import echo_json, format_time, render_table


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@click.command("gc", short_help="Permanently delete deleted runs and experiments, with their artifacts.")
@click.option(
    "--older-than",
    metavar="DURATION",
    help="Only what was deleted at least this long ago: e.g. 30d, 12h, 1h30m, 2w, 90s.",
)
@click.option(
    "--run-ids", multiple=True, metavar="IDS", help="Only these runs (comma-separated); each must be deleted."
)
@click.option(
    "--experiment-ids",
    multiple=True,
    metavar="IDS",
    help="Only these experiments (comma-separated), with all their runs; each must be deleted.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; change nothing.")
@tracking_uri_option
@json_option
def gc(
    older_than: str | None,
    run_ids: tuple[str, ...],
    experiment_ids: tuple[str, ...],
    dry_run: bool,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Permanently delete soft-deleted runs and experiments, and the runs' artifacts.

    Without --run-ids or --experiment-ids, every deleted run and deleted experiment goes (only those
    deleted longer ago than --older-than, when given). A deleted experiment is removed together with
    all its runs; its artifact location is removed too if nothing else is left in it.

    Safe to interrupt: each run's artifacts are deleted before its rows, so running gc again finishes
    what an interrupted gc started. A run whose artifacts cannot be deleted is kept (and reported, exit
    code 1). Naming a run or experiment that is not deleted is an error and changes nothing.

    \b
    Examples:
      mltrail gc --dry-run
      mltrail gc --older-than 30d
      mltrail gc --run-ids 4f1c2a...,9b0e11...
      mltrail gc --experiment-ids 3,4 --json
    """
    from mltrail.tracking.gc import collect_garbage, parse_duration

    older_than_ms = parse_duration(older_than) if older_than is not None else None
    store = open_store(tracking_uri)
    resolved_uri = resolve_tracking_uri(tracking_uri)
    report = collect_garbage(
        store,
        older_than_ms=older_than_ms,
        run_ids=split_csv(run_ids) if run_ids else None,
        experiment_ids=split_csv(experiment_ids) if experiment_ids else None,
        dry_run=dry_run,
        artifact_repo_factory=lambda uri: artifact_repository(uri, resolved_uri),
    )
    if as_json:
        echo_json(report.to_dict())
    else:
        verb = "Would permanently delete" if dry_run else "Permanently deleted"
        click.echo(f"{verb} {_plural(len(report.runs), 'run')} and {_plural(len(report.experiments), 'experiment')}.")
        rows = [["run", r.run_id, format_time(r.deleted_time), r.artifact_uri] for r in report.runs]
        rows += [
            ["experiment", e.experiment_id, format_time(e.deleted_time), e.artifact_location]
            for e in report.experiments
        ]
        if rows:
            click.echo(render_table(["KIND", "ID", "DELETED", "ARTIFACTS"], rows, max_width=72))
        for experiment_id, reason in report.kept_experiments:
            click.echo(f"Kept experiment {experiment_id}: {reason}.")
        for failure in report.failures:
            click.echo(f"Error: {failure.kind} {failure.id}: {failure.message}", err=True)
    if not report.ok:
        sys.exit(1)
