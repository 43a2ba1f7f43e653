"""The web UI in Chromium against a live server: every page shows the seeded data; sort, filter and compare work."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import N_RUNS

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect


def _rows(page: Any) -> Any:
    return page.locator(".vt [role=row]:not(.vt-header)")


def _first_run_name(page: Any) -> str:
    return _rows(page).first.locator("[role=cell] a").first.inner_text().strip()


def test_index_and_spa_fallback(ui_server: tuple[str, dict[str, Any]]) -> None:
    base, _ = ui_server
    with urllib.request.urlopen(base + "/") as res:
        assert b'<div id="root">' in res.read()
    with urllib.request.urlopen(base + "/some/client/route") as res:
        assert b'<div id="root">' in res.read()


def test_experiments_list_create_rename_delete_restore(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, _ = ui_server
    page.goto(base + "/")
    expect(page.locator("table.experiments")).to_contain_text("vision-baseline")
    expect(page.locator("table.experiments")).to_contain_text("nlp-sweep")

    page.get_by_label("New experiment name").fill("made-in-the-ui")
    page.get_by_role("button", name="Create").click()
    row = page.locator("tr[data-experiment='made-in-the-ui']")
    expect(row).to_be_visible()

    row.get_by_role("button", name="Rename").click()
    page.get_by_label("Rename").fill("renamed-in-the-ui")
    page.get_by_role("button", name="Save").click()
    row = page.locator("tr[data-experiment='renamed-in-the-ui']")
    expect(row).to_be_visible()

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("tr[data-experiment='renamed-in-the-ui']")).to_have_count(0)
    page.get_by_label("Lifecycle").select_option("DELETED_ONLY")
    row = page.locator("tr[data-experiment='renamed-in-the-ui']")
    row.get_by_role("button", name="Restore").click()
    expect(row).to_have_count(0)
    page.get_by_label("Lifecycle").select_option("ACTIVE_ONLY")
    expect(page.locator("tr[data-experiment='renamed-in-the-ui']")).to_be_visible()

    page.get_by_label("Search experiments").fill("vision")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.experiments tbody tr")).to_have_count(1)
    assert "q=vision" in page.url  # shareable


def test_runs_table_sort_and_filter(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    page.goto(f"{base}/#/experiments/{data['experiment_id']}")
    expect(page.get_by_test_id("run-count")).to_have_text(f"{N_RUNS} runs")
    expect(page.locator(".vt-th[data-col='metrics.acc']")).to_be_visible()
    expect(page.locator(".vt-th[data-col='params.lr']")).to_be_visible()
    assert _rows(page).count() > 5

    page.locator(".vt-th[data-col='metrics.acc']").click()  # descending first
    expect(page.locator(".vt-th[data-col='metrics.acc']")).to_contain_text("▼")
    expect(_rows(page).first).to_contain_text("run-29")
    page.locator(".vt-th[data-col='metrics.acc']").click()
    expect(_rows(page).first).to_contain_text("run-00")
    assert "order=metrics.acc%3Aasc" in page.url or "order=metrics.acc:asc" in page.url

    page.get_by_label("Filter runs").fill("metrics.acc >= 0.9 and params.lr = '0.01'")
    page.get_by_label("Filter runs").press("Enter")
    expected = [r for i, r in enumerate(data["runs"]) if r["acc"] >= 0.9 and i % 2]
    expect(page.get_by_test_id("run-count")).to_have_text(f"{len(expected)} runs")
    assert _first_run_name(page) == min(r["name"] for r in expected)

    # a bad filter shows the server's message
    page.get_by_label("Filter runs").fill("metrics.acc >>> 1")
    page.get_by_label("Filter runs").press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()


def test_runs_table_column_chooser(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    page.goto(f"{base}/#/experiments/{data['experiment_id']}?cols=attributes.run_name,tags.team")
    expect(page.locator(".vt-th[data-col='tags.team']")).to_be_visible()
    expect(page.locator(".vt-th[data-col='metrics.acc']")).to_have_count(0)
    expect(_rows(page).first).to_contain_text("vision")
    page.get_by_role("button", name=re.compile("Columns")).click()
    page.get_by_label("Find a column").fill("batch")
    page.locator(".chooser-list label", has_text="params.batch_size").locator("input").check()
    expect(page.locator(".vt-th[data-col='params.batch_size']")).to_be_visible()
    assert "params.batch_size" in page.url


def test_run_page_params_metrics_artifacts(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    run = data["runs"][0]
    page.goto(f"{base}/#/experiments/{data['experiment_id']}?order=attributes.run_name:asc")
    page.get_by_role("link", name="run-00").click()
    expect(page.locator("h1")).to_contain_text("run-00")
    expect(page.locator("table.kv")).to_contain_text(run["id"])
    expect(page.locator("table.kv")).to_contain_text("alice")
    expect(page.locator("table.params").first).to_contain_text("optimizer")
    expect(page.locator("table.params").first).to_contain_text("adam")
    expect(page.locator("table.metrics").first).to_contain_text("acc")

    page.get_by_role("button", name="Metrics").click()
    page.get_by_role("link", name="loss").click()
    expect(page.locator(".chart canvas")).to_have_count(1)
    expect(page.locator(".chart .u-title")).to_have_text("loss")

    page.get_by_role("button", name="Artifacts").click()
    page.get_by_role("button", name="notes.txt").click()
    expect(page.get_by_test_id("artifact-text")).to_contain_text("hello from the e2e seed")
    page.get_by_role("button", name="▸ config/").click()
    page.get_by_role("button", name="params.json").click()
    expect(page.get_by_test_id("artifact-text")).to_contain_text('"layers": [')
    page.get_by_role("button", name="▸ plots/").click()
    page.get_by_role("button", name="dot.png").click()
    img = page.locator("img.artifact-image")
    expect(img).to_be_visible()
    assert page.evaluate("() => document.querySelector('img.artifact-image').naturalWidth") == 1
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download").click()
    assert dl.value.suggested_filename == "dot.png"


def test_compare(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    page.goto(f"{base}/#/experiments/{data['experiment_id']}?order=attributes.run_name:asc")
    page.get_by_label("Select run-00").check()
    page.get_by_label("Select run-01").check()
    page.get_by_label("Select run-02").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("h1")).to_have_text("Compare runs")
    expect(page.locator("table.summary tbody tr")).to_have_count(3)
    diff = page.locator("table.param-diff")
    expect(diff.locator("tr.differs", has_text="lr")).to_have_count(1)
    expect(diff.locator("tr:not(.differs)", has_text="optimizer")).to_have_count(1)
    page.get_by_label("Metric").select_option("loss")
    expect(page.locator(".chart canvas")).to_have_count(1)
    expect(page.locator(".chart .u-legend .u-series")).to_have_count(4)  # x + 3 runs
    page.get_by_text("only differences").click()
    expect(diff.locator("tr", has_text="optimizer")).to_have_count(0)


def test_registry_pages(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, _data = ui_server
    page.goto(f"{base}/#/models")
    expect(page.locator("table.models")).to_contain_text("vision-classifier")
    expect(page.locator("table.models")).to_contain_text("@champion")
    page.get_by_role("link", name="vision-classifier").click()
    expect(page.locator("h1")).to_have_text("vision-classifier")
    expect(page.get_by_text("Best vision model")).to_be_visible()
    expect(page.locator("table.versions tbody tr")).to_have_count(1)
    page.locator("table.versions a", has_text="run-00").click()  # the source run (the version links to its page)
    expect(page.locator("h1")).to_contain_text("run-00")
