"""MLflow's published vulnerability classes replayed against a live mltrail server.

Path traversal and local file inclusion through every artifact route and through ``source`` and
``artifact_location``; SSRF (a listener on a loopback port counts every connection the server makes to it);
cross-site request forgery and DNS rebinding; XSS through served artifacts; oversize and malformed bodies.
After each attack the file system is checked: canary files outside the artifact root are untouched and the
root still holds what was there before.
"""

from __future__ import annotations

import hashlib
import http.client as http_client
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from mltrail.server.uri_policy import ArtifactUriPolicy
from tests.server.live import ADMIN, auth_live_server, live_server

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"
JSON = {"Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------ fixtures
@dataclass
class Canaries:
    """Files outside the artifact root that no request may read, change or delete."""

    folder: Path
    digests: dict[Path, str] = field(default_factory=dict)

    def plant(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("secret.txt", "passwd", "MLmodel"):
            path = self.folder / name
            path.write_text(f"canary {name}: do not serve\n")
            self.digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()

    def assert_untouched(self) -> None:
        for path, digest in self.digests.items():
            assert path.exists(), f"{path} was deleted"
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} was changed"
        assert sorted(p.name for p in self.folder.iterdir()) == sorted(p.name for p in self.digests)


class ConnectionCounter:
    """A TCP listener on a loopback port that counts the connections made to it (an SSRF target)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.count += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@dataclass
class Target:
    url: str
    root: Path
    canaries: Canaries
    listener: ConnectionCounter
    run_id: str
    experiment_id: str
    model_id: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = tmp_path_factory.mktemp("security")
    canaries = Canaries(base / "outside")
    canaries.plant()
    listener = ConnectionCounter()
    with live_server(base) as url, httpx.Client(base_url=url, timeout=30) as client:
        experiment_id = client.post(f"{API}/experiments/create", json={"name": "sec"}).json()["experiment_id"]
        run = client.post(f"{API}/runs/create", json={"experiment_id": experiment_id}).json()["run"]["info"]
        run_id = run["run_id"]
        relative = run["artifact_uri"].removeprefix("mlflow-artifacts:/")
        assert client.put(f"{ART}/{relative}/keep/MLmodel", content=b"flavors: {}\n").status_code == 200
        model = client.post(
            f"{API}/logged-models", json={"experiment_id": experiment_id, "name": "m", "source_run_id": run_id}
        ).json()["model"]["info"]
        yield Target(url, base / "artifacts", canaries, listener, run_id, experiment_id, model["model_id"])
    listener.close()


@pytest.fixture
def http(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url, timeout=30) as client:
        yield client
    target.canaries.assert_untouched()
    assert target.listener.count == 0, "the server connected to an address a request named"
    assert any(target.root.rglob("keep/MLmodel")), "the artifact root lost a file"


def raw(url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    """Send ``path`` exactly as written (no client-side normalisation of ``..`` or percent-escapes)."""
    parts = urlsplit(url)
    conn = http_client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _error_code(body: bytes) -> str:
    import json

    return json.loads(body)["error_code"]


# --------------------------------------------------------------------------------- traversal and LFI
TRAVERSALS = [
    "../outside/secret.txt",
    "../../outside/secret.txt",
    "%2e%2e/outside/secret.txt",
    "..%2foutside%2fsecret.txt",
    "%252e%252e%252foutside%252fsecret.txt",
    "a/../../outside/secret.txt",
    "..\\outside\\secret.txt",
    "/etc/passwd",
    "//etc/passwd",
    "%2fetc%2fpasswd",
    "file:///etc/passwd",
    "file:/etc/passwd",
    "http://127.0.0.1:1/x",
    "C:\\Windows\\win.ini",
    "a%00b",
    "a%23b",
]


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_proxy_routes_refuse_escaping_paths(target: Target, http: httpx.Client, bad: str) -> None:
    for method, body in (("GET", None), ("PUT", b"pwned"), ("DELETE", None)):
        status, _, payload = raw(target.url, method, f"{ART}/{bad}", body=body)
        assert status in (400, 404), (method, bad, status, payload)
        assert b"canary" not in payload
    status, _, payload = raw(target.url, "GET", f"{ART}?path={quote(bad)}")
    assert status == 400, (bad, payload)
    status, _, payload = raw(target.url, "POST", f"{MPU}/create/{bad}", b'{"path": "x.bin", "num_parts": 1}', JSON)
    assert status in (400, 404), (bad, status, payload)


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_run_model_and_version_routes_refuse_escaping_paths(target: Target, http: httpx.Client, bad: str) -> None:
    q = quote(bad)
    paths = [
        f"{API}/artifacts/list?run_id={target.run_id}&path={q}",
        f"{API}/get-artifact?run_id={target.run_id}&path={q}",
        f"{AJAX}/get-artifact?run_uuid={target.run_id}&path={q}",
        f"/get-artifact?run_uuid={target.run_id}&path={q}",
        f"{API}/logged-models/{target.model_id}/artifacts/directories?artifact_directory_path={q}",
        f"{AJAX}/logged-models/{target.model_id}/artifacts/files?artifact_file_path={q}",
        f"{API}/model-versions/get-artifact?name=secm&version=1&path={q}",
        f"/model-versions/get-artifact?name=secm&version=1&path={q}",
    ]
    for path in paths:
        status, headers, payload = raw(target.url, "GET", path)
        assert status == 400, (path, status, payload)
        assert headers["content-type"] == "application/json"
        assert _error_code(payload) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("bad", [*TRAVERSALS, ".", "./", "a/..", "keep/"])
def test_ui_upload_refuses_escaping_paths(target: Target, http: httpx.Client, bad: str) -> None:
    """The web UI's upload route (``?run_uuid=&path=``, raw body) writes inside the run's artifacts or nowhere."""
    path = f"{AJAX}/upload-artifact?run_uuid={target.run_id}&path={quote(bad)}"
    status, _, payload = raw(target.url, "POST", path, b"pwned", JSON)
    assert status == 400, (bad, status, payload)
    assert _error_code(payload) == "INVALID_PARAMETER_VALUE"
    assert not [p for p in target.root.rglob("*") if p.is_file() and p.read_bytes() == b"pwned"]


def test_root_cannot_be_deleted_or_overwritten(target: Target, http: httpx.Client) -> None:
    for path in (f"{ART}/.", f"{ART}/./", f"{ART}/%2e", f"{ART}/a/..", f"{ART}//", f"{ART}/./."):
        for method in ("DELETE", "PUT"):
            status, _, payload = raw(target.url, method, path, b"x" if method == "PUT" else None)
            assert status in (400, 404, 405), (method, path, status, payload)
    status, _, _ = raw(target.url, "DELETE", ART)
    assert status == 405
    assert any(target.root.rglob("keep/MLmodel"))


def test_symlink_inside_root_is_not_followed_out(target: Target, http: httpx.Client) -> None:
    link = target.root / "link-out"
    link.symlink_to(target.canaries.folder, target_is_directory=True)
    try:
        assert http.get(f"{ART}/link-out/secret.txt").status_code == 400
        assert http.get(ART, params={"path": "link-out"}).status_code == 400
        assert http.put(f"{ART}/link-out/new.txt", content=b"x").status_code == 400
        assert http.delete(f"{ART}/link-out/secret.txt").status_code == 400
    finally:
        link.unlink()


# ------------------------------------------------------------------------------------ SSRF and sources
BAD_LOCATIONS = [
    "http://127.0.0.1:{port}/artifacts",
    "https://127.0.0.1:{port}/artifacts",
    "ftp://127.0.0.1:{port}/etc",
    "sftp://127.0.0.1:{port}/etc",
    "http://169.254.169.254/latest/meta-data/",
    "http:///?/../../etc/",
    "http:///#/../../etc/",
    "http:///;/../../etc/",
    "s3://bucket/../../etc",
    "s3://bucket/x?redirect=http://127.0.0.1",
    "/etc",
    "file:///",
    "file:///etc/passwd",
    "file://remote-host/share",
    "{outside}",
    "mlflow-artifacts:/../../etc",
    "/tmp/x\x00y",
]


def _location(template: str, target: Target) -> str:
    return template.format(port=target.listener.port, outside=target.canaries.folder)


@pytest.mark.parametrize("template", BAD_LOCATIONS)
def test_artifact_location_outside_the_policy_is_refused(target: Target, http: httpx.Client, template: str) -> None:
    location = _location(template, target)
    name = f"loc-{hashlib.md5(template.encode()).hexdigest()}"
    response = http.post(f"{API}/experiments/create", json={"name": name, "artifact_location": location})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    missing = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": name})
    assert missing.status_code == 404  # nothing half-created


def test_accepted_artifact_locations(target: Target, http: httpx.Client) -> None:
    for i, location in enumerate(
        ["s3://bucket/team/x", "gs://bucket/x", "mlflow-artifacts:/shared/x", str(target.root / "team")]
    ):
        response = http.post(f"{API}/experiments/create", json={"name": f"ok-{i}", "artifact_location": location})
        assert response.status_code == 200, response.text


BAD_SOURCES = [
    "http://127.0.0.1:{port}/model",
    "http://169.254.169.254/latest/meta-data/",
    "ftp://127.0.0.1:{port}/etc/passwd",
    "/etc",
    "file:///etc",
    "{outside}",
    "http:///?/../../etc/",
]


@pytest.mark.parametrize("template", BAD_SOURCES)
@pytest.mark.parametrize("prompt", [False, True])
def test_model_version_source_outside_the_policy_is_refused(
    target: Target, http: httpx.Client, template: str, prompt: bool
) -> None:
    source = _location(template, target)
    name = "secm-prompt" if prompt else "secm"
    http.post(f"{API}/registered-models/create", json={"name": name})
    tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}] if prompt else []
    response = http.post(f"{API}/model-versions/create", json={"name": name, "source": source, "tags": tags})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_prompt_placeholder_and_run_sources_are_accepted(target: Target, http: httpx.Client) -> None:
    http.post(f"{API}/registered-models/create", json={"name": "secp"})
    tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "Hi {{x}}"}]
    prompt = http.post(f"{API}/model-versions/create", json={"name": "secp", "source": "prompt-template", "tags": tags})
    assert prompt.status_code == 200, prompt.text
    # a prompt version has no files: its placeholder source is never opened as a path
    response = http.get(f"{API}/model-versions/get-artifact", params={"name": "secp", "version": "1", "path": "x"})
    assert response.status_code == 400
    http.post(f"{API}/registered-models/create", json={"name": "secm"})
    version = http.post(
        f"{API}/model-versions/create",
        json={"name": "secm", "source": f"runs:/{target.run_id}/keep", "run_id": target.run_id},
    )
    assert version.status_code == 200, version.text
    number = version.json()["model_version"]["version"]
    got = http.get("/model-versions/get-artifact", params={"name": "secm", "version": number, "path": "MLmodel"})
    assert got.status_code == 200 and got.content == b"flavors: {}\n"


def test_stored_http_location_is_never_fetched(target: Target, http: httpx.Client, tmp_path: Path) -> None:
    """A location that reached the database another way (an import) is still not opened by the server."""
    from mltrail.store.tracking.sql.store import SqlTrackingStore

    store = SqlTrackingStore(f"sqlite:///{target.root.parent / 'server.db'}", "mlflow-artifacts:/")
    experiment_id = store.create_experiment(
        "imported", artifact_location=f"http://127.0.0.1:{target.listener.port}/artifacts"
    )
    run_id = store.create_run(experiment_id, "u", 0, [], "imported").info.run_id
    for path in (f"{API}/artifacts/list", f"{API}/get-artifact"):
        response = http.get(path, params={"run_id": run_id, "path": "MLmodel"})
        assert response.status_code == 400, response.text
        assert "does not open 'http' locations" in response.json()["message"]


def test_allow_list_widens_the_policy(tmp_path: Path) -> None:
    shared = tmp_path / "nfs"
    shared.mkdir()
    policy = ArtifactUriPolicy.for_roots([str(tmp_path / "artifacts")], [str(shared), "https://artifacts.internal/ml"])
    policy.check(str(shared / "team"))
    policy.check(f"file://{shared}/team")
    policy.check("https://artifacts.internal/ml/run/1")
    for refused in ("https://artifacts.internal/mlx", "https://artifacts.internal/other", str(tmp_path / "nfs2")):
        with pytest.raises(Exception, match="--allowed-artifact-uri"):
            policy.check(refused)
    with live_server(tmp_path, allowed_artifact_uris=[str(shared)]) as url:
        ok = httpx.post(f"{url}{API}/experiments/create", json={"name": "nfs", "artifact_location": str(shared)})
        assert ok.status_code == 200, ok.text
        refused = httpx.post(f"{url}{API}/experiments/create", json={"name": "etc", "artifact_location": "/etc"})
        assert refused.status_code == 400


# ------------------------------------------------------------------------------------ CSRF and rebinding
def test_cross_origin_state_changes_are_refused(target: Target, http: httpx.Client) -> None:
    evil = {"Origin": "http://evil.example"}
    created = http.post(f"{API}/experiments/create", json={"name": "csrf"}, headers=evil)
    assert created.status_code == 403 and created.json()["error_code"] == "PERMISSION_DENIED"
    assert http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "csrf"}).status_code == 404
    plain = http.post(
        f"{API}/experiments/create", content=b'{"name": "csrf2"}', headers={**evil, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 403
    put = http.put(f"{ART}/csrf/file.txt", content=b"x", headers={**evil, "Content-Type": "text/plain"})
    assert put.status_code == 403 and not any(target.root.rglob("csrf"))
    relative = next(target.root.rglob("keep/MLmodel")).relative_to(target.root).as_posix()
    assert http.delete(f"{ART}/{relative}", headers=evil).status_code == 403
    assert http.request("DELETE", f"{ART}/{relative}", headers={"Origin": "null"}).status_code == 403
    assert http.post(f"{API}/runs/delete", json={"run_id": target.run_id}, headers=evil).status_code == 403
    # reads are not state changes; the same-origin UI and scripts without Origin go through
    assert http.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers=evil).status_code == 200
    same = {"Origin": target.url}
    assert http.post(f"{API}/experiments/create", json={"name": "same-origin"}, headers=same).status_code == 200
    assert http.post(f"{API}/experiments/create", json={"name": "no-origin"}).status_code == 200


def test_configured_cors_origin_may_change_state(tmp_path: Path) -> None:
    with live_server(tmp_path, cors_origins=["http://ui.example"]) as url, httpx.Client(base_url=url) as client:
        ok = client.post(f"{API}/experiments/create", json={"name": "x"}, headers={"Origin": "http://ui.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "http://ui.example"
        other = client.post(f"{API}/experiments/create", json={"name": "y"}, headers={"Origin": "http://other.example"})
        assert other.status_code == 403


def test_dns_rebinding_host_is_refused(target: Target, http: httpx.Client) -> None:
    for host in ("evil.example", "evil.example:5000", "127.0.0.1.evil.example"):
        response = http.post(f"{API}/experiments/create", json={"name": "rebind"}, headers={"Host": host})
        assert response.status_code == 403, host
    assert http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "rebind"}).status_code == 404
    # probes by address: /health holds no data and answers any Host; nothing else does
    assert http.get("/health", headers={"Host": "10.0.0.7:5000"}).status_code == 200
    assert http.get("/version", headers={"Host": "10.0.0.7:5000"}).status_code == 403


# --------------------------------------------------------------------------------- XSS through artifacts
@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("evil.html", "text/html"),
        ("evil.htm", "text/html"),
        ("evil.svg", "image/svg+xml"),
        ("evil.txt", "text/plain"),
        ("evil.json", "text/plain"),
        ("MLmodel", "text/plain"),
        ("evil.js", "text/plain"),
        ("evil", "application/octet-stream"),
        ("evil.xyz", "application/octet-stream"),
        ("plot.png", "image/png"),
    ],
)
def test_served_artifacts_cannot_run_script(target: Target, http: httpx.Client, name: str, content_type: str) -> None:
    payload = b"<html><script>alert(document.cookie)</script></html>"
    assert http.put(f"{ART}/xss/{name}", content=payload).status_code == 200
    for response in (
        http.get(f"{ART}/xss/{name}"),
        http.get(f"{API}/get-artifact", params={"run_id": target.run_id, "path": "keep/MLmodel"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in response.headers["content-security-policy"]
    got = http.get(f"{ART}/xss/{name}")
    assert got.headers["content-type"].split(";")[0] == content_type
    assert got.content == payload


def test_api_responses_are_nosniff_and_405_names_allowed_methods(http: httpx.Client) -> None:
    for response in (
        http.get(f"{API}/experiments/get", params={"experiment_id": "0"}),
        http.get(f"{API}/experiments/get", params={"experiment_id": "404404"}),
        http.get("/health"),
        http.get(f"{API}/no-such-route"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
    response = http.post(f"{API}/experiments/get", json={})
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert response.json()["error_code"] == "BAD_REQUEST"


# ------------------------------------------------------------------------------ oversize and malformed
def test_oversize_and_malformed_bodies_get_json_4xx(target: Target, http: httpx.Client) -> None:
    huge = b'{"name": "' + b"x" * (65 * 1024 * 1024) + b'"}'
    assert http.post(f"{API}/experiments/create", content=huge, headers=JSON).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(70):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    chunked = http.post(f"{API}/experiments/create", content=chunks(), headers=JSON)
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["error_code"] == "RESOURCE_EXHAUSTED"
    for body in (b"{", b"[1, 2]", b'"just a string"', b"\xff\xfe", b"{" * 1000 + b"}" * 1000):
        response = http.post(f"{API}/experiments/create", content=body, headers=JSON)
        assert response.status_code == 400, (body[:20], response.text)
        assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST")
    assert (
        http.post(
            f"{API}/experiments/create", json={"name": "no-type"}, headers={"Content-Type": "text/plain"}
        ).status_code
        == 400
    )


# --- the auth API and its checks (a server with --auth) ------------------------------------------------------------
_MALLORY = ("mallory", "mallory-passphrase-1")


@pytest.fixture(scope="module")
def auth_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, id of an experiment the admin owns) on a server where Mallory holds no permission anywhere."""
    root = tmp_path_factory.mktemp("security-auth")
    with auth_live_server(root, default_permission="NO_PERMISSIONS", login_max_failures=10_000) as url:
        httpx.post(
            f"{url}/api/2.0/mlflow/users/create", json={"username": _MALLORY[0], "password": _MALLORY[1]}, auth=ADMIN
        )
        exp = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "secret"}, auth=ADMIN).json()
        run = httpx.post(
            f"{url}/api/2.0/mlflow/runs/create", json={"experiment_id": exp["experiment_id"]}, auth=ADMIN
        ).json()["run"]["info"]
        folder = run["artifact_uri"][len("mlflow-artifacts:/") :].strip("/")
        assert httpx.put(
            f"{url}/api/2.0/mlflow-artifacts/artifacts/{folder}/k.txt", content=b"key", auth=ADMIN
        ).is_success
        yield url, exp["experiment_id"]


_HOSTILE_NAMES = ["", "a\x00b", "x" * 5000, "tab\tname", " padded ", 7, ["list"], {"o": 1}, None, True]


@pytest.mark.parametrize("name", _HOSTILE_NAMES, ids=range(len(_HOSTILE_NAMES)))
def test_hostile_usernames_get_400(auth_target: tuple[str, str], name: object) -> None:
    url, _ = auth_target
    response = httpx.post(
        f"{url}/api/2.0/mlflow/users/create", json={"username": name, "password": "pw-123456"}, auth=ADMIN
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        (
            "/api/2.0/mlflow/experiments/permissions/create",
            "POST",
            {"experiment_id": "0", "username": "mallory", "permission": "ALL"},
        ),
        (
            "/api/2.0/mlflow/experiments/permissions/create",
            "POST",
            {"experiment_id": "1 OR 1=1", "username": "mallory", "permission": "READ"},
        ),
        (
            "/api/2.0/mlflow/experiments/permissions/create",
            "POST",
            {"experiment_id": "99999999999999999999", "username": "mallory", "permission": "READ"},
        ),
        (
            "/api/2.0/mlflow/experiments/permissions/create",
            "POST",
            {"experiment_id": "0", "username": "a\x00", "permission": "READ"},
        ),
        (
            "/api/3.0/mlflow/users/permissions/grant",
            "POST",
            {"username": "mallory", "resource_type": "../../etc", "resource_id": "0", "permission": "READ"},
        ),
        ("/api/2.0/mlflow/users/update-admin", "PATCH", {"username": "mallory", "is_admin": "maybe"}),
        ("/api/2.0/mltrail/tokens/revoke", "POST", {"id": 2**63}),
        ("/api/2.0/mltrail/tokens/revoke", "POST", {"id": "1; DROP TABLE auth_users"}),
        ("/api/2.0/mltrail/tokens/create", "POST", {"name": "n", "expires_in_days": 10**12}),
        ("/api/2.0/mltrail/audit/search?max_results=100000", "GET", None),
        ("/api/2.0/mltrail/audit/search?page_token=%00%ff", "GET", None),
        (
            "/api/2.0/mltrail/permissions/set",
            "POST",
            {
                "resource_type": "experiment",
                "resource_id": "0",
                "permission": "READ",
                "username": "mallory",
                "group": "g",
            },
        ),
    ],
)
def test_hostile_auth_api_input_gets_4xx(auth_target: tuple[str, str], path: str, method: str, body: object) -> None:
    url, _ = auth_target
    response = httpx.request(method, url + path, json=body, auth=ADMIN)
    assert 400 <= response.status_code < 500, (path, body, response.text)
    assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


def test_artifact_paths_cannot_walk_into_an_experiment_without_permission(auth_target: tuple[str, str]) -> None:
    url, exp = auth_target
    with httpx.Client(base_url=url, auth=_MALLORY, timeout=30) as mallory:
        mine = mallory.post("/api/2.0/mlflow/experiments/create", json={"name": "mallorys"}).json()["experiment_id"]
        folder = f"/api/2.0/mlflow-artifacts/artifacts/{mine}"
        for path in (
            f"{folder}/../{exp}",
            f"{folder}/%2e%2e/{exp}",
            f"{folder}/..%2f{exp}",
            f"/api/2.0/mlflow-artifacts/artifacts//{exp}",
            f"/api/2.0/mlflow-artifacts/artifacts/./{exp}",
            f"/api/2.0/mlflow-artifacts/artifacts/{exp}",
            f"/api/2.0/mlflow-artifacts/artifacts?path={exp}",
            f"/api/2.0/mlflow-artifacts/artifacts?path={mine}/../{exp}",
        ):
            listing = mallory.get(path)
            assert listing.status_code in (400, 403, 404), (path, listing.status_code, listing.text)
            assert b"k.txt" not in listing.content
        assert mallory.get(f"/api/2.0/mlflow/experiments/get?experiment_id={exp}").status_code == 403
        assert mallory.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp]}).json() == {}
        refused = mallory.post(f"/api/2.0/mlflow-artifacts/mpu/create/{exp}", json={"path": "evil.bin", "num_parts": 1})
        assert refused.status_code == 403


def test_model_sources_cannot_reach_into_an_experiment_without_permission(tmp_path: Path) -> None:
    with auth_live_server(tmp_path, default_permission="NO_PERMISSIONS") as url:
        httpx.post(
            f"{url}/api/2.0/mlflow/users/create", json={"username": _MALLORY[0], "password": _MALLORY[1]}, auth=ADMIN
        )
        secret = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "s"}, auth=ADMIN).json()
        root = tmp_path / "artifacts"
        with httpx.Client(base_url=url, auth=_MALLORY, timeout=30) as mallory:
            mine = mallory.post("/api/2.0/mlflow/experiments/create", json={"name": "m"}).json()["experiment_id"]
            assert mallory.post("/api/2.0/mlflow/registered-models/create", json={"name": "grab"}).status_code == 200
            for source in (
                f"mlflow-artifacts:/{secret['experiment_id']}/run/artifacts/model",
                str(root / secret["experiment_id"] / "run"),
                f"file://{root / secret['experiment_id']}",
                f"{root / mine}/../{secret['experiment_id']}",
                str(root),
            ):
                refused = mallory.post("/api/2.0/mlflow/model-versions/create", json={"name": "grab", "source": source})
                assert refused.status_code in (400, 403), (source, refused.text)
            run = mallory.post("/api/2.0/mlflow/runs/create", json={"experiment_id": mine}).json()["run"]["info"]
            for source in (f"runs:/{run['run_id']}/model", f"mlflow-artifacts:/{mine}/{run['run_id']}/artifacts/m"):
                allowed = mallory.post(
                    "/api/2.0/mlflow/model-versions/create",
                    json={"name": "grab", "source": source, "run_id": run["run_id"]},
                )
                assert allowed.status_code == 200, allowed.text


def test_object_store_model_sources_must_be_their_runs(tmp_path: Path) -> None:
    with auth_live_server(tmp_path, default_permission="READ") as url:
        httpx.post(
            f"{url}/api/2.0/mlflow/users/create", json={"username": _MALLORY[0], "password": _MALLORY[1]}, auth=ADMIN
        )
        with httpx.Client(base_url=url, auth=_MALLORY, timeout=30) as mallory:
            mine = mallory.post("/api/2.0/mlflow/experiments/create", json={"name": "m"}).json()["experiment_id"]
            run = mallory.post("/api/2.0/mlflow/runs/create", json={"experiment_id": mine}).json()["run"]["info"]
            assert mallory.post("/api/2.0/mlflow/registered-models/create", json={"name": "s3grab"}).status_code == 200
            create = "/api/2.0/mlflow/model-versions/create"
            for body in (
                {"name": "s3grab", "source": "s3://other-team/secrets/model"},
                {"name": "s3grab", "source": "s3://other-team/secrets/model", "run_id": run["run_id"]},
                {"name": "s3grab", "source": f"{run['artifact_uri']}/../../other/model", "run_id": run["run_id"]},
            ):
                refused = mallory.post(create, json=body)
                assert refused.status_code in (400, 403), (body, refused.text)
            mine_source = {"name": "s3grab", "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}
            assert mallory.post(create, json=mine_source).status_code == 200
            assert mallory.post(create, json={"name": "s3grab", "source": "models:/s3grab/1"}).status_code == 200


def test_ui_upload_needs_edit_on_the_runs_experiment(auth_target: tuple[str, str]) -> None:
    """``upload-artifact`` checks EDIT on the experiment of the run it writes to (``run_uuid``, never ``run_id``)."""
    url, _ = auth_target
    upload = f"{url}{AJAX}/upload-artifact"
    created = httpx.post(f"{url}{API}/experiments/create", json={"name": "upload-secret"}, auth=ADMIN).json()
    exp = created["experiment_id"]  # an experiment of its own: the module's keeps its one run
    theirs = httpx.post(f"{url}{API}/runs/create", json={"experiment_id": exp}, auth=ADMIN).json()["run"]["info"]
    target = {"run_uuid": theirs["run_id"], "path": "k.txt"}
    assert httpx.post(upload, params=target, content=b"key", auth=ADMIN, headers=JSON).status_code == 200
    with httpx.Client(base_url=url, auth=_MALLORY, timeout=30) as mallory:
        mine = mallory.post(f"{API}/experiments/create", json={"name": "mallory-uploads"}).json()["experiment_id"]
        run = mallory.post(f"{API}/runs/create", json={"experiment_id": mine}).json()["run"]["info"]["run_id"]

        def attempt(**params: str) -> httpx.Response:
            return mallory.post(upload, params=params, content=b"pwned", headers=JSON)

        assert attempt(run_uuid=run, path="ok.txt").status_code == 200
        assert attempt(run_uuid=theirs["run_id"], path="k.txt").status_code == 403
        assert attempt(run_uuid=theirs["run_id"], run_id=run, path="k.txt").status_code == 403
        assert attempt(run_uuid="0123456789abcdef0123456789abcdef", path="x.txt").status_code == 404
        for bad in ("../k.txt", f"../../../{exp}/{theirs['run_id']}/artifacts/k.txt", "%2e%2e/k.txt", "/k.txt"):
            refused = attempt(run_uuid=run, path=bad)
            assert refused.status_code == 400, (bad, refused.text)
    assert httpx.post(upload, params=target, content=b"pwned", headers=JSON).status_code == 401
    kept = httpx.get(f"{url}/get-artifact", params=target, auth=ADMIN)
    assert kept.content == b"key"


# --- POST /graphql: MLflow's query-size limits, batches, and the REST routes' permissions ---------------------------
def _graphql(url: str, body: object, auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/graphql", json=body, auth=auth, timeout=30)


def _nested(levels: int) -> str:
    """An introspection query ``levels`` selections deep."""
    return "{ __schema { types { fields { type " + "{ ofType " * (levels - 5) + "{ name }" + " }" * (levels - 1)


def _aliases(count: int, field: str = "__typename", prefix: str = "a") -> str:
    return " ".join(f"{prefix}{i}: {field}" for i in range(count))


def test_graphql_refuses_deep_wide_and_aliased_queries(target: Target, http: httpx.Client) -> None:
    def errors(query: str, variables: dict[str, object] | None = None) -> list[str]:
        answer = _graphql(target.url, {"query": query, "variables": variables})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] is None
        return answer.json()["errors"]

    assert _graphql(target.url, {"query": _nested(10)}).json()["errors"] is None
    assert errors(_nested(11)) == ["Query exceeds maximum depth of 10"]
    assert errors("{" * 5000 + "}" * 5000)  # far too deep for the parser: refused, never a 500
    assert errors("{ a: __typename " + "x: __typename " * 30_000 + "}")  # past the token limit: not even parsed
    run_info = "query Q($id: String) { mlflowGetRun(input: {runId: $id}) { run { info { " + _aliases(11, "runId")
    refused = errors(run_info + " } } } }", {"id": target.run_id})
    assert refused[0].startswith("GraphQL queries should have at most 10 aliases")
    fragments = "query { ...A ...B } fragment A on Query { " + _aliases(5) + " } fragment B on Query { "
    split = fragments + _aliases(5, prefix="b") + " }"  # ten aliases over two fragments: counted together
    assert _graphql(target.url, {"query": split}).json()["errors"] is None
    assert errors(fragments + _aliases(6, prefix="b") + " }")
    cycle = (
        "query { ...A } fragment A on Query { __schema { types { ...B } } } fragment B on __Type { fields { ...A } }"
    )
    assert errors(cycle)  # a fragment cycle is refused, and the limits' scan ends
    doubling = " ".join(
        f"fragment F{i} on __Schema {{ types {{ name }} x{i}: types {{ name }} ...F{i + 1} }}" for i in range(12)
    )
    assert _graphql(target.url, {"query": "query { __schema { ...F0 } } " + doubling}).status_code == 200
    wide = '{ mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ' + " ".join(["name"] * 1000) + " } } }"
    assert errors(wide) == ["Query exceeds maximum total selections of 1000"]


def test_graphql_batches_are_bounded(target: Target, http: httpx.Client) -> None:
    one = {"query": '{ mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } }'}
    answers = _graphql(target.url, [one] * 10)
    assert answers.status_code == 200 and [a["errors"] for a in answers.json()] == [None] * 10
    over = _graphql(target.url, [one] * 11)
    assert over.status_code == 400 and over.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at most 10 operations" in over.json()["message"]
    four = {"query": "{ " + _aliases(4) + " }"}
    shared = _graphql(target.url, [four, four, four])  # 12 root fields in all: no more work than one query may do
    assert shared.status_code == 400 and "root fields" in shared.json()["message"]
    assert _graphql(target.url, []).status_code == 400
    assert _graphql(target.url, [1, 2]).status_code == 400
    assert _graphql(target.url, [[one]]).status_code == 400


_GRAPHQL_READS = {
    "mlflowGetRun": "query Q($run: String) { mlflowGetRun(input: {runId: $run}) { run { info { runId } } } }",
    "mlflowGetExperiment": (
        "query Q($exp: String) { mlflowGetExperiment(input: {experimentId: $exp}) { experiment { name } } }"
    ),
    "mlflowListArtifacts": "query Q($run: String) { mlflowListArtifacts(input: {runId: $run}) { files { path } } }",
    "mlflowGetMetricHistoryBulkInterval": (
        'query Q($run: String) { mlflowGetMetricHistoryBulkInterval(input: {runIds: [$run], metricKey: "m"}) '
        "{ metrics { key } } }"
    ),
}
_GRAPHQL_SEARCHES = (
    "mutation Q($exp: String) { mlflowSearchRuns(input: {experimentIds: [$exp]}) { runs { info { runId } } } }",
    'query Q($exp: String) { mlflowSearchRuns(input: {experimentIds: [$exp, "0"]}) { runs { info { runId } } } }',
    "mutation Q($exp: String) { mlflowSearchDatasets(input: {experimentIds: [$exp]}) { datasetSummaries { name } } }",
)


def test_graphql_applies_the_rest_permissions(auth_target: tuple[str, str]) -> None:
    url, exp = auth_target
    (run,) = httpx.post(f"{url}{API}/runs/search", json={"experiment_ids": [exp]}, auth=ADMIN).json()["runs"]
    variables = {"run": run["info"]["run_id"], "exp": exp}
    anonymous = _graphql(url, {"query": _GRAPHQL_READS["mlflowGetRun"], "variables": variables})
    assert anonymous.status_code == 401 and anonymous.json()["error_code"] == "UNAUTHENTICATED"
    for name, query in _GRAPHQL_READS.items():
        body = {"query": query, "variables": variables}
        admin = _graphql(url, body, auth=ADMIN).json()
        assert admin["errors"] is None and admin["data"][name] is not None, (name, admin)
        mallory = _graphql(url, body, auth=_MALLORY).json()
        assert mallory["data"] == {name: None}, (name, mallory)
        assert mallory["errors"][0].startswith("Permission denied"), (name, mallory)
    for query in _GRAPHQL_SEARCHES:
        answer = _graphql(url, {"query": query, "variables": variables}, auth=_MALLORY).json()
        (result,) = answer["data"].values()
        assert variables["run"] not in str(answer) and result is not None and not any(result.values()), answer
    seen = _graphql(url, {"query": _GRAPHQL_SEARCHES[0], "variables": variables}, auth=ADMIN).json()
    assert variables["run"] in str(seen)
    batch = [{"query": q, "variables": variables} for q in _GRAPHQL_READS.values()]
    assert all(a["errors"] for a in _graphql(url, batch, auth=_MALLORY).json())  # no way around it by batching
