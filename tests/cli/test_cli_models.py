"""``mltrail models``: serve (a real subprocess), predict, generate-dockerfile, and the virtualenv env manager."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

from mltrail.cli.main import cli
from tests.server.live import free_port
from tests.serving.live import models_serve

MODEL_CODE = """
import pandas as pd
from mltrail.models import set_model
from mltrail.pyfunc import PythonModel


class Scale(PythonModel):
    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"y": model_input["x"] * (params or {}).get("k", 2)})


set_model(Scale())
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models-from-code PythonModel (loads in any process): y = x * k, k a param defaulting to 2."""
    import mltrail.pyfunc
    from mltrail.models import infer_signature

    root = tmp_path_factory.mktemp("cli-models")
    code = root / "scale_model.py"
    code.write_text(MODEL_CODE)
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    signature = infer_signature(frame, pd.DataFrame({"y": [2.0, 4.0]}), params={"k": 2})
    path = root / "model"
    mltrail.pyfunc.save_model(str(path), python_model=str(code), signature=signature, pip_requirements=["pandas"])
    return path


def _mltrail(*args: str, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-m", "mltrail.cli.main", *args]


@pytest.fixture
def served(model_dir: Path) -> Iterator[str]:
    """``mltrail models serve`` as a real subprocess (two workers, batching on)."""
    port = free_port()
    with models_serve(["-m", str(model_dir), "-p", str(port), "-w", "2", "--enable-batching"], port) as url:
        yield url


def test_serve_subprocess(served: str) -> None:
    assert httpx.get(f"{served}/health").text == "\n"
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [3.0]]}, "params": {"k": 3}}
    response = httpx.post(f"{served}/invocations", json=body)
    assert response.status_code == 200
    assert response.json() == {"predictions": [{"y": 3.0}, {"y": 9.0}]}
    csv = httpx.post(f"{served}/invocations", content="x\n5\n", headers={"content-type": "text/csv"})
    assert csv.json() == {"predictions": [{"y": 10.0}]}
    bad = httpx.post(f"{served}/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[1]]}, "inputs": []})
    assert bad.status_code == 400 and bad.json()["error_code"] == "BAD_REQUEST"


def test_serve_unloadable_model_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        _mltrail("models", "serve", "-m", str(tmp_path / "nope"), "-p", str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("env_manager", ["local", "virtualenv"])
def test_serve_port_in_use_is_one_line_before_the_model_loads(tmp_path: Path, env_manager: str) -> None:
    """``mltrail server`` and ``models serve`` both default to 5000: the clash is reported before any model work
    (here the model does not even exist, and no environment is built)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["-m", str(tmp_path / "nope"), "-p", str(port), "--env-manager", env_manager]
        env = {**os.environ, "MLTRAIL_ENV_ROOT": str(tmp_path / "envs")}
        proc = subprocess.run(_mltrail("models", "serve", *args), capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"Error: Cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "mltrail server" in lines[0] and "--port" in lines[0]
    assert not (tmp_path / "envs").exists()


def test_the_port_is_held_but_refuses_connections_until_the_model_is_loaded() -> None:
    """``models serve`` binds before loading the model and listens after: a probe is refused meanwhile, not queued."""
    from mltrail.serving.run import bind_socket

    sock = bind_socket("127.0.0.1", 0, listen=False)
    try:
        port = sock.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))  # held: a second server cannot take it
        sock.listen()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        sock.close()


def test_serve_registered_chat_model_with_tracking_uri(clean_fluent_state: Path) -> None:
    """``--tracking-uri`` resolves models:/ (the environment points elsewhere); the model answers under
    ``<name>/<version>`` on /invocations and /v1, and a request without messages is told so."""
    import mltrail
    import mltrail.pyfunc
    from mltrail.tracking.client import MltrailClient
    from tests.serving.chat_echo import model_kwargs

    root = clean_fluent_state
    uri = f"sqlite:///{root / 'registry.db'}"
    mltrail.set_tracking_uri(uri)
    with mltrail.start_run():
        mltrail.pyfunc.log_model(name="chat", **model_kwargs(root), registered_model_name="echo-chat")
    MltrailClient(uri).set_registered_model_alias("echo-chat", "champion", "1")
    mltrail.set_tracking_uri(None)
    env = {**os.environ, "MLTRAIL_TRACKING_URI": f"sqlite:///{root / 'elsewhere.db'}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    port = free_port()
    args = ["-m", "models:/echo-chat@champion", "-p", str(port), "--tracking-uri", uri]
    with models_serve(args, port, env=env, cwd=root) as url:
        assert httpx.get(f"{url}/v1/models").json()["data"][0]["id"] == "echo-chat/1"
        hello = [{"role": "user", "content": "hi"}]
        [answer] = httpx.post(f"{url}/invocations", json={"messages": hello}).json()
        assert answer["model"] == "echo-chat/1" and answer["choices"][0]["message"]["content"] == "hi"
        chat = httpx.post(f"{url}/v1/chat/completions", json={"model": "echo-chat", "messages": hello}).json()
        assert chat["model"] == "echo-chat/1"
        missing = httpx.post(f"{url}/invocations", json={"max_tokens": 3})
        assert missing.status_code == 400
        assert missing.json()["message"].startswith("This chat model expects a 'messages' field")


@pytest.mark.parametrize("command", ["serve", "predict", "generate-dockerfile"])
def test_every_models_command_takes_tracking_uri(command: str) -> None:
    """``mltrail --help`` promises --tracking-uri for every command."""
    result = CliRunner().invoke(cli, ["models", command, "--help"])
    assert "--tracking-uri" in result.output
    assert ("--served-model-name" in result.output) == (command == "serve")


def test_predict_resolves_models_uri_with_tracking_uri(clean_fluent_state: Path, model_dir: Path) -> None:
    import mltrail
    import mltrail.pyfunc

    root = clean_fluent_state
    uri = f"sqlite:///{root / 'registry.db'}"
    mltrail.set_tracking_uri(uri)
    with mltrail.start_run():
        code = root / "scale_model.py"
        code.write_text(MODEL_CODE)
        mltrail.pyfunc.log_model(name="scale", python_model=str(code), registered_model_name="scale")
    mltrail.set_tracking_uri(None)
    source = root / "in.json"
    source.write_text(json.dumps({"dataframe_records": [{"x": 1.5}]}))
    args = ["models", "predict", "-m", "models:/scale/1", "-i", str(source), "--tracking-uri", uri]
    result = CliRunner().invoke(cli, args, env={"MLTRAIL_TRACKING_URI": f"sqlite:///{root / 'elsewhere.db'}"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"predictions": [{"y": 3.0}]}


def test_predict_json_to_file_and_stdout(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"dataframe_records": [{"x": 1.5}], "params": {"k": 4}}))
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(model_dir), "-i", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == {"predictions": [{"y": 6.0}]}
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(model_dir), "-i", str(source)])
    assert json.loads(result.stdout) == {"predictions": [{"y": 6.0}]}


def test_predict_csv(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("x\n1\n2\n")
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(model_dir), "-i", str(source), "-t", "csv"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"predictions": [{"y": 2.0}, {"y": 4.0}]}


def test_predict_bad_input_is_one_readable_line(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text('{"dataframe_split": {"columns": ["x"], "data": [[1]]}, "inputs": [1]}')
    proc = subprocess.run(
        _mltrail("models", "predict", "-m", str(model_dir), "-i", str(source)), capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: The input must be a JSON dictionary with exactly one of the input fields")
    assert "Traceback" not in proc.stderr


def test_generate_dockerfile(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    result = CliRunner().invoke(cli, ["models", "generate-dockerfile", "-m", str(model_dir), "-d", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "Dockerfile").read_text()
    python = ".".join(map(str, sys.version_info[:2]))
    assert f"FROM python:{python}-slim" in text
    assert "COPY model_dir /opt/ml/model" in text
    assert "pip install -r /opt/mltrail/requirements.txt" in text
    assert "mltrail[server,pandas]" in text
    assert "EXPOSE 8080" in text
    assert '"mltrail", "models", "serve", "-m", "/opt/ml/model", "--host", "0.0.0.0", "--port", "8080"' in text
    assert (out / "model_dir" / "MLmodel").is_file()
    requirements = (out / "model_dir" / "requirements.serving.txt").read_text().splitlines()
    assert any(line.startswith("pandas") for line in requirements)
    assert not any(line.startswith(("mltrail", "mlflow")) for line in requirements)


def test_uv_missing_is_a_clear_error(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    if shutil.which("uv") or (Path(sys.executable).parent / "uv").exists():
        pytest.skip("uv is installed here")
    monkeypatch.setenv("MLTRAIL_ENV_ROOT", str(tmp_path / "envs"))
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(model_dir), "-i", "x.json", "--env-manager", "uv"])
    assert result.exit_code == 1
    assert "pip install uv" in result.output


@pytest.mark.slow
def test_virtualenv_env_manager_builds_once_then_reuses(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"dataframe_split": {"columns": ["x"], "data": [[2.0]]}}))
    env = {**os.environ, "MLTRAIL_ENV_ROOT": str(tmp_path / "envs")}
    cmd = _mltrail("models", "predict", "-m", str(model_dir), "-i", str(source), "--env-manager", "virtualenv")
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"predictions": [{"y": 4.0}]}
    assert "Creating model environment" in first.stderr
    envs = [p for p in (tmp_path / "envs").iterdir() if p.is_dir()]
    assert len(envs) == 1
    interpreter = envs[0] / "bin" / "python"
    check = subprocess.run(
        [str(interpreter), "-c", "import mltrail, pandas; print(mltrail.__file__)"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    started = time.monotonic()
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "Using cached model environment" in second.stderr
    assert json.loads(second.stdout) == {"predictions": [{"y": 4.0}]}
    assert time.monotonic() - started < 30
