"""The ``mltrail`` command group and the console-script entry point.

Subcommands are registered by import path in :data:`COMMANDS` and imported only when they run (or when
``--help`` lists them), so starting the CLI costs little more than importing click. A new group
(``server``, ``models``, ``run``, ...) is one line in that table.

Errors: an :class:`~mltrail.errors.MltrailError` becomes ``Error: <message>`` on stderr and exit code 1;
bad usage is click's exit code 2. Neither prints a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

#: name -> "module:attribute" of each top-level command, imported on first use.
COMMANDS: dict[str, str] = {
    "experiments": "mltrail.cli.experiments:experiments",
    "runs": "mltrail.cli.runs:runs",
    "gc": "mltrail.cli.gc:gc",
    "db": "mltrail.cli.db:db",
    # Later groups plug in here, e.g.:
    "server": "mltrail.cli.server:server",
    "models": "mltrail.cli.models:models",
    "run": "mltrail.cli.projects:run",
    "users": "mltrail.cli.users:users",
    "tokens": "mltrail.cli.tokens:tokens",
    "permissions": "mltrail.cli.permissions:permissions",
    "groups": "mltrail.cli.auth_admin:groups",
    "audit": "mltrail.cli.auth_admin:audit",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on demand, and that prints MltrailError as one line."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, attr = self.lazy_commands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from mltrail.errors import MltrailError

        try:
            return super().invoke(ctx)
        except MltrailError as exc:
            raise click.ClickException(exc.message) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("sqlalchemy"):  # e.g. a database file that cannot be opened
                orig = getattr(exc, "orig", None)
                raise click.ClickException(f"Database error: {orig or exc}") from exc
            raise


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    None, "--version", "-V", package_name="mltrail", prog_name="mltrail", message="%(prog)s %(version)s"
)
def cli() -> None:
    """mltrail: track experiments, runs, metrics and artifacts (MLflow-compatible).

    Every command takes --tracking-uri (env MLTRAIL_TRACKING_URI, then MLFLOW_TRACKING_URI;
    default sqlite:///mltrail.db) and most take --json for scripts.

    \b
    Examples:
      mltrail experiments create my-exp --tag team=vision
      mltrail runs list --experiment-id 1 --filter "metrics.acc > 0.9" --order-by "metrics.acc DESC"
      mltrail gc --older-than 30d --dry-run
    """


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the CLI, exit 0 on success, 1 on an error, 2 on bad usage."""
    from mltrail.errors import MltrailError

    try:
        rc = cli.main(args=list(argv) if argv is not None else None, prog_name="mltrail", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except (MltrailError, OSError) as exc:  # raised outside a command (e.g. while opening a store)
        message = exc.message if isinstance(exc, MltrailError) else str(exc)
        click.echo(f"Error: {message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":  # pragma: no cover - `python -m mltrail.cli.main`
    main()
