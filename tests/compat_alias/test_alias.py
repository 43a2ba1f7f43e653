"""``mltrail.compat``: the opt-in ``mlflow`` import alias (``alias_mlflow()`` and ``python -m mltrail.compat``)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from mltrail.errors import INVALID_STATE, MltrailError
from tests.compat_alias.conftest import run_python


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_shim_hides_the_installed_mlflow(tmp_path: Path) -> None:
    code = "import importlib.util, sys; assert importlib.util.find_spec('mlflow') is None\nimport mlflow"
    result = run_python(["-c", code], tmp_path)
    assert result.returncode == 1 and "ModuleNotFoundError: No module named 'mlflow'" in result.stderr


def test_submodules_resolve_to_mltrail(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import sys
        import mlflow
        import mlflow.pyfunc
        import mlflow.models.signature
        from mlflow.models import infer_signature, ModelSignature
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
        from mlflow.entities import Run, ViewType
        from mlflow.types import Schema, ColSpec, ParamSchema
        from mlflow.pyfunc import PythonModel

        import mltrail, mltrail.pyfunc, mltrail.errors, mltrail.transformers, mltrail.sklearn
        from mltrail.models.signature import infer_signature as mt_infer, ModelSignature as MtSignature
        from mltrail.models.schema import Schema as MtSchema
        from mltrail.tracking.client import MltrailClient

        assert PythonModel is mltrail.pyfunc.PythonModel
        assert infer_signature is mt_infer and ModelSignature is MtSignature
        assert mlflow.models.signature.ModelSignature is MtSignature
        assert MlflowException is mltrail.errors.MltrailError
        assert MlflowClient is MltrailClient and mlflow.MlflowClient is MltrailClient
        assert Run is mltrail.entities.Run and Schema is MtSchema
        assert mlflow.start_run is mltrail.start_run and mlflow.log_metric is mltrail.log_metric
        assert mlflow.transformers.log_model is mltrail.transformers.log_model
        assert mlflow.sklearn.save_model is mltrail.sklearn.save_model
        assert mlflow.pyfunc.load_model is mltrail.pyfunc.load_model
        assert mlflow.__version__ == mltrail.__version__
        assert sys.modules["mlflow.models.signature"] is mlflow.models.signature
        assert "pyfunc" in dir(mlflow) and "infer_signature" in dir(mlflow.models)

        class Echo(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input):
                return list(model_input["x"])

        with mlflow.start_run() as run:
            mlflow.log_param("p", 1)
            info = mlflow.pyfunc.log_model(
                artifact_path="echo", python_model=Echo(), input_example={"x": "a"},
                signature=infer_signature({"x": "a"}, ["a"]), pip_requirements=[],
            )
        assert mlflow.pyfunc.load_model(info.model_uri).predict({"x": "hi"}) == ["hi"]
        assert MlflowClient().get_run(run.info.run_id).data.params == {"p": "1"}
        try:
            mlflow.get_run("nope")
        except MlflowException as exc:
            assert exc.error_code == "RESOURCE_DOES_NOT_EXIST", exc.error_code
        print("OK", sys.argv[1:])
        """,
    )
    result = run_python(["-m", "mltrail.compat", script, "--flag", "x"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OK ['--flag', 'x']" in result.stdout


def test_what_mltrail_lacks_is_named(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import mlflow
        def error(code):
            try:
                exec(code, {"mlflow": mlflow})
            except (ImportError, AttributeError) as exc:
                return f"{type(exc).__name__}: {exc}"
            raise AssertionError("no error for " + code)

        print(error("import mlflow.genai"))
        print(error("import mlflow.pyfunc.scoring_server"))
        print(error("mlflow.autolog"))
        print(error("mlflow.pyfunc.spark_udf"))
        print(error("from mlflow.models import validate_serving_input"))
        """,
    )
    result = run_python(["-m", "mltrail.compat", script], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ModuleNotFoundError: mltrail does not provide mlflow.genai ")
    assert lines[1].startswith("ModuleNotFoundError: mltrail does not provide mlflow.pyfunc.scoring_server ")
    assert "mlflow.pyfunc stands for mltrail.pyfunc" in lines[1]
    assert lines[2].startswith("AttributeError: mltrail does not provide mlflow.autolog ")
    assert lines[3].startswith("AttributeError: mltrail does not provide mlflow.pyfunc.spark_udf ")
    assert lines[4].startswith("ImportError: cannot import name 'validate_serving_input' from 'mlflow.models'")


def test_alias_in_process_and_undo(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from mltrail.compat import alias_mlflow, is_aliased, unalias_mlflow
        alias_mlflow(); alias_mlflow()  # idempotent
        assert is_aliased()
        import mlflow.pyfunc
        import mltrail.pyfunc
        assert mlflow.pyfunc.PythonModel is mltrail.pyfunc.PythonModel
        unalias_mlflow()
        assert not is_aliased() and not [n for n in sys.modules if n.startswith("mlflow")]
        try:
            import mlflow
        except ModuleNotFoundError as exc:
            print("gone:", exc)
        """
    )
    result = run_python(["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "gone: No module named 'mlflow'" in result.stdout


def test_run_module_and_usage(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text("import sys, mlflow\nprint(mlflow.__name__, sys.argv[1:])\n")
    result = run_python(["-m", "mltrail.compat", "-m", "job", "a"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mlflow ['a']" in result.stdout
    assert run_python(["-m", "mltrail.compat"], tmp_path).returncode == 2
    missing = run_python(["-m", "mltrail.compat", "nope.py"], tmp_path)
    assert missing.returncode == 2 and "can't open file 'nope.py'" in missing.stderr


def test_refuses_to_shadow_an_installed_mlflow(tmp_path: Path) -> None:
    """In this venv the real mlflow (mlflow-skinny) is installed: the alias must not hide it."""
    pytest.importorskip("mlflow")
    from mltrail.compat import alias_mlflow, is_aliased

    meta_path = list(sys.meta_path)
    with pytest.raises(MltrailError) as caught:
        alias_mlflow()
    assert caught.value.error_code == INVALID_STATE
    assert "the real mlflow package is installed here" in caught.value.message
    assert not is_aliased() and sys.meta_path == meta_path

    script = _script(tmp_path, "print('ran')\n")
    result = run_python(["-m", "mltrail.compat", script], tmp_path, hide_mlflow=False)
    assert result.returncode == 2 and "ran" not in result.stdout
    assert "mltrail will not alias mlflow: the real mlflow package is installed here" in result.stderr
