"""MLproject parsing, parameter typing and command construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail.projects.spec import ENV_CONDA, ENV_DOCKER, ENV_LOCAL, ENV_PYTHON, ProjectSpecError, load_project
from tests.projects.conftest import EXAMPLE, write_project

TYPED = """
name: typed
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: int
      name: string
      data: {type: path, default: data.csv}
      source: {type: uri, default: "s3://bucket/key"}
    command: "python train.py --alpha {alpha} --epochs {epochs} --name {name} --data {data} --source {source}"
"""


@pytest.fixture
def typed(tmp_path: Path) -> Path:
    return write_project(tmp_path / "typed", TYPED, {"data.csv": "x\n1\n", "train.py": ""})


def test_example_project_loads() -> None:
    project = load_project(EXAMPLE)
    assert project.name == "sklearn-elasticnet"
    assert project.env_type == ENV_PYTHON and project.env_config_path == EXAMPLE / "python_env.yaml"
    main = project.get_entry_point("main")
    assert {p.name: p.type for p in main.parameters.values()} == {
        "alpha": "float",
        "l1_ratio": "float",
        "max_iter": "int",
        "test_size": "float",
    }


def test_command_substitutes_quotes_and_appends_extras(typed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(typed)
    entry = load_project(typed).get_entry_point("main")
    command = entry.compute_command({"epochs": 3, "name": "two words", "extra_flag": "a b", "seed": 7})
    assert command == (
        f"python train.py --alpha 0.5 --epochs 3 --name 'two words' --data {typed / 'data.csv'} "
        "--source s3://bucket/key --extra_flag 'a b' --seed 7"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epochs": "3.5", "name": "n"}, "Parameter 'epochs' of entry point 'main' must be an integer, got '3.5'"),
        ({"epochs": "x", "name": "n"}, "must be an integer, got 'x'"),
        ({"epochs": 1, "name": "n", "alpha": "fast"}, "Parameter 'alpha' of entry point 'main' must be a number"),
        ({"epochs": 1, "name": "n", "source": "relative/path"}, "'source' of entry point 'main' must be a URI"),
        ({"epochs": 1, "name": "n", "data": "missing.csv"}, "no such file or directory was found"),
        ({"name": "n"}, "No value given for missing parameters of entry point 'main': 'epochs'"),
    ],
)
def test_bad_parameter_values_are_clear_errors(
    typed: Path, monkeypatch: pytest.MonkeyPatch, params: dict[str, object], message: str
) -> None:
    monkeypatch.chdir(typed)
    with pytest.raises(ProjectSpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_project(typed).get_entry_point("main").compute_command(params)


def test_int_and_float_accept_their_forms(typed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(typed)
    entry = load_project(typed).get_entry_point("main")
    final, _ = entry.compute_parameters({"epochs": " -4 ", "name": "n", "alpha": "1e-3"})
    assert final["epochs"] == " -4 " and final["alpha"] == "1e-3"


def test_remote_path_parameter_is_downloaded_into_storage_dir(typed: Path, tmp_path: Path) -> None:
    entry = load_project(typed).get_entry_point("main")
    calls: list[tuple[str, Path]] = []

    def fetch(uri: str, dst: Path) -> str:
        calls.append((uri, dst))
        return str(dst / "file.csv")

    final, _ = entry.compute_parameters(
        {"epochs": 1, "name": "n", "data": "https://example.com/file.csv"}, tmp_path / "store", fetch
    )
    assert calls == [("https://example.com/file.csv", tmp_path / "store" / "param_data")]
    assert final["data"] == str(tmp_path / "store" / "param_data" / "file.csv")
    kept, _ = entry.compute_parameters({"epochs": 1, "name": "n", "data": "https://example.com/file.csv"})
    assert kept["data"] == "https://example.com/file.csv"


@pytest.mark.parametrize(
    ("mlproject", "message"),
    [
        ("entry_points:\n  main:\n    parameters: {a: {type: bool}}\n    command: x", "unknown type 'bool'"),
        ("entry_points:\n  main:\n    parameters: {n: {type: int, default: 0.5}}\n    command: x", "Invalid default"),
        ("entry_points:\n  main:\n    parameters: {f: {type: float, default: abc}}\n    command: x", "a number"),
        ("entry_points:\n  main:\n    parameters: {}\n", "needs a command"),
        ("entry_points:\n  main:\n    command: 'python {a'\n", "not a valid template"),
        ("python_env: python_env.yaml\n", "names python_env 'python_env.yaml', which does not exist"),
        ("python_env: a.yaml\nconda_env: b.yaml\n", "declares python_env and conda_env"),
        ("docker_env: {volumes: []}\n", "docker_env .* must be a mapping with an image"),
        ("name: [unclosed\n", "is not valid YAML"),
        ("- a list\n", "must be a YAML mapping"),
    ],
)
def test_invalid_mlproject_files(tmp_path: Path, mlproject: str, message: str) -> None:
    write_project(tmp_path / "p", mlproject)
    with pytest.raises(ProjectSpecError, match=message):
        load_project(tmp_path / "p")


def test_placeholder_that_is_not_a_parameter(tmp_path: Path) -> None:
    write_project(tmp_path / "p", "entry_points:\n  main:\n    command: 'python t.py {nope}'\n")
    with pytest.raises(ProjectSpecError, match=r"uses \{nope\}, which is not one of its parameters"):
        load_project(tmp_path / "p").get_entry_point("main").compute_command({})


def test_project_without_mlproject_runs_scripts(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "prep.sh").write_text("echo hi\n")
    project = load_project(tmp_path)
    assert project.env_type == ENV_LOCAL and project.name is None
    assert project.get_entry_point("train.py").compute_command({"lr": "0.1"}) == "python train.py --lr 0.1"
    assert project.get_entry_point("prep.sh").command.endswith(" prep.sh")
    with pytest.raises(ProjectSpecError, match=r"runnable script extensions are \.py, \.sh"):
        project.get_entry_point("main")
    with pytest.raises(ProjectSpecError, match="outside the project"):
        project.get_entry_point("../x.py")


def test_lower_case_mlproject_and_implicit_environments(tmp_path: Path) -> None:
    write_project(tmp_path / "a", "")
    (tmp_path / "a" / "MLproject").rename(tmp_path / "a" / "mlproject")
    (tmp_path / "a" / "mlproject").write_text("name: lower\nentry_points: {main: {command: 'echo'}}\n")
    assert load_project(tmp_path / "a").name == "lower"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    assert load_project(tmp_path / "b").env_type == ENV_CONDA
    (tmp_path / "b" / "python_env.yaml").write_text("python: '3.11'\n")
    assert load_project(tmp_path / "b").env_type == ENV_PYTHON
    write_project(tmp_path / "c", "docker_env: {image: 'python:3.11-slim'}\n")
    project = load_project(tmp_path / "c")
    assert project.env_type == ENV_DOCKER and project.docker_env == {"image": "python:3.11-slim"}


def test_relative_path_falls_back_to_the_project_folder(
    typed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # data.csv is not here, but in the project
    final, _ = load_project(typed).get_entry_point("main").compute_parameters({"epochs": 1, "name": "n"})
    assert final["data"] == str((typed / "data.csv").resolve())
