"""The Gram route (``lipbench.spectral.lanczos.gram``): Lanczos on the Gram
matrix of the smaller side, formed once (counted as min(m, n) products) and
certified with A itself."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench import matrices
from tests.helpers import assert_certified, run_quietly, said


@pytest.mark.parametrize("shape", [(120, 40), (40, 120)])
@pytest.mark.parametrize("tol", [1e-4, 1e-10])
def test_gram_route_on_the_smaller_side(shape, tol):
    A, s = matrices.gap(*shape, delta=1e-2, seed=1)
    r, warned = run_quietly(A, "lanczos", tol=tol, seed=0, gram=True)
    assert r.converged and not warned and r.options == {"gram": True}, r.message
    assert_certified(r, float(s[0]), tol, A, f"shape={shape}")
    (route,) = said(r, "gram-route")
    side = min(shape)
    assert route["side"] == side and route["steps"] == r.iterations, route
    assert [st.engine for st in r.stages] == ["lanczos-gram"], r.stages
    # the Gram matrix costs min(m, n) products with A; the steps on it cost none with A
    assert side <= r.matvecs <= side + 2, r.matvecs  # and one product each way to certify the vector


def test_gram_route_from_a_start_vector():
    """A wide A's Gram matrix A A^T acts on left vectors: v0 enters as A v0."""
    A, s = matrices.gap(40, 120, delta=1e-2, seed=2)
    r, warned = run_quietly(A, "lanczos", tol=1e-8, gram=True, v0=np.linspace(1.0, 2.0, 120))
    assert r.converged and not warned, r.message
    assert_certified(r, float(s[0]), 1e-8, A)
