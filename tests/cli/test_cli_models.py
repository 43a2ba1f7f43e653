"""``mltrail models``: serve (a real subprocess), predict, generate-dockerfile, and the virtualenv env manager."""

from __future__ import annotations

import json
import os
import signal
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
    proc = subprocess.Popen(
        _mltrail("models", "serve", "-m", str(model_dir), "-p", str(port), "-w", "2", "--enable-batching"),
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
            try:
                if httpx.get(f"{url}/ping").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mltrail models serve did not start")
            time.sleep(0.05)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


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
