"""``mltrail models``: serve a model over HTTP, score a file offline, write a Dockerfile.

Heavy imports (pandas, the model's flavor, uvicorn) happen inside the commands, so ``mltrail --help`` stays fast.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import click

from mltrail.cli._shared import tracking_uri_option

ENV_MANAGERS = ("local", "virtualenv", "uv")

_env_manager_option = click.option(
    "--env-manager",
    type=click.Choice(ENV_MANAGERS),
    default="local",
    show_default=True,
    help="local: this Python environment. virtualenv / uv: an environment built from the model's "
    "python_env.yaml and requirements.txt, cached by content hash under $MLTRAIL_ENV_ROOT "
    "(default ~/.cache/mltrail/envs).",
)
_model_option = click.option(
    "--model-uri",
    "-m",
    required=True,
    metavar="URI",
    help="The model: a local path, runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, ...",
)


def _local_model_dir(model_uri: str) -> Path:
    """A local directory with the model (downloaded when the URI is remote)."""
    from mltrail.models.uris import download_model

    return Path(download_model(model_uri)).resolve()


def _run_in_model_env(model_uri: str, env_manager: str, args: list[str]) -> None:
    """Build (or reuse) the model's environment and run ``mltrail models <args>`` inside it; exit with its code."""
    from mltrail.serving.envs import get_or_create_env

    model_dir = _local_model_dir(model_uri)
    python = get_or_create_env(model_dir, env_manager)
    cmd = [str(python), "-m", "mltrail.cli.main", "models", *args, "-m", str(model_dir), "--env-manager", "local"]
    proc = subprocess.Popen(cmd)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code:
        sys.exit(code if code > 0 else 128 - code)


@click.group("models")
def models() -> None:
    """Serve models (MLflow's scoring protocol), score files offline, generate Dockerfiles.

    \b
    Examples:
      mltrail models serve -m runs:/<run_id>/model -p 5001
      mltrail models serve -m ./my_model --workers 4 --enable-batching
      mltrail models predict -m ./my_model -i input.json -o predictions.json
      mltrail models generate-dockerfile -m models:/churn/3 -d ./churn-image
    """


def _use_tracking_uri(tracking_uri: str | None) -> None:
    """Resolve ``runs:/`` and ``models:/`` URIs against ``--tracking-uri`` (in this process and the ones it starts:
    server workers, the model's environment); without it, the environment's chain applies."""
    if tracking_uri:
        from mltrail.tracking._config import set_tracking_uri

        set_tracking_uri(tracking_uri)


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound (not yet listening) before the model loads, so a port in use is one line at once.

    Raises:
        click.ClickException: the address cannot be bound.
    """
    from mltrail.serving.run import bind_socket

    try:
        return bind_socket(host, port, listen=False)
    except OSError as exc:
        hint = " (is `mltrail server` or another model server running there? Pick another port with --port)"
        in_use = exc.errno == errno.EADDRINUSE
        reason = f"{exc.strerror or exc}{hint if in_use else ''}"
        raise click.ClickException(f"Cannot listen on {host}:{port}: {reason}") from None


@models.command("serve")
@_model_option
@click.option("--port", "-p", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@_env_manager_option
@click.option(
    "--timeout",
    "-t",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds before a request is answered 504 [default: $MLTRAIL_SCORING_SERVER_REQUEST_TIMEOUT or 60].",
)
@click.option(
    "--enable-batching/--no-batching",
    default=False,
    show_default=True,
    help="Combine concurrent DataFrame requests into one predict call (for models that score rows independently).",
)
@click.option("--max-batch-size", default=64, show_default=True, type=click.IntRange(1), help="Most rows per batch.")
@click.option(
    "--max-batch-wait-ms",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long a batch may wait for more requests, only while requests are arriving concurrently.",
)
@click.option(
    "--max-body-mb",
    default=64.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Largest request body in MiB; a bigger one is answered 413 without being read to its end.",
)
@click.option(
    "--body-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds for a request body to arrive after its headers; a slower one is answered 408.",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds for a request's headers to arrive (from connecting, or from the first byte on a reused "
    "connection); a slower client is disconnected.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="Server log level.",
)
@click.option(
    "--served-model-name",
    default=None,
    metavar="NAME",
    help="The name of a language model in /v1/models and in the 'model' field of its answers "
    "[default: <name>/<version> for a model from the registry, else the logged model's id].",
)
@tracking_uri_option
def serve(
    model_uri: str,
    port: int,
    host: str,
    workers: int,
    env_manager: str,
    timeout: float | None,
    enable_batching: bool,
    max_batch_size: int,
    max_batch_wait_ms: float,
    max_body_mb: float,
    body_timeout: float,
    header_timeout: float,
    log_level: str,
    served_model_name: str | None,
    tracking_uri: str | None,
) -> None:
    """Serve a model over HTTP: /invocations, /ping, /health, /version (MLflow's scoring protocol); chat models
    also get OpenAI's /v1/chat/completions and /v1/models.

    runs:/ and models:/ URIs are resolved against --tracking-uri. The port is checked before the model loads.

    \b
    Example:
      mltrail models serve -m ./my_model -p 5001 &
      curl -s localhost:5001/invocations -H 'Content-Type: application/json' \\
          -d '{"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}'
    """
    from mltrail.serving.run import registered_model_name

    _use_tracking_uri(tracking_uri)
    sock = _listen(host, port)
    port = sock.getsockname()[1]  # the port the system picked for --port 0
    if served_model_name is None:
        served_model_name = registered_model_name(model_uri)
    if env_manager != "local":
        sock.close()  # the server in the model's environment binds it again
        args = ["serve", "-p", str(port), "-h", host, "-w", str(workers), "--log-level", log_level]
        if served_model_name:
            args += ["--served-model-name", served_model_name]
        args += ["--max-body-mb", str(max_body_mb), "--body-timeout", str(body_timeout)]
        args += ["--header-timeout", str(header_timeout)]
        if timeout is not None:
            args += ["--timeout", str(timeout)]
        if enable_batching:
            args += ["--enable-batching", "--max-batch-size", str(max_batch_size)]
            args += ["--max-batch-wait-ms", str(max_batch_wait_ms)]
        _run_in_model_env(model_uri, env_manager, args)
        return
    from mltrail.serving.run import ScoringSettings, default_timeout
    from mltrail.serving.run import serve as run_server

    settings = ScoringSettings(
        model_uri=model_uri,
        host=host,
        port=port,
        workers=workers,
        timeout=timeout if timeout is not None else default_timeout(),
        enable_batching=enable_batching,
        max_batch_size=max_batch_size,
        max_batch_wait_ms=max_batch_wait_ms,
        log_level=log_level,
        max_body_mb=max_body_mb,
        body_timeout=body_timeout,
        header_timeout=header_timeout,
        model_name=served_model_name,
    )
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    batching = f", batching up to {max_batch_size} rows" if enable_batching else ""
    click.echo(f"Serving {model_uri} on http://{shown}:{port} ({workers} worker(s){batching})", err=True)
    run_server(settings, sock)


@models.command("predict")
@_model_option
@click.option(
    "--input-path", "-i", default=None, metavar="FILE", help="Input file (an /invocations JSON body, or CSV); stdin."
)
@click.option("--output-path", "-o", default=None, metavar="FILE", help="Where to write the JSON result; stdout.")
@click.option(
    "--content-type", "-t", type=click.Choice(["json", "csv"]), default="json", show_default=True, help="Input format."
)
@_env_manager_option
@tracking_uri_option
def predict(
    model_uri: str,
    input_path: str | None,
    output_path: str | None,
    content_type: str,
    env_manager: str,
    tracking_uri: str | None,
) -> None:
    """Score a file with a model and write {"predictions": ...} as JSON.

    The JSON input is the body /invocations takes: {"dataframe_split": ...}, {"dataframe_records": ...},
    {"inputs": ...} or {"instances": ...}, optionally with "params".
    """
    _use_tracking_uri(tracking_uri)
    if env_manager != "local":
        args = ["predict", "-t", content_type]
        if input_path:
            args += ["-i", str(Path(input_path).resolve())]
        if output_path:
            args += ["-o", str(Path(output_path).resolve())]
        _run_in_model_env(model_uri, env_manager, args)
        return
    from mltrail.serving.predict import predict_file
    from mltrail.serving.run import load_model

    predict_file(load_model(model_uri), input_path, output_path, content_type)


@models.command("generate-dockerfile")
@_model_option
@click.option(
    "--output-directory",
    "-d",
    default="mltrail-dockerfile",
    show_default=True,
    metavar="DIR",
    help="The build context to write: a Dockerfile and the model in model_dir/.",
)
@tracking_uri_option
def generate_dockerfile(model_uri: str, output_directory: str, tracking_uri: str | None) -> None:
    """Write a Dockerfile (and copy the model beside it) for an image that serves the model on port 8080.

    \b
    Example:
      mltrail models generate-dockerfile -m runs:/<run_id>/model -d ./image
      docker build -t my-model ./image && docker run -p 8080:8080 my-model
    """
    from mltrail.serving.docker import generate_dockerfile as write_dockerfile

    _use_tracking_uri(tracking_uri)

    path = write_dockerfile(_local_model_dir(model_uri), output_directory)
    click.echo(f"Wrote {path} and {os.path.join(output_directory, 'model_dir')}", err=True)


from mltrail.cli.registry import attach  # noqa: E402 - the registry commands join this group

attach(models)
