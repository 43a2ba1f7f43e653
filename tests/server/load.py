"""Writers that load a live server through the REST API and record every write it acknowledged.

Each :class:`Writer` repeats one round: a ``log-batch`` (metrics only on even rounds, metrics and a param on odd
ones, so PostgreSQL takes both its one-statement and its transaction path), a ``log-metric``, a ``set-tag`` and a
``log-param``, every one with content of its own. A write counts as acknowledged only when the server answered
200; :func:`check_acknowledged` then proves that each one is stored, and each metric point exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

API = "/api/2.0/mlflow"
#: (step, timestamp, value) of a metric point.
Point = tuple[int, int, float]


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the tracking API and return the JSON answer, asserting a 200."""
    response = client.post(f"{API}{path}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def create_runs(client: httpx.Client, experiment_name: str, count: int) -> list[str]:
    """Create an experiment and ``count`` runs in it; return the run ids."""
    experiment_id = post(client, "/experiments/create", {"name": experiment_name})["experiment_id"]
    return [
        post(client, "/runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"] for _ in range(count)
    ]


@dataclass
class Acknowledged:
    """What the server answered 200 to, per run."""

    points: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    params: dict[tuple[str, str], str] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)

    def merge(self, other: Acknowledged) -> None:
        """Add another writer's acknowledged writes."""
        for key, points in other.points.items():
            self.points.setdefault(key, []).extend(points)
        self.params.update(other.params)
        self.tags.update(other.tags)

    @property
    def writes(self) -> int:
        """How many points, params and tags were acknowledged."""
        return sum(len(p) for p in self.points.values()) + len(self.params) + len(self.tags)


class Writer:
    """One client thread's writes to one run.

    Args:
        url: the server's base URL.
        run_id: the run written to (several writers may share one).
        writer: this writer's number; it names the keys it writes.
        points_per_batch: metric points per ``log-batch``.
    """

    def __init__(self, url: str, run_id: str, writer: int, points_per_batch: int = 100) -> None:
        self.url = url
        self.run_id = run_id
        self.writer = writer
        self.points_per_batch = points_per_batch
        self.acknowledged = Acknowledged()
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.transport_errors = 0
        self.rounds = 0

    def run(self, rounds: int | None = None, stop: threading.Event | None = None) -> None:
        """Write ``rounds`` rounds, or until ``stop`` is set; a transport error ends nothing but its request."""
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while (rounds is None or self.rounds < rounds) and not (stop is not None and stop.is_set()):
                self._round(client, self.rounds)
                self.rounds += 1

    def _round(self, client: httpx.Client, n: int) -> None:
        w, run_id = self.writer, self.run_id
        batch = [(n * 1000 + i, n * 1000 + i, float(i)) for i in range(self.points_per_batch)]
        body: dict[str, Any] = {
            "run_id": run_id,
            "metrics": [{"key": f"w{w}", "value": v, "timestamp": t, "step": s} for s, t, v in batch],
        }
        params = {f"bp{w}.{n}": str(n)} if n % 2 else {}
        if params:
            body["params"] = [{"key": k, "value": v} for k, v in params.items()]
        if self._post(client, "/runs/log-batch", body):
            self.acknowledged.points.setdefault((run_id, f"w{w}"), []).extend(batch)
            self.acknowledged.params.update({(run_id, k): v for k, v in params.items()})
        single = (w * 100_000 + n, n, float(w))
        metric = {"run_id": run_id, "key": "single", "value": single[2], "timestamp": single[1], "step": single[0]}
        if self._post(client, "/runs/log-metric", metric):
            self.acknowledged.points.setdefault((run_id, "single"), []).append(single)
        if self._post(client, "/runs/set-tag", {"run_id": run_id, "key": f"t{w}.{n}", "value": str(n)}):
            self.acknowledged.tags[(run_id, f"t{w}.{n}")] = str(n)
        if self._post(client, "/runs/log-parameter", {"run_id": run_id, "key": f"p{w}.{n}", "value": str(n)}):
            self.acknowledged.params[(run_id, f"p{w}.{n}")] = str(n)

    def _post(self, client: httpx.Client, path: str, body: dict[str, Any]) -> bool:
        try:
            response = client.post(f"{API}{path}", json=body)
        except httpx.TransportError:  # the server is gone (killed): not acknowledged; do not spin on it
            self.transport_errors += 1
            time.sleep(0.01)
            return False
        self.statuses[response.status_code] += 1
        if response.status_code != 200:
            self.failures.append(f"{path}: {response.status_code} {response.text[:300]}")
        return response.status_code == 200


def run_writers(writers: list[Writer], rounds: int | None = None, stop: threading.Event | None = None) -> Acknowledged:
    """Run the writers on threads of their own until they finish; return their acknowledged writes together."""
    threads = [threading.Thread(target=w.run, args=(rounds, stop), daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Acknowledged()
    for writer in writers:
        total.merge(writer.acknowledged)
    return total


def check_acknowledged(client: httpx.Client, acknowledged: Acknowledged) -> None:
    """Assert that every acknowledged write is stored, and that no metric history holds a point twice."""
    for (run_id, key), points in acknowledged.points.items():
        response = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key})
        assert response.status_code == 200, response.text
        stored = Counter((m["step"], m["timestamp"], float(m["value"])) for m in response.json().get("metrics", []))
        assert not [p for p, n in stored.items() if n > 1], f"{key}: points stored twice"
        missing = [p for p in points if p not in stored]
        assert not missing, f"{key}: {len(missing)} acknowledged points missing, e.g. {missing[:3]}"
    for run_id in {run_id for run_id, _ in [*acknowledged.params, *acknowledged.tags]}:
        response = client.get(f"{API}/runs/get", params={"run_id": run_id})
        assert response.status_code == 200, response.text
        data = response.json()["run"]["data"]
        params = {p["key"]: p["value"] for p in data.get("params", [])}
        tags = {t["key"]: t["value"] for t in data.get("tags", [])}
        assert {k: v for (r, k), v in acknowledged.params.items() if r == run_id}.items() <= params.items()
        assert {k: v for (r, k), v in acknowledged.tags.items() if r == run_id}.items() <= tags.items()
