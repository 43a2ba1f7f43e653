"""End-to-end UI tests: a live mltrail server with seeded data, driven in Chromium by Playwright.

Needs: the built UI (``npm --prefix ui ci && npm --prefix ui run build``), Chromium at /usr/bin/chromium
(or ``MLTRAIL_CHROMIUM``), and the ``playwright`` Python package. Each missing piece skips with its reason.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrail.server.routes.ui import BUILD_COMMAND, STATIC_DIR
from tests.server.live import live_server

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
N_RUNS = 30


def chromium_path() -> str | None:
    explicit = os.environ.get("MLTRAIL_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def _call(base: str, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{path}",
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as res:
        raw = res.read()
    return json.loads(raw) if raw else {}


def _put_artifact(base: str, artifact_uri: str, name: str, content: bytes) -> None:
    assert artifact_uri.startswith("mlflow-artifacts:"), artifact_uri
    path = artifact_uri.split(":", 1)[1].lstrip("/")
    req = urllib.request.Request(f"{base}/api/2.0/mlflow-artifacts/artifacts/{path}/{name}", data=content, method="PUT")
    urllib.request.urlopen(req).read()


# A 1x1 red PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100"
    "c9fe92ef0000000049454e44ae426082"
)


def seed(base: str) -> dict[str, Any]:
    """Two experiments; N_RUNS runs with params, a metric history, tags and artifacts; a registered model."""
    exp = _call(base, "experiments/create", {"name": "vision-baseline"})["experiment_id"]
    other = _call(base, "experiments/create", {"name": "nlp-sweep"})["experiment_id"]
    runs = []
    for i in range(N_RUNS):
        run = _call(
            base,
            "runs/create",
            {
                "experiment_id": exp,
                "run_name": f"run-{i:02d}",
                "start_time": 1_700_000_000_000 + i * 1000,
                "user_id": "alice",
            },
        )["run"]
        run_id = run["info"]["run_id"]
        acc = round(0.5 + i / (2 * N_RUNS), 4)  # increases with i: run-29 is the best
        metrics = [
            {"key": "loss", "value": math.exp(-s / 10) + i / 100, "timestamp": 1_700_000_000_000 + s * 100, "step": s}
            for s in range(50)
        ]
        metrics.append({"key": "acc", "value": acc, "timestamp": 1_700_000_010_000, "step": 49})
        _call(
            base,
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": metrics,
                "params": [
                    {"key": "lr", "value": "0.01" if i % 2 else "0.1"},
                    {"key": "optimizer", "value": "adam"},
                    {"key": "batch_size", "value": str(32 * (1 + i % 3))},
                ],
                "tags": [{"key": "team", "value": "vision"}],
            },
        )
        _call(base, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_060_000 + i * 1000})
        runs.append({"id": run_id, "name": f"run-{i:02d}", "acc": acc, "artifact_uri": run["info"]["artifact_uri"]})
    first = runs[0]
    _put_artifact(base, first["artifact_uri"], "notes.txt", b"hello from the e2e seed\n")
    config = json.dumps({"lr": 0.1, "layers": [64, 32]}).encode()
    _put_artifact(base, first["artifact_uri"], "config/params.json", config)
    _put_artifact(base, first["artifact_uri"], "plots/dot.png", PNG)
    _call(base, "registered-models/create", {"name": "vision-classifier", "description": "Best vision model"})
    _call(
        base,
        "model-versions/create",
        {"name": "vision-classifier", "source": f"{first['artifact_uri']}", "run_id": first["id"]},
    )
    _call(base, "registered-models/alias", {"name": "vision-classifier", "alias": "champion", "version": "1"})
    sweep = seed_sweep(base)
    return {
        "experiment_id": exp,
        "other_experiment_id": other,
        "runs": runs,
        "sweep": sweep,
        "registry": seed_registry(base, sweep),
        "nested": seed_nested(base),
    }


SWEEP_ARCHS = ("mlp", "resnet", "vit")
SWEEP_LRS = ("0.001", "0.003", "0.01", "0.03", "0.1", "0.3")


def seed_sweep(base: str) -> dict[str, Any]:
    """A hyper-parameter sweep for the compare charts: numeric (lr, dropout) and categorical (arch) params."""
    exp = _call(base, "experiments/create", {"name": "hparam-sweep"})["experiment_id"]
    runs = []
    for i in range(12):
        lr, arch, dropout = SWEEP_LRS[i % 6], SWEEP_ARCHS[i % 3], round(0.1 * (i % 4), 1)
        val_acc = round(0.6 + 0.03 * (i % 6) + (0.08 if arch == "vit" else 0.0) - dropout / 10, 4)
        run = _call(base, "runs/create", {"experiment_id": exp, "run_name": f"sweep-{i:02d}", "user_id": "bob"})["run"]
        history = [
            {
                "key": "val_loss",
                "value": round((1 - val_acc) * (1 + 1 / (s + 1)), 4),
                "timestamp": 1_700_000_000_000 + s,
                "step": s,
            }
            for s in range(10)
        ]
        history.append({"key": "val_acc", "value": val_acc, "timestamp": 1_700_000_000_010, "step": 9})
        params = [{"key": "lr", "value": lr}, {"key": "arch", "value": arch}, {"key": "dropout", "value": str(dropout)}]
        _call(base, "runs/log-batch", {"run_id": run["info"]["run_id"], "metrics": history, "params": params})
        _call(
            base, "runs/update", {"run_id": run["info"]["run_id"], "status": "FINISHED", "end_time": 1_700_000_100_000}
        )
        runs.append(
            {
                "id": run["info"]["run_id"],
                "name": f"sweep-{i:02d}",
                "lr": lr,
                "arch": arch,
                "val_acc": val_acc,
                "artifact_uri": run["info"]["artifact_uri"],
            }
        )
    return {"experiment_id": exp, "runs": runs}


def mlmodel_text(run_id: str) -> str:
    """An MLmodel file with a signature (columns in and out, one inference param), as mltrail writes it."""
    from mltrail.models.model import Model
    from mltrail.models.params import ParamSchema, ParamSpec
    from mltrail.models.schema import ColSpec, Schema
    from mltrail.models.signature import ModelSignature

    signature = ModelSignature(
        Schema(
            [
                ColSpec("double", "sepal_length"),
                ColSpec("double", "petal_width"),
                ColSpec("string", "site", required=False),
            ]
        ),
        Schema([ColSpec("double", "price")]),
        ParamSchema([ParamSpec("threshold", "double", 0.5)]),
    )
    model = Model(artifact_path="model", run_id=run_id, signature=signature)
    model.add_flavor("python_function", loader_module="mltrail.sklearn", python_version="3.12", model_path="model.pkl")
    return model.to_yaml()


def seed_registry(base: str, sweep: dict[str, Any]) -> dict[str, Any]:
    """``tabular-regressor``: versions 1-3 from sweep runs' artifacts (Archived, Production, Staging), version 4 from a
    logged model; aliases, tags and a signature."""
    name = "tabular-regressor"
    _call(
        base,
        "registered-models/create",
        {
            "name": name,
            "description": "Predicts prices from tabular features.",
            "tags": [{"key": "team", "value": "tabular"}],
        },
    )
    versions = []
    for run, stage in zip(sweep["runs"][:3], ("Archived", "Production", "Staging"), strict=True):
        _put_artifact(base, run["artifact_uri"], "model/MLmodel", mlmodel_text(run["id"]).encode())
        mv = _call(
            base,
            "model-versions/create",
            {
                "name": name,
                "source": f"{run['artifact_uri']}/model",
                "run_id": run["id"],
                "description": f"Trained by {run['name']}.",
            },
        )["model_version"]
        _call(
            base,
            "model-versions/transition-stage",
            {"name": name, "version": mv["version"], "stage": stage, "archive_existing_versions": False},
        )
        versions.append({"version": mv["version"], "run": run, "stage": stage})
    # version 4 the MLflow 3 way: a logged model (its MLmodel in the model's own artifacts), registered by model id
    run = sweep["runs"][3]
    logged = _call(
        base,
        "logged-models",
        {"experiment_id": sweep["experiment_id"], "name": "regressor", "source_run_id": run["id"]},
    )["model"]["info"]
    _put_artifact(base, logged["artifact_uri"], "MLmodel", mlmodel_text(run["id"]).encode())
    _call(base, f"logged-models/{logged['model_id']}", {"status": "LOGGED_MODEL_READY"}, method="PATCH")
    mv = _call(
        base,
        "model-versions/create",
        {"name": name, "source": f"models:/{logged['model_id']}", "run_id": run["id"], "model_id": logged["model_id"]},
    )["model_version"]
    versions.append({"version": mv["version"], "run": run, "stage": "None", "model_id": logged["model_id"]})
    _call(base, "registered-models/alias", {"name": name, "alias": "champion", "version": "2"})
    _call(base, "registered-models/alias", {"name": name, "alias": "challenger", "version": "3"})
    _call(base, "model-versions/set-tag", {"name": name, "version": "2", "key": "validated", "value": "true"})
    return {"name": name, "versions": versions}


_SIGNATURE_INPUTS = json.dumps(
    [
        {"type": "double", "name": "sepal_length", "required": True},
        {"type": "string", "name": "site", "required": False},
    ]
)
RUN_MLMODEL = f"""artifact_path: model
flavors:
  python_function:
    loader_module: mltrail.sklearn
    model_path: model.pkl
    python_version: 3.11.9
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.2
mlflow_version: 3.17.2
signature:
  inputs: '{_SIGNATURE_INPUTS}'
  outputs: '[{{"type": "tensor", "tensor-spec": {{"dtype": "float32", "shape": [-1, 3]}}}}]'
  params: '[{{"name": "temperature", "type": "double", "default": 0.7, "shape": null}}]'
utc_time_created: '2026-01-02 03:04:05.000000'
"""
DESCRIPTION = (
    "# Nested sweep\n\nTrained with **early stopping**; see [the docs](https://example.org/docs).\n\n"
    "| fold | score |\n|---|---|\n| 0 | 0.91 |\n\n"
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">\n'
)


def _parquet_bytes(rows: int) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "label": [f"item-{i}" for i in range(rows)],
            "score": [i / 10 for i in range(rows)],
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, compression="snappy")
    return out.getvalue()


def seed_nested(base: str) -> dict[str, Any]:
    """``nested-runs``: a parent with three children (one with a grandchild), a solo run with artifacts to preview,
    a logged model and a markdown description, and a run that is still RUNNING."""
    exp = _call(base, "experiments/create", {"name": "nested-runs"})["experiment_id"]

    def run(name: str, start: int, parent: str | None = None, status: str | None = "FINISHED") -> dict[str, Any]:
        info = _call(base, "runs/create", {"experiment_id": exp, "run_name": name, "start_time": start})["run"]["info"]
        tags = [{"key": "mlflow.parentRunId", "value": parent}] if parent else []
        metrics = [{"key": "score", "value": start % 1000 / 1000, "timestamp": start, "step": 0}]
        params = [{"key": "trial", "value": name}]
        _call(base, "runs/log-batch", {"run_id": info["run_id"], "metrics": metrics, "params": params, "tags": tags})
        if status:
            _call(base, "runs/update", {"run_id": info["run_id"], "status": status, "end_time": start + 5000})
        return {"id": info["run_id"], "name": name, "artifact_uri": info["artifact_uri"]}

    t0 = 1_710_000_000_000
    parent = run("sweep-parent", t0)
    children = [run(f"trial-{i}", t0 + 100 + i, parent["id"]) for i in range(3)]
    grandchild = run("trial-1-fold-0", t0 + 200, children[1]["id"])
    solo = run("solo", t0 + 300)
    live = run("live-run", t0 + 400, status=None)
    _call(base, "runs/set-tag", {"run_id": solo["id"], "key": "mlflow.note.content", "value": DESCRIPTION})
    config = b"# training config\nmodel:\n  depth: 4\n  name: tree\nlr: 0.01\n"
    _put_artifact(base, solo["artifact_uri"], "config.yaml", config)
    _put_artifact(base, solo["artifact_uri"], "data/sample.parquet", _parquet_bytes(1200))
    _put_artifact(base, solo["artifact_uri"], "model/MLmodel", RUN_MLMODEL.encode())
    model = _call(
        base,
        "logged-models",
        {"experiment_id": exp, "name": "solo-model", "model_type": "classifier", "source_run_id": solo["id"]},
    )["model"]["info"]
    location = model["artifact_uri"]
    _put_artifact(base, location, "MLmodel", RUN_MLMODEL.encode())
    _call(
        base,
        f"logged-models/{model['model_id']}",
        {"model_id": model["model_id"], "status": "LOGGED_MODEL_READY"},
        method="PATCH",
    )
    return {
        "experiment_id": exp,
        "parent": parent,
        "children": children,
        "grandchild": grandchild,
        "solo": solo,
        "live": live,
        "model_id": model["model_id"],
    }


def _missing(reason: str) -> None:
    """Skip locally; fail under CI (``MLTRAIL_TEST_REQUIRE_BROWSER``), where every piece must be installed."""
    if os.environ.get("MLTRAIL_TEST_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    if not (STATIC_DIR / "index.html").is_file():
        _missing(f"the web UI is not built ({STATIC_DIR} has no index.html): run `{BUILD_COMMAND}`")
    with live_server(tmp_path_factory.mktemp("e2e")) as base:
        yield base, seed(base)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    exe = chromium_path()
    if exe is None:
        _missing("Chromium not found at /usr/bin/chromium (apt-get install -y chromium) or $MLTRAIL_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the `playwright` Python package is not installed (pip install playwright)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, ui_server: tuple[str, dict[str, Any]], request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        SCREENSHOTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):  # a screenshot is a by-product; never fail a test on it
            pg.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
