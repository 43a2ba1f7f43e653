"""Model registry in Chromium: the models list pages and sorts, the model and version pages show and change real data.

Every change made in the UI is checked through the REST API afterwards.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.e2e.conftest import SCREENSHOTS, _call

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect


def _get(base: str, path: str, **params: str) -> dict[str, Any]:
    return _call(base, f"{path}?{urllib.parse.urlencode(params)}", method="GET")


def _model_with_versions(base: str, data: dict[str, Any], name: str, n: int) -> None:
    """A registered model with `n` versions, each from a sweep run."""
    _call(base, "registered-models/create", {"name": name})
    for run in data["sweep"]["runs"][:n]:
        _call(base, "model-versions/create", {"name": name, "source": run["artifact_uri"], "run_id": run["id"]})


def _alias_version(base: str, name: str, alias: str) -> str | None:
    """The version an alias names, as the registry reports it (None when the model has no such alias)."""
    aliases = _get(base, "registered-models/get", name=name)["registered_model"].get("aliases", [])
    return next((a["version"] for a in aliases if a["alias"] == alias), None)


def test_models_list_search_sort_and_pages(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, _ = ui_server
    names = [
        f"zz-paging-{i:02d}" for i in range(30)
    ]  # "zz" sorts after every other model: other pages stay as they are
    for name in names:
        _call(base, "registered-models/create", {"name": name})
    page.goto(f"{base}/#/models")
    page.get_by_label("Search models").fill("zz-paging")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.models tbody tr")
    expect(rows).to_have_count(25)
    expect(rows.first).to_have_attribute("data-model", names[0])
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_attribute("data-model", names[25])
    expect(page.get_by_test_id("models-page")).to_have_text("Page 2")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(25)
    expect(rows.first).to_have_attribute("data-model", names[0])

    page.get_by_role("button", name="Name ▲").click()  # name descending
    expect(rows.first).to_have_attribute("data-model", names[-1])
    assert "order=name%3Adesc" in page.url or "order=name:desc" in page.url
    page.get_by_label("Models per page").select_option("50")
    expect(rows).to_have_count(30)
    # the newest change first: touch one model and it leads the list sorted by last modified
    _call(base, "registered-models/set-tag", {"name": names[7], "key": "touched", "value": "1"})
    _call(base, "registered-models/update", {"name": names[7], "description": "touched"}, method="PATCH")
    page.get_by_role("button", name="Last modified").click()
    expect(rows.first).to_have_attribute("data-model", names[7])
    expect(rows.first).to_contain_text("touched=1")

    # shareable: the same URL in a fresh page shows the same list
    url = page.url
    page.goto(f"{base}/#/")
    page.goto(url)
    expect(rows.first).to_have_attribute("data-model", names[7])
    expect(page.get_by_label("Search models")).to_have_value("zz-paging")


def test_model_page_shows_versions_with_stages_and_aliases(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    reg = data["registry"]
    page.goto(f"{base}/#/models")
    page.get_by_role("link", name=reg["name"], exact=True).click()
    expect(page.locator("h1")).to_have_text(reg["name"])
    expect(page.get_by_text("Predicts prices from tabular features.")).to_be_visible()
    expect(page.locator("table.tags")).to_contain_text("tabular")
    aliases = page.get_by_test_id("aliases")
    expect(aliases.locator("[data-alias='champion']")).to_contain_text("v2")
    expect(aliases.locator("[data-alias='challenger']")).to_contain_text("v3")
    rows = page.locator("table.versions tbody tr")
    expect(rows).to_have_count(len(reg["versions"]))
    for v in reg["versions"]:
        row = page.locator(f"table.versions tr[data-version='{v['version']}']")
        expect(row.locator(".stage")).to_have_text(v["stage"])
        expect(row.get_by_role("link", name=v["run"]["name"])).to_have_attribute("href", f"#/runs/{v['run']['id']}")
    expect(page.locator("table.versions tr[data-version='2']")).to_contain_text("@champion")
    page.get_by_role("link", name="Version 2").click()
    expect(page.locator("h1")).to_contain_text("v2")
    assert page.url.endswith(f"#/models/{reg['name']}/versions/2")

    # pick versions to compare the runs that made them
    page.go_back()
    page.get_by_label("Select version 2").check()
    page.get_by_label("Select version 3").check()
    page.get_by_role("button", name="Compare source runs (2)").click()
    expect(page.locator("h1")).to_have_text("Compare runs")
    expect(page.locator("table.summary tbody tr")).to_have_count(2)
    expect(page.locator("table.summary")).to_contain_text(reg["versions"][1]["run"]["name"])
    expect(page.locator("table.summary")).to_contain_text(reg["versions"][2]["run"]["name"])


def test_model_version_page_signature_and_lineage(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    reg = data["registry"]
    v2 = reg["versions"][1]
    page.goto(f"{base}/#/models/{reg['name']}/versions/2")
    expect(page.locator("h1 .stage")).to_have_text("Production")
    expect(page.get_by_test_id("aliases").locator("[data-alias='champion']")).to_be_visible()
    expect(page.get_by_test_id("aliases").locator("[data-alias='challenger']")).to_have_count(0)  # that one is v3's
    expect(page.get_by_text("Trained by sweep-01.")).to_be_visible()
    expect(page.locator("table.tags")).to_contain_text("validated")
    sig = page.get_by_test_id("signature")
    expect(sig.locator("table.sig-inputs tbody tr")).to_have_count(3)
    expect(sig.locator("table.sig-inputs")).to_contain_text("sepal_length")
    expect(sig.locator("table.sig-inputs tr", has_text="site")).to_contain_text("optional")
    expect(sig.locator("table.sig-outputs")).to_contain_text("price")
    expect(sig.locator("table.sig-params")).to_contain_text("threshold")
    expect(sig.locator("table.sig-params")).to_contain_text("0.5")
    expect(page.get_by_text("python_function", exact=True)).to_be_visible()
    lineage = page.get_by_test_id("lineage")
    expect(lineage.get_by_role("link", name="hparam-sweep")).to_have_attribute(
        "href", f"#/experiments/{data['sweep']['experiment_id']}"
    )
    lineage.get_by_role("link", name=v2["run"]["name"]).click()
    expect(page.locator("h1")).to_contain_text(v2["run"]["name"])


def test_model_version_from_a_logged_model(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    """A version registered from a logged model (MLflow 3): its signature comes from the logged model's artifacts."""
    base, data = ui_server
    reg = data["registry"]
    v4 = reg["versions"][3]
    page.goto(f"{base}/#/models/{reg['name']}/versions/{v4['version']}")
    expect(page.locator("h1 .stage")).to_have_text("None")
    expect(page.get_by_test_id("signature").locator("table.sig-inputs")).to_contain_text("petal_width")
    lineage = page.get_by_test_id("lineage")
    expect(lineage.locator("[data-kind='Logged model']")).to_contain_text(v4["model_id"])
    lineage.locator("[data-kind='Logged model'] a").click()
    expect(page.locator("h1")).to_contain_text(v4["run"]["name"])
    assert "tab=models" in page.url and v4["model_id"] in page.url
    expect(page.locator("table.logged-models")).to_contain_text(v4["model_id"])


def test_model_page_actions(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    name = "ui-actions-model"
    _model_with_versions(base, data, name, 2)
    page.goto(f"{base}/#/models/{name}")
    expect(page.locator("table.versions tbody tr")).to_have_count(2)

    # description (markdown), saved on the server
    page.get_by_role("button", name="Edit", exact=True).click()
    page.get_by_label("Model description").fill("A **regressor** for the UI test.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".markdown strong")).to_have_text("regressor")
    assert _get(base, "registered-models/get", name=name)["registered_model"]["description"] == (
        "A **regressor** for the UI test."
    )

    # tags: add, edit, delete
    page.get_by_label("New tag key").fill("owner")
    page.get_by_label("New tag value").fill("carol")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("table.tags tr[data-tag='owner']")).to_contain_text("carol")
    page.get_by_role("button", name="Edit tag owner").click()
    page.get_by_label("Value of owner").fill("dave")
    page.locator("table.tags tr[data-tag='owner']").get_by_role("button", name="Save").click()
    expect(page.locator("table.tags tr[data-tag='owner']")).to_contain_text("dave")
    tags = _get(base, "registered-models/get", name=name)["registered_model"].get("tags", [])
    assert {"key": "owner", "value": "dave"} in tags
    page.get_by_role("button", name="Delete tag owner").click()
    expect(page.locator("table.tags tr[data-tag='owner']")).to_have_count(0)
    assert not _get(base, "registered-models/get", name=name)["registered_model"].get("tags")

    # aliases: set on version 1, move to version 2, delete
    page.get_by_label("Alias", exact=True).fill("blue")
    page.get_by_label("Alias version").select_option("1")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='blue']")).to_contain_text("v1")
    assert _alias_version(base, name, "blue") == "1"
    page.get_by_label("Alias", exact=True).fill("blue")
    page.get_by_label("Alias version").select_option("2")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='blue']")).to_contain_text("v2")
    expect(page.locator("table.versions tr[data-version='2']")).to_contain_text("@blue")
    assert _alias_version(base, name, "blue") == "2"
    page.get_by_role("button", name="Delete alias blue").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='blue']")).to_have_count(0)
    assert _alias_version(base, name, "blue") is None

    # a reserved alias name: the server's message, shown in the page
    page.get_by_label("Alias", exact=True).fill("latest")
    page.get_by_role("button", name="Set alias").click()
    expect(page.locator(".alias-editor [role=alert]")).to_contain_text("reserved")
    assert _alias_version(base, name, "latest") is None


def test_model_version_actions(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    name = "ui-stage-model"
    _model_with_versions(base, data, name, 2)

    def stage(version: str) -> str:
        return _get(base, "model-versions/get", name=name, version=version)["model_version"]["current_stage"]

    page.goto(f"{base}/#/models/{name}/versions/1")
    page.get_by_label("Stage", exact=True).select_option("Production")
    page.get_by_role("button", name="Change stage").click()
    expect(page.locator("h1 .stage")).to_have_text("Production")
    assert stage("1") == "Production"

    # version 2 to Production, archiving the version already there
    page.goto(f"{base}/#/models/{name}/versions/2")
    page.get_by_label("Stage", exact=True).select_option("Production")
    page.get_by_label("archive existing Production versions").check()
    page.get_by_role("button", name="Change stage").click()
    expect(page.locator("h1 .stage")).to_have_text("Production")
    assert (stage("1"), stage("2")) == ("Archived", "Production")

    # an alias set from the version page names this version
    page.get_by_label("Alias", exact=True).fill("prod")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='prod']")).to_be_visible()
    assert _alias_version(base, name, "prod") == "2"
    page.get_by_role("button", name="Delete alias prod").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='prod']")).to_have_count(0)
    assert _alias_version(base, name, "prod") is None

    # description and tags of the version
    page.get_by_role("button", name="Edit", exact=True).click()
    page.get_by_label("Version description").fill("Promoted after the offline eval.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Version description")).to_have_count(0)  # the editor closes once the server saved it
    expect(page.locator(".md-view .markdown")).to_have_text("Promoted after the offline eval.")
    mv = _get(base, "model-versions/get", name=name, version="2")["model_version"]
    assert mv["description"] == "Promoted after the offline eval."
    page.get_by_label("New tag key").fill("eval")
    page.get_by_label("New tag value").fill("passed")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("table.tags tr[data-tag='eval']")).to_contain_text("passed")
    mv = _get(base, "model-versions/get", name=name, version="2")["model_version"]
    assert {"key": "eval", "value": "passed"} in mv["tags"]
    page.get_by_role("button", name="Delete tag eval").click()
    expect(page.locator("table.tags tr[data-tag='eval']")).to_have_count(0)
    assert not _get(base, "model-versions/get", name=name, version="2")["model_version"].get("tags")

    # the model page lists both with their new stages
    page.locator(".crumbs").get_by_role("link", name=name).click()
    expect(page.locator("table.versions tr[data-version='1'] .stage")).to_have_text("Archived")
    expect(page.locator("table.versions tr[data-version='2'] .stage")).to_have_text("Production")

    # a version or a model that does not exist: the server's error, not a blank page
    page.goto(f"{base}/#/models/{name}/versions/99")
    expect(page.get_by_role("alert")).to_contain_text("not found")
    page.goto(f"{base}/#/models/no-such-model")
    expect(page.get_by_role("alert")).to_contain_text("no-such-model")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_registry_screenshots(browser: Any, ui_server: tuple[str, dict[str, Any]], scheme: str) -> None:
    """The model and version pages in light and dark mode (kept as screenshots; text stays readable)."""
    base, data = ui_server
    reg = data["registry"]
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.goto(f"{base}/#/models")
        expect(page.locator("table.models")).to_contain_text(reg["name"])
        page.screenshot(path=str(SCREENSHOTS / f"registry_models_{scheme}.png"), full_page=True)
        page.goto(f"{base}/#/models/{reg['name']}")
        expect(page.locator("table.versions tbody tr")).to_have_count(len(reg["versions"]))
        page.screenshot(path=str(SCREENSHOTS / f"registry_model_{scheme}.png"), full_page=True)
        page.goto(f"{base}/#/models/{reg['name']}/versions/2")
        expect(page.get_by_test_id("signature")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"registry_version_{scheme}.png"), full_page=True)
        dark_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(21, 24, 28)"
        assert dark_bg == (scheme == "dark")
    finally:
        context.close()
    assert not errors, errors
