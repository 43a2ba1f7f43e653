"""Three ``mltrail server`` replicas on one PostgreSQL database and one artifact store behave as one server.

The replicas start at the same moment against an empty database (so their migrations race), then every request
goes to the next replica in turn, as a round-robin load balancer would send it: 8 writers log batches, metrics,
params, tags and artifacts, and every replica then answers every read the same, with nothing lost; registry
events fire one webhook delivery each across the replicas, and a delivery whose replica is killed mid-POST is
sent again by another once its lease expires; two ``mltrail gc`` through two replicas at once purge each deleted
run once, without errors. The whole module runs twice: with one artifact folder that all replicas share (as a
network file system would be), and with one bucket on a real S3 server (moto's, ``tests/s3_server.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mltrail.store.sql import engines
from tests.server.live import ServerProcess
from tests.server.load import API, Writer, check_acknowledged, create_runs, post, run_writers
from tests.store.conftest import PG_ADMIN_URI, _server_database

REPLICAS = 3
WRITERS = 8
ROUNDS = 10
POINTS_PER_BATCH = 50
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
WEBHOOKS = "/api/2.0/mltrail/webhooks"
#: The replicas' webhook settings: quick retries and polls; a 1 s POST timeout, so leases last 6 s.
SERVER_ENV = {
    "MLTRAIL_WEBHOOK_BACKOFF": "0.2",
    "MLTRAIL_WEBHOOK_POLL": "0.2",
    "MLTRAIL_WEBHOOK_TIMEOUT": "1",
    "MLTRAIL_WEBHOOK_LEASE": "1",
}


class RoundRobin(httpx.BaseTransport):
    """Sends each request to the next replica in turn (a load balancer without affinity)."""

    def __init__(self, urls: list[str]) -> None:
        self.targets = [(httpx.URL(u), httpx.HTTPTransport()) for u in urls]
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            url, transport = self.targets[next(self._turn) % len(self.targets)]
        request.url = request.url.copy_with(host=url.host, port=url.port)
        request.headers["Host"] = url.netloc.decode()
        return transport.handle_request(request)

    def close(self) -> None:
        for _, transport in self.targets:
            transport.close()


def spread_client(urls: list[str]) -> httpx.Client:
    """A client whose requests go round-robin across ``urls``."""
    return httpx.Client(base_url=urls[0], transport=RoundRobin(urls), timeout=60)


class SpreadWriter(Writer):
    """A :class:`Writer` whose requests go round-robin across the replicas, and which also uploads an artifact
    per round (to ``<artifact root>/w<writer>/<round>.txt``, through the proxy)."""

    def __init__(self, urls: list[str], run_id: str, artifact_root: str, writer: int) -> None:
        super().__init__(urls[0], run_id, writer, POINTS_PER_BATCH)
        self.urls = urls
        self.artifact_root = artifact_root
        self.artifacts: dict[str, bytes] = {}

    def run(self, rounds: int | None = None, stop: threading.Event | None = None) -> None:
        with spread_client(self.urls) as client:
            while rounds is None or self.rounds < rounds:
                self._round(client, self.rounds)
                path = f"w{self.writer}/{self.rounds}.txt"
                content = f"run {self.run_id} writer {self.writer} round {self.rounds}\n".encode() * 50
                response = client.put(f"{ARTIFACTS}/{self.artifact_root}/{path}", content=content)
                if response.status_code == 200:
                    self.artifacts[path] = content
                else:
                    self.failures.append(f"PUT {path}: {response.status_code} {response.text[:300]}")
                self.rounds += 1


@dataclass
class Cluster:
    """The replicas, their database and their one artifact store: a folder, or a bucket on ``s3_endpoint``."""

    servers: list[ServerProcess]
    db_uri: str
    destination: str
    s3_endpoint: str | None = None

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def stored(self, prefix: str) -> bool:
        """Whether anything is stored under ``prefix`` (relative to the artifacts destination)."""
        if self.s3_endpoint is None:
            return (Path(self.destination) / prefix).exists()
        from tests.s3_server import s3_client

        bucket, _, root = self.destination.removeprefix("s3://").partition("/")
        found = s3_client(self.s3_endpoint).list_objects_v2(Bucket=bucket, Prefix=f"{root}/{prefix}/", MaxKeys=1)
        return bool(found.get("KeyCount"))


@pytest.fixture(scope="module", params=["folder", "s3"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three replicas started at the same moment on an empty database, with one artifact store for all."""
    root = tmp_path_factory.mktemp(f"replicas-{request.param}")
    env = dict(SERVER_ENV)
    if request.param == "s3":
        s3 = pytest.importorskip("tests.s3_server")
        endpoint: str | None = request.getfixturevalue("s3_endpoint")
        destination = f"s3://{s3.create_bucket(endpoint, 'replicas')}/artifacts"
        env.update(s3.environment(endpoint))
    else:
        endpoint, destination = None, str(root / "artifacts")
    fresh = _server_database(PG_ADMIN_URI, "postgresql")
    database = next(fresh)  # a new, empty database (skips when PostgreSQL is unreachable); dropped at the end
    servers = [
        ServerProcess(root / f"r{n}", database, workers=1, artifacts_destination=destination) for n in range(REPLICAS)
    ]
    for server in servers:
        server.root.mkdir()
    saved = dict(os.environ)
    os.environ.update(env)
    errors: list[BaseException] = []

    def start(server: ServerProcess) -> None:
        try:
            server.start(timeout=60)
        except BaseException as exc:  # reported below, with every replica's output
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start, args=(s,)) for s in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        assert not errors, "\n\n".join(f"{s.url}:\n{s.output()}" for s in servers)
        yield Cluster(servers, database, destination, endpoint)
    finally:
        for server in servers:
            server.stop()
        fresh.close()


def _each(cluster: Cluster) -> Iterator[httpx.Client]:
    """One client per replica (each reads through one replica only)."""
    with ExitStack() as stack:
        yield from (stack.enter_context(httpx.Client(base_url=u, timeout=60)) for u in cluster.urls)


def _run_view(client: httpx.Client, run_id: str, keys: list[str]) -> dict[str, Any]:
    """Everything one replica says about a run: data, every metric history, the artifact listing."""
    run = client.get(f"{API}/runs/get", params={"run_id": run_id})
    assert run.status_code == 200, run.text
    data = run.json()["run"]["data"]
    view: dict[str, Any] = {
        "params": sorted((p["key"], p["value"]) for p in data.get("params", [])),
        "tags": sorted((t["key"], t["value"]) for t in data.get("tags", [])),
        "latest": sorted((m["key"], m["step"], m["value"]) for m in data.get("metrics", [])),
    }
    for key in keys:
        history = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key})
        assert history.status_code == 200, history.text
        points = history.json().get("metrics", [])
        view[f"history:{key}"] = sorted((m["step"], m["timestamp"], m["value"]) for m in points)
    files = []
    for folder in ["", *sorted(k for k in keys if k.startswith("w"))]:  # the root and each writer's folder
        listing = client.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": folder})
        assert listing.status_code == 200, listing.text
        files += [(f["path"], f.get("file_size")) for f in listing.json().get("files", [])]
    view["artifacts"] = sorted(files)
    return view


def test_writers_across_replicas_lose_nothing_and_every_replica_reads_the_same(cluster: Cluster) -> None:
    with spread_client(cluster.urls) as client:
        run_ids = create_runs(client, "replicas", WRITERS // 2)  # two writers per run
        runs = {r: client.get(f"{API}/runs/get", params={"run_id": r}).json()["run"]["info"] for r in run_ids}
    roots = {r: info["artifact_uri"].removeprefix("mlflow-artifacts:/") for r, info in runs.items()}
    writers = [
        SpreadWriter(cluster.urls, run_ids[w % len(run_ids)], roots[run_ids[w % len(run_ids)]], w)
        for w in range(WRITERS)
    ]
    acknowledged = run_writers(writers, rounds=ROUNDS)  # type: ignore[arg-type]
    assert [f for w in writers for f in w.failures] == []
    assert sum(w.transport_errors for w in writers) == 0
    assert acknowledged.writes == WRITERS * ROUNDS * (POINTS_PER_BATCH + 3) + WRITERS * (ROUNDS // 2)

    views: list[dict[str, dict[str, Any]]] = []
    for client in _each(cluster):
        check_acknowledged(client, acknowledged)  # every acknowledged write, through this replica
        keys = {r: ["single"] + [f"w{w}" for w in range(WRITERS) if run_ids[w % len(run_ids)] == r] for r in run_ids}
        views.append({r: _run_view(client, r, keys[r]) for r in run_ids})
        for writer in writers:
            for path, content in writer.artifacts.items():
                download = client.get(f"{ARTIFACTS}/{roots[writer.run_id]}/{path}")
                assert download.status_code == 200 and download.content == content, path
        search = post(client, "/runs/search", {"experiment_ids": [runs[run_ids[0]]["experiment_id"]]})
        assert sorted(r["info"]["run_id"] for r in search["runs"]) == sorted(run_ids)
    assert views[0] == views[1] == views[2]
    for run_id in run_ids:
        view = views[0][run_id]
        assert len(view["history:single"]) == 2 * ROUNDS
        assert len([p for p in view["params"] if p[0].startswith("p")]) == 2 * ROUNDS
        assert len([f for f in view["artifacts"] if f[1] is not None]) == 2 * ROUNDS  # files under w<n>/


class Receiver:
    """A webhook receiver on loopback; ``hold`` makes the first request for an event wait until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.hold_event: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hold_event == self.headers["X-Mltrail-Event"] and not receiver.held.is_set():
                    receiver.held.set()
                    receiver.release.wait(20)  # its replica is killed meanwhile: no answer is read
                    return
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> Counter[str]:
        return Counter(json.loads(body)["event_id"] for _, body in self.requests)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _deliveries(client: httpx.Client, webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{WEBHOOKS}/deliveries", params={"webhook_id": webhook_id})
    assert response.status_code == 200, response.text
    return list(response.json().get("deliveries", []))


def test_one_webhook_delivery_per_event_across_replicas(cluster: Cluster, receiver: Receiver) -> None:
    a, b, c = (httpx.Client(base_url=u, timeout=30) for u in cluster.urls)
    with a, b, c:
        reg = "/api/2.0/mlflow/registered-models"
        hook = a.post(f"{WEBHOOKS}/create", json={"name": "all", "url": receiver.url, "events": ["*"]})
        assert hook.status_code == 200, hook.text
        webhook_id = hook.json()["webhook"]["webhook_id"]
        assert b.post(f"{reg}/create", json={"name": "model"}).status_code == 200  # seen at once by another replica
        versions = "/api/2.0/mlflow/model-versions"
        for n, client in enumerate([c, a, b, c, a, b]):
            response = client.post(f"{versions}/create", json={"name": "model", "source": f"s3://b/m/{n}"})
            assert response.status_code == 200, response.text
        alias = {"name": "model", "alias": "champion", "version": "3"}
        assert c.post(f"{reg}/alias", json=alias).status_code == 200
        tag = {"name": "model", "version": "2", "key": "k", "value": "v"}
        assert a.post(f"{versions}/set-tag", json=tag).status_code == 200
        events = 1 + 6 + 1 + 1
        _wait_for(lambda: len(receiver.requests) >= events, 20, "the deliveries")
        _wait_for(
            lambda: {d["status"] for d in _deliveries(b, webhook_id)} == {"DELIVERED"}, 10, "every delivery logged"
        )
        time.sleep(1.0)  # several polls of every replica: nothing is sent twice
        assert len(receiver.requests) == events
        assert set(receiver.events().values()) == {1}
        assert len({h["X-Mltrail-Delivery"] for h, _ in receiver.requests}) == events
        logs = [_deliveries(client, webhook_id) for client in (a, b, c)]
        assert logs[0] == logs[1] == logs[2] and len(logs[0]) == events
        assert {d["attempts"] for d in logs[0]} == {1}
        assert a.delete(f"{WEBHOOKS}/delete", params={"webhook_id": webhook_id}).status_code == 200


def _gc(url: str, cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from mltrail.cli.main import main; main()", "gc", "--tracking-uri", url, "--json"]
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_gc_on_two_replicas_at_once_purges_each_run_and_experiment_once(cluster: Cluster, tmp_path: Path) -> None:
    with spread_client(cluster.urls) as client:
        run_ids = create_runs(client, "to-collect", 12)
        for run_id in run_ids:
            info = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["info"]
            root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
            for name in ("a.txt", "dir/b.txt", "dir/sub/c.txt"):
                assert client.put(f"{ARTIFACTS}/{root}/{name}", content=b"x" * 100).status_code == 200
            post(client, "/runs/delete", {"run_id": run_id})
        experiment_id = info["experiment_id"]
        post(client, "/experiments/delete", {"experiment_id": experiment_id})
    assert all(cluster.stored(f"{experiment_id}/{r}") for r in run_ids)

    first, second = _gc(cluster.urls[0], tmp_path), _gc(cluster.urls[1], tmp_path)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    reports = [json.loads(out) for out, _ in outputs]
    purged = [[r["run_id"] for r in report["runs"]] for report in reports]
    assert sorted(purged[0] + purged[1]) == sorted(run_ids)  # each run once, by one of them
    assert all(report["failures"] == [] for report in reports)
    assert [e["experiment_id"] for report in reports for e in report["experiments"]] == [experiment_id]
    assert not any(cluster.stored(f"{experiment_id}/{r}") for r in run_ids)
    assert not cluster.stored(experiment_id)
    for client in _each(cluster):
        for run_id in run_ids:
            assert client.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 404
        missing = client.get(f"{API}/experiments/get", params={"experiment_id": experiment_id})
        assert missing.status_code == 404


def _lease_holder(cluster: Cluster) -> ServerProcess:
    """The replica that holds the lease of the one delivery being sent now (its owner token names its pid)."""
    engine = sa.create_engine(engines.normalize_db_uri(cluster.db_uri))
    try:
        with engine.connect() as conn:
            (owner,) = conn.execute(
                sa.text("SELECT lease_owner FROM webhook_deliveries WHERE lease_owner IS NOT NULL")
            ).scalars()
    finally:
        engine.dispose()
    pid = int(owner.split(":")[1])
    (server,) = [s for s in cluster.servers if s.process is not None and s.process.pid == pid]
    return server


def test_a_delivery_whose_replica_dies_is_sent_by_another(cluster: Cluster, receiver: Receiver) -> None:
    """Runs last: it kills a replica (the one that claimed the delivery: usually the one that recorded it)."""
    with httpx.Client(base_url=cluster.urls[0], timeout=30) as client:
        hook = client.post(
            f"{WEBHOOKS}/create", json={"name": "failover", "url": receiver.url, "events": ["registered_model.created"]}
        )
        webhook_id = hook.json()["webhook"]["webhook_id"]
        receiver.hold_event = "registered_model.created"
        created = httpx.post(f"{cluster.urls[2]}/api/2.0/mlflow/registered-models/create", json={"name": "orphan"})
        assert created.status_code == 200, created.text
        assert receiver.held.wait(10), "no replica sent the delivery"
        holder = _lease_holder(cluster)
        holder.kill()  # mid-POST: its lease stays behind, to expire
        started = time.monotonic()
        _wait_for(lambda: len(receiver.requests) == 1, 20, "another replica to send it")
        assert time.monotonic() - started > 3  # not before the lease expired (6 s after the claim)
        survivor = next(s for s in cluster.servers if s is not holder)
        with httpx.Client(base_url=survivor.url, timeout=30) as reader:
            (delivery,) = _deliveries(reader, webhook_id)
        assert (delivery["status"], delivery["attempts"]) == ("DELIVERED", 2)
        headers, body = receiver.requests[0]
        assert headers["X-Mltrail-Delivery"] == delivery["delivery_id"]
        assert json.loads(body)["data"]["name"] == "orphan"
