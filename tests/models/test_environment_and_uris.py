"""Requirements inference from saved files, and models:/ URI parsing."""

from __future__ import annotations

import pickle
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from mltrail.errors import MltrailError
from mltrail.models.environment import modules_in_pickle, modules_in_source, requirements_for_modules
from mltrail.models.uris import ParsedModelUri, parse_models_uri


def test_pickle_scan_finds_modules(tmp_path: Path) -> None:
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps({"arr": np.arange(3), "other": np.float32(1)}))
    assert "numpy" in modules_in_pickle(str(path))


def test_cloudpickle_scan_finds_subimports(tmp_path: Path) -> None:
    import pandas as pd

    def uses_pandas(x: object) -> object:
        return pd.DataFrame(x)

    path = tmp_path / "f.pkl"
    path.write_bytes(cloudpickle.dumps(uses_pandas))
    found = modules_in_pickle(str(path))
    assert {"cloudpickle", "pandas"} <= found


def test_source_scan_and_pinning(tmp_path: Path) -> None:
    code = tmp_path / "m.py"
    code.write_text("import os\nimport numpy as np\nfrom yaml import safe_load\nfrom . import sibling\n")
    modules = modules_in_source(str(code))
    assert modules == {"os", "numpy", "yaml"}
    requirements = requirements_for_modules(modules | {"mltrail", "mlflow"})
    assert [r.split("==")[0].lower() for r in requirements] == ["numpy", "pyyaml"]
    assert all("==" in r for r in requirements)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("models:/m-0123abc", ParsedModelUri(model_id="m-0123abc")),
        ("models:/Reg/3", ParsedModelUri(name="Reg", version="3")),
        ("models:/Reg/latest", ParsedModelUri(name="Reg")),
        ("models:/Reg/Production", ParsedModelUri(name="Reg", stage="Production")),
        ("models:/Reg@champion", ParsedModelUri(name="Reg", alias="champion")),
    ],
)
def test_parse_models_uri(uri: str, parsed: ParsedModelUri) -> None:
    assert parse_models_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["models:/", "models:/a/b/c", "models:/a/", "models:/@x"])
def test_bad_models_uri(uri: str) -> None:
    with pytest.raises(MltrailError, match="Not a proper models:/ URI"):
        parse_models_uri(uri)
