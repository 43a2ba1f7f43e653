#!/usr/bin/env bash
# Prepare the benchmark environments:
#   * bench/.venv-mlflow  -- a separate venv with MLflow 3.17.2 (the reference side)
#   * .venv               -- the main mltrail venv, with mltrail installed (editable)
# Usage: bench/setup.sh            (idempotent; re-running skips what is already there)
#        MLFLOW_VERSION=3.18.0 bench/setup.sh
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
PYTHON="${PYTHON:-python3}"

MLFLOW_VENV="$BENCH_DIR/.venv-mlflow"
if [ ! -x "$MLFLOW_VENV/bin/python" ]; then
    echo "creating $MLFLOW_VENV"
    "$PYTHON" -m venv "$MLFLOW_VENV"
fi
# mlflow[auth] (Flask-WTF) for `mlflow server --app-name basic-auth` in bench/auth.py; boto3 for its S3 proxy
# in bench/s3_proxy.py
if ! "$MLFLOW_VENV/bin/python" -c "import mlflow, flask_wtf, boto3, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
    echo "installing mlflow==$MLFLOW_VERSION into $MLFLOW_VENV (takes a few minutes)"
    "$MLFLOW_VENV/bin/pip" install --quiet --upgrade pip
    "$MLFLOW_VENV/bin/pip" install --quiet "mlflow[auth]==$MLFLOW_VERSION" "psycopg[binary]" psycopg2-binary scikit-learn boto3
fi
"$MLFLOW_VENV/bin/python" -c "import mlflow; print('mlflow', mlflow.__version__, 'ready in', '$MLFLOW_VENV')"

MAIN_VENV="$REPO_DIR/.venv"
if [ ! -x "$MAIN_VENV/bin/python" ]; then
    echo "creating $MAIN_VENV"
    "$PYTHON" -m venv "$MAIN_VENV"
fi
if ! "$MAIN_VENV/bin/python" -c "import mltrail, uvicorn, sklearn" 2>/dev/null; then
    echo "installing mltrail (editable, with the dev extras) into $MAIN_VENV"
    "$MAIN_VENV/bin/pip" install --quiet -e "$REPO_DIR[dev]" scikit-learn
fi
"$MAIN_VENV/bin/python" -c "import mltrail; print('mltrail ready in', '$MAIN_VENV')"
