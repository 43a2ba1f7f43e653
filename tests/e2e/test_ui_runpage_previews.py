"""The run page in Chromium: the markdown description (rendered safely, edited), logged models with their MLmodel,
and artifact previews for YAML, Parquet and MLmodel files."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import SCREENSHOTS, _call

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")


def _check_mlmodel(view: Any) -> None:
    expect(view.locator(".flavor[data-flavor='python_function']")).to_contain_text("mltrail.sklearn")
    expect(view.locator(".flavor[data-flavor='sklearn']")).to_contain_text("1.5.2")
    inputs = view.locator("table.sig-inputs tbody tr")
    expect(inputs).to_have_count(2)
    expect(inputs.nth(0)).to_have_text(re.compile(r"sepal_length\s*double\s*required"))
    expect(inputs.nth(1)).to_have_text(re.compile(r"site\s*string\s*optional"))
    expect(view.locator("table.sig-outputs")).to_contain_text("Tensor(float32, [-1, 3])")
    expect(view.locator("table.sig-params")).to_contain_text("temperature")
    expect(view.locator("table.sig-params")).to_contain_text("default: 0.7")


def test_description_markdown_is_rendered_safely_and_editable(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    solo = data["nested"]["solo"]
    page.goto(f"{base}/#/runs/{solo['id']}")
    md = page.locator(".description .markdown")
    expect(md.locator("h1")).to_have_text("Nested sweep")
    expect(md.locator("strong")).to_have_text("early stopping")
    link = md.get_by_role("link", name="the docs")
    expect(link).to_have_attribute("href", "https://example.org/docs")
    expect(link).to_have_attribute("rel", re.compile("noopener"))
    expect(md.locator("table td").first).to_have_text("0")
    # raw HTML is shown as text, never run
    expect(md).to_contain_text("<script>window.__pwned = 1</script>")
    expect(md.locator("script, img")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None
    _shot(page, "runpage-description")

    page.locator(".description").get_by_role("button", name="Edit").click()
    page.get_by_label("Description").fill("## Updated\n\n- first\n- second\n\n`code`")
    page.get_by_role("tab", name="Preview").click()
    expect(page.locator(".md-preview h2")).to_have_text("Updated")
    page.get_by_role("button", name="Save").click()
    expect(md.locator("h2")).to_have_text("Updated")
    expect(md.locator("li")).to_have_count(2)
    run = _call(base, f"runs/get?run_id={solo['id']}")["run"]
    note = next(t["value"] for t in run["data"]["tags"] if t["key"] == "mlflow.note.content")
    assert note.startswith("## Updated")


def test_logged_models_of_the_run(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    nested = data["nested"]
    page.goto(f"{base}/#/runs/{nested['solo']['id']}")
    page.locator("table.kv").get_by_role("button", name="solo-model").click()
    assert "tab=models" in page.url and nested["model_id"] in page.url
    table = page.locator("table.logged-models")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("classifier")
    expect(table).to_contain_text("READY")
    expect(table).to_contain_text(nested["model_id"])
    view = page.get_by_test_id("mlmodel")
    _check_mlmodel(view)
    expect(page.get_by_role("tab", name=re.compile("Logged models"))).to_have_count(0)  # tabs are buttons
    expect(page.get_by_role("button", name="Logged models (1)")).to_be_visible()
    _shot(page, "runpage-logged-model")
    # a run without models says so
    page.goto(f"{base}/#/runs/{nested['parent']['id']}?tab=models")
    expect(page.get_by_text("This run logged no models.")).to_be_visible()


def test_yaml_parquet_and_mlmodel_previews(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    solo = data["nested"]["solo"]
    page.goto(f"{base}/#/runs/{solo['id']}?tab=artifacts")
    page.get_by_role("button", name="config.yaml").click()
    text = page.get_by_test_id("artifact-text")
    expect(text).to_contain_text("depth: 4")
    expect(text.locator(".y-key")).to_have_text(["model", "depth", "name", "lr"])
    expect(text.locator(".y-comment")).to_have_text("# training config")

    page.get_by_role("button", name="▸ data/").click()
    page.get_by_role("button", name="sample.parquet").click()
    parquet = page.get_by_test_id("parquet")
    expect(parquet.get_by_test_id("table-summary")).to_contain_text(
        re.compile(r"1,200 rows . 3 columns \(showing the first 500\)")
    )
    expect(parquet.locator("thead th")).to_contain_text(["#", "id", "label", "score"])
    expect(parquet.locator("tbody tr")).to_have_count(500)
    expect(parquet.locator("tbody tr").nth(3)).to_have_text(re.compile(r"3\s*3\s*item-3\s*0\.3"))
    _shot(page, "runpage-parquet")

    page.get_by_role("button", name="▸ model/").click()
    page.get_by_role("button", name="MLmodel").click()
    _check_mlmodel(page.get_by_test_id("mlmodel"))
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download").click()
    assert dl.value.suggested_filename == "MLmodel"
