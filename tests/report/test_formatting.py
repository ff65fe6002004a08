"""How the report writes numbers, shapes and tables (``lipbench.report.formatting``):
units on times, an ``x`` on ratios, an empty cell for a missing value (never
``nan``), shapes sorted by entry count, text left-aligned and numbers right."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lipbench.report.formatting import (
    STALE,
    fmt_code,
    fmt_err,
    fmt_int,
    fmt_ratio,
    fmt_time,
    fmt_time_iqr,
    fmt_tol,
    is_text_column,
    md_table,
    shape_key,
    slug,
)


@pytest.mark.parametrize("t,text", [(2.98, "2.98 s"), (0.0823, "82.3 ms"), (828e-6, "828 µs"), (5e-9, "5 ns"),
                                    (120.0, "120 s")])
def test_times_carry_their_unit(t, text):
    assert fmt_time(t) == text


@pytest.mark.parametrize("fmt", [fmt_time, fmt_err, fmt_ratio, fmt_int])
@pytest.mark.parametrize("missing", [None, math.nan])
def test_a_missing_value_is_an_empty_cell(fmt, missing):
    assert fmt(missing) == ""


def test_errors_ratios_counts_and_tolerances():
    assert fmt_err(9e-12) == "9.0e-12" and fmt_ratio(36.2) == "36.2x" and fmt_int(7.0) == "7"
    assert fmt_ratio(math.inf) == "" and fmt_tol(1e-6) == "1e-06" and fmt_tol(None) == "-"
    assert fmt_time_iqr(0.0823, 0.001) == "82.3 ms ± 1 ms" and fmt_time_iqr(0.0823, math.nan) == "82.3 ms"


def test_code_says_unknown_dirty_and_stale():
    assert fmt_code(None) == "unknown" and fmt_code("") == "unknown" and fmt_code("4d328566a06c") == "4d328566a06c"
    stale = fmt_code("4d328566a06c", True, 1, "numpy")
    assert stale.startswith("4d328566a06c, " + STALE) and "auto rule v1" in stale
    assert fmt_code("4d328566a06c", False, 1, "numpy") == "4d328566a06c"


def test_shapes_sort_by_entries_then_rows():
    shapes = ["2048x2048", "1024x8192", "256x256", "odd", "8192x1024"]
    assert sorted(shapes, key=shape_key) == ["256x256", "2048x2048", "1024x8192", "8192x1024", "odd"]


def test_slug_is_a_safe_file_name():
    assert slug("Time vs size: CPU/2c (float64)") == "time-vs-size-cpu-2c-float64"
    assert slug("///") == "x"


def test_markdown_table_aligns_text_left_numbers_right_and_escapes_bars():
    df = pd.DataFrame({"method": ["lanczos", "a|b"], "time": ["82.3 ms", "1.2 s"], "n": [1.5, math.nan]})
    lines = md_table(df).splitlines()
    assert lines[0] == "| method | time | n |" and lines[1] == "|:---|---:|---:|"
    assert lines[3] == "| a\\|b | 1.2 s |  |", lines
    assert is_text_column(["lanczos", "power", "1.0"]) and not is_text_column(["36.2x", "1e-06", "lanczos"])
    assert md_table(pd.DataFrame()) == "_(no rows)_\n"
