"""Compare page in Chromium: parallel coordinates and the scatter over the seeded hyper-parameter sweep."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest

from tests.e2e.conftest import SCREENSHOTS, SWEEP_ARCHS

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` Python package is not installed (pip install playwright)"
).expect

# Finds a point on one run's line where that line (its hit path) is the topmost element, and returns it in page
# coordinates, so the mouse really hovers that run.
_POINT_ON_LINE = """(id) => {
  const hit = document.querySelector(`path.pc-hit[data-run="${id}"]`);
  const svg = hit.ownerSVGElement, ctm = svg.getScreenCTM(), len = hit.getTotalLength();
  for (let i = 1; i < 200; i++) {
    const p = hit.getPointAtLength((len * ((i * 37) % 200)) / 200);
    const x = ctm.a * p.x + ctm.e, y = ctm.d * p.y + ctm.f;
    const el = document.elementFromPoint(x, y);
    if (el && el.dataset && el.dataset.run === id) return [x, y];
  }
  return null;
}"""


def _compare_url(base: str, runs: list[dict[str, Any]], extra: str = "") -> str:
    return f"{base}/#/compare?runs={','.join(r['id'] for r in runs)}{extra}"


def _hover_line(page: Any, run_id: str) -> None:
    page.get_by_test_id("parallel-coordinates").scroll_into_view_if_needed()
    point = page.evaluate(_POINT_ON_LINE, run_id)
    assert point is not None, f"no visible point on the line of {run_id}"
    page.mouse.move(point[0], point[1])


def test_parallel_coordinates(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    runs = data["sweep"]["runs"]
    page.goto(_compare_url(base, runs))
    pc = page.get_by_test_id("parallel-coordinates")
    expect(pc.locator("path.pc-line")).to_have_count(len(runs))
    # default axes: the params that differ, then the metrics
    axes = pc.locator(".pc-axis")
    expect(axes).to_have_count(5)
    assert [axes.nth(i).get_attribute("data-axis") for i in range(5)] == [
        "params.arch",
        "params.dropout",
        "params.lr",
        "metrics.val_acc",
        "metrics.val_loss",
    ]
    # a categorical axis lists its categories; a numeric one has number ticks
    arch_ticks = pc.locator(".pc-axis[data-axis='params.arch'] g text").all_text_contents()
    assert arch_ticks == list(SWEEP_ARCHS)
    lr_ticks = pc.locator(".pc-axis[data-axis='params.lr'] g text").all_text_contents()
    assert all(re.fullmatch(r"[-0-9.e]+", t) for t in lr_ticks) and len(lr_ticks) >= 2

    # hover highlights one run and names it
    target = runs[5]
    _hover_line(page, target["id"])
    expect(pc.locator(f"path.pc-line.hovered[data-run='{target['id']}']")).to_have_count(1)
    tip = page.get_by_role("tooltip")
    expect(tip).to_contain_text(target["name"])
    expect(tip).to_contain_text(target["arch"])

    # colour by a metric: the best run takes the top of the ramp, and a legend shows the range
    page.get_by_label("Parallel coordinates color by").select_option("metrics.val_acc")
    expect(page.get_by_test_id("color-legend").first).to_be_visible()
    assert "color=metrics.val_acc" in unquote(page.url)
    best = max(runs, key=lambda r: r["val_acc"])
    expect(pc.locator(f"path.pc-line[data-run='{best['id']}']")).to_have_attribute("stroke", "#d7191c")

    # choose the axes: remove one, add it back at the end (the order is in the shareable URL)
    page.get_by_label("Remove axis dropout").click()
    expect(axes).to_have_count(4)
    page.get_by_label("Add axis").select_option("params.dropout")
    expect(axes).to_have_count(5)
    expect(axes.last).to_have_attribute("data-axis", "params.dropout")
    assert "pc=params.arch,params.lr,metrics.val_acc,metrics.val_loss,params.dropout" in unquote(page.url)

    # click a numeric axis' title for a log scale: decade ticks, and the setting is in the URL
    pc.locator(".pc-axis[data-axis='params.lr'] .axis-title").click()
    expect(pc.locator(".pc-axis[data-axis='params.lr'] .axis-title")).to_contain_text("(log)")
    expect(pc.locator(".pc-axis[data-axis='params.lr'] g text")).to_have_text(["0.001", "0.01", "0.1"])
    assert "pclog=params.lr" in unquote(page.url)

    # drag along the val_acc axis (top third): only the runs with the highest val_acc stay in range
    box = pc.locator(".pc-axis[data-axis='metrics.val_acc'] rect.pc-brush-area").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 1)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.2, steps=4)
    page.mouse.move(x, box["y"] + box["height"] * 0.35, steps=4)
    page.mouse.up()
    expect(page.get_by_test_id("pc-count")).to_have_text(re.compile(r"^\d+ of 12 runs in range$"))
    kept = {
        pc.locator("path.pc-line:not(.inactive)").nth(i).get_attribute("data-run")
        for i in range(pc.locator("path.pc-line:not(.inactive)").count())
    }
    assert 0 < len(kept) < len(runs)
    assert min(r["val_acc"] for r in runs if r["id"] in kept) > max(r["val_acc"] for r in runs if r["id"] not in kept)
    page.get_by_role("button", name="Clear ranges").click()
    expect(page.get_by_test_id("pc-count")).to_have_text("12 runs")

    # click a line: the run opens
    page.mouse.move(5, 5)
    _hover_line(page, target["id"])
    page.mouse.down()
    page.mouse.up()
    expect(page.locator("h1")).to_contain_text(target["name"])


def test_scatter(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    base, data = ui_server
    runs = data["sweep"]["runs"]
    page.goto(_compare_url(base, runs))
    scatter = page.get_by_test_id("scatter")
    page.get_by_label("Scatter X").select_option("params.lr")
    page.get_by_label("Scatter Y").select_option("metrics.val_acc")
    dots = scatter.locator("circle.dot")
    expect(dots).to_have_count(len(runs))
    expect(scatter.locator("svg")).to_have_attribute("aria-label", "val_acc against lr")

    def cx(run: dict[str, Any]) -> float:
        return float(scatter.locator(f"circle.dot[data-run='{run['id']}']").get_attribute("cx"))

    def cy(run: dict[str, Any]) -> float:
        return float(scatter.locator(f"circle.dot[data-run='{run['id']}']").get_attribute("cy"))

    # numeric axes: a larger lr is further right, a larger val_acc higher up (smaller y)
    by_lr = sorted(runs, key=lambda r: float(r["lr"]))
    assert cx(by_lr[0]) < cx(by_lr[-1])
    by_acc = sorted(runs, key=lambda r: r["val_acc"])
    assert cy(by_acc[0]) > cy(by_acc[-1])
    linear_mid = cx(next(r for r in runs if r["lr"] == "0.03"))
    page.get_by_text("log X").click()
    expect(scatter.locator(".axis-title").first).to_contain_text("(log)")
    assert cx(next(r for r in runs if r["lr"] == "0.03")) > linear_mid  # log spreads the small values out

    # hover names the run; click opens it
    target = runs[4]
    scatter.locator(f"circle.dot[data-run='{target['id']}']").hover()
    tip = page.get_by_role("tooltip")
    expect(tip).to_contain_text(target["name"])
    expect(tip).to_contain_text(str(target["val_acc"]))
    assert "sx=params.lr" in unquote(page.url) and "sy=metrics.val_acc" in unquote(page.url)
    # the same run lights up in the parallel coordinates and the summary table
    expect(page.locator(f"path.pc-line.hovered[data-run='{target['id']}']")).to_have_count(1)
    expect(page.locator("table.summary tr.highlighted")).to_contain_text(target["name"])

    # a categorical x: one column per architecture
    page.get_by_label("Scatter X").select_option("params.arch")
    expect(scatter.locator(".ticks text", has_text="resnet")).to_have_count(1)
    xs = {round(cx(r)) for r in runs}
    assert len(xs) == len(SWEEP_ARCHS)

    scatter.locator(f"circle.dot[data-run='{target['id']}']").click()
    expect(page.locator("h1")).to_contain_text(target["name"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_compare_state_is_shareable(browser: Any, ui_server: tuple[str, dict[str, Any]], scheme: str) -> None:
    """The charts' settings live in the URL; the charts' text contrasts with the page in light and dark mode."""
    base, data = ui_server
    runs = data["sweep"]["runs"]
    url = _compare_url(
        base,
        runs,
        "&metric=val_loss&pc=params.lr,params.arch,metrics.val_acc&color=metrics.val_acc&sx=params.dropout&sy=metrics.val_loss",
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url)
        pc = page.get_by_test_id("parallel-coordinates")
        expect(pc.locator(".pc-axis")).to_have_count(3)
        expect(pc.locator(".pc-axis").first).to_have_attribute("data-axis", "params.lr")
        expect(page.get_by_label("Parallel coordinates color by")).to_have_value("metrics.val_acc")
        expect(page.get_by_label("Scatter X")).to_have_value("params.dropout")
        expect(page.get_by_label("Scatter Y")).to_have_value("metrics.val_loss")
        expect(page.get_by_test_id("scatter").locator("circle.dot")).to_have_count(len(runs))
        expect(page.locator(".chart canvas")).to_have_count(1)
        fill = page.evaluate("() => getComputedStyle(document.querySelector('.pc .axis-title')).fill")
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        if scheme == "dark":
            assert _brightness(fill) > 150 > _brightness(background), (fill, background)
        else:
            assert _brightness(fill) < 100 < _brightness(background), (fill, background)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"compare_charts_{scheme}.png"), full_page=True)
    finally:
        context.close()
    assert not errors, errors


def _brightness(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (r * 299 + g * 587 + b * 114) / 1000
