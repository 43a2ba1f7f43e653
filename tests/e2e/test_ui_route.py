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
