"""Rendering for the command line: aligned tables for people, JSON for scripts.

Tables truncate long cells with an ellipsis and right-align numeric columns; times are shown as local ISO
8601. JSON is printed exactly as the entities' ``to_dict()`` wire forms, so scripts see MLflow's shapes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import click

#: Longest cell a table prints before cutting it with an ellipsis.
MAX_CELL_WIDTH = 48
ELLIPSIS = "…"


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as local ISO 8601 with seconds and offset (``""`` for None)."""
    if ms is None:
        return ""
    local = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone()
    return local.isoformat(timespec="seconds")


def format_duration(start_ms: int | None, end_ms: int | None) -> str:
    """A short human duration such as ``1h02m``, ``3m05s`` or ``4.2s`` (``""`` when unknown)."""
    if start_ms is None or end_ms is None or end_ms < start_ms:
        return ""
    seconds = (end_ms - start_ms) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def format_cell(value: Any) -> str:
    """One value as table text: floats compact (``.6g``), None empty, newlines flattened."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return format(value, ".6g")
    return str(value).replace("\r\n", " ").replace("\n", " ").replace("\t", " ")


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, ending in an ellipsis when cut."""
    if width <= 0 or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int | None = MAX_CELL_WIDTH) -> str:
    """An aligned plain-text table: header, a rule, then one line per row.

    Args:
        headers: column titles.
        rows: one sequence of values per row, as many as there are headers.
        max_width: longest cell before truncation; None for no limit.

    Returns:
        The table as one string without a trailing newline.
    """
    limit = max_width or 0
    cells = [[truncate(format_cell(v), limit) for v in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
        for i in range(len(headers))
    ]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def render_fields(pairs: Sequence[tuple[str, Any]], max_width: int | None = None) -> str:
    """``label  value`` lines with the labels aligned (for describing one object)."""
    width = max((len(label) for label, _ in pairs), default=0)
    limit = max_width or 0
    lines = (f"{label.ljust(width)}  {truncate(format_cell(v), limit)}".rstrip() for label, v in pairs)
    return "\n".join(lines)


def to_json(payload: Any) -> str:
    """Stable JSON: two-space indent, keys in the entities' order, non-finite floats as strings."""
    return json.dumps(_finite(payload), indent=2, ensure_ascii=False, default=str)


def echo_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout."""
    click.echo(to_json(payload))


def echo_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str, max_width: int | None = MAX_CELL_WIDTH
) -> None:
    """Print a table, or the ``empty`` message when there are no rows."""
    click.echo(render_table(headers, rows, max_width) if rows else empty)


def _finite(value: Any) -> Any:
    """Replace NaN/Infinity floats (invalid JSON) by MLflow's string spellings, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return format_cell(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
