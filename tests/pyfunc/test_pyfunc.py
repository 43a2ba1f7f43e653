"""PythonModel save/log/load round trips, models from code, and interop with MLflow in both directions."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import mltrail
from mltrail import pyfunc
from mltrail.errors import MltrailError
from mltrail.models import Model, infer_signature

FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0]})


class Doubler(pyfunc.PythonModel):
    """Multiplies column x by 2 (times the ``factor`` param), reading an offset from an artifact."""

    def load_context(self, context: pyfunc.PythonModelContext) -> None:
        path = context.artifacts.get("offset")
        self.offset = float(Path(path).read_text()) if path else 0.0

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        factor = (params or {}).get("factor", 1)
        return model_input["x"] * 2 * factor + self.offset

    def predict_stream(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        yield from (float(v) for v in self.predict(context, model_input, params))


class NoContext(pyfunc.PythonModel):
    def predict(self, model_input, params=None):  # type: ignore[no-untyped-def,override]
        return [len(str(v)) for v in model_input]


def test_save_load_with_artifacts_params_and_stream(tmp_path: Path) -> None:
    offset = tmp_path / "offset.txt"
    offset.write_text("0.5")
    path = tmp_path / "model"
    pyfunc.save_model(
        path, python_model=Doubler(), artifacts={"offset": str(offset)}, input_example=(FRAME, {"factor": 1})
    )
    meta = yaml.safe_load((path / "MLmodel").read_text())
    conf = meta["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["artifacts"] == {"offset": {"path": "artifacts/offset.txt", "uri": str(offset)}}
    assert conf["streamable"] is True
    assert "mlflow_version" not in meta and meta["mltrail_version"] == mltrail.__version__
    assert (path / "requirements.txt").read_text().splitlines()[0] == f"mltrail=={mltrail.__version__}"
    loaded = pyfunc.load_model(str(path))
    assert list(loaded.predict(FRAME, params={"factor": 3})) == [6.5, 12.5, 18.5]
    assert list(loaded.predict_stream(FRAME)) == [2.5, 4.5, 6.5]
    assert isinstance(loaded.unwrap_python_model(), Doubler)
    assert loaded.metadata.get_params_schema() is not None
    assert loaded.loader_module == "mlflow.pyfunc.model"


def test_predict_without_context_and_callable(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "a", python_model=NoContext())
    assert pyfunc.load_model(tmp_path / "a").predict(["ab", "c"]) == [2, 1]
    with pytest.raises(MltrailError, match="does not support predict_stream"):
        list(pyfunc.load_model(tmp_path / "a").predict_stream(["ab"]))


def test_schema_enforced_at_predict(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=Doubler(), signature=infer_signature(FRAME))
    loaded = pyfunc.load_model(tmp_path / "m")
    with pytest.raises(MltrailError, match="Model is missing inputs \\['x'\\]") as info:
        loaded.predict(pd.DataFrame({"y": [1.0]}))
    assert info.value.details["error_class"] == "SCHEMA_ENFORCEMENT_FAILED"


def test_models_from_code_and_code_paths(tmp_path: Path) -> None:
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "mathhelp.py").write_text("def triple(v):\n    return v * 3\n")
    code = tmp_path / "my_model.py"
    code.write_text(
        textwrap.dedent(
            """
            from mltrail import pyfunc
            from mltrail.models import ModelConfig, set_model

            BIAS = ModelConfig().get("bias")

            class Tripler(pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    from mathhelp import triple
                    return triple(model_input["x"]) + BIAS + context.model_config["bias"] - 10

            set_model(Tripler())
            """
        )
    )
    path = tmp_path / "model"
    pyfunc.save_model(path, python_model=str(code), code_paths=[str(helpers / "mathhelp.py")], model_config={"bias": 1})
    conf = Model.load(path).flavors["python_function"]
    assert conf["model_code_path"] == "my_model.py" and "python_model" not in conf
    assert conf["config"] == {"bias": 1} and conf["code"] == "code"
    loaded = pyfunc.load_model(path, model_config={"bias": 10})
    assert list(loaded.predict(FRAME)) == [13.0, 16.0, 19.0]


def test_save_into_non_empty_dir_fails(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("")
    with pytest.raises(MltrailError, match="already exists and is not empty"):
        pyfunc.save_model(tmp_path / "m", python_model=NoContext())


def test_requirements_options(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "a", python_model=NoContext(), pip_requirements=["numpy>=1"])
    assert (tmp_path / "a" / "requirements.txt").read_text().splitlines() == [
        f"mltrail=={mltrail.__version__}",
        "numpy>=1",
    ]
    pyfunc.save_model(tmp_path / "b", python_model=NoContext(), extra_pip_requirements=["torch==9"])
    lines = (tmp_path / "b" / "requirements.txt").read_text().splitlines()
    assert lines[-1] == "torch==9" and any(line.startswith("cloudpickle==") for line in lines)
    with pytest.raises(MltrailError, match="Only one of"):
        pyfunc.save_model(
            tmp_path / "c", python_model=NoContext(), pip_requirements=["a"], extra_pip_requirements=["b"]
        )
    conda = yaml.safe_load((tmp_path / "b" / "conda.yaml").read_text())
    assert conda["name"] == "mlflow-env" and conda["dependencies"][-1]["pip"] == lines
    env = yaml.safe_load((tmp_path / "b" / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]


def test_log_model_sqlite_runs_and_models_uris(tracking_uri: str) -> None:
    with mltrail.start_run() as run:
        mltrail.log_param("alpha", "0.5")
        info = pyfunc.log_model(name="doubler", python_model=Doubler(), input_example=FRAME)
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.run_id == run.info.run_id
    client = mltrail.Client()
    logged = client.get_logged_model(info.model_id)
    assert logged.status.value.endswith("READY") and logged.params == {"alpha": "0.5"}
    assert logged.source_run_id == run.info.run_id
    assert [o.model_id for o in mltrail.get_run(run.info.run_id).outputs.model_outputs] == [info.model_id]
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/doubler"):
        assert list(pyfunc.load_model(uri).predict(FRAME)) == [2.0, 4.0, 6.0]
    meta = Model.load(info.model_uri)
    assert meta.model_id == info.model_id and meta.artifact_path == logged.artifact_location


def test_log_model_failure_marks_upload_failed(tracking_uri: str) -> None:
    with mltrail.start_run(), pytest.raises(MltrailError):
        pyfunc.log_model(name="bad", python_model=NoContext(), pip_requirements=["a"], extra_pip_requirements=["b"])
    models = mltrail.Client().search_logged_models(["0"])
    assert [m.status.value for m in models] == ["LOGGED_MODEL_UPLOAD_FAILED"] or [m.status.name for m in models] == [
        "UPLOAD_FAILED"
    ]


def test_registered_model_name_and_registry_uris(tracking_uri: str) -> None:
    client = mltrail.Client()
    if not hasattr(client, "get_model_version_download_uri"):
        with pytest.raises(MltrailError, match="needs the model registry"):
            pyfunc.log_model(name="m", python_model=NoContext(), registered_model_name="reg")
        return
    info = pyfunc.log_model(name="m", python_model=NoContext(), registered_model_name="reg")
    assert info.registered_model_version == 1
    client.set_registered_model_alias("reg", "champion", "1")
    for uri in ("models:/reg/1", "models:/reg/latest", "models:/reg@champion"):
        assert pyfunc.load_model(uri).predict(["abc"]) == [3], uri


# ------------------------------------------------------------------------------------------- interop
mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")


class MlflowDoubler(mlflow_pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input["x"] * 2


def test_mlflow_saved_python_model_loads_in_mltrail(tmp_path: Path) -> None:
    mlflow_pyfunc.save_model(str(tmp_path / "m"), python_model=MlflowDoubler(), input_example=FRAME)
    ours = pyfunc.load_model(tmp_path / "m")
    theirs = mlflow_pyfunc.load_model(str(tmp_path / "m"))
    pd.testing.assert_series_equal(ours.predict(FRAME), theirs.predict(FRAME))
    assert ours.metadata.mlflow_version is not None
    assert ours.metadata.signature.to_dict() == theirs.metadata.signature.to_dict()


def test_mlflow_models_from_code_loads_in_mltrail(tmp_path: Path) -> None:
    code = tmp_path / "mf_model.py"
    code.write_text(
        "import mlflow\n"
        "class M(mlflow.pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return [v + 1 for v in model_input['x']]\n"
        "mlflow.models.set_model(M())\n"
    )
    mlflow_pyfunc.save_model(str(tmp_path / "m"), python_model=str(code))
    assert pyfunc.load_model(tmp_path / "m").predict(FRAME) == [2.0, 3.0, 4.0]


def test_mltrail_saved_python_model_loads_in_mlflow(tmp_path: Path) -> None:
    offset = tmp_path / "offset.txt"
    offset.write_text("1")
    path = tmp_path / "m"
    pyfunc.save_model(path, python_model=Doubler(), artifacts={"offset": str(offset)}, input_example=FRAME)
    theirs = mlflow_pyfunc.load_model(str(path))
    ours = pyfunc.load_model(path)
    pd.testing.assert_series_equal(ours.predict(FRAME), theirs.predict(FRAME))
    assert list(theirs.predict(FRAME)) == [3.0, 5.0, 7.0]
    model = mlflow_pyfunc.Model.load(str(path / "MLmodel"))
    assert model.to_dict()["flavors"] == Model.load(path).to_dict()["flavors"]


def test_mltrail_models_from_code_loads_in_mlflow(tmp_path: Path) -> None:
    code = tmp_path / "mt_model.py"
    code.write_text(
        "from mltrail import pyfunc\nfrom mltrail.models import set_model\n"
        "class M(pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return [v * 10 for v in model_input['x']]\n"
        "set_model(M())\n"
    )
    pyfunc.save_model(tmp_path / "m", python_model=str(code))
    assert mlflow_pyfunc.load_model(str(tmp_path / "m")).predict(FRAME) == [10.0, 20.0, 30.0]


def test_unknown_mlmodel_keys_survive(tmp_path: Path) -> None:
    pyfunc.save_model(tmp_path / "m", python_model=NoContext())
    data = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    data["custom_key"] = {"a": 1}
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(data))
    model = Model.load(tmp_path / "m")
    model.save(tmp_path / "m" / "MLmodel")
    text = (tmp_path / "m" / "MLmodel").read_text()
    assert yaml.safe_load(text)["custom_key"] == {"a": 1}
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert keys == sorted(keys)
    assert os.path.exists(tmp_path / "m" / "python_model.pkl")
    assert np.isclose(len(model.model_uuid), 32)
