"""A weight's certified sigma_max (``lipbench.lipschitz._sigma``): the bracket
holds sigma exactly where it is known by construction, and a bad weight is
refused with an error naming the problem."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest

from lipbench.testing import check_matrix, sigma_bracket
from properties.tolerances import proven_sigma_rtol


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (40, 12)])
def test_bracket_holds_a_sigma_known_exactly(shape):
    """A diagonal of dyadic values, its rows and columns permuted: sigma_max is
    its largest entry, exactly."""
    rng = np.random.default_rng(len(shape) + shape[0])
    k = min(shape)
    W = np.zeros(shape)
    W[np.arange(k), np.arange(k)] = rng.integers(1, 64, k) / 8.0
    W = W[rng.permutation(shape[0])][:, rng.permutation(shape[1])]
    sigma = float(np.abs(W).max())
    lower, value, upper = sigma_bracket(W)
    assert lower <= sigma <= upper and lower <= value <= upper, (shape, lower, value, upper)
    assert upper - lower <= proven_sigma_rtol(shape) * sigma, (shape, lower, upper)


@pytest.mark.parametrize("cols", [2, 3, 5])
@pytest.mark.parametrize("denominator", [3, 7, 11])
def test_bracket_holds_an_irrational_sigma(cols, denominator):
    """A row of ``cols`` copies of x = fl(1/denominator): sigma_max is
    x sqrt(cols) exactly, irrational, compared in 40 digits (an estimate
    rounds to either side of it; the bracket must not)."""
    x = 1.0 / denominator
    lower, value, upper = sigma_bracket(np.full((1, cols), x))
    with localcontext() as ctx:
        ctx.prec = 40
        sigma = Decimal(x) * Decimal(cols).sqrt()
        assert Decimal(lower) <= sigma <= Decimal(upper), (cols, denominator, lower, value, upper)


@pytest.mark.parametrize("bad,exc,match", [
    (np.ones(3), ValueError, "must be a 2-D matrix"),
    (np.ones((0, 3)), ValueError, "is empty"),
    (np.array([[1.0, np.nan]]), ValueError, r"W contains nan at \(0, 1\)"),
    (np.array([["a"]]), TypeError, "W must have a real numeric dtype"),
])
def test_bad_weights_are_named(bad, exc, match):
    with pytest.raises(exc, match=match):
        check_matrix(bad)


def test_the_callers_weight_is_left_alone():
    W = np.arange(6.0).reshape(2, 3)
    kept = W.copy()
    sigma_bracket(W)
    np.testing.assert_array_equal(W, kept)
