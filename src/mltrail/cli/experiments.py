"""``mltrail experiments``: create, list, describe, rename, delete and restore experiments.

Commands that act on existing experiments take experiment ids, as MLflow's CLI does; add ``--by-name``
to give names instead (deleted experiments can be found by name too, so ``restore --by-name`` works).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mltrail.cli._shared import (
    VIEW_CHOICE,
    json_option,
    open_store,
    resolve_experiment,
    tracking_uri_option,
    view_type,
)
from mltrail.cli.output import echo_json, echo_table, format_time, render_fields, render_table

if TYPE_CHECKING:
    from mltrail.entities import Experiment
    from mltrail.store.tracking.base import TrackingStore

_by_name_option = click.option(
    "--by-name", "-n", is_flag=True, help="Treat the EXPERIMENT arguments as names instead of ids."
)


@click.group("experiments")
def experiments() -> None:
    """Create, list, rename, delete and restore experiments.

    \b
    Examples:
      mltrail experiments create fraud-model --tag team=risk
      mltrail experiments list --view all
      mltrail experiments rename 3 fraud-model-v2
      mltrail experiments delete --by-name fraud-model-v2
      mltrail experiments restore 3
    """


def _parse_tags(values: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint="'--tag'")
        tags[key.strip()] = tag_value
    return tags


@experiments.command("create")
@click.argument("name")
@click.option(
    "--artifact-location",
    "-l",
    metavar="URI",
    help="Where the experiment's run artifacts go (default: under the store's artifact root).",
)
@click.option("--tag", "-t", "tags", multiple=True, metavar="KEY=VALUE", help="A tag to set; repeatable.")
@tracking_uri_option
@json_option
def create(
    name: str, artifact_location: str | None, tags: tuple[str, ...], tracking_uri: str | None, as_json: bool
) -> None:
    """Create an experiment called NAME and print its id.

    \b
    Examples:
      mltrail experiments create my-exp
      mltrail experiments create my-exp -l s3://bucket/my-exp -t team=vision -t owner=ana
    """
    from mltrail.entities import ExperimentTag

    parsed = _parse_tags(tags)
    store = open_store(tracking_uri)
    experiment_id = store.create_experiment(name, artifact_location, [ExperimentTag(k, v) for k, v in parsed.items()])
    if as_json:
        echo_json({"experiment": store.get_experiment(experiment_id).to_dict()})
    else:
        click.echo(f"Created experiment {name!r} with id {experiment_id}")


@experiments.command("list")
@click.option("--view", default="active", show_default=True, type=VIEW_CHOICE, help="Which lifecycle stages.")
@click.option(
    "--filter",
    "filter_string",
    metavar="FILTER",
    help="e.g. \"name LIKE 'fraud%'\" or \"tags.team = 'risk'\".",
)
@click.option(
    "--order-by", multiple=True, metavar="CLAUSE", help="e.g. 'name ASC' or 'creation_time DESC'; repeatable."
)
@click.option("--max-results", default=1000, show_default=True, type=click.IntRange(min=1), help="Page size.")
@click.option("--page-token", metavar="TOKEN", help="Continue from a previous page.")
@tracking_uri_option
@json_option
def list_experiments(
    view: str,
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    page_token: str | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List experiments, newest first unless --order-by says otherwise.

    \b
    Examples:
      mltrail experiments list
      mltrail experiments list --view deleted
      mltrail experiments list --filter "name LIKE 'fraud%'" --order-by "name ASC" --json
    """
    store = open_store(tracking_uri)
    page = store.search_experiments(view_type(view), max_results, filter_string, list(order_by), page_token)
    if as_json:
        echo_json({"experiments": [e.to_dict() for e in page], "next_page_token": page.token})
        return
    rows = [
        [e.experiment_id, e.name, e.lifecycle_stage, format_time(e.creation_time), e.artifact_location] for e in page
    ]
    echo_table(["ID", "NAME", "STAGE", "CREATED", "ARTIFACT LOCATION"], rows, "No experiments found.")
    if page.token:
        click.echo(f"More results: add --page-token {page.token}", err=True)


@experiments.command("describe")
@click.argument("experiment")
@_by_name_option
@tracking_uri_option
@json_option
def describe(experiment: str, by_name: bool, tracking_uri: str | None, as_json: bool) -> None:
    """Show one experiment: its attributes and tags.

    \b
    Examples:
      mltrail experiments describe 1
      mltrail experiments describe --by-name my-exp --json
    """
    found = resolve_experiment(open_store(tracking_uri), experiment, by_name)
    if as_json:
        echo_json({"experiment": found.to_dict()})
        return
    click.echo(_describe_text(found))


def _describe_text(e: Experiment) -> str:
    fields: list[tuple[str, Any]] = [
        ("id", e.experiment_id),
        ("name", e.name),
        ("lifecycle stage", e.lifecycle_stage),
        ("artifact location", e.artifact_location),
        ("created", format_time(e.creation_time)),
        ("last updated", format_time(e.last_update_time)),
    ]
    text = render_fields(fields)
    if e.tags:
        tags = render_table(["KEY", "VALUE"], sorted(e.tags.items()), max_width=80)
        text += f"\n\nTags ({len(e.tags)})\n{tags}"
    return text


@experiments.command("rename")
@click.argument("experiment")
@click.argument("new_name")
@_by_name_option
@tracking_uri_option
@json_option
def rename(experiment: str, new_name: str, by_name: bool, tracking_uri: str | None, as_json: bool) -> None:
    """Rename EXPERIMENT (an id, or a name with --by-name) to NEW_NAME.

    \b
    Examples:
      mltrail experiments rename 3 churn-v2
      mltrail experiments rename --by-name churn churn-v2
    """
    store = open_store(tracking_uri)
    found = resolve_experiment(store, experiment, by_name)
    store.rename_experiment(found.experiment_id, new_name)
    if as_json:
        echo_json({"experiment": store.get_experiment(found.experiment_id).to_dict()})
    else:
        click.echo(f"Renamed experiment {found.experiment_id} from {found.name!r} to {new_name!r}")


def _change_stage(store: TrackingStore, refs: tuple[str, ...], by_name: bool, delete: bool, as_json: bool) -> None:
    """Delete or restore experiments; every reference is resolved before anything changes."""
    targets = [resolve_experiment(store, ref, by_name) for ref in refs]
    for target in targets:
        if delete:
            store.delete_experiment(target.experiment_id)
        else:
            store.restore_experiment(target.experiment_id)
    if as_json:
        echo_json({"experiments": [store.get_experiment(t.experiment_id).to_dict() for t in targets]})
        return
    verb = "Deleted" if delete else "Restored"
    for target in targets:
        click.echo(f"{verb} experiment {target.experiment_id} ({target.name!r})")


@experiments.command("delete")
@click.argument("experiment_refs", metavar="EXPERIMENT...", nargs=-1, required=True)
@_by_name_option
@tracking_uri_option
@json_option
def delete(experiment_refs: tuple[str, ...], by_name: bool, tracking_uri: str | None, as_json: bool) -> None:
    """Soft-delete experiments and their runs (restorable until `mltrail gc` purges them).

    \b
    Examples:
      mltrail experiments delete 3 4
      mltrail experiments delete --by-name old-exp
    """
    _change_stage(open_store(tracking_uri), experiment_refs, by_name, delete=True, as_json=as_json)


@experiments.command("restore")
@click.argument("experiment_refs", metavar="EXPERIMENT...", nargs=-1, required=True)
@_by_name_option
@tracking_uri_option
@json_option
def restore(experiment_refs: tuple[str, ...], by_name: bool, tracking_uri: str | None, as_json: bool) -> None:
    """Restore soft-deleted experiments and the runs deleted with them.

    \b
    Examples:
      mltrail experiments restore 3
      mltrail experiments restore --by-name old-exp
    """
    _change_stage(open_store(tracking_uri), experiment_refs, by_name, delete=False, as_json=as_json)
