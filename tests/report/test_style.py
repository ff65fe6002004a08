"""Every plot draws a method in its one colour; auto stands out, references are
grey or black, the missed-target marker has a colour no method has, every
figure has a legend, GPU references are named by the GPU's function, and
gram's work is counted in products with A."""

from __future__ import annotations

from collections import defaultdict

import pytest

mpl = pytest.importorskip("matplotlib")

from matplotlib.colors import to_hex, to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lipbench import report  # noqa: E402
from lipbench.report.style import MISS_STYLE, method_style  # noqa: E402
from properties.tolerances import GREY_SPREAD  # noqa: E402

from .fakes import bench, cpu_run, write_run  # noqa: E402


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Every figure the report saves, caught as it is saved."""
    root = tmp_path_factory.mktemp("results")
    cpu_run(root)
    write_run(root, "cpu-2c-openblas", [bench("auto", median=0.008, curve=True),
                                        bench("gram", median=0.3, curve=True),
                                        bench("power", (2048, 2048), median=0.9, rel_error=3e-4),
                                        bench("auto", (2048, 2048), median=0.05)], name="0002_more",
              when="2025-01-02T00:00:00+00:00")
    write_run(root, "gpu-box", [bench("auto", median=0.004, backend="cupy", curve=True),
                                bench("lanczos", median=0.006, backend="cupy", curve=True),
                                bench("numpy.linalg.norm", median=0.05, backend="cupy", rel_error=1e-15,
                                      baseline=True)], gpu="NVIDIA H100")
    saved = []
    original = Figure.savefig

    def keep(self, *args, **kw):
        saved.append(self)
        return original(self, *args, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(Figure, "savefig", keep)
    try:
        report.write_report(root)
    finally:
        mp.undo()
    assert len(saved) >= 5, len(saved)
    return saved


def _method_lines(fig):
    for ax in fig.axes:
        for line in ax.get_lines():
            gid = line.get_gid() or ""
            if gid.startswith("method="):
                yield gid[len("method="):], line


def test_one_colour_per_method_across_every_figure(figures):
    colours = defaultdict(set)
    for fig in figures:
        for method, line in _method_lines(fig):
            colours[method].add(to_hex(line.get_color()))
    assert {"auto", "lanczos", "gram", "numpy.linalg.norm", "power"} <= set(colours), set(colours)
    several = {m: c for m, c in colours.items() if len(c) != 1}
    assert not several, f"methods drawn in more than one colour: {several}"
    owner = defaultdict(list)
    for m, c in colours.items():
        owner[next(iter(c))].append(m)
    shared = {c: ms for c, ms in owner.items() if len(ms) > 1}
    assert not shared, f"methods sharing a colour: {shared}"
    miss = to_hex(MISS_STYLE.color)
    assert miss not in owner, f"the missed-target colour is {owner.get(miss)}'s too"


def test_auto_stands_out_and_references_are_grey(figures):
    widths = defaultdict(set)
    for fig in figures:
        for method, line in _method_lines(fig):
            widths[method].add(line.get_linewidth())
    assert min(widths["auto"]) > max(w for m, ws in widths.items() if m != "auto" for w in ws), widths
    for ref in ("numpy.linalg.norm", "scipy.sparse.linalg.svds", "svd"):
        r, g, b = to_rgb(method_style(ref).color)
        assert max(r, g, b) - min(r, g, b) < GREY_SPREAD, f"{ref} is not grey or black: {method_style(ref).color}"


def test_every_figure_has_a_legend_and_misses_are_in_it(figures):
    missed = 0
    for fig in figures:
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        assert legends, f"no legend in {fig.axes[0].get_title()!r}"
        for ax in fig.axes:
            if any(line.get_gid() == "missed-target" for line in ax.get_lines()):
                missed += 1
                labels = [t.get_text() for lg in legends for t in lg.get_texts()]
                assert "missed its target" in labels, labels
    assert missed, "the fake runs hold misses: some panel marks them"


def test_gpu_references_are_named_by_the_gpus_function(figures):
    labels = [t.get_text() for fig in figures for lg in fig.legends for t in lg.get_texts()
              if "gpu-box" in fig._suptitle.get_text()] if figures else []
    assert any("cupy.linalg.norm" in t for t in labels), labels
    assert not any(t.startswith("numpy.linalg.norm") for t in labels), labels


