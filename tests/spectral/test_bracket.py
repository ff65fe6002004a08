"""From a method's bracket to the caller's (``lipbench.spectral._bracket``):
intersected with the cheap bounds, widened by the input error, scaled back
outward, and certified only when proven and within tol, compared exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lipbench as lb
from lipbench.testing import Raw, final_bracket
from lipbench.testing import operator_of as prepare
from properties.tolerances import sum_rtol


@pytest.mark.parametrize("factor", [1.0, 1e300, 1e-300])
def test_cheap_upper_is_tight_for_a_diagonal_matrix(factor):
    """sqrt(||A||_1 ||A||_inf) is sigma_max for a diagonal matrix: the upper
    bound is tight and still holds, in range (used as is) and far out of it
    (scaled copy, its bounds summarized in prepare)."""
    d = np.arange(1.0, 90.0) * factor
    r = lb.spectral_norm(np.diag(d), method="lanczos", normal=True, tol=1e-10, seed=0)
    top = 89.0 * factor  # sqrt(||A||_1 ||A||_inf), each a sum of one |a| rounded outward
    assert r.upper <= top * (1 + sum_rtol("float64", d.size)) and r.lower <= top <= r.upper


# ------------------------------------------------------------ the module's own contract
K = 29  # diag(1, ..., K) times a power of two: sigma_max is K times it exactly


def _diagonal(factor: float = 1.0):
    return prepare(np.diag(np.arange(1.0, K + 1.0)) * factor), K * factor


def _raw(lower: float, upper: float = math.inf, **kw) -> Raw:
    return Raw(value=lower, lower=lower, upper=upper, converged=True, iterations=1, **kw)


@pytest.mark.parametrize("factor", [1.0, 2.0**-700, 2.0**700, 2.0**-1040])
def test_an_exact_sigma_lies_in_the_scaled_back_bracket(factor):
    op, sigma = _diagonal(factor)
    tol = 1e-10
    b = final_bracket(op, _raw(sigma / op.scale), tol)
    assert b.lower <= sigma <= b.upper and b.lower <= b.value <= b.upper, (factor, b)
    assert b.certificate == "norms" and b.certified, "sqrt(||A||_1 ||A||_inf) is sigma for a diagonal"
    assert b.upper <= sigma * (1 + sum_rtol("float64", K * K)) or sigma < np.finfo(np.float64).tiny / tol


def test_the_cheap_bounds_tighten_a_loose_bracket():
    op, sigma = _diagonal()
    b = final_bracket(op, _raw(0.0, 1e300), 1e-10)
    assert b.lower == op.cheap_lower() and b.upper == op.cheap_upper() and b.lower <= sigma <= b.upper


def test_input_error_widens_both_ends():
    op, sigma = _diagonal()
    op.input_error = 0.5  # the matrix the method saw is within 0.5 of A / scale
    b = final_bracket(op, _raw(sigma, sigma), 1e-10)
    assert b.lower <= sigma - 0.5 and b.upper >= sigma + 0.5, b
    assert not b.certified, "a bracket 1 wide around 29 is not within tol 1e-10"


def test_a_wide_bracket_is_not_certified_and_a_tight_one_is(rng):
    A = rng.standard_normal((30, 20))
    sigma = float(np.linalg.norm(A, 2))
    op = prepare(A)
    wide = final_bracket(op, _raw(sigma / 2), 1e-3)  # upper from the cheap bounds, far above sigma
    assert wide.certificate == "norms" and not wide.certified and wide.upper >= sigma
    tol = 1e-3
    lo = sigma * (1 - tol / 4)
    tight = final_bracket(op, _raw(lo, sigma * (1 + tol / 4), certificate="inertia", certified=True), tol)
    assert tight.certified and tight.certificate == "inertia" and tight.upper - tight.lower <= tol * tight.lower


def test_an_unproven_or_assumed_bracket_is_never_certified():
    op, sigma = _diagonal()
    b = final_bracket(op, _raw(sigma, proven=False), 1e-10)
    assert not b.certified and b.lower <= sigma <= b.upper
    op.products_assumed = True
    assert not final_bracket(op, _raw(sigma), 1e-10).certified


def test_a_zero_matrix_keeps_its_exact_zero():
    op = prepare(np.zeros((4, 3)))
    b = final_bracket(op, _raw(0.0, 0.0, certified=True, certificate="zero"), 1e-10)
    assert (b.value, b.lower, b.upper) == (0.0, 0.0, 0.0)
