"""REPORT.html: REPORT.md rendered as one self-contained page.

markdown-it-py renders the Markdown (CommonMark with GitHub's tables; raw HTML
in the text is escaped, never passed through), so the page shows what GitHub
shows for REPORT.md.  Three render rules add what a page on its own needs:

* headings carry the ids the table of contents links to (``anchor``, the ids
  GitHub gives them);
* plots are embedded as ``data:`` URIs, so the page needs no other file;
* table cells carry classes for the page's style sheet in place of inline
  alignment: text left, numbers right (the alignment row of the Markdown
  table), short cells (machine names, commits) never wrapped, misses and
  stale rows marked.
"""

from __future__ import annotations

import base64
import html as _html
import mimetypes
from collections.abc import Callable
from pathlib import Path

from markdown_it import MarkdownIt

from .formatting import STALE

__all__ = ["NOWRAP_CHARS", "markdown_html", "html_page"]

#: text cells up to this long are kept on one line
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


def _cell_class(text: str, is_text: bool) -> str:
    """The style sheet's classes of a body cell holding ``text``."""
    cls = ["txt" if is_text else "num"]
    if is_text and len(text) <= NOWRAP_CHARS:
        cls.append("short")
    if text == "MISS" or text.startswith("NOT met"):
        cls.append("miss")
    if STALE in text:
        cls.append("stale")
    return " ".join(cls)


def _table_cell(self, tokens, idx, options, env):
    """``<th>``/``<td>``: the alignment becomes a class (numbers: ``num``), the
    style sheet aligns."""
    tok = tokens[idx]
    is_text = tok.attrs.pop("style", None) != "text-align:right"
    if tok.tag == "td":
        tok.attrSet("class", _cell_class(tokens[idx + 1].content.strip(), is_text))
    return self.renderToken(tokens, idx, options, env)


def _heading(self, tokens, idx, options, env):
    """A heading's id: ``anchor`` of its Markdown text, as the contents link to it."""
    if env["anchor"]:
        tokens[idx].attrSet("id", env["anchor"](tokens[idx + 1].content))
    return self.renderToken(tokens, idx, options, env)


def _image(self, tokens, idx, options, env):
    """An image whose file exists under ``env['base']`` is embedded."""
    tok = tokens[idx]
    path = Path(env["base"]) / str(tok.attrGet("src"))
    mime = mimetypes.guess_type(path.name)[0]
    if mime and path.is_file():
        tok.attrSet("src", f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}")
    return self.image(tokens, idx, options, env)


_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
_MD.add_render_rule("th_open", _table_cell)
_MD.add_render_rule("td_open", _table_cell)
_MD.add_render_rule("heading_open", _heading)
_MD.add_render_rule("image", _image)


def markdown_html(markdown: str, *, base: str | Path = ".",
                  anchor: Callable[[str], str] | None = None) -> str:
    """Markdown -> HTML with the page's table classes; images found under
    ``base`` embedded; headings given ``id=anchor(heading)`` when ``anchor`` is given."""
    return _MD.render(markdown, {"base": Path(base), "anchor": anchor})


def html_page(title: str, markdown: str, *, base: str | Path, anchor: Callable[[str], str]) -> str:
    """One self-contained page of ``markdown`` (whose image paths are relative to ``base``)."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>\n<title>{_html.escape(title)}</title>\n"
            f"<style>{_CSS}</style></head><body>\n{markdown_html(markdown, base=base, anchor=anchor)}"
            "</body></html>\n")
