"""``mltrail runs``: list, describe, delete, restore and move runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from mltrail.cli._shared import (
    VIEW_CHOICE,
    json_option,
    open_store,
    resolve_experiment,
    split_csv,
    tracking_uri_option,
    view_type,
)
from mltrail.cli.output import (
    echo_json,
    echo_table,
    format_duration,
    format_time,
    render_fields,
    render_table,
)

if TYPE_CHECKING:
    from mltrail.entities import Run
    from mltrail.store.tracking.base import TrackingStore

#: Attribute columns of ``runs list --columns``; ``metrics.K``, ``params.K`` and ``tags.K`` work too.
ATTRIBUTE_COLUMNS: dict[str, Callable[[Run], Any]] = {
    "run_id": lambda r: r.info.run_id,
    "run_name": lambda r: r.info.run_name,
    "experiment_id": lambda r: r.info.experiment_id,
    "status": lambda r: r.info.status.value,
    "user_id": lambda r: r.info.user_id,
    "start_time": lambda r: format_time(r.info.start_time),
    "end_time": lambda r: format_time(r.info.end_time),
    "duration": lambda r: format_duration(r.info.start_time, r.info.end_time),
    "lifecycle_stage": lambda r: r.info.lifecycle_stage,
    "artifact_uri": lambda r: r.info.artifact_uri,
}
DEFAULT_COLUMNS = ("run_id", "run_name", "status", "start_time", "duration")
_PREFIXES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
}


@click.group("runs")
def runs() -> None:
    """List, inspect, delete, restore and move runs.

    \b
    Examples:
      mltrail runs list --experiment-id 1 --columns run_id,metrics.*,params.lr
      mltrail runs describe 4f1c2a...
      mltrail runs delete 4f1c2a... 9b0e11...
      mltrail runs move 4f1c2a... --to-experiment-id 2
    """


def _expand_columns(requested: Sequence[str], page: Sequence[Run]) -> list[str]:
    """Validate column names and expand ``metrics.*``/``params.*``/``tags.*`` to the keys on this page."""
    columns: list[str] = []
    for name in requested:
        prefix, dot, key = name.partition(".")
        if not dot:
            if name not in ATTRIBUTE_COLUMNS:
                allowed = ", ".join(ATTRIBUTE_COLUMNS)
                raise click.BadParameter(
                    f"unknown column {name!r}; use one of {allowed}, or metrics.KEY, params.KEY, tags.KEY "
                    "(KEY may be *)",
                    param_hint="'--columns'",
                )
            columns.append(name)
            continue
        kind = _PREFIXES.get(prefix)
        if kind is None or not key:
            raise click.BadParameter(f"unknown column {name!r}", param_hint="'--columns'")
        if key == "*":
            keys = sorted({k for run in page for k in _values(run, kind)})
            columns.extend(f"{kind}.{k}" for k in keys)
        else:
            columns.append(f"{kind}.{key}")
    return columns


def _values(run: Run, kind: str) -> dict[str, Any]:
    return {"metrics": run.data.metrics, "params": run.data.params, "tags": run.data.tags}[kind]


def _cell(run: Run, column: str) -> Any:
    if column in ATTRIBUTE_COLUMNS:
        return ATTRIBUTE_COLUMNS[column](run)
    kind, _, key = column.partition(".")
    return _values(run, kind).get(key)


def _experiment_ids(store: TrackingStore, ids: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    result = split_csv(ids)
    result += [resolve_experiment(store, name, by_name=True).experiment_id for name in names]
    return list(dict.fromkeys(result))


@runs.command("list")
@click.option(
    "--experiment-id",
    "-x",
    "experiment_ids",
    multiple=True,
    metavar="ID",
    help="Repeatable; or comma-separated.",
)
@click.option("--experiment-name", "experiment_names", multiple=True, metavar="NAME", help="Repeatable.")
@click.option("--filter", "filter_string", metavar="FILTER", help="e.g. \"metrics.acc > 0.9 and params.lr = '0.1'\".")
@click.option("--order-by", multiple=True, metavar="CLAUSE", help="e.g. 'metrics.acc DESC'; repeatable.")
@click.option("--view", default="active", show_default=True, type=VIEW_CHOICE, help="Which lifecycle stages.")
@click.option("--max-results", default=1000, show_default=True, type=click.IntRange(min=1), help="Page size.")
@click.option("--page-token", metavar="TOKEN", help="Continue from a previous page.")
@click.option(
    "--columns",
    "-c",
    multiple=True,
    metavar="COLS",
    help=(
        "Comma-separated table columns (repeatable): "
        f"{', '.join(ATTRIBUTE_COLUMNS)}, metrics.KEY, params.KEY, tags.KEY; KEY may be *. "
        f"[default: {','.join(DEFAULT_COLUMNS)}]"
    ),
)
@tracking_uri_option
@json_option
def list_runs(
    experiment_ids: tuple[str, ...],
    experiment_names: tuple[str, ...],
    filter_string: str | None,
    order_by: tuple[str, ...],
    view: str,
    max_results: int,
    page_token: str | None,
    columns: tuple[str, ...],
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List the runs of one or more experiments, newest first unless --order-by says otherwise.

    \b
    Examples:
      mltrail runs list -x 1
      mltrail runs list -x 1 --filter "metrics.acc > 0.9" --order-by "metrics.acc DESC" -c run_id,metrics.acc
      mltrail runs list --experiment-name my-exp --view deleted --json
    """
    if not experiment_ids and not experiment_names:
        raise click.UsageError("give at least one --experiment-id or --experiment-name")
    store = open_store(tracking_uri)
    ids = _experiment_ids(store, experiment_ids, experiment_names)
    page = store.search_runs(ids, filter_string, view_type(view), max_results, list(order_by), page_token)
    if as_json:
        echo_json({"runs": [r.to_dict() for r in page], "next_page_token": page.token})
        return
    cols = _expand_columns(split_csv(columns) or list(DEFAULT_COLUMNS), page)
    rows = [[_cell(run, c) for c in cols] for run in page]
    echo_table([c.upper() if c in ATTRIBUTE_COLUMNS else c for c in cols], rows, "No runs found.")
    if page.token:
        click.echo(f"More results: add --page-token {page.token}", err=True)


@runs.command("describe")
@click.argument("run_id")
@tracking_uri_option
@json_option
def describe(run_id: str, tracking_uri: str | None, as_json: bool) -> None:
    """Show one run: its info, params, latest metrics and tags.

    \b
    Examples:
      mltrail runs describe 4f1c2a0e9d8b4c7a9e1f2b3c4d5e6f70
      mltrail runs describe 4f1c2a0e9d8b4c7a9e1f2b3c4d5e6f70 --json | jq .run.data.metrics
    """
    run = open_store(tracking_uri).get_run(run_id)
    if as_json:
        echo_json({"run": run.to_dict()})
        return
    click.echo(_describe_text(run))


def _describe_text(run: Run) -> str:
    info = run.info
    fields: list[tuple[str, Any]] = [
        ("run id", info.run_id),
        ("name", info.run_name),
        ("experiment id", info.experiment_id),
        ("status", info.status.value),
        ("lifecycle stage", info.lifecycle_stage),
        ("user", info.user_id),
        ("start time", format_time(info.start_time)),
        ("end time", format_time(info.end_time)),
        ("duration", format_duration(info.start_time, info.end_time)),
        ("artifact uri", info.artifact_uri),
    ]
    sections = [render_fields(fields)]
    params = sorted(run.data.params.items())
    metrics = sorted(run.data.metric_objects, key=lambda m: m.key)
    tags = sorted(run.data.tags.items())
    sections.append(f"Params ({len(params)})\n" + (render_table(["KEY", "VALUE"], params, 80) if params else "(none)"))
    metric_rows = [[m.key, m.value, m.step, format_time(m.timestamp)] for m in metrics]
    sections.append(
        f"Metrics ({len(metrics)}, latest values)\n"
        + (render_table(["KEY", "VALUE", "STEP", "TIMESTAMP"], metric_rows, 80) if metrics else "(none)")
    )
    sections.append(f"Tags ({len(tags)})\n" + (render_table(["KEY", "VALUE"], tags, 80) if tags else "(none)"))
    return "\n\n".join(sections)


def _change_stage(store: TrackingStore, run_ids: tuple[str, ...], delete: bool, as_json: bool) -> None:
    """Delete or restore runs; every id is checked before anything changes."""
    ids = list(dict.fromkeys(run_ids))
    for run_id in ids:
        store.get_run(run_id)
    for run_id in ids:
        if delete:
            store.delete_run(run_id)
        else:
            store.restore_run(run_id)
    if as_json:
        echo_json({"runs": [store.get_run(i).to_dict() for i in ids]})
        return
    verb = "Deleted" if delete else "Restored"
    for run_id in ids:
        click.echo(f"{verb} run {run_id}")


@runs.command("delete")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True)
@tracking_uri_option
@json_option
def delete(run_ids: tuple[str, ...], tracking_uri: str | None, as_json: bool) -> None:
    """Soft-delete runs (restorable until `mltrail gc` purges them and their artifacts).

    \b
    Examples:
      mltrail runs delete 4f1c2a0e9d8b4c7a9e1f2b3c4d5e6f70
      mltrail runs list -x 1 --filter "status = 'FAILED'" --json | jq -r '.runs[].info.run_id' \\
        | xargs mltrail runs delete
    """
    _change_stage(open_store(tracking_uri), run_ids, delete=True, as_json=as_json)


@runs.command("restore")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True)
@tracking_uri_option
@json_option
def restore(run_ids: tuple[str, ...], tracking_uri: str | None, as_json: bool) -> None:
    """Restore soft-deleted runs.

    \b
    Examples:
      mltrail runs restore 4f1c2a0e9d8b4c7a9e1f2b3c4d5e6f70
    """
    _change_stage(open_store(tracking_uri), run_ids, delete=False, as_json=as_json)


@runs.command("move")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True)
@click.option("--to-experiment-id", metavar="ID", help="The destination experiment's id.")
@click.option("--to-experiment-name", metavar="NAME", help="The destination experiment's name.")
@tracking_uri_option
@json_option
def move(
    run_ids: tuple[str, ...],
    to_experiment_id: str | None,
    to_experiment_name: str | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Move runs (and their child runs) to another active experiment, all or nothing.

    Artifacts stay where they are: the runs keep their artifact URIs.

    \b
    Examples:
      mltrail runs move 4f1c2a... 9b0e11... --to-experiment-id 2
      mltrail runs move 4f1c2a... --to-experiment-name production-candidates
    """
    if (to_experiment_id is None) == (to_experiment_name is None):
        raise click.UsageError("give exactly one of --to-experiment-id or --to-experiment-name")
    store = open_store(tracking_uri)
    if to_experiment_name is not None:
        target = resolve_experiment(store, to_experiment_name, by_name=True).experiment_id
    else:
        target = str(to_experiment_id)
    ids = list(dict.fromkeys(run_ids))
    store.move_runs(ids, target)
    if as_json:
        echo_json({"experiment_id": target, "runs": [store.get_run(i).to_dict() for i in ids]})
        return
    for run_id in ids:
        click.echo(f"Moved run {run_id} to experiment {target}")
