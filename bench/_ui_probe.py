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
