"""Real models for the serving tests: an sklearn classifier and pyfunc PythonModels, saved once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

FEATURES = ["a", "b", "c"]


def training_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Deterministic float features."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)


@pytest.fixture(scope="session")
def sklearn_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LogisticRegression over columns a, b, c (double), saved with mltrail.sklearn with a signature."""
    from sklearn.linear_model import LogisticRegression

    import mltrail.sklearn
    from mltrail.models import infer_signature

    frame = training_frame()
    model = LogisticRegression().fit(frame, (frame.sum(axis=1) > 0).astype(int))
    path = tmp_path_factory.mktemp("models") / "sk"
    mltrail.sklearn.save_model(
        model, str(path), signature=infer_signature(frame, model.predict(frame)), input_example=frame.head(2)
    )
    return path


@pytest.fixture(scope="session")
def sklearn_model(sklearn_model_dir: Path) -> Any:
    """The sklearn model loaded through mltrail.pyfunc."""
    import mltrail.pyfunc

    return mltrail.pyfunc.load_model(str(sklearn_model_dir))


def _scale_model_class() -> type:
    import mltrail.pyfunc

    class Scale(mltrail.pyfunc.PythonModel):
        """Returns x * k (k a param); raises for x < 0, so one bad row can be sent on purpose."""

        def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
            if (model_input["x"] < 0).any():
                raise ValueError("negative x is not allowed")
            k = (params or {}).get("k", 2)
            return pd.DataFrame({"y": model_input["x"] * k})

    return Scale


@pytest.fixture(scope="session")
def pyfunc_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PythonModel with input x (double), output y, and param k (long, default 2)."""
    import mltrail.pyfunc
    from mltrail.models import infer_signature

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    path = tmp_path_factory.mktemp("models") / "scale"
    signature = infer_signature(frame, pd.DataFrame({"y": [2.0, 4.0]}), params={"k": 2})
    mltrail.pyfunc.save_model(str(path), python_model=_scale_model_class()(), signature=signature)
    return path


@pytest.fixture(scope="session")
def pyfunc_model(pyfunc_model_dir: Path) -> Any:
    """The PythonModel loaded through mltrail.pyfunc."""
    import mltrail.pyfunc

    return mltrail.pyfunc.load_model(str(pyfunc_model_dir))


@pytest.fixture(scope="session")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A PythonModel taking unified chat input: echoes the last message; max_tokens is a param."""
    import mltrail.pyfunc
    from mltrail.models import infer_signature

    class Echo(mltrail.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else [model_input]
            limit = (params or {}).get("max_tokens", 100)
            return [
                {
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": row["messages"][-1]["content"][:limit]},
                        }
                    ],
                }
                for row in rows
            ]

    example = {"messages": [{"role": "user", "content": "hello"}]}
    signature = infer_signature(example, [{"object": "chat.completion"}], params={"max_tokens": 100})
    path = tmp_path_factory.mktemp("models") / "chat"
    mltrail.pyfunc.save_model(str(path), python_model=Echo(), signature=signature)
    return mltrail.pyfunc.load_model(str(path))
