"""The report as a person reads it: the first screen answers the questions,
lines fit a screen, the HTML shows rendered Markdown, text columns are
left-aligned, and each plot sits next to the table it illustrates."""

from __future__ import annotations

import html as _html
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from lipbench import report  # noqa: E402
from lipbench.report.render import WRAP  # noqa: E402

from .fakes import bench, cpu_run, write_run  # noqa: E402


def _two_machines(root: Path) -> dict:
    cpu_run(root)
    gpu = [bench("auto", median=0.004, backend="cupy", curve=True),
           bench("gram", median=0.003, backend="cupy", curve=True),
           bench("numpy.linalg.norm", median=0.05, backend="cupy", rel_error=1e-15, baseline=True),
           bench("auto", (4096, 4096), median=0.03, backend="cupy"),
           bench("numpy.linalg.norm", (4096, 4096), median=0.7, backend="cupy", rel_error=1e-15, baseline=True)]
    write_run(root, "gpu-box", gpu, gpu="NVIDIA H100")
    return report.write_report(root)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return _two_machines(tmp_path_factory.mktemp("results"))


def test_first_screen_answers_then_contents(written):
    md = Path(written["md"]).read_text()
    first, _, rest = md.partition("## Contents")
    assert rest, "a table of contents follows the first screen"
    assert first.splitlines()[2] == "## At a glance", first[:200]
    for machine in ("cpu-2c-openblas", "gpu-box"):
        block = first.split(f"**{machine}**")[1].split("**")[0] if f"**{machine}**" in first else ""
        assert block, f"no answers for {machine}"
        assert "which method to use here" in block and "| shape |" in block, block
        assert "speed-up over" in block and re.search(r"\d+(\.\d+)?x", block), block
        assert "auto's targets: " in block, block
    assert re.search(r"auto's targets: met \d+ of \d+", first.split("**gpu-box**")[1]), first
    assert "cupy.linalg.norm" in first.split("**gpu-box**")[1], "GPU answers name the GPU's reference"
    assert "![headline](plots/headline.png)" in first, "one headline figure on the first screen"
    assert first.count("![") == 1, "one headline figure"
    assert md.index("## Contents") < md.index("### cpu-2c-openblas · numpy"), "per-regime tables after contents"
    headings = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", md, flags=re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", rest.split("\n## ")[0])
    assert links and set(links) <= headings, set(links) - headings


def test_no_line_longer_than_a_screen(written):
    md = Path(written["md"]).read_text()
    assert max(map(len, md.splitlines())) < 2000
    prose = [line for line in md.splitlines() if line and not line.startswith(("|", "- [", "  - [", "!["))]
    too_long = [line for line in prose if len(line) > WRAP]
    assert not too_long, too_long[:3]


def _visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    page = re.sub(r"<code>.*?</code>", "", page, flags=re.S)  # code spans may hold any character
    return _html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_html_renders_the_markdown(written):
    page = Path(written["html"]).read_text()
    text = _visible_text(page)
    assert "`" not in text, re.findall(r".{30}`.{30}", text)[:3]
    assert not re.search(r"\*[^*\s][^*]*\*", text), re.findall(r".{30}\*.{30}", text)[:3]
    assert not re.search(r"\]\(", text), "no literal Markdown links"
    assert "<em>rel. error</em>" in page and "<code>" in page and "<strong>" in page
    assert not re.search(r"<p>\s*\|", page), "Markdown tables in prose become HTML tables"


def test_html_tables_align_text_left_and_keep_names_whole(written):
    page = Path(written["html"]).read_text()
    table = page[page.index('<h2 id="headline'):]
    table = table[table.index("<table>"): table.index("</table>")]
    header = re.findall(r"<th>(.*?)</th>", table)
    first_row = re.findall(r'<td class="([^"]*)">(.*?)</td>', table.split("<tbody>")[1].split("</tr>")[0])
    cells = dict(zip(header, first_row))
    for col in ("machine", "backend", "shape", "method"):
        assert "txt" in cells[col][0] and "short" in cells[col][0], (col, cells[col])
    for col in ("median time ± IQR", "rounds", "rel. error"):
        assert "num" in cells[col][0], (col, cells[col])
    assert re.search(r"td\.short\{white-space:nowrap\}", page) and re.search(r"td\.txt\{text-align:left\}", page)


def test_plots_sit_after_the_table_they_illustrate(written):
    page = Path(written["html"]).read_text()
    sections = re.split(r'<h[23] id="', page)
    where = {}
    for s in sections[1:]:
        sid = s.split('"')[0]
        for alt in re.findall(r'<img [^>]*alt="([^"]+)"', s):
            where[alt] = (sid, s.index("<img") > s.find("<table>"))
    assert where["time_vs_size_cpu-2c-openblas"][0].startswith("headline"), where
    assert where["time_vs_size_gpu-box"][0].startswith("headline"), where
    curves = {k: v for k, v in where.items() if k.startswith("error_vs_cost_")}
    assert curves, where
    for name, (sid, after_table) in curves.items():
        machine, backend, dtype, family = name.split("_")[3:7]
        assert sid.startswith(f"{machine}--{backend}--{dtype}--{family}"), (name, sid)
        assert after_table, name
    md = Path(written["md"]).read_text()
    head = md[md.index("## Headline"):]
    assert head.index("| machine |") < head.index("![time_vs_size_cpu-2c-openblas]") < head.index("\n## ", 5)
