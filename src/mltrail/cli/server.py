"""``mltrail server``: the tracking server a team points its training scripts at."""

from __future__ import annotations

import click

from mltrail.errors import MltrailError


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@click.command("server")
@click.option(
    "--host",
    "-h",
    default="127.0.0.1",
    show_default=True,
    envvar="MLTRAIL_SERVER_HOST",
    help="Address to listen on (0.0.0.0 for all).",
)
@click.option(
    "--port",
    "-p",
    default=5000,
    show_default=True,
    envvar="MLTRAIL_SERVER_PORT",
    type=click.IntRange(0, 65535),
    help="Port.",
)
@click.option(
    "--backend-store-uri",
    default="sqlite:///mltrail.db",
    show_default=True,
    envvar="MLTRAIL_BACKEND_STORE_URI",
    help="Tracking database: sqlite:///path.db, postgresql://user@host/db, mysql+pymysql://user@host/db.",
)
@click.option(
    "--artifacts-destination",
    default="./mltrail-artifacts",
    show_default=True,
    envvar="MLTRAIL_ARTIFACTS_DESTINATION",
    help="Where the artifact proxy stores files: a local folder or s3://bucket/prefix (S3 settings: "
    "MLTRAIL_S3_ENDPOINT_URL, AWS_* credentials; see the README).",
)
@click.option(
    "--default-artifact-root",
    envvar="MLTRAIL_DEFAULT_ARTIFACT_ROOT",
    default=None,
    help="Artifact root for new experiments; default mlflow-artifacts:/ (served by this server's proxy).",
)
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=True,
    show_default=True,
    help="Serve the artifact proxy under /api/2.0/mlflow-artifacts.",
)
@click.option(
    "--artifacts-presigned-downloads/--no-artifacts-presigned-downloads",
    default=False,
    show_default=True,
    envvar="MLTRAIL_S3_PRESIGNED_DOWNLOADS",
    help="Answer downloads of large artifact files on object storage (s3://) with a redirect to a short-lived "
    "presigned URL, so the bytes bypass the server. Clients and browsers must reach the store.",
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    envvar="MLTRAIL_SERVER_WORKERS",
    type=click.IntRange(1, 64),
    help="Worker processes.",
)
@click.option(
    "--allowed-hosts",
    envvar="MLTRAIL_ALLOWED_HOSTS",
    multiple=True,
    metavar="HOSTS",
    help="Host header values to accept, comma-separated, wildcards allowed (DNS-rebinding protection). "
    "Default: loopback names when listening on loopback, any host otherwise.",
)
@click.option(
    "--cors-allowed-origins",
    envvar="MLTRAIL_CORS_ALLOWED_ORIGINS",
    multiple=True,
    metavar="ORIGINS",
    help="Origins allowed by CORS, comma-separated. Default: none (no CORS headers).",
)
@click.option(
    "--allowed-artifact-uri",
    "allowed_artifact_uris",
    multiple=True,
    metavar="URI",
    help="Also accept artifact locations and model sources under this URI prefix or local folder (repeatable, "
    "comma-separated). Default: only mlflow-artifacts:/, the artifact root and object stores (s3://, gs://, ...).",
)
@click.option(
    "--auth",
    is_flag=True,
    default=False,
    envvar="MLTRAIL_AUTH",
    help="Require sign-in: users, tokens and permissions (see docs/auth.md). Use it on any server others can "
    "reach. The first admin comes from MLTRAIL_AUTH_ADMIN_USERNAME/MLTRAIL_AUTH_ADMIN_PASSWORD.",
)
@click.option(
    "--app-name",
    type=click.Choice(["basic-auth"]),
    default=None,
    help="MLflow's spelling of --auth (`--app-name basic-auth`).",
)
@click.option(
    "--auth-config",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="MLTRAIL_AUTH_CONFIG",
    help="Auth settings: TOML, or MLflow's basic_auth.ini (default permission, auth database, admin, SSO).",
)
@click.option(
    "--max-body-mb",
    default=64,
    show_default=True,
    envvar="MLTRAIL_MAX_BODY_MB",
    type=click.IntRange(1),
    help="Largest JSON body (413).",
)
@click.option(
    "--log-level",
    envvar="MLTRAIL_LOG_LEVEL",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="Server log level.",
)
def server(
    host: str,
    port: int,
    backend_store_uri: str,
    artifacts_destination: str,
    default_artifact_root: str | None,
    serve_artifacts: bool,
    artifacts_presigned_downloads: bool,
    workers: int,
    allowed_hosts: tuple[str, ...],
    cors_allowed_origins: tuple[str, ...],
    allowed_artifact_uris: tuple[str, ...],
    auth: bool,
    app_name: str | None,
    auth_config: str | None,
    max_body_mb: int,
    log_level: str,
) -> None:
    """Run the tracking server: MLflow's REST API and the artifact proxy.

    Point scripts at it with MLTRAIL_TRACKING_URI=http://HOST:PORT (the official mlflow client works
    too, with MLFLOW_TRACKING_URI).

    \b
    Examples:
      mltrail server
      mltrail server --host 0.0.0.0 --port 8080 --workers 4 \\
          --backend-store-uri postgresql://mltrail@db/mltrail --artifacts-destination /srv/artifacts
      MLTRAIL_S3_ENDPOINT_URL=http://minio:9000 mltrail server --artifacts-destination s3://mlruns/artifacts
    """
    from mltrail.server.run import ServerSettings, serve

    settings = ServerSettings(
        host=host,
        port=port,
        backend_store_uri=backend_store_uri,
        artifacts_destination=artifacts_destination,
        default_artifact_root=default_artifact_root,
        serve_artifacts=serve_artifacts,
        artifacts_presigned_downloads=artifacts_presigned_downloads,
        workers=workers,
        allowed_hosts=_split(allowed_hosts) or None,
        cors_origins=_split(cors_allowed_origins),
        allowed_artifact_uris=_split(allowed_artifact_uris),
        max_body_mb=max_body_mb,
        log_level=log_level,
        auth=auth or app_name == "basic-auth",
        auth_config=auth_config,
    )
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    click.echo(f"mltrail server listening on http://{shown}:{port} (store: {backend_store_uri})", err=True)
    if not settings.auth and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            "Warning: this server is reachable from the network and anyone who reaches it can read, change and "
            "delete everything. Run it with --auth (see docs/auth.md).",
            err=True,
        )
    try:
        serve(settings)
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except MltrailError as exc:
        raise click.ClickException(exc.message) from None
