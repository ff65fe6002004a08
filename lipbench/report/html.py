"""REPORT.html: the report's sections as one self-contained page.

The prose carries the few Markdown inline forms the report writes
(``*em*``, ``**strong**``, backticks, ``[text](link)``, list items and
blank-line paragraphs); :func:`inline` turns them into HTML, so the page shows
no literal asterisk or backtick.  Tables are written cell by cell: text
columns left-aligned, numbers right-aligned, short cells (machine names,
commits) never wrapped, misses and stale rows marked.  Each section's plots
are embedded right after its table.
"""

from __future__ import annotations

import base64
import html as _html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .formatting import STALE, is_text_column

__all__ = ["inline", "prose_html", "table_html", "html_page"]

_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")
_EM = re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")

#: cells up to this long are kept on one line
NOWRAP_CHARS = 40

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1500px;line-height:1.4}
table{border-collapse:collapse;margin:0.5em 0 1.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;vertical-align:top}
th{background:#f0f0f0;text-align:left}
td.num{text-align:right;white-space:nowrap}
td.txt{text-align:left}
td.short{white-space:nowrap}
td.miss{background:#fdd;color:#900;font-weight:bold}
td.stale{background:#fff3cd}
code{background:#f4f4f4;padding:0 3px}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
"""


def inline(text: str) -> str:
    """Markdown inline forms of one line -> HTML (the text escaped first)."""
    codes: list[str] = []

    def keep(m: re.Match) -> str:  # code spans are literal: set them aside
        codes.append(f"<code>{_html.escape(m.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    t = _CODE.sub(keep, text)
    t = _html.escape(t, quote=False)
    t = _LINK.sub(lambda m: f'<a href="{_html.escape(m.group(2))}">{m.group(1)}</a>', t)
    t = _STRONG.sub(r"<strong>\1</strong>", t)
    t = _EM.sub(r"<em>\1</em>", t)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], t)


def prose_html(prose: str, table_of: Callable[[list[str]], str] | None = None) -> str:
    """Paragraphs, list items and Markdown tables of the report's prose -> HTML."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    rows: list[str] = []

    def flush() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()
        if rows:
            out.append(_md_rows_html(rows))
            rows.clear()

    for line in prose.splitlines():
        s = line.strip()
        if not s:
            flush()
        elif s.startswith("|"):
            if para or items:
                flush()
            rows.append(s)
        elif s.startswith("- "):
            if para or rows:
                flush()
            items.append(s[2:])
        elif items and line.startswith("  "):
            items[-1] += " " + s  # a wrapped list item
        else:
            if items or rows:
                flush()
            para.append(s)
    flush()
    return "\n".join(out)


def _md_rows_html(rows: list[str]) -> str:
    cells = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", r.strip("|"))] for r in rows]
    header, body = cells[0], [c for c in cells[2:]]
    return table_html(pd.DataFrame(body, columns=header))


def _cell_class(v: str, text: bool) -> str:
    cls = ["txt" if text else "num"]
    if text and len(v) <= NOWRAP_CHARS:
        cls.append("short")
    if v == "MISS" or v.startswith("NOT met"):
        cls.append("miss")
    if STALE in v:
        cls.append("stale")
    return " ".join(cls)


def table_html(df: pd.DataFrame) -> str:
    """A table: text columns left-aligned, numbers right-aligned, short cells unwrapped."""
    if df.empty:
        return "<p><em>(no rows)</em></p>"

    def text(v: Any) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return ""
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    kinds = [is_text_column([text(v) for v in df.iloc[:, i]]) for i in range(df.shape[1])]
    head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        tds = []
        for v, is_text in zip(row, kinds):
            s = text(v)
            tds.append(f"<td class='{_cell_class(s, is_text)}'>{_html.escape(s)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table>"


def _img(path: Path) -> str:
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<figure><img alt='{_html.escape(path.stem)}' src='data:image/png;base64,{data}'></figure>"


def html_page(title: str, sections: list[tuple], *, anchor: Callable[[str], str]) -> str:
    """One self-contained page from (title, level, prose, table, plot paths)
    sections; a table of contents after the first."""
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>", f"<title>{_html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{_html.escape(title)}</h1>"]
    for i, (name, level, prose, table, plots) in enumerate(sections):
        parts.append(f"<h{level} id='{anchor(name)}'>{_html.escape(name)}</h{level}>")
        if prose:
            parts.append(prose_html(prose))
        if table is not None:
            parts.append(table_html(table))
        for p in plots:
            parts.append(_img(Path(p)))
        if i == 0 and len(sections) > 1:
            toc = "".join(f"<li style='margin-left:{(lv - 2) * 1.5}em'>"
                          f"<a href='#{anchor(n)}'>{_html.escape(n)}</a></li>"
                          for n, lv, *_ in sections[1:])
            parts.append(f"<h2 id='contents'>Contents</h2><ul>{toc}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
