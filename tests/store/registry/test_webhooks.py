"""Webhooks against a receiver on loopback: signatures, retries with backoff, the delivery log, no blocking."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mltrail.entities import ModelVersionTag, RegisteredModelTag
from mltrail.store.registry.sql.store import SqlRegistryStore
from mltrail.store.registry.webhooks import SIGNATURE_HEADER, sign, verify_signature
from mltrail.store.tracking.sql.store import SqlTrackingStore


class Receiver:
    """A loopback HTTP server that records requests and fails the first ``fail_first`` of them with 503."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first, self.delay = fail_first, delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.requests.append((dict(self.headers), body))
                status = 503 if len(receiver.requests) <= receiver.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SqlRegistryStore:
    monkeypatch.setenv("MLTRAIL_WEBHOOK_BACKOFF", "0.05")
    monkeypatch.setenv("MLTRAIL_WEBHOOK_MAX_ATTEMPTS", "4")
    uri = f"sqlite:///{tmp_path / 'hooks.db'}"
    SqlTrackingStore(uri, str(tmp_path / "artifacts"))
    return SqlRegistryStore(uri)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_signed_delivery_of_each_event(store: SqlRegistryStore, receiver: Receiver) -> None:
    hook = store.create_webhook("all", receiver.url, ["*"], secret="s3cret")
    store.create_registered_model("m", [RegisteredModelTag("a", "b")])
    store.create_model_version("m", "s3://b/1")
    store.set_registered_model_alias("m", "champion", "1")
    store.delete_registered_model_alias("m", "champion")
    store.transition_model_version_stage("m", "1", "Production")
    store.set_model_version_tag("m", "1", ModelVersionTag("k", "v"))
    store.set_registered_model_tag("m", RegisteredModelTag("k", "v"))
    assert store.dispatcher.flush(10)
    events = []
    for headers, body in receiver.requests:
        assert headers[SIGNATURE_HEADER] == sign(body, "s3cret")
        assert verify_signature(body, "s3cret", headers[SIGNATURE_HEADER])
        assert not verify_signature(body, "wrong", headers[SIGNATURE_HEADER])
        payload = json.loads(body)
        assert payload["event_id"] == headers["X-Mltrail-Event-Id"] and payload["timestamp"] > 0
        events.append(payload["event"])
    assert events == [
        "registered_model.created",
        "model_version.created",
        "model_version_alias.created",
        "model_version_alias.deleted",
        "model_version.stage_changed",
        "model_version_tag.set",
        "registered_model_tag.set",
    ]
    created = json.loads(receiver.requests[1][1])["data"]
    assert created["name"] == "m" and created["version"] == "1" and created["source"] == "s3://b/1"
    log = store.list_webhook_deliveries(hook.webhook_id)
    assert len(log) == 7 and {d.status for d in log} == {"DELIVERED"} and {d.response_code for d in log} == {200}


def test_failures_are_retried_with_backoff_and_logged(store: SqlRegistryStore) -> None:
    flaky = Receiver(fail_first=2)
    try:
        hook = store.create_webhook("flaky", flaky.url, ["model_version.created"], secret="k")
        store.create_registered_model("m")
        store.create_model_version("m", "s3://b/1")
        assert store.dispatcher.flush(10)
        assert len(flaky.requests) == 3
        assert len({h["X-Mltrail-Delivery"] for h, _ in flaky.requests}) == 1  # one delivery, three attempts
        (delivery,) = store.list_webhook_deliveries(hook.webhook_id)
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("DELIVERED", 3, 200)
    finally:
        flaky.close()


def test_unreachable_receiver_fails_after_max_attempts(store: SqlRegistryStore) -> None:
    hook = store.create_webhook("dead", "http://127.0.0.1:9/hook", ["model_version.created"])
    store.create_registered_model("m")
    store.create_model_version("m", "s3://b/1")
    assert store.dispatcher.flush(10)
    (delivery,) = store.list_webhook_deliveries(hook.webhook_id)
    assert delivery.status == "FAILED" and delivery.attempts == 4 and delivery.response_code is None
    assert delivery.error


def test_delivery_never_blocks_the_write(store: SqlRegistryStore) -> None:
    slow = Receiver(delay=1.0)
    try:
        store.create_webhook("slow", slow.url, ["model_version.created"])
        store.create_registered_model("m")
        start = time.perf_counter()
        store.create_model_version("m", "s3://b/1")
        assert time.perf_counter() - start < 0.5
        assert store.dispatcher.flush(10) and len(slow.requests) == 1
    finally:
        slow.close()


def test_only_subscribed_and_active_webhooks_receive(store: SqlRegistryStore, receiver: Receiver) -> None:
    hook = store.create_webhook("tags", receiver.url, ["model_version_tag.set"])
    store.create_registered_model("m")
    store.create_model_version("m", "s3://b/1")
    store.update_webhook(hook.webhook_id, active=False)
    store.set_model_version_tag("m", "1", ModelVersionTag("k", "v"))
    store.dispatcher.flush(5)
    assert receiver.requests == []


def test_webhooks_through_the_server_and_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mltrail.tracking.client import MltrailClient
    from tests.server.live import live_server

    monkeypatch.setenv("MLTRAIL_WEBHOOK_BACKOFF", "0.05")
    receiver = Receiver(fail_first=1)
    try:
        with live_server(tmp_path) as url:
            client = MltrailClient(url)
            hook = client.create_webhook("srv", receiver.url, ["model_version.created"], secret="abc")
            assert [w.webhook_id for w in client.list_webhooks()] == [hook.webhook_id]
            client.create_registered_model("m")
            client.create_model_version("m", "s3://b/1")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                log = client.list_webhook_deliveries(hook.webhook_id)
                if log and log[0].status == "DELIVERED":
                    break
                time.sleep(0.05)
            (delivery,) = client.list_webhook_deliveries(hook.webhook_id)
            assert (delivery.status, delivery.attempts, delivery.response_code) == ("DELIVERED", 2, 200)
            headers, body = receiver.requests[-1]
            assert verify_signature(body, "abc", headers[SIGNATURE_HEADER])
            client.delete_webhook(hook.webhook_id)
            assert client.list_webhooks() == []
    finally:
        receiver.close()
