"""Train an ElasticNet on scikit-learn's diabetes data set, logging metrics and the model to mltrail.

Run as a project (the run, its parameters and tags are created by ``mltrail run``)::

    mltrail run examples/sklearn_project -P alpha=0.3 -P l1_ratio=0.5 --env-manager local

or directly (``python train.py --alpha 0.3``), which starts a fresh run.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import mltrail


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--l1-ratio", type=float, default=0.1)
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--test-size", type=float, default=0.25)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    features, target = load_diabetes(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(features, target, test_size=args.test_size, random_state=42)

    # Under `mltrail run` this continues the project's run ($MLTRAIL_RUN_ID); otherwise it starts a new one.
    with mltrail.start_run() as run:
        model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, max_iter=args.max_iter, random_state=42)
        model.fit(x_train, y_train)
        predicted = model.predict(x_test)
        metrics = {
            "rmse": float(np.sqrt(mean_squared_error(y_test, predicted))),
            "mae": float(mean_absolute_error(y_test, predicted)),
            "r2": float(r2_score(y_test, predicted)),
        }
        mltrail.log_metrics(metrics)
        mltrail.sklearn.log_model(model, name="model", input_example=x_test.head(3))
        print(f"run {run.info.run_id}: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
