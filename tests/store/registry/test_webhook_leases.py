"""Webhook deliveries as a queue in the database: claimed with a lease, sent once across processes (SQLite,
PostgreSQL, MariaDB). Several stores on one database stand in for server replicas."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from mltrail.store.registry.sql.store import SqlRegistryStore
from mltrail.store.registry.sql.tables import webhook_deliveries
from mltrail.store.registry.webhooks import WebhookDispatcher
from tests.store.registry.test_webhooks import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(delay=0.01)
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAIL_WEBHOOK_BACKOFF", "0.05")
    monkeypatch.setenv("MLTRAIL_WEBHOOK_POLL", "0.02")


class CountingOpener:
    """``urlopen`` that counts the deliveries it sent, per dispatcher."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: urllib.request.Request, timeout: float) -> Any:
        with self._lock:
            self.sent.append(request.get_header("X-mltrail-delivery") or "")
        return urllib.request.urlopen(request, timeout=timeout)


class Manual(WebhookDispatcher):
    """A dispatcher whose thread never runs: the test calls :meth:`run_once` itself."""

    def wake(self) -> None:
        return None


def _manual(store: SqlRegistryStore, **options: Any) -> Manual:
    store._dispatcher = Manual(store.webhook_log, **options)
    return store._dispatcher


def _rows(store: SqlRegistryStore) -> list[Any]:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(webhook_deliveries)).all()


def test_two_replicas_send_each_delivery_once(registry_store: SqlRegistryStore, receiver: Receiver) -> None:
    other = SqlRegistryStore(registry_store.db_uri)
    openers = [CountingOpener(), CountingOpener()]
    stores = [registry_store, other]
    for store, opener in zip(stores, openers, strict=True):
        store._dispatcher = WebhookDispatcher(store.webhook_log, opener=opener)
        store.dispatcher.start()
    try:
        registry_store.create_webhook("a", receiver.url, ["*"], secret="k")
        other.create_webhook("b", receiver.url, ["model_version.created"])  # seen at once by the other store
        registry_store.create_registered_model("m")
        for n in range(15):
            stores[n % 2].create_model_version("m", f"s3://b/{n}")
        assert registry_store.dispatcher.flush(30)
    finally:
        for store in stores:
            store.dispatcher.stop()
    rows = _rows(registry_store)
    assert len(rows) == 1 + 15 * 2
    assert {r.status for r in rows} == {"DELIVERED"} and {r.attempts for r in rows} == {1}
    assert {r.lease_owner for r in rows} == {None} and {r.lease_expires_at for r in rows} == {None}
    received = Counter(headers["X-Mltrail-Delivery"] for headers, _ in receiver.requests)
    assert set(received) == {r.delivery_id for r in rows} and set(received.values()) == {1}
    sent = [d for opener in openers for d in opener.sent]
    assert sorted(sent) == sorted(received)
    assert all(opener.sent for opener in openers), "both replicas should have taken part"
    per_event = Counter(json.loads(body)["event_id"] for _, body in receiver.requests)
    assert sorted(per_event.values()) == [1] + [2] * 15  # one event, one delivery per subscribed webhook


def test_an_expired_lease_is_taken_over(registry_store: SqlRegistryStore, receiver: Receiver) -> None:
    hook = registry_store.create_webhook("a", receiver.url, ["registered_model.created"])
    log = registry_store.webhook_log
    survivor = _manual(registry_store)  # this test drives the claims itself
    registry_store.create_registered_model("m")
    now = int(time.time() * 1000)
    dead = log.claim("dead-replica:1", now, 300)  # claimed, then its replica died before posting
    assert dead is not None and dead.attempt == 1
    assert log.claim("other:1", now + 100, 60_000) is None  # the lease holds
    assert survivor.run_once() is False
    time.sleep(0.35)
    assert survivor.run_once() is True  # expired: taken over and sent
    assert not log.finish(dead, "DELIVERED", 200, None, None)  # the dead replica's late answer changes nothing
    (delivery,) = registry_store.list_webhook_deliveries(hook.webhook_id)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("DELIVERED", 2, 200)
    assert len(receiver.requests) == 1


def test_a_lost_last_attempt_fails_the_delivery(registry_store: SqlRegistryStore, receiver: Receiver) -> None:
    hook = registry_store.create_webhook("a", receiver.url, ["registered_model.created"])
    survivor = _manual(registry_store, max_attempts=1)
    registry_store.create_registered_model("m")
    log = registry_store.webhook_log
    now = int(time.time() * 1000)
    assert log.claim("dead:1", now, 1) is not None
    time.sleep(0.01)
    assert survivor.run_once() is True
    (delivery,) = registry_store.list_webhook_deliveries(hook.webhook_id)
    assert delivery.status == "FAILED" and delivery.attempts == 2 and "stopped" in (delivery.error or "")
    assert receiver.requests == [] and log.open_count() == 0


def test_deliveries_commit_with_the_change(registry_store: SqlRegistryStore, receiver: Receiver) -> None:
    registry_store.create_webhook("a", receiver.url, ["registered_model.created"])
    registry_store.create_registered_model("m")
    with pytest.raises(Exception, match="already exists"):
        registry_store.create_registered_model("m")  # rolled back: no event
    assert registry_store.dispatcher.flush(10)
    assert len(_rows(registry_store)) == 1 and len(receiver.requests) == 1


def test_retries_are_rescheduled_in_the_database(registry_store: SqlRegistryStore) -> None:
    flaky = Receiver(fail_first=1)
    try:
        registry_store.create_webhook("a", flaky.url, ["registered_model.created"])
        first = _manual(registry_store, backoff=0.2)
        registry_store.create_registered_model("m")
        assert first.run_once() is True
        (row,) = _rows(registry_store)
        assert (row.status, row.attempts, row.response_code, row.lease_owner) == ("RETRYING", 1, 503, None)
        assert row.next_attempt_at >= row.last_updated_time + 150
        second = WebhookDispatcher(registry_store.webhook_log)  # another replica: not due yet
        assert second.run_once() is False
        due = registry_store.webhook_log.next_due()
        assert due is not None and due == row.next_attempt_at
        time.sleep(max(0.0, (due - time.time() * 1000) / 1000) + 0.02)
        assert second.run_once() is True
        (row,) = _rows(registry_store)
        assert (row.status, row.attempts, row.response_code) == ("DELIVERED", 2, 200)
    finally:
        flaky.close()
