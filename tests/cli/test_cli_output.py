"""Table and JSON rendering of the CLI."""

from __future__ import annotations

import json
from datetime import datetime

from mltrail.cli.output import (
    format_cell,
    format_duration,
    format_time,
    render_fields,
    render_table,
    to_json,
    truncate,
)


def test_table_aligns_and_right_aligns_numbers():
    table = render_table(["NAME", "VALUE"], [["a", 1.5], ["longer-name", 10]])
    lines = table.splitlines()
    assert lines[0] == "NAME         VALUE"
    assert lines[1] == "-----------  -----"
    assert lines[2] == "a              1.5"
    assert lines[3] == "longer-name     10"


def test_table_truncates_long_cells_with_ellipsis():
    table = render_table(["X"], [["y" * 100]], max_width=10)
    assert table.splitlines()[2] == "y" * 9 + "…"
    assert render_table(["X"], [["y" * 100]], max_width=None).splitlines()[2] == "y" * 100


def test_cells():
    assert format_cell(None) == ""
    assert format_cell(float("nan")) == "NaN"
    assert format_cell(float("-inf")) == "-Infinity"
    assert format_cell(0.1234567891) == "0.123457"
    assert format_cell("a\nb") == "a b"
    assert format_cell(True) == "true"
    assert truncate("abc", 3) == "abc"


def test_time_is_local_iso():
    text = format_time(1_700_000_000_000)
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None
    assert parsed.timestamp() == 1_700_000_000
    assert format_time(None) == ""


def test_durations():
    assert format_duration(0, 4_200) == "4.2s"
    assert format_duration(0, 185_000) == "3m05s"
    assert format_duration(0, 3_720_000) == "1h02m"
    assert format_duration(0, 3 * 86_400_000) == "3d00h"
    assert format_duration(None, 5) == ""


def test_fields_align_labels():
    assert render_fields([("a", 1), ("long", "x")]).splitlines() == ["a     1", "long  x"]


def test_json_is_valid_even_with_non_finite_floats():
    payload = json.loads(to_json({"v": float("inf"), "l": [float("nan"), 1.0]}))
    assert payload == {"v": "Infinity", "l": ["NaN", 1.0]}
