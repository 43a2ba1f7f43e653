"""Property-based fuzzing of the REST API from its own ``/openapi.json``, with schemathesis.

Every operation of the document gets generated requests, valid and invalid (wrong types, missing fields, odd
text, int64 bounds), against a live server on SQLite. Each answer must be no 5xx, a status the document lists,
JSON, and match the documented schema (MLflow's ``{"error_code", "message"}`` for errors).

Random ids rarely name anything, so about half of the generated requests have their ids (``run_id``,
``experiment_id``, ``name``, ``version``, ``model_id``, ...) replaced by those of a small seeded world: an
experiment, a run with a metric, a registered model with a version, a logged model. The fuzzer then reaches the
handlers and stores with real entities and odd values (steps at the int64 bounds, NUL in tag values, ...); it may
also delete or rename them, which is fine.

Bounded and reproducible: a fixed number of examples per operation (about 1.5 minutes on a 2-core machine),
derandomized, no example database on disk, so the run is the same every time; the server's files live under
``tmp_path`` and Hypothesis' caches in a temporary folder removed afterwards. For a longer local hunt,
``MLTRAIL_FUZZ_EXAMPLES`` raises the number of examples and ``MLTRAIL_FUZZ_STORE_URI`` points the server at
another (empty) database, e.g. ``postgresql://postgres@127.0.0.1:5432/fuzz``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis

from mltrail.server.openapi import openapi_document
from tests.server.fuzz_support import (
    CHECKS,
    MAX_EXAMPLES,
    fuzz_settings,
    install_world_hooks,
    remove_hypothesis_home,
    use_temporary_hypothesis_home,
)
from tests.server.live import live_server

#: schemathesis' pytest plugin, for this module only (``-p no:schemathesis`` in pyproject.toml keeps it, and its
#: import, out of every other test run).
pytest_plugins = ["schemathesis.pytest.plugin"]

#: Hypothesis' caches go to a temporary folder before this module is collected (removed after the module).
_HYPOTHESIS_HOME = use_temporary_hypothesis_home("mltrail-fuzz-hypothesis-")

#: The document the server serves at /openapi.json, built in-process so that pytest can parametrize over its
#: operations at collection (``test_served_document_is_the_fuzzed_one`` checks the live server serves this one).
schema = schemathesis.openapi.from_dict(
    openapi_document(), config=schemathesis.Config.from_dict({"generation": {"mode": "all", "database": "none"}})
)


#: Field name -> a value naming an entity of the seeded world (filled in by the ``server_url`` fixture).
WORLD: dict[str, Any] = {}


install_world_hooks(schema, WORLD)


def _seed_world(url: str) -> dict[str, Any]:
    """An experiment, a run with a metric history, a registered model with a version and a logged model."""
    with requests.Session() as http:

        def call(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.request(method, f"{url}/api/2.0/mlflow/{path}", json=body, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()

        experiment_id = call("POST", "experiments/create", {"name": "fuzz-world"})["experiment_id"]
        run_id = call("POST", "runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
        metrics = [
            {"key": "m", "value": step / 3, "timestamp": 1_700_000_000_000 + step, "step": step} for step in range(5)
        ]
        call("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics, "params": [{"key": "p", "value": "1"}]})
        call("POST", "registered-models/create", {"name": "fuzz-model"})
        call(
            "POST", "model-versions/create", {"name": "fuzz-model", "source": f"runs:/{run_id}/model", "run_id": run_id}
        )
        model_id = call("POST", "logged-models", {"experiment_id": experiment_id, "source_run_id": run_id})["model"][
            "info"
        ]["model_id"]
    return {
        "experiment_id": experiment_id,
        "experiment_ids": [experiment_id],
        "experiment_name": "fuzz-world",
        "run_id": run_id,
        "run_ids": [run_id],
        "metric_key": "m",
        "name": "fuzz-model",
        "version": "1",
        "model_id": model_id,
        "source_run_id": run_id,
    }


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_home() -> Iterator[None]:
    """Remove Hypothesis' temporary home (see ``_HYPOTHESIS_HOME``) after this module."""
    yield from remove_hypothesis_home(_HYPOTHESIS_HOME)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose database and artifacts all live under a temporary folder, with the seeded world."""
    with pytest.MonkeyPatch.context() as env:
        # Webhooks the fuzzer creates get one short delivery attempt each, on the server's background thread.
        env.setenv("MLTRAIL_WEBHOOK_MAX_ATTEMPTS", "1")
        env.setenv("MLTRAIL_WEBHOOK_TIMEOUT", "1")
        store_uri = os.environ.get("MLTRAIL_FUZZ_STORE_URI") or None
        with live_server(tmp_path_factory.mktemp("fuzz"), backend_store_uri=store_uri) as url:
            WORLD.update(_seed_world(url))
            try:
                yield url
            finally:
                WORLD.clear()


@pytest.fixture(scope="module")
def session(server_url: str) -> Iterator[requests.Session]:
    """One keep-alive HTTP session for all generated requests."""
    with requests.Session() as http:
        yield http


def test_served_document_is_the_fuzzed_one(server_url: str, session: requests.Session) -> None:
    served = session.get(f"{server_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))


@schema.parametrize()
@fuzz_settings(MAX_EXAMPLES)
def test_api_matches_its_openapi_document(case: schemathesis.Case, server_url: str, session: requests.Session) -> None:
    case.call_and_validate(base_url=server_url, session=session, checks=CHECKS, timeout=30)
