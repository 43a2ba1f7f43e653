"""Property-based fuzzing of the auth API (users, permissions, groups, tokens, audit) on a server with ``--auth``.

The operations come from the server's own ``/openapi.json`` with auth on; requests are made as the admin, so they
reach the handlers and the auth store. Like :mod:`tests.server.test_fuzz_openapi`: no 5xx, only documented
statuses, MLflow's error JSON; half of the requests name a seeded user, group, experiment and registered model.
Bounded (``MLTRAIL_FUZZ_EXAMPLES``, 30 per operation here) and derandomized.
"""

from __future__ import annotations

import json
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
from tests.server.live import ADMIN, auth_live_server

pytest_plugins = ["schemathesis.pytest.plugin"]

AUTH_EXAMPLES = max(1, MAX_EXAMPLES * 3 // 10)

_HYPOTHESIS_HOME = use_temporary_hypothesis_home("mltrail-fuzz-auth-hypothesis-")

schema = schemathesis.openapi.from_dict(
    openapi_document(include_auth=True),
    config=schemathesis.Config.from_dict({"generation": {"mode": "all", "database": "none"}}),
).include(path_regex="/(users|groups|tokens|audit|permissions)/")

WORLD: dict[str, Any] = {}


install_world_hooks(schema, WORLD)


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_home() -> Iterator[None]:
    yield from remove_hypothesis_home(_HYPOTHESIS_HOME)


def _seed_world(url: str) -> dict[str, Any]:
    with requests.Session() as http:
        http.auth = ADMIN

        def call(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.request(method, f"{url}{path}", json=body, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()

        call("POST", "/api/2.0/mlflow/users/create", {"username": "fuzz-user", "password": "fuzz-passphrase"})
        experiment_id = call("POST", "/api/2.0/mlflow/experiments/create", {"name": "fuzz-auth"})["experiment_id"]
        call("POST", "/api/2.0/mlflow/registered-models/create", {"name": "fuzz-model"})
        call("POST", "/api/2.0/mltrail/groups/create", {"name": "fuzz-group"})
        token = call("POST", "/api/2.0/mltrail/tokens/create", {"name": "fuzz-token"})["token"]["id"]
    return {
        "username": "fuzz-user",
        "experiment_id": experiment_id,
        "name": "fuzz-model",
        "group": "fuzz-group",
        "resource_type": "experiment",
        "resource_id": experiment_id,
        "permission": "EDIT",
        "id": token,
    }


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with auth_live_server(tmp_path_factory.mktemp("fuzz-auth"), login_max_failures=100_000) as url:
        WORLD.update(_seed_world(url))
        try:
            yield url
        finally:
            WORLD.clear()


@pytest.fixture(scope="module")
def session(server_url: str) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.auth = ADMIN
        yield http


def test_served_document_is_the_fuzzed_one(server_url: str, session: requests.Session) -> None:
    served = session.get(f"{server_url}/openapi.json", timeout=30)
    assert served.json() == json.loads(json.dumps(openapi_document(include_auth=True)))


@schema.parametrize()
@fuzz_settings(AUTH_EXAMPLES)
def test_auth_api_matches_its_openapi_document(
    case: schemathesis.Case, server_url: str, session: requests.Session
) -> None:
    case.call_and_validate(base_url=server_url, session=session, checks=CHECKS, timeout=30)
