"""deploy/: the Dockerfile, the compose file, nginx's configuration and the Kubernetes manifests.

No container engine runs here, so these tests check what can be checked without one: every file parses, every
command line a container runs is one ``mltrail``'s CLI accepts (parsed by click with the container's
environment, without running anything), the environment variables set are ones mltrail, uvicorn or botocore
read, and the pieces agree with each other (ports, names, labels, the user, the bucket, the replicas behind
nginx). One test runs ``mltrail server`` with the replicas' command line and runs the image's HEALTHCHECK and
the Kubernetes probes' requests against it.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import httpx
import pytest
import yaml

from mltrail.cli.main import cli
from tests.server.live import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

#: Environment variables read by libraries mltrail runs on, with the package whose source must name them.
THIRD_PARTY_ENV = {
    "AWS_ACCESS_KEY_ID": "botocore",
    "AWS_SECRET_ACCESS_KEY": "botocore",
    "AWS_DEFAULT_REGION": "botocore",
    "FORWARDED_ALLOW_IPS": "uvicorn",
}
#: Names the S3 artifact repository (issue 15) reads; unknown only until it lands.
S3_PENDING_ENV = {"MLTRAIL_S3_ENDPOINT_URL", "MLTRAIL_S3_ADDRESSING_STYLE"}


# ---------------------------------------------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a compose ``.env`` file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: str, env: dict[str, str], used: set[str] | None = None) -> str:
    """Compose's variable interpolation: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}`` and ``${VAR?error}``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        if used is not None:
            used.add(name)
        op, arg = match.group(2), match.group(3)
        present, current = name in env, env.get(name, "")
        if op in (":-", "-"):
            return current if (present and (current or op == "-")) else arg
        if op in (":?", "?") and not (present and (current or op == "?")):
            raise ValueError(f"compose would stop: ${{{name}}} is unset ({arg})")
        return current

    return _INTERPOLATION.sub(replace, value)


def interpolate_tree(node: Any, env: dict[str, str], used: set[str] | None = None) -> Any:
    if isinstance(node, str):
        return interpolate(node, env, used)
    if isinstance(node, list):
        return [interpolate_tree(item, env, used) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env, used) for key, value in node.items()}
    return node


def env_example() -> dict[str, str]:
    return read_env_file(DEPLOY / ".env.example")


def compose(used: set[str] | None = None, **overrides: str) -> dict[str, Any]:
    """deploy/compose.yaml with its variables taken from deploy/.env.example (and ``overrides``)."""
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return interpolate_tree(raw, {**env_example(), **overrides}, used)


def mapping_env(environment: Any) -> dict[str, str]:
    """A compose ``environment`` (a mapping or a list of ``KEY=VALUE``) as a dict."""
    if environment is None:
        return {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def dockerfile_instructions(path: Path = DEPLOY / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: continuation lines joined, comment lines dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def dockerfile_stages() -> list[dict[str, Any]]:
    """Stages: ``image``, ``name`` (the ``AS`` alias) and their ``instructions``."""
    stages: list[dict[str, Any]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            assert match, f"FROM {rest}"
            stages.append({"image": match.group(1), "name": match.group(2), "instructions": []})
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1]["instructions"].append((keyword, rest))
    return stages


def stage_values(stage: dict[str, Any], keyword: str) -> list[str]:
    return [rest for kw, rest in stage["instructions"] if kw == keyword]


def exec_form(rest: str) -> list[str]:
    """The JSON array of an exec-form instruction (ENTRYPOINT, CMD, HEALTHCHECK ... CMD)."""
    value = json.loads(rest)
    assert isinstance(value, list) and all(isinstance(item, str) for item in value), rest
    return value


def image_entrypoint() -> list[str]:
    (entrypoint,) = stage_values(dockerfile_stages()[-1], "ENTRYPOINT")
    return exec_form(entrypoint)


def image_cmd() -> list[str]:
    (cmd,) = stage_values(dockerfile_stages()[-1], "CMD")
    return exec_form(cmd)


def image_port() -> int:
    (expose,) = stage_values(dockerfile_stages()[-1], "EXPOSE")
    return int(expose.split("/")[0])


def healthcheck_argv() -> list[str]:
    (healthcheck,) = stage_values(dockerfile_stages()[-1], "HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert all(option.startswith("--") for option in options.split()), options
    return exec_form(command)


def healthcheck_host() -> str:
    """The Host header the image's HEALTHCHECK sends."""
    match = re.search(r"['\"]Host['\"]\s*:\s*['\"]([^'\"]+)['\"]", healthcheck_argv()[-1])
    assert match, "the HEALTHCHECK names its Host header"
    return match.group(1)


def image_uid_gid() -> tuple[str, str | None]:
    (user,) = stage_values(dockerfile_stages()[-1], "USER")
    uid, _, gid = user.partition(":")
    return uid, gid or None


def pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def k8s_documents() -> dict[str, list[dict[str, Any]]]:
    """Every YAML file of deploy/k8s and its documents."""
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        for path in sorted(K8S.glob("*.yaml"))
    }


def k8s_object(kind: str) -> dict[str, Any]:
    found = [doc for docs in k8s_documents().values() for doc in docs if doc.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/k8s, found {len(found)}"
    return found[0]


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore ``patterns`` keep ``path`` (relative, ``/``-separated) out of the build context.

    Docker's rule: the last pattern matching the path or one of its parent folders decides; ``!`` re-includes.
    """
    parts = path.split("/")
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        for end in range(1, len(parts) + 1):
            candidate = "/".join(parts[:end])
            if (
                pattern == "**"
                or fnmatch.fnmatchcase(candidate, pattern)
                or (pattern.startswith("**/") and fnmatch.fnmatchcase(candidate, pattern[3:]))
            ):
                excluded = not negate
                break
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


# ---------------------------------------------------------------------------------------------------------------
# The CLI
# ---------------------------------------------------------------------------------------------------------------


class CommandMissing(LookupError):
    """The command line names a subcommand this CLI does not have."""


def parse_command_line(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict]:
    """Parse ``argv`` (``mltrail ...``) as the CLI would in a container with environment ``env``.

    Returns the command's path (``"mltrail server"``) and its parameters; nothing runs. A bad option, a bad
    value or a missing argument raises click's usage errors; an unknown subcommand raises CommandMissing.
    """
    assert argv and argv[0] == "mltrail", f"not an mltrail command line: {argv}"
    for name in list(os.environ):
        if name.startswith(("MLTRAIL_", "MLFLOW_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = list(argv[1:])
    ctx = click.Context(cli, info_name="mltrail")
    command: click.Command = cli
    path = ["mltrail"]
    while isinstance(command, click.Group):
        assert args, f"{' '.join(path)} needs a subcommand"
        name = args.pop(0)
        sub = command.get_command(ctx, name)
        if sub is None:
            raise CommandMissing(f"`{' '.join(path)}` has no command {name!r}")
        path.append(name)
        if isinstance(sub, click.Group):
            ctx = click.Context(sub, info_name=name, parent=ctx)
        command = sub
    leaf = command.make_context(path[-1], args, parent=ctx)
    return " ".join(path), leaf.params


def command_envvars(path: str) -> set[str]:
    """Environment variables the options of command ``path`` (``"mltrail server"``) read."""
    command: click.Command = cli
    ctx = click.Context(cli, info_name="mltrail")
    for name in path.split()[1:]:
        assert isinstance(command, click.Group)
        sub = command.get_command(ctx, name)
        assert sub is not None
        ctx = click.Context(sub, info_name=name, parent=ctx)
        command = sub
    names: set[str] = set()
    for param in command.params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            names.add(envvar)
        elif envvar:
            names.update(envvar)
    return names


def cli_has(path: str) -> bool:
    try:
        command_envvars(path)
    except AssertionError:
        return False
    return True


DB_UPGRADE_PENDING = "`mltrail db upgrade` has not landed yet (issue 15, migrations): its command line is unchecked"


def names_in_mltrail_source() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src" / "mltrail").rglob("*.py"):
        names.update(re.findall(r"\b(?:MLTRAIL|MLFLOW)_[A-Z0-9_]+\b", path.read_text(errors="replace")))
    return names


def s3_repository_landed() -> bool:
    return any("boto3" in path.read_text(errors="replace") for path in (ROOT / "src" / "mltrail").rglob("*.py"))


def third_party_reads(name: str) -> bool:
    spec = importlib.util.find_spec(THIRD_PARTY_ENV[name])
    assert spec is not None and spec.submodule_search_locations, f"{THIRD_PARTY_ENV[name]} is not installed"
    folder = Path(next(iter(spec.submodule_search_locations)))
    return any(name in path.read_text(errors="replace") for path in folder.rglob("*.py"))


def check_env_names(where: str, names: set[str], command_path: str, referenced: set[str]) -> list[str]:
    """Names in ``names`` no one reads; returns the S3 names still pending (asserts on the rest)."""
    known = command_envvars(command_path) | names_in_mltrail_source() | referenced
    unknown = {name for name in names - known if not (name in THIRD_PARTY_ENV and third_party_reads(name))}
    pending = sorted(unknown & S3_PENDING_ENV) if not s3_repository_landed() else []
    assert unknown <= set(pending), f"{where}: environment variables nothing reads: {sorted(unknown - set(pending))}"
    return pending


# ---------------------------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore
# ---------------------------------------------------------------------------------------------------------------


def test_dockerfile_stages_build_the_ui_then_the_server() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    names = [stage["name"] for stage in stages]
    ui = stages[0]
    assert ui["image"].startswith("node:") and ui["name"], "the first stage builds the UI with node"
    assert any(value.split()[:2] == ["npm", "ci"] for value in stage_values(ui, "RUN"))
    assert any(value.split()[:3] == ["npm", "run", "build"] for value in stage_values(ui, "RUN"))
    (ui_workdir,) = stage_values(ui, "WORKDIR")
    assert ui_workdir.rstrip("/").endswith("/ui")
    # vite writes the build next to ui/ (outDir in vite.config.ts); the Python stage copies it from there
    out_dir = re.search(r"outDir:\s*'([^']+)'", (ROOT / "ui" / "vite.config.ts").read_text()).group(1)
    ui_output = os.path.normpath(os.path.join(ui_workdir, out_dir))
    assert stages[-1]["image"] == "python:3.11-slim"
    copied_ui = False
    for index, stage in enumerate(stages):
        for value in stage_values(stage, "COPY"):
            match = re.match(r"--from=(\S+)\s+(\S+)\s+(\S+)$", value)
            if not match:
                continue
            source_stage, source, destination = match.groups()
            assert source_stage in names[:index], f"COPY --from={source_stage}: no earlier stage of that name"
            if source_stage == ui["name"]:
                copied_ui = True
                assert os.path.normpath(source) == ui_output
                assert destination.rstrip("/").endswith("src/mltrail/server/static")
    assert copied_ui, "the built UI is copied into the Python package"
    package_data = pyproject()["tool"]["setuptools"]["package-data"]
    assert "server/static/*.html" in package_data["mltrail"], "the UI must be package data to land in the install"


def test_dockerfile_installs_existing_extras_only() -> None:
    installs = [
        value for stage in dockerfile_stages() for value in stage_values(stage, "RUN") if "pip install" in value
    ]
    assert len(installs) == 1, installs
    match = re.search(r"\.\[([a-z0-9,-]+)\]", installs[0])
    assert match, f"installs mltrail with extras: {installs[0]}"
    extras = set(match.group(1).split(","))
    assert extras == {"server", "postgres", "mysql", "s3"}
    defined = pyproject()["project"]["optional-dependencies"]
    assert extras <= set(defined)
    assert "-e" not in shlex.split(installs[0]), "a real install, not an editable one"


def test_dockerfile_runtime_is_non_root_with_healthcheck(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = dockerfile_stages()[-1]
    uid, gid = image_uid_gid()
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root USER (Kubernetes' runAsNonRoot can check it)"
    assert gid is None or (gid.isdigit() and int(gid) != 0)
    instructions = [kw for kw, _ in runtime["instructions"]]
    assert instructions.index("USER") < instructions.index("ENTRYPOINT")

    port = image_port()
    assert image_entrypoint() == ["mltrail", "server"]
    path, params = parse_command_line(image_entrypoint() + image_cmd(), {}, monkeypatch)
    assert path == "mltrail server"
    assert params["host"] == "0.0.0.0" and params["port"] == port

    argv = healthcheck_argv()
    assert argv[0] == "python" and argv[1] == "-c", "a Python one-liner: no curl or wget in the image"
    assert f"127.0.0.1:{port}/health" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")


def test_dockerignore_keeps_what_the_build_copies_and_nothing_else() -> None:
    patterns = dockerignore_patterns()
    sources = []
    for stage in dockerfile_stages():
        for value in stage_values(stage, "COPY"):
            if value.startswith("--from="):
                continue
            *paths, _destination = shlex.split(value)
            sources += [p for p in paths if not p.startswith("--")]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not dockerignored(source.rstrip("/"), patterns), f"COPY {source}: left out by .dockerignore"
    assert not dockerignored("src/mltrail/cli/server.py", patterns)
    assert not dockerignored("ui/src/main.tsx", patterns)
    # pyproject.toml names README.md as the readme: the build needs it
    assert pyproject()["project"]["readme"] == "README.md"
    assert not dockerignored("README.md", patterns)
    for left_out in (
        ".venv/bin/python",
        ".git/HEAD",
        "ui/node_modules/vite/package.json",
        "src/mltrail/server/static/index.html",  # the image builds its own UI
        "src/mltrail/__pycache__/x.cpython-311.pyc",
        "mltrail.db",
        "mltrail-artifacts/1/a.bin",
        "deploy/.env",
        "tests/test_deploy.py",
    ):
        assert dockerignored(left_out, patterns), f"{left_out} would be sent to the docker daemon"


# ---------------------------------------------------------------------------------------------------------------
# compose.yaml, .env.example, nginx.conf
# ---------------------------------------------------------------------------------------------------------------


def mltrail_image() -> str:
    return compose()["services"]["mltrail-1"]["image"]


def replica_services() -> dict[str, dict[str, Any]]:
    """Services that run the mltrail image with its entrypoint (``mltrail server``)."""
    services = compose()["services"]
    return {
        name: service
        for name, service in services.items()
        if service.get("image") == mltrail_image() and "entrypoint" not in service
    }


def test_compose_parses_and_every_variable_is_in_env_example() -> None:
    used: set[str] = set()
    data = compose(used)  # a `${VAR:?...}` missing from .env.example would raise here
    assert set(env_example()) == used, "the .env.example documents exactly the variables compose.yaml uses"
    services = data["services"]
    assert {"postgres", "minio", "minio-init", "migrate", "nginx"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["minio-init"]["image"].startswith("minio/mc")
    assert services["nginx"]["image"].startswith("nginx:")
    for name, service in services.items():
        if service.get("image") == mltrail_image():
            build = service["build"]
            assert (DEPLOY / build["context"]).resolve() == ROOT
            assert (ROOT / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile", name
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}, "only the load balancer is reachable from outside the compose network"


def test_compose_replicas_run_server_command_lines_the_cli_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    replicas = replica_services()
    assert len(replicas) == 2
    env_file = env_example()
    services = compose()["services"]
    pending: list[str] = []
    for name, service in replicas.items():
        env = mapping_env(service["environment"])
        path, params = parse_command_line(image_entrypoint() + service["command"], env, monkeypatch)
        assert path == "mltrail server", name
        assert params["host"] == "0.0.0.0" and params["port"] == image_port()
        assert params["auth"] is True
        hosts = {h.strip() for value in params["allowed_hosts"] for h in value.split(",")}
        assert set(env_file["MLTRAIL_ALLOWED_HOSTS"].split(",")) <= hosts
        # the HEALTHCHECK's Host passes whatever names the .env lists
        other = compose(MLTRAIL_ALLOWED_HOSTS="ml.example.org")["services"][name]
        _, other_params = parse_command_line(image_entrypoint() + other["command"], env, monkeypatch)
        other_hosts = {h.strip() for value in other_params["allowed_hosts"] for h in value.split(",")}
        assert {"ml.example.org", healthcheck_host()} <= other_hosts
        assert params["backend_store_uri"].startswith("postgresql://")
        assert params["artifacts_destination"] == f"s3://{env_file['S3_BUCKET']}/artifacts"
        assert env["MLTRAIL_AUTH_ADMIN_USERNAME"] and env["MLTRAIL_AUTH_ADMIN_PASSWORD"]
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["minio-init"]["condition"] == "service_completed_successfully"
        referenced = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", " ".join(service["command"])))
        pending += check_env_names(f"compose service {name}", set(env), "mltrail server", referenced)

    # the database the replicas use is the one the postgres service creates, sized for their connections
    uri = urlsplit(mapping_env(next(iter(replicas.values()))["environment"])["MLTRAIL_BACKEND_STORE_URI"])
    postgres = mapping_env(services["postgres"]["environment"])
    assert (uri.hostname, uri.port) == ("postgres", 5432)
    assert uri.username == postgres["POSTGRES_USER"] and uri.password == postgres["POSTGRES_PASSWORD"]
    assert uri.path.lstrip("/") == postgres["POSTGRES_DB"]
    max_connections = int(re.search(r"max_connections=(\d+)", " ".join(services["postgres"]["command"])).group(1))
    assert len(replicas) * int(env_file["MLTRAIL_WORKERS"]) * 60 <= max_connections
    if pending:
        pytest.skip(f"the S3 artifact repository has not landed yet: {pending} unchecked")


def test_compose_bucket_and_credentials_match(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    init = services["minio-init"]
    init_env = mapping_env(init["environment"])
    script = " ".join(init["command"])
    assert "mc mb" in script and "$S3_BUCKET" in script and "mc admin user add" in script
    assert services["minio"]["environment"]["MINIO_ROOT_USER"] == init_env["MINIO_ROOT_USER"]
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    for name, service in replica_services().items():
        env = mapping_env(service["environment"])
        assert env["AWS_ACCESS_KEY_ID"] == init_env["S3_ACCESS_KEY_ID"], name
        assert env["AWS_SECRET_ACCESS_KEY"] == init_env["S3_SECRET_ACCESS_KEY"], name
        assert env["AWS_ACCESS_KEY_ID"] != init_env["MINIO_ROOT_USER"], "mltrail does not use the store's root"
        assert env["MLTRAIL_ARTIFACTS_DESTINATION"].startswith(f"s3://{init_env['S3_BUCKET']}/")
        assert urlsplit(env["MLTRAIL_S3_ENDPOINT_URL"]).hostname == "minio"


def test_compose_migrate_runs_db_upgrade_before_the_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["image"] == mltrail_image()
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    replica_uri = mapping_env(services["mltrail-1"]["environment"])["MLTRAIL_BACKEND_STORE_URI"]
    argv = migrate["entrypoint"] + migrate["command"]
    assert argv[:3] == ["mltrail", "db", "upgrade"]
    if not cli_has("mltrail db"):
        pytest.skip(DB_UPGRADE_PENDING)
    path, params = parse_command_line(argv, mapping_env(migrate.get("environment")), monkeypatch)
    assert path == "mltrail db upgrade"
    assert params["backend_store_uri"] == replica_uri
    assert params["auth"] is True, "the replicas run --auth: the auth schema is created here, once"


def nginx_conf() -> str:
    text = (DEPLOY / "nginx.conf").read_text()
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def test_nginx_balances_the_compose_replicas() -> None:
    conf = nginx_conf()
    assert conf.count("{") == conf.count("}")
    upstreams = dict(re.findall(r"upstream\s+(\S+)\s*\{([^}]*)\}", conf))
    assert len(upstreams) == 1
    ((upstream, body),) = upstreams.items()
    servers = re.findall(r"^\s*server\s+(\S+)", body, re.MULTILINE)
    assert sorted(servers) == sorted(f"{name}:{image_port()}" for name in replica_services())
    assert not re.search(r"\b(ip_hash|hash|least_conn|random)\b", body), "round-robin"
    assert re.search(rf"proxy_pass\s+http://{re.escape(upstream)}\s*;", conf)
    assert re.search(r"client_max_body_size\s+0\s*;", conf), "artifact uploads of any size"
    assert re.search(r"proxy_request_buffering\s+off\s*;", conf)
    assert re.search(r"proxy_buffering\s+off\s*;", conf)
    for header, value in (
        ("Host", "$http_host"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        ("X-Forwarded-Proto", "$scheme"),
    ):
        assert re.search(rf"proxy_set_header\s+{header}\s+{re.escape(value)}\s*;", conf), header
    nginx = compose()["services"]["nginx"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert {name for name in nginx["depends_on"]} == set(replica_services())


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------------------------


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The environment a container gets from its envFrom Secrets/ConfigMaps (as in deploy/k8s) and env."""
    sources = {
        ("secretRef", doc["metadata"]["name"]): {**doc.get("data", {}), **doc.get("stringData", {})}
        for docs in k8s_documents().values()
        for doc in docs
        if doc.get("kind") == "Secret"
    } | {
        ("configMapRef", doc["metadata"]["name"]): doc.get("data", {})
        for docs in k8s_documents().values()
        for doc in docs
        if doc.get("kind") == "ConfigMap"
    }
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ((ref, target),) = source.items()
        assert (ref, target["name"]) in sources, f"{container['name']}: envFrom {ref} {target['name']} not defined"
        env.update({key: str(value) for key, value in sources[(ref, target["name"])].items()})
    for item in container.get("env", []):
        env[item["name"]] = str(item.get("value", ""))
    return env


def container_argv(container: dict[str, Any], env: dict[str, str]) -> tuple[list[str], set[str]]:
    """The command line Kubernetes runs (image entrypoint unless ``command``), ``$(VAR)`` expanded."""
    argv = list(container.get("command") or image_entrypoint()) + list(container.get("args") or [])
    referenced: set[str] = set()

    def expand(match: re.Match[str]) -> str:
        referenced.add(match.group(1))
        assert match.group(1) in env, f"$({match.group(1)}) is not in the container's environment"
        return env[match.group(1)]

    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", expand, arg) for arg in argv], referenced


def test_k8s_manifests_parse_and_name_no_namespace() -> None:
    documents = k8s_documents()
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "namespace" not in kustomization
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    listed = set(kustomization["resources"])
    optional = set(documents) - listed - {"kustomization.yaml"}
    assert optional <= {"ingress.yaml"}, f"manifests kustomization.yaml leaves out: {optional}"
    for name, docs in documents.items():
        if name == "kustomization.yaml":
            continue
        assert docs, name
        for doc in docs:
            assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], name
            assert "namespace" not in doc["metadata"], f"{name}: namespace-agnostic manifests name no namespace"
    kinds = {doc["kind"] for docs in documents.values() for doc in docs}
    assert {"Secret", "ConfigMap", "Deployment", "Service", "Ingress", "Kustomization"} <= kinds
    deployment = k8s_object("Deployment")
    images = {image["name"] for image in kustomization["images"]}
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert container["image"] in images


def test_k8s_deployment_probes_security_and_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = k8s_object("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    uid, gid = image_uid_gid()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == uid
    if gid is not None:
        assert str(pod["securityContext"]["runAsGroup"]) == gid
    (container,) = pod["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert image_port() in ports.values()
    env = container_env(container)
    argv, referenced = container_argv(container, env)
    path, params = parse_command_line(argv, env, monkeypatch)
    assert path == "mltrail server"
    assert params["port"] == image_port() and params["host"] == "0.0.0.0"
    assert params["auth"] is True
    hosts = {h.strip() for value in params["allowed_hosts"] for h in value.split(",")}
    for kind in ("readinessProbe", "livenessProbe"):
        probe = container[kind]["httpGet"]
        assert probe["path"] == "/health", kind
        port = ports.get(probe["port"], probe["port"])
        assert port == params["port"], f"{kind} hits the port the server listens on"
        host = {h["name"].lower(): h["value"] for h in probe.get("httpHeaders", [])}.get("host")
        assert host in hosts, f"{kind}: the Host header it sends must pass --allowed-hosts"
    ingress = k8s_object("Ingress")
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in hosts, "the Ingress host is an allowed host"
    for box in [*pod["containers"], *pod.get("initContainers", [])]:
        context = box["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, box["name"]
        assert context["capabilities"]["drop"] == ["ALL"], box["name"]
        assert box["resources"]["requests"]["cpu"] and box["resources"]["requests"]["memory"], box["name"]
        assert box["resources"]["limits"]["memory"], box["name"]
    secret = k8s_object("Secret")
    for key in (
        "MLTRAIL_BACKEND_STORE_URI",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MLTRAIL_AUTH_ADMIN_USERNAME",
        "MLTRAIL_AUTH_ADMIN_PASSWORD",
    ):
        assert key in secret["stringData"], key
    assert params["backend_store_uri"] == secret["stringData"]["MLTRAIL_BACKEND_STORE_URI"]
    assert params["artifacts_destination"].startswith("s3://")
    pending = check_env_names("the mltrail container", set(env), "mltrail server", referenced)
    if pending:
        pytest.skip(f"the S3 artifact repository has not landed yet: {pending} unchecked")


def test_k8s_init_container_runs_db_upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = k8s_object("Deployment")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (server,) = pod["containers"]
    assert init["image"] == server["image"]
    env = container_env(init)
    argv, _ = container_argv(init, env)
    assert argv[:3] == ["mltrail", "db", "upgrade"]
    if not cli_has("mltrail db"):
        pytest.skip(DB_UPGRADE_PENDING)
    path, params = parse_command_line(argv, env, monkeypatch)
    assert path == "mltrail db upgrade"
    assert params["backend_store_uri"] == k8s_object("Secret")["stringData"]["MLTRAIL_BACKEND_STORE_URI"]
    assert params["auth"] is True, "the server runs --auth: the auth schema is created here, once"


def test_k8s_service_ingress_and_budget_select_the_pods() -> None:
    deployment = k8s_object("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {port["name"] for port in container["ports"]}
    service = k8s_object("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    service_ports = {port["name"]: port for port in service["spec"]["ports"]}
    for port in service_ports.values():
        assert port["targetPort"] in port_names | {p["containerPort"] for p in container["ports"]}
    budget = k8s_object("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    ingress = k8s_object("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    for rule in ingress["spec"]["rules"]:
        for item in rule["http"]["paths"]:
            backend = item["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"].get("name") in service_ports or backend["port"].get("number") in {
                p["port"] for p in service_ports.values()
            }


# ---------------------------------------------------------------------------------------------------------------
# The replicas' command line, run
# ---------------------------------------------------------------------------------------------------------------


def test_server_with_the_replica_command_line_passes_healthcheck_and_probes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mltrail server`` with compose's replica arguments (on loopback, SQLite, local artifacts): the image's
    HEALTHCHECK and the Kubernetes probes' request succeed, other Host headers are refused, sign-in is required."""
    service = compose()["services"]["mltrail-1"]
    replica_env = mapping_env(service["environment"])
    args = list(service["command"])
    port = free_port()
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    args[args.index("--workers") + 1] = "1"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "MLFLOW_", "AWS_"))}
    env |= {
        "MLTRAIL_BACKEND_STORE_URI": f"sqlite:///{tmp_path / 'mltrail.db'}",
        "MLTRAIL_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        "MLTRAIL_AUTH_ADMIN_USERNAME": replica_env["MLTRAIL_AUTH_ADMIN_USERNAME"],
        "MLTRAIL_AUTH_ADMIN_PASSWORD": replica_env["MLTRAIL_AUTH_ADMIN_PASSWORD"],
    }
    command = [sys.executable, "-c", "from mltrail.cli.main import main; main()", *image_entrypoint()[1:], *args]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            with suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", headers={"Host": "localhost"}, timeout=1).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)

        probe = [
            sys.executable if arg == "python" else arg.replace(f":{image_port()}/", f":{port}/")
            for arg in healthcheck_argv()
        ]
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30, env=env)
        assert done.returncode == 0, done.stderr

        pod = k8s_object("Deployment")["spec"]["template"]["spec"]
        for kind in ("readinessProbe", "livenessProbe"):
            http_get = pod["containers"][0][kind]["httpGet"]
            headers = {h["name"]: h["value"] for h in http_get.get("httpHeaders", [])}
            assert httpx.get(f"{url}{http_get['path']}", headers=headers, timeout=5).status_code == 200, kind

        allowed = env_example()["MLTRAIL_ALLOWED_HOSTS"].split(",")
        for host in allowed:
            assert httpx.get(f"{url}/health", headers={"Host": f"{host}:8080"}, timeout=5).status_code == 200
        assert httpx.get(f"{url}/version", headers={"Host": "rebind.attacker.example"}, timeout=5).status_code == 403
        search = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
        assert httpx.get(search, headers={"Host": "localhost"}, timeout=5).status_code == 401
        admin = (replica_env["MLTRAIL_AUTH_ADMIN_USERNAME"], replica_env["MLTRAIL_AUTH_ADMIN_PASSWORD"])
        assert httpx.get(search, headers={"Host": "localhost"}, auth=admin, timeout=5).status_code == 200
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
