"""The proven bound on sup |g'| of GELU's tanh form (lipbench/lipschitz/_proven_sup.py): above an
independent 50-digit sup, its tail bound above |g'| beyond the radius, its arguments checked."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from lipbench.lipschitz import activation
from lipbench.testing import (
    GELU_TANH_REL_TOL,
    gelu_tanh_derivative_enclosure,
    gelu_tanh_sup_upper,
    gelu_tanh_tail_upper,
)
from properties.tolerances import scalar_rtol


def gelu_tanh_sup_reference():
    """sup g' of GELU's tanh form at 50 digits, independently of the library: mpmath's root of
    its own numerical g'' near 1.42 (g' is largest there, g'(x) + g'(-x) = 1), and g' at it."""
    with mpmath.workdps(50):
        c, k = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf(44715) / 10**6

        def d1(x):
            t = mpmath.tanh(c * (x + k * x**3))
            return (1 + t) / 2 + x * (1 - t**2) * c * (1 + 3 * k * x**2) / 2

        return d1(mpmath.findroot(lambda x: mpmath.diff(d1, x), mpmath.mpf("1.42")))


def test_bound_lies_between_the_sup_and_its_tolerance():
    """sup <= bound <= sup (1 + rel_tol), then one rounding up: the stopping rule's promise."""
    sup, bound = gelu_tanh_sup_reference(), gelu_tanh_sup_upper()
    with mpmath.workdps(50):
        assert mpmath.mpf(bound) >= sup, (bound, sup)
        ceiling = sup * (1 + mpmath.mpf(GELU_TANH_REL_TOL.numerator) / GELU_TANH_REL_TOL.denominator)
        assert mpmath.mpf(bound) <= ceiling * (1 + scalar_rtol()), (bound, sup, GELU_TANH_REL_TOL)


@pytest.mark.parametrize("radius", [2, 3, 6])
def test_gelu_tanh_tail_bound_holds_beyond_its_radius(radius):
    """For |x| >= R, |g'| <= 1 + h(R): above a dense grid of |g'| out to 60 (g' -> 1 and 0 beyond)."""
    act = activation("gelu_tanh")
    x = np.linspace(radius, 60, 200001)
    seen = float(np.max(np.abs(np.concatenate([act.derivative(x), act.derivative(-x)]))))
    tail = gelu_tanh_tail_upper(radius)
    assert seen <= tail, (radius, seen, tail)
    assert gelu_tanh_sup_upper(radius=radius) >= max(seen, float(gelu_tanh_sup_reference())), radius


def test_gelu_tanh_bound_needs_radius_two():
    with pytest.raises(ValueError, match="radius >= 2"):
        gelu_tanh_tail_upper(1)
    with pytest.raises(ValueError, match="radius >= 2"):
        gelu_tanh_sup_upper(radius=1)


@pytest.mark.parametrize("width", [Fraction(1), Fraction(1, 4), Fraction(1, 64)])
def test_enclosure_holds_g_prime_on_each_box(width):
    """Each box's enclosure holds the 50-digit g' at 17 points of the box (its ends included)."""
    with mpmath.workdps(50):
        c, k = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf(44715) / 10**6

        def d1(x):
            t = mpmath.tanh(c * (x + k * x**3))
            return (1 + t) / 2 + x * (1 - t**2) * c * (1 + 3 * k * x**2) / 2

        a = Fraction(-6)
        while a < 6:
            lo, hi = gelu_tanh_derivative_enclosure(a, a + width)
            for i in range(17):
                x = a + width * i / 16
                value = d1(mpmath.mpf(x.numerator) / x.denominator)
                assert mpmath.mpf(lo.numerator) / lo.denominator <= value, (float(a), float(x), float(lo))
                assert value <= mpmath.mpf(hi.numerator) / hi.denominator, (float(a), float(x), float(hi))
            a += width

