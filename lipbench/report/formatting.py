"""How numbers, shapes and tables are written in every part of the report.

Times get a unit (``82.3 ms``), relative errors one significant digit past the
point (``9.0e-12``), ratios an ``x`` (``36.2x``); a missing value is an empty
cell, never ``nan``.  Shapes sort by entry count, then rows, so ``1024x8192``
follows ``2048x2048`` the way a reader expects.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ..benchmark_meta import AUTO_RULE_VERSION

__all__ = ["STALE", "fmt_time", "fmt_time_iqr", "fmt_err", "fmt_ratio", "fmt_int", "fmt_tol", "fmt_code",
           "is_text_column", "md_table", "slug", "shape_key", "num", "fmt_sig", "option", "order_key"]

#: the word that marks a row measured under an older rule of auto than today's
STALE = "STALE"


def fmt_time(t: Any) -> str:
    """Seconds with a unit: ``2.98 s``, ``82.3 ms``, ``828 µs``; empty when missing."""
    if t is None or (isinstance(t, float) and not math.isfinite(t)):
        return ""
    t = float(t)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale or unit == "ns":
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} s"  # pragma: no cover


def fmt_time_iqr(t: Any, iqr: Any) -> str:
    """``median ± IQR``, or the median alone when the IQR is missing."""
    s = fmt_time(t)
    if s and iqr is not None and not pd.isna(iqr) and math.isfinite(float(iqr)):
        return f"{s} ± {fmt_time(iqr)}"
    return s


def fmt_err(e: Any) -> str:
    if e is None or (isinstance(e, float) and math.isnan(e)):
        return ""
    return f"{float(e):.1e}"


def fmt_ratio(r: Any) -> str:
    if r is None or (isinstance(r, float) and not math.isfinite(r)):
        return ""
    return f"{float(r):.3g}x"


def num(v: Any) -> float:
    """``v`` as a float; nan when it is missing or not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def fmt_sig(v: Any) -> str:
    """Four significant digits; empty when missing."""
    x = num(v)
    return "" if not math.isfinite(x) else f"{x:.4g}"


def option(row: pd.Series, key: str) -> Any:
    """``row["options"][key]``: a benchmark's recorded option (None when absent)."""
    opts = row.get("options")
    return opts.get(key) if isinstance(opts, dict) else None


def order_key(values: pd.Series, order: tuple[str, ...]) -> pd.Series:
    """Each value's place in ``order`` (anything else last), to sort by."""
    return values.map(lambda m: order.index(m) if m in order else len(order))


def fmt_int(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(int(v))


def fmt_tol(t: Any) -> str:
    """A tolerance (``1e-06``), or ``-`` for the tolerance-independent methods."""
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "-"
    return f"{float(t):g}"


def fmt_code(code: Any, stale: Any = False, rule: Any = None, backend: Any = None) -> str:
    """Which code produced a row: ``4d328566a06c``, ``... dirty`` or ``unknown``;
    a stale row (auto measured under an older rule) adds ``STALE (auto rule vN,
    today vM)``."""
    out = "unknown" if code is None or (isinstance(code, float) and math.isnan(code)) or not code else str(code)
    if isinstance(stale, (bool, np.bool_)) and bool(stale):
        now = AUTO_RULE_VERSION.get(str(backend))
        was = "" if rule is None or (isinstance(rule, float) and math.isnan(rule)) else f"v{int(rule)}"
        out += f", {STALE} (auto rule {was or 'unknown'}, today v{now})"
    return out


_NUMBER = re.compile(r"^[-+]?(\d|\.\d)[\d.,]*(e[-+]?\d+)?\s*(x|s|ms|µs|ns|%)?(\s*±.*)?$")


def is_text_column(values: Any) -> bool:
    """Whether a column reads as text (left-aligned) rather than numbers
    (right-aligned): most of its non-empty cells are not a number, a time or
    a ratio."""
    cells = [str(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))
             and str(v) != ""]
    if not cells:
        return True
    numeric = sum(1 for c in cells if isinstance(c, (int, float)) or _NUMBER.match(c.strip()))
    return numeric * 2 < len(cells)


def md_table(df: pd.DataFrame) -> str:
    """A GitHub Markdown table of ``df`` (``|`` escaped, floats to 4 digits;
    text columns left-aligned, numbers right-aligned)."""
    if df.empty:
        return "_(no rows)_\n"
    cols = [str(c) for c in df.columns]
    align = [":---" if is_text_column(df.iloc[:, i].tolist()) else "---:" for i in range(len(cols))]

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(align) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def slug(s: str) -> str:
    """A file-name-safe, lower-case version of ``s`` (for plot names)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(s)).strip("-").lower() or "x"


def shape_key(shape: str) -> tuple:
    """Sort key of ``"MxN"``: entries, then M, then N; anything else last."""
    m = re.match(r"(\d+)x(\d+)", str(shape))
    if not m:
        return (math.inf, str(shape))
    a, b = int(m.group(1)), int(m.group(2))
    return (a * b, a, b, str(shape))
