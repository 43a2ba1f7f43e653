"""``mltrail run``: run a project (a folder, git repository or zip file) as a tracked run."""

from __future__ import annotations

import click

from mltrail.cli._shared import resolve_tracking_uri, tracking_uri_option

ENV_MANAGER_CHOICE = click.Choice(["local", "virtualenv", "uv", "conda"], case_sensitive=False)


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("alpha=0.5", "name=x=y")`` -> ``{"alpha": "0.5", "name": "x=y"}``.

    Raises:
        click.BadParameter: an item without ``=`` or a name given twice.
    """
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE.", param_hint="-P")
        if name in params:
            raise click.BadParameter(f"Parameter {name!r} is given more than once.", param_hint="-P")
        params[name] = value
    return params


@click.command("run")
@click.argument("uri")
@click.option("-e", "--entry-point", default="main", show_default=True, help="Entry point (or .py/.sh file) to run.")
@click.option("-v", "--version", help="Git commit, branch or tag to run (git projects only).")
@click.option("-P", "--param-list", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable).")
@click.option("--experiment-name", help="Experiment to run in; created when missing.")
@click.option("--experiment-id", help="Experiment id to run in.")
@click.option("--run-name", help="Name of the new run.")
@click.option("--run-id", help="Continue this existing run instead of creating one.")
@click.option(
    "--env-manager",
    type=ENV_MANAGER_CHOICE,
    help="Environment to run in [default: virtualenv for python_env projects, conda for conda_env ones, else local].",
)
@click.option("--storage-dir", metavar="DIR", help="Where remote values of path parameters are downloaded.")
@tracking_uri_option
def run(
    uri: str,
    entry_point: str,
    version: str | None,
    params: tuple[str, ...],
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    run_id: str | None,
    env_manager: str | None,
    storage_dir: str | None,
    tracking_uri: str | None,
) -> None:
    """Run the project at URI: a folder, file:// URI, git URL (with #subdir) or zip file.

    The command's output streams here and is kept as the run's artifacts (project_logs/); the run ends
    FINISHED, FAILED or KILLED. Exit status 1 when the run does not finish.

    \b
    Examples:
      mltrail run examples/sklearn_project -P alpha=0.3 --env-manager local
      mltrail run https://github.com/org/repo#train -v v1.2 -e main --experiment-name demo
      mltrail run project.zip -e scripts/prepare.py
    """
    from mltrail.projects import run as run_project

    if experiment_name and experiment_id:
        raise click.UsageError("Give only one of --experiment-name and --experiment-id.")
    submitted = run_project(
        uri,
        entry_point=entry_point,
        version=version,
        parameters=parse_params(params),
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        run_id=run_id,
        env_manager=env_manager.lower() if env_manager else None,
        storage_dir=storage_dir,
        tracking_uri=resolve_tracking_uri(tracking_uri),
    )
    click.echo(f"=== Run (ID '{submitted.run_id}') succeeded ===", err=True)
