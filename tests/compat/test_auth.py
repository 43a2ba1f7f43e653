"""The official mlflow client and MLflow's auth client against a live mltrail server with ``--auth``.

Users switch by environment, as MLflow's users do: ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``
or ``MLFLOW_TRACKING_TOKEN``. Alice owns an experiment and a registered model; Bob is a plain user who tries
every escalation there is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import ADMIN, auth_live_server

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402

ALICE = ("alice", "alice-passphrase-1")
BOB = ("bob", "bob-passphrase-1")


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with auth_live_server(tmp_path_factory.mktemp("compat-auth")) as url:
        for name, password in (ALICE, BOB):
            httpx.post(f"{url}/api/2.0/mlflow/users/create", json={"username": name, "password": password}, auth=ADMIN)
        yield url


@pytest.fixture(autouse=True)
def point_at_auth_server(tracking_uri: str, auth_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_url)
    mlflow.set_tracking_uri(auth_url)
    yield


def sign_in(monkeypatch: pytest.MonkeyPatch, user: tuple[str, str] | None = None, token: str | None = None) -> None:
    """Make the official client call as ``user`` (or with ``token``)."""
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if user is not None:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user[0])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user[1])
    if token is not None:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)


def auth_client(url: str):  # type: ignore[no-untyped-def]
    import mlflow.server

    return mlflow.server.get_app_client("basic-auth", tracking_uri=url)


def refused(code: str):  # type: ignore[no-untyped-def]
    """``pytest.raises`` for an MlflowException with this error code."""
    return pytest.raises(MlflowException, match=code)


@pytest.fixture
def alice_run(auth_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(experiment id, run id) that Alice created, with a metric and an artifact."""
    sign_in(monkeypatch, ALICE)
    client = mlflow.MlflowClient(auth_url)
    exp_id = client.create_experiment(f"alice-{uuid.uuid4().hex[:8]}")
    run = client.create_run(exp_id)
    client.log_metric(run.info.run_id, "loss", 0.5)
    return exp_id, run.info.run_id


def test_auth_client_manages_users_as_admin(auth_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(monkeypatch, ADMIN)
    client = auth_client(auth_url)
    name = f"carol-{uuid.uuid4().hex[:6]}"
    user = client.create_user(name, "carol-passphrase")
    assert user.username == name and user.is_admin is False and user.id > 0
    assert client.get_user(name).id == user.id
    client.update_user_admin(name, True)
    assert client.get_user(name).is_admin is True
    client.update_user_password(name, "carol-new-passphrase")
    sign_in(monkeypatch, (name, "carol-new-passphrase"))
    assert mlflow.MlflowClient(auth_url).search_experiments() is not None
    sign_in(monkeypatch, ADMIN)
    with refused("RESOURCE_ALREADY_EXISTS"):
        client.create_user(name, "another-passphrase")
    client.delete_user(name)
    with refused("RESOURCE_DOES_NOT_EXIST"):
        client.get_user(name)


def test_wrong_or_missing_credentials_are_unauthenticated(auth_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for user in (None, ("alice", "wrong-password"), ("nobody", "x")):
        sign_in(monkeypatch, user)
        with refused("UNAUTHENTICATED"):
            mlflow.MlflowClient(auth_url).search_experiments()
    sign_in(monkeypatch, token="mlt_forged-token")
    with refused("UNAUTHENTICATED"):
        mlflow.MlflowClient(auth_url).search_experiments()


def test_a_reader_reads_but_cannot_write(
    auth_url: str, monkeypatch: pytest.MonkeyPatch, alice_run: tuple[str, str]
) -> None:
    exp_id, run_id = alice_run
    sign_in(monkeypatch, BOB)  # the default permission is READ
    client = mlflow.MlflowClient(auth_url)
    assert client.get_run(run_id).data.metrics == {"loss": 0.5}
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run_id]
    for attempt in (
        lambda: client.log_metric(run_id, "loss", 0.1),
        lambda: client.set_tag(run_id, "hacked", "yes"),
        lambda: client.log_param(run_id, "p", "1"),
        lambda: client.create_run(exp_id),
        lambda: client.delete_run(run_id),
        lambda: client.rename_experiment(exp_id, "taken-over"),
        lambda: client.delete_experiment(exp_id),
    ):
        with refused("PERMISSION_DENIED"):
            attempt()
    sign_in(monkeypatch, ALICE)
    assert mlflow.MlflowClient(auth_url).get_run(run_id).data.tags.get("hacked") is None


def test_escalation_attempts_are_refused(
    auth_url: str, monkeypatch: pytest.MonkeyPatch, alice_run: tuple[str, str]
) -> None:
    exp_id, run_id = alice_run
    sign_in(monkeypatch, BOB)
    client = auth_client(auth_url)
    with refused("PERMISSION_DENIED"):
        client.create_user("mallory", "mallory-passphrase")
    with refused("PERMISSION_DENIED"):
        client.update_user_admin(BOB[0], True)
    with refused("PERMISSION_DENIED"):
        client.update_user_password(ALICE[0], "stolen-passphrase")
    with refused("PERMISSION_DENIED"):
        client.delete_user(ALICE[0])
    with refused("PERMISSION_DENIED"):
        client.get_user(ALICE[0])
    with refused("PERMISSION_DENIED"):
        client.grant_user_permission(BOB[0], "experiment", exp_id, "MANAGE")
    bob = httpx.Client(base_url=auth_url, auth=BOB, timeout=30)
    legacy = bob.post(
        "/api/2.0/mlflow/experiments/permissions/create",
        json={"experiment_id": exp_id, "username": BOB[0], "permission": "MANAGE"},
    )
    assert legacy.status_code == 403 and legacy.json()["error_code"] == "PERMISSION_DENIED"
    assert bob.get("/api/2.0/mltrail/audit/search").status_code == 403
    assert bob.post("/api/2.0/mltrail/groups/create", json={"name": "bobs"}).status_code == 403
    # the artifact proxy: reading is allowed (READ), writing and deleting are not
    sign_in(monkeypatch, ALICE)
    artifact_uri = mlflow.MlflowClient(auth_url).get_run(run_id).info.artifact_uri
    assert artifact_uri.startswith("mlflow-artifacts:/")
    folder = artifact_uri[len("mlflow-artifacts:/") :].strip("/")
    alice = httpx.Client(base_url=auth_url, auth=ALICE, timeout=30)
    assert alice.put(f"/api/2.0/mlflow-artifacts/artifacts/{folder}/model.txt", content=b"weights").status_code == 200
    assert bob.get(f"/api/2.0/mlflow-artifacts/artifacts/{folder}/model.txt").content == b"weights"
    assert bob.put(f"/api/2.0/mlflow-artifacts/artifacts/{folder}/model.txt", content=b"evil").status_code == 403
    assert bob.delete(f"/api/2.0/mlflow-artifacts/artifacts/{folder}/model.txt").status_code == 403
    assert bob.delete("/api/2.0/mlflow-artifacts/artifacts/0").status_code == 403
    assert bob.get("/api/2.0/mlflow-artifacts/artifacts").status_code == 403  # the root lists every experiment
    assert alice.get(f"/api/2.0/mlflow-artifacts/artifacts/{folder}/model.txt").content == b"weights"
    # an experiment whose artifacts live in another's folder would read them through its own runs
    bad = bob.post("/api/2.0/mlflow/experiments/create", json={"name": "x", "artifact_location": artifact_uri})
    assert bad.status_code == 403


def test_grants_through_the_auth_client(
    auth_url: str, monkeypatch: pytest.MonkeyPatch, alice_run: tuple[str, str]
) -> None:
    exp_id, run_id = alice_run
    sign_in(monkeypatch, ALICE)  # the creator MANAGEs the experiment
    client = auth_client(auth_url)
    client.grant_user_permission(BOB[0], "experiment", exp_id, "EDIT")
    result = client.get_user_permission(BOB[0], "experiment", exp_id)
    assert (result.allowed, result.permission) == (True, "EDIT")
    sign_in(monkeypatch, BOB)
    mlflow.MlflowClient(auth_url).log_metric(run_id, "loss", 0.25)
    with refused("PERMISSION_DENIED"):
        mlflow.MlflowClient(auth_url).delete_run(run_id)  # EDIT is not MANAGE
    sign_in(monkeypatch, ALICE)
    client.grant_user_permission(BOB[0], "experiment", exp_id, "NO_PERMISSIONS")
    sign_in(monkeypatch, BOB)
    bob = mlflow.MlflowClient(auth_url)
    with refused("PERMISSION_DENIED"):
        bob.get_run(run_id)
    assert bob.search_runs([exp_id]) == []
    assert exp_id not in {e.experiment_id for e in bob.search_experiments()}
    sign_in(monkeypatch, ALICE)
    client.revoke_user_permission(BOB[0], "experiment", exp_id)
    sign_in(monkeypatch, BOB)
    assert mlflow.MlflowClient(auth_url).get_run(run_id).data.metrics["loss"] == 0.25


def test_fluent_api_with_a_personal_access_token(
    auth_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    created = httpx.post(f"{auth_url}/api/2.0/mltrail/tokens/create", json={"name": "laptop"}, auth=BOB).json()
    secret = created["secret"]
    assert secret.startswith("mlt_") and "secret" not in created["token"]
    sign_in(monkeypatch, token=secret)
    mlflow.set_experiment(f"bob-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.9)
        mlflow.log_param("lr", "0.1")
        (tmp_path / "notes.txt").write_text("hello")
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
    client = mlflow.MlflowClient(auth_url)
    assert client.get_run(run.info.run_id).data.metrics == {"acc": 0.9}
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes.txt"]
    revoked = httpx.post(f"{auth_url}/api/2.0/mltrail/tokens/revoke", json={"id": created["token"]["id"]}, auth=BOB)
    assert revoked.status_code == 200
    with refused("UNAUTHENTICATED"):
        client.get_run(run.info.run_id)


def test_registered_models_follow_their_permissions(
    auth_url: str, monkeypatch: pytest.MonkeyPatch, alice_run: tuple[str, str]
) -> None:
    _, run_id = alice_run
    name = f"model-{uuid.uuid4().hex[:8]}"
    sign_in(monkeypatch, ALICE)
    alice = mlflow.MlflowClient(auth_url)
    alice.create_registered_model(name)
    alice.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    sign_in(monkeypatch, BOB)
    bob = mlflow.MlflowClient(auth_url)
    assert bob.get_model_version(name, "1").version == "1"
    with refused("PERMISSION_DENIED"):
        bob.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    with refused("PERMISSION_DENIED"):
        bob.set_registered_model_alias(name, "prod", "1")
    with refused("PERMISSION_DENIED"):
        bob.delete_registered_model(name)
    sign_in(monkeypatch, ALICE)
    auth_client(auth_url).grant_user_permission(BOB[0], "registered_model", name, "NO_PERMISSIONS")
    sign_in(monkeypatch, BOB)
    assert name not in {m.name for m in bob.search_registered_models()}
    assert bob.search_model_versions(f"name='{name}'") == []
    with refused("PERMISSION_DENIED"):
        bob.get_registered_model(name)
