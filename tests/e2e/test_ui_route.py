"""The UI route without a browser: the not-built message, SPA fallback, and API paths left to the API."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from mltrail.server.routes import ui


def _client(static: Path) -> TestClient:
    async def api(request):  # a POST-only API endpoint, like MLflow's
        return JSONResponse({})

    routes = [Route("/api/2.0/mlflow/runs/search", api, methods=["POST"]), *ui.routes(static)]
    return TestClient(Starlette(routes=routes))


def test_not_built_says_how_to_build(tmp_path: Path) -> None:
    res = _client(tmp_path / "missing").get("/")
    assert res.status_code == 503
    assert ui.BUILD_COMMAND in res.text


def test_serves_assets_and_falls_back_to_index(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    client = _client(tmp_path)
    assert client.get("/").text == "<div id=root></div>"
    assert client.get("/experiments/1").text == "<div id=root></div>"
    js = client.get("/assets/app.js")
    assert js.text == "console.log(1)" and "immutable" in js.headers["cache-control"]
    assert client.get("/assets/missing.js").status_code == 404
    assert client.get("/../../etc/passwd").status_code in (200, 404)  # never a file outside static
    assert "root" not in client.get("/api/2.0/mlflow/nope").text
    assert client.get("/api/2.0/mlflow/runs/search").status_code == 405


def test_text_assets_are_gzipped_for_clients_that_accept_it(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    script = "const rows = [];\n" + "rows.push({name: 'run', value: 1});\n" * 500
    (tmp_path / "assets" / "app.js").write_text(script)
    (tmp_path / "assets" / "logo.png").write_bytes(b"\x89PNG" + bytes(4096))
    client = _client(tmp_path)

    zipped = client.get("/assets/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(script) / 10
    assert zipped.text == script  # httpx decodes it: the content is intact
    assert zipped.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "immutable" in zipped.headers["cache-control"] and zipped.headers["vary"] == "Accept-Encoding"

    plain = client.get("/assets/app.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == script
    image = client.get("/assets/logo.png", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in image.headers and image.content.startswith(b"\x89PNG")
    tiny = client.get("/", headers={"Accept-Encoding": "gzip"})  # under 1 KB: not worth compressing
    assert "content-encoding" not in tiny.headers and tiny.text == "<div id=root></div>"

    (tmp_path / "assets" / "app.js").write_text(script + "// changed\n")  # a rebuilt file is recompressed
    assert client.get("/assets/app.js", headers={"Accept-Encoding": "gzip"}).text.endswith("// changed\n")
