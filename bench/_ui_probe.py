"""Piece of bench/ui_first_rows.py: measure, inside Chromium, when the runs table first shows a data row.

The probe is the same JavaScript for both UIs, installed before any page script runs (Playwright's init
script). It watches DOM mutations and, at most once per animation frame, looks for an element whose own text is
exactly the newest run's name; the first time such an element has a non-empty box inside the viewport and is not
``visibility: hidden``, it records ``performance.now()``: milliseconds since the navigation started (the
document's time origin). That is "first data row visible", defined identically for mltrail and MLflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROBE_JS = """
(() => {
  const target = %s;
  const xpath = `//*[text()[normalize-space(.) = '${target}']]`;
  window.__firstRowMs = null;
  let scheduled = false;
  let observer = null;
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || r.bottom <= 0 || r.right <= 0) return false;
    if (r.top >= innerHeight || r.left >= innerWidth) return false;
    return getComputedStyle(el).visibility !== 'hidden';
  };
  const check = () => {
    scheduled = false;
    if (window.__firstRowMs !== null || !document.body) return;
    const found = document.evaluate(xpath, document.body, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    for (let i = 0; i < found.snapshotLength; i++) {
      if (visible(found.snapshotItem(i))) {
        window.__firstRowMs = performance.now();
        if (observer) observer.disconnect();
        return;
      }
    }
  };
  const schedule = () => { if (!scheduled) { scheduled = true; requestAnimationFrame(check); } };
  observer = new MutationObserver(schedule);
  observer.observe(document, { childList: true, subtree: true, characterData: true });
})();
"""

STATS_JS = """
() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const resources = performance.getEntriesByType('resource');
  const nav = performance.getEntriesByType('navigation')[0];
  const bytes = resources.reduce((s, r) => s + (r.transferSize || 0), nav ? nav.transferSize || 0 : 0);
  const decoded = resources.reduce((s, r) => s + (r.decodedBodySize || 0), nav ? nav.decodedBodySize || 0 : 0);
  const api = resources.filter((r) => r.name.includes('-api/')).length;
  return { fcp: paint ? paint.startTime : null, bytes, decoded, requests: resources.length + 1, api };
}
"""


@dataclass
class Visit:
    """One page load: when the first data row showed (ms since navigation start) and what was transferred."""

    first_row_ms: float
    fcp_ms: float | None
    transferred_bytes: int
    decoded_bytes: int
    requests: int
    api_requests: int


def visit(context: Any, url: str, target: str, timeout_ms: float) -> Visit:
    """Open ``url`` in a new page of ``context`` and wait until the row naming ``target`` is visible."""
    page = context.new_page()
    try:
        page.add_init_script(PROBE_JS % json.dumps(target))
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        page.wait_for_function("() => window.__firstRowMs !== null", timeout=timeout_ms, polling=50)
        first = float(page.evaluate("() => window.__firstRowMs"))
        stats = page.evaluate(STATS_JS)
        return Visit(
            first_row_ms=first,
            fcp_ms=stats["fcp"],
            transferred_bytes=int(stats["bytes"]),
            decoded_bytes=int(stats["decoded"]),
            requests=int(stats["requests"]),
            api_requests=int(stats["api"]),
        )
    finally:
        page.close()


def screenshot(context: Any, url: str, target: str, path: str, timeout_ms: float) -> None:
    """A screenshot of ``url`` once the first row is visible (to check by eye what was measured)."""
    page = context.new_page()
    try:
        page.add_init_script(PROBE_JS % json.dumps(target))
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        page.wait_for_function("() => window.__firstRowMs !== null", timeout=timeout_ms, polling=50)
        page.screenshot(path=path)
    finally:
        page.close()


FRAMES_JS = """
async () => {
  const el = document.querySelector('.vt');
  const times = [];
  let last = performance.now();
  for (let i = 0; i < 240; i++) {
    el.scrollTop = (i * 7919) % Math.max(1, el.scrollHeight - el.clientHeight);
    el.scrollLeft = (i * 211) % Math.max(1, el.scrollWidth - el.clientWidth);
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    times.push(now - last);
    last = now;
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { p50: at(0.5), p95: at(0.95), max: times[times.length - 1],
           rows_in_dom: document.querySelectorAll('.vt [role=row]').length };
}
"""


def mltrail_scroll(context: Any, url: str, total: int, timeout_ms: float) -> dict[str, Any]:
    """mltrail only: scroll the runs table until all ``total`` runs are loaded (pages of 200), then jump to
    240 scattered positions, one per animation frame, and report the frame times (ms)."""
    import time

    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(".vt [role=row]:not(.vt-header)", timeout=timeout_ms)
        start = time.perf_counter()
        deadline = start + timeout_ms / 1000
        while page.get_by_test_id("run-count").inner_text() != f"{total} runs":
            if time.perf_counter() > deadline:
                raise TimeoutError(f"not all {total} runs loaded: {page.get_by_test_id('run-count').inner_text()}")
            page.locator(".vt").evaluate("e => { e.scrollTop = e.scrollHeight; }")
            page.wait_for_timeout(50)
        loaded = time.perf_counter() - start
        frames = page.evaluate(FRAMES_JS)
        return {"load_all_seconds": loaded, **frames}
    finally:
        page.close()
