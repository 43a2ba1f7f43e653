"""Worker half of bench/model_serving.py: train and save the benchmark model with MLflow (in its venv).

Usage: python _model_serving_worker.py OUT_DIR ROWS FEATURES
Saves an MLflow sklearn model (cloudpickle, with a signature and input example) at OUT_DIR/model-mlflow
and the fitted estimator at OUT_DIR/estimator.pkl, then emits the paths.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_result


def main() -> None:
    out, rows, features = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    target = (frame.sum(axis=1) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(frame, target)
    path = out / "model-mlflow"
    mlflow.sklearn.save_model(
        model,
        str(path),
        serialization_format="cloudpickle",
        signature=infer_signature(frame.head(5), model.predict(frame.head(5))),
        input_example=frame.head(2),
    )
    (out / "estimator.pkl").write_bytes(pickle.dumps(model))
    emit_result({"model": str(path), "estimator": str(out / "estimator.pkl"), "mlflow": mlflow.__version__})


if __name__ == "__main__":
    main()
