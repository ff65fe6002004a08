"""report.html: the report's Markdown as HTML -- tables styled by class, inline
forms rendered, raw HTML escaped, headings anchored, plots embedded."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("markdown_it")

from lipbench.report.formatting import STALE, md_table  # noqa: E402
from lipbench.report.html import NOWRAP_CHARS, html_page, markdown_html  # noqa: E402


class _Cells(HTMLParser):
    """(tag, attributes, text) of every ``th`` and ``td``, text unescaped."""

    def __init__(self, page: str):
        super().__init__()
        self.cells: list[tuple[str, dict, str]] = []
        self._open: tuple[str, dict] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._open, self._text = (tag, dict(attrs)), []

    def handle_data(self, data):
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            self.cells.append((*self._open, "".join(self._text)))
            self._open = None


def test_markdown_table_becomes_a_table_styled_by_class():
    long_name = "x" * (NOWRAP_CHARS + 1)
    df = pd.DataFrame({"method": ["a|b <b>&", long_name, f"c, {STALE} (auto rule v1)"],
                       "time": ["1.5 ms", "2 s", "3 s"], "target": ["met", "MISS", "NOT met (4x)"]})
    page = markdown_html(md_table(df))
    assert page.count("<table>") == 1 and "<b>" not in page and "&lt;b&gt;&amp;" in page, page
    cells = _Cells(page).cells
    assert [c[0] for c in cells] == ["th"] * 3 + ["td"] * 9, cells
    assert all("style" not in attrs for _, attrs, _ in cells), "alignment is the style sheet's, by class"
    td = {text: attrs["class"].split() for tag, attrs, text in cells if tag == "td"}
    assert td["a|b <b>&"] == ["txt", "short"], td  # an escaped pipe stays in its cell
    assert td[long_name] == ["txt"], td
    assert td[f"c, {STALE} (auto rule v1)"] == ["txt", "short", "stale"], td
    assert td["1.5 ms"] == ["num"] and td["MISS"] == ["txt", "short", "miss"], td
    assert "miss" in td["NOT met (4x)"] and "miss" not in td["met"], td


def test_inline_forms_lists_and_escapes():
    html = markdown_html("*a b* and **c** and `x*y*` and [t](#u)\n\n2 * 3 * 4 <b>\n\n- one\n  two\n- three")
    assert '<em>a b</em> and <strong>c</strong> and <code>x*y*</code> and <a href="#u">t</a>' in html, html
    assert "<p>2 * 3 * 4 &lt;b&gt;</p>" in html, "a lone asterisk stays, raw HTML is escaped"
    assert "<ul>\n<li>one\ntwo</li>\n<li>three</li>\n</ul>" in html, "a wrapped list item stays one item"


def test_page_anchors_headings_and_embeds_plots(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "p.png").write_bytes(b"\x89PNG fake")
    md = "# Title\n\n## A · b\n\n- [A · b](#a--b)\n\n![p](plots/p.png)\n\n![gone](plots/gone.png)\n"
    page = html_page("T <&>", md, base=tmp_path, anchor=lambda t: t.lower().replace(" · ", "--"))
    assert "<title>T &lt;&amp;&gt;</title>" in page and "td.miss{" in page, page[:300]
    assert '<h2 id="a--b">A · b</h2>' in page and '<a href="#a--b">A · b</a>' in page, page
    assert '<img src="data:image/png;base64,iVBORyBmYWtl" alt="p"' in page, "a plot is embedded"
    assert '<img src="plots/gone.png" alt="gone"' in page, "a missing plot stays a link"
