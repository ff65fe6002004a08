"""The report's plots (``lipbench.report.plots``): what a method's work is counted in."""

from __future__ import annotations

import pytest

mpl = pytest.importorskip("matplotlib")

from lipbench.report.plots import matvec_equivalents  # noqa: E402


def test_gram_work_counts_its_squarings_in_products_with_a():
    m, n, mv = 300, 100, 101  # tall: the first Gram product and one certificate product
    for t in (1, 2, 5):
        flops = m * n * n + (t - 1) * n**3  # A^T A, then t - 1 squarings of the n x n matrix
        products = flops / (m * n) + t  # in products with A (m n each), plus one certificate per step
        assert matvec_equivalents("gram", f"{m}x{n}", t, n + t) == pytest.approx(products), t
    assert matvec_equivalents("lanczos", f"{m}x{n}", 7, mv) == mv
