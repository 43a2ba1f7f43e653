"""The runs table in Chromium: runs of several experiments, child runs under parents, filter completion, bulk
move and live updates of running rows, against a live server with seeded data."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import N_RUNS, SCREENSHOTS, _call

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect


def _rows(page: Any) -> Any:
    return page.locator(".vt [role=row]:not(.vt-header)")


def _names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator(".vt [role=row]:not(.vt-header) .tree-cell a").all_inner_texts()]


def _screenshots(page: Any, name: str) -> None:
    """Light and dark screenshots of the current view (kept with the CI run)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-dark.png"))
    page.emulate_media(color_scheme="light")


def test_runs_of_several_experiments_from_the_experiments_page(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    base, data = ui_server
    page.goto(base + "/")
    expect(page.get_by_role("button", name="Show runs")).to_be_disabled()
    page.get_by_label("Select experiment vision-baseline").check()
    page.get_by_label("Select experiment nested-runs").check()
    expect(page.get_by_test_id("picked-count")).to_have_text("2 selected")
    _screenshots(page, "experiments-picked")
    page.get_by_role("button", name="Show runs of 2 experiments").click()
    ids = sorted([data["experiment_id"], data["nested"]["experiment_id"]])
    assert re.search(r"#/experiments/(\d+),(\d+)", page.url)
    assert sorted(re.search(r"#/experiments/([\d,]+)", page.url).group(1).split(",")) == ids
    expect(page.locator("h1")).to_contain_text("vision-baseline")
    expect(page.locator("h1")).to_contain_text("nested-runs")
    expect(page.get_by_test_id("run-count")).to_have_text(f"{N_RUNS + 7} runs")
    expect(page.locator(".vt-th[data-col='special.experiment']")).to_be_visible()
    # newest first: the nested experiment's runs (2024) come before the vision runs (2023)
    expect(_rows(page).first).to_contain_text("live-run")
    expect(_rows(page).first).to_contain_text("nested-runs")


def test_child_runs_grouped_under_parents(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    nested = data["nested"]
    page.goto(f"{base}/#/experiments/{nested['experiment_id']}")
    expect(page.get_by_test_id("run-count")).to_have_text("7 runs")
    expect(_rows(page)).to_have_count(3)
    assert _names(page) == ["live-run", "solo", "sweep-parent"]
    parent_row = _rows(page).filter(has_text="sweep-parent")
    expect(parent_row.locator(".kids")).to_have_text("3")

    page.get_by_role("button", name="Expand sweep-parent").click()
    expect(_rows(page)).to_have_count(6)
    assert _names(page) == ["live-run", "solo", "sweep-parent", "trial-2", "trial-1", "trial-0"]
    page.get_by_role("button", name="Expand trial-1").click()
    expect(_rows(page)).to_have_count(7)
    assert _names(page)[5] == "trial-1-fold-0"
    pad = page.locator(".tree-cell", has_text="trial-1-fold-0").evaluate("e => parseInt(e.style.paddingLeft)")
    assert pad == 36  # two levels deep
    _screenshots(page, "runs-nested")

    page.get_by_role("button", name="Collapse sweep-parent").click()
    expect(_rows(page)).to_have_count(3)

    page.get_by_label("Group child runs").uncheck()
    expect(_rows(page)).to_have_count(7)
    assert "group=0" in page.url
    expect(_rows(page).filter(has_text="trial-1-fold-0")).to_contain_text("↳")

    # a child whose parent is filtered out stays visible at the top level
    page.get_by_label("Group child runs").check()
    page.get_by_label("Filter runs").fill("metrics.score > 0.15")
    page.get_by_label("Filter runs").press("Escape")
    page.get_by_label("Filter runs").press("Enter")
    expect(page.get_by_test_id("run-count")).to_have_text("3 runs")
    assert _names(page) == ["live-run", "solo", "trial-1-fold-0"]


def test_filter_key_completion_with_the_keyboard(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    page.goto(f"{base}/#/experiments/{data['nested']['experiment_id']}")
    expect(page.get_by_test_id("run-count")).to_have_text("7 runs")
    box = page.get_by_label("Filter runs")
    box.click()
    box.press_sequentially("me")
    popup = page.get_by_test_id("completions")
    expect(popup.get_by_role("option")).to_have_count(1)
    expect(popup.get_by_role("option").first).to_contain_text("metrics.")
    box.press("Enter")  # accepts the prefix and offers the metric keys
    expect(box).to_have_value("metrics.")
    expect(popup.get_by_role("option", name=re.compile("score"))).to_be_visible()
    _screenshots(page, "runs-completion")
    box.press("Tab")
    expect(box).to_have_value("metrics.score")
    expect(popup).to_have_count(0)
    box.press_sequentially(" >= 0.2 and ta")
    expect(popup.get_by_role("option").first).to_contain_text("tags.")
    box.press("Enter")
    box.press_sequentially("parent")
    expect(popup.get_by_role("option", name=re.compile("mlflow.parentRunId"))).to_have_attribute(
        "aria-selected", "true"
    )
    box.press("Enter")
    expect(box).to_have_value("metrics.score >= 0.2 and tags.mlflow.parentRunId")
    box.press_sequentially(f" = '{data['nested']['children'][1]['id']}'")
    box.press("Escape")
    box.press("Enter")  # popup closed: Enter submits
    expect(page.get_by_test_id("run-count")).to_have_text("1 run")
    assert _names(page) == ["trial-1-fold-0"]
    assert "filter=" in page.url

    # arrows move through attribute keys; Escape closes without changing the text
    box.fill("")
    box.press_sequentially("attributes.")
    first = popup.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(popup.get_by_role("option").nth(1)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    box.press("ArrowUp")  # wraps to the last
    expect(popup.get_by_role("option").last).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(popup).to_have_count(0)
    expect(box).to_have_value("attributes.")


def test_bulk_move_runs_to_another_experiment(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, _ = ui_server
    src = _call(base, "experiments/create", {"name": "move-source"})["experiment_id"]
    dst = _call(base, "experiments/create", {"name": "move-target"})["experiment_id"]
    for name in ("mover-a", "mover-b", "stayer"):
        _call(base, "runs/create", {"experiment_id": src, "run_name": name})
    page.goto(f"{base}/#/experiments/{src}")
    expect(page.get_by_test_id("run-count")).to_have_text("3 runs")
    page.get_by_label("Select mover-a").check()
    page.get_by_label("Select mover-b").check()
    page.get_by_role("button", name="Move…").click()
    page.get_by_label("Target experiment").select_option(label=f"move-target ({dst})")
    page.get_by_role("button", name="Move runs").click()
    expect(page.get_by_role("status")).to_contain_text('Moved 2 runs (with their child runs) to "move-target"')
    expect(page.get_by_test_id("run-count")).to_have_text("1 run")
    expect(_rows(page).first).to_contain_text("stayer")
    page.get_by_label("Select stayer").check()
    page.get_by_role("button", name="Move…").click()
    page.get_by_label("Target experiment").select_option(label=f"move-target ({dst})")
    page.get_by_role("button", name="Move runs").click()
    expect(page.get_by_test_id("no-runs")).to_have_text("No runs in this view yet.")
    moved = _call(base, "runs/search", {"experiment_ids": [dst]})["runs"]
    assert sorted(r["info"]["run_name"] for r in moved) == ["mover-a", "mover-b", "stayer"]


def test_live_updates_keep_scroll_and_selection(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, _ = ui_server
    exp = _call(base, "experiments/create", {"name": "live-updates"})["experiment_id"]
    running = _call(base, "runs/create", {"experiment_id": exp, "run_name": "still-training", "start_time": 1000})
    running_id = running["run"]["info"]["run_id"]
    for i in range(60):
        rid = _call(base, "runs/create", {"experiment_id": exp, "run_name": f"done-{i:02d}", "start_time": 2000 + i})
        _call(base, "runs/update", {"run_id": rid["run"]["info"]["run_id"], "status": "FINISHED", "end_time": 9000})
    page.goto(f"{base}/#/experiments/{exp}?cols=attributes.run_name,attributes.status,metrics.progress")
    expect(page.get_by_test_id("run-count")).to_have_text("61 runs")
    page.locator(".vt").evaluate("e => { e.scrollTop = e.scrollHeight; e.dispatchEvent(new Event('scroll')); }")
    row = _rows(page).filter(has_text="still-training")
    expect(row).to_contain_text("RUNNING")
    page.get_by_label("Select still-training").check()
    page.get_by_label("Select done-00").check()
    expect(page.locator(".live")).to_be_visible()
    scroll_before = page.locator(".vt").evaluate("e => e.scrollTop")
    assert scroll_before > 0

    _call(
        base,
        "runs/log-batch",
        {"run_id": running_id, "metrics": [{"key": "progress", "value": 0.75, "timestamp": 5000, "step": 3}]},
    )
    _call(base, "runs/update", {"run_id": running_id, "status": "FINISHED", "end_time": 6000})
    expect(row).to_contain_text("FINISHED", timeout=20_000)  # the poll runs every 5 s
    expect(row).to_contain_text("0.75")
    assert page.locator(".vt").evaluate("e => e.scrollTop") == scroll_before
    expect(page.get_by_label("Select still-training")).to_be_checked()
    expect(page.get_by_test_id("selected-count")).to_have_text("2 selected")
