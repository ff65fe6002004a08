"""lipbench._rounding: outward arithmetic and the bounds' building blocks,
each held against exact rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from lipbench.testing import rounding as R
from lipbench.testing import rounding_maps


@pytest.fixture
def values(rng):
    mags = np.ldexp(1.0, rng.integers(-1070, 1020, size=200))
    return [float(x) for x in rng.uniform(0.5, 1.0, size=200) * mags] + [0.0, 5e-324, np.finfo(float).max]


def test_up_and_dn_step_outward_from_a_rational(rng):
    for _ in range(500):
        num, den = (int(v) for v in rng.integers(1, 2**62, size=2))
        x = Fraction(num, den) * Fraction(2) ** int(rng.integers(-60, 60))
        lo, hi = R.dn(x), R.up(x)
        assert Fraction(lo) <= x <= Fraction(hi)
        assert hi == lo or math.nextafter(lo, math.inf) == hi  # adjacent floats: nothing lost
    assert R.up(Fraction(10) ** 400) == math.inf and R.dn(Fraction(10) ** 400) == np.finfo(float).max


def test_square_roots_are_bracketed(values):
    for x in values:
        lo, hi = R.sqrt_dn(x), R.sqrt_up(x)
        assert Fraction(lo) ** 2 <= Fraction(x) <= Fraction(hi) ** 2, x
    assert R.sqrt_dn(-1.0) == 0.0
    assert all(R.sqrt_int_up(n) == math.isqrt(n) for n in (0, 1, 4, 10**12))  # perfect squares: exact
    assert all(Fraction(R.sqrt_int_up(n)) ** 2 >= n for n in (2, 3, 10**12 + 1, 2**61 - 1))


def test_within_is_exact_and_all_within_agrees_with_it(rng):
    lower = rng.uniform(0.5, 2.0, size=300)
    tol = 1e-6
    upper = lower * (1 + tol * rng.choice([0.5, 1.0, 1.0 + 1e-9, 2.0], size=300))
    for lo, hi in zip(lower, upper):
        exact = Fraction(float(hi)) - Fraction(float(lo)) <= Fraction(tol) * Fraction(float(lo))
        assert R.within(float(lo), float(hi), tol) == exact
        assert R.all_within(np.array([lo]), np.array([hi]), tol) == exact, (lo, hi)
    inside = np.flatnonzero([R.within(a, b, tol) for a, b in zip(lower, upper)])
    assert R.all_within(lower[inside], upper[inside], tol) and not R.all_within(lower, upper, tol)
    assert R.within(0.0, 0.0, tol) and not R.within(1.0, math.inf, tol) and not R.all_within([0.0], [1.0], tol)


def test_sum_bounds_hold_for_every_summation_order(rng):
    """Squares summed in three orders (pairwise, left to right, sorted): the exact
    sum of the exact squares lies in the bounds of each computed sum."""
    for _ in range(50):
        x = rng.standard_normal(int(rng.integers(1, 400))) * 2.0 ** int(rng.integers(-540, 500))
        exact = sum(Fraction(float(v)) ** 2 for v in x)
        for s in (float(np.sum(x * x)), math.fsum(float(v) * float(v) for v in x),
                  float(sum(sorted(float(v) * float(v) for v in x)))):
            lo, hi = R.sum_bounds(s, x.size)
            assert Fraction(lo) <= exact <= Fraction(hi), (s, float(exact))


def test_rescaled_partial_sums_stay_within_the_rescale_slack(rng):
    """Partial sums moved down by ``ldexp`` into the subnormal range (the
    one-pass summary's running scale) lose at most the slack, exactly."""
    parts = rng.uniform(0.5, 1.0, size=300) * 2.0**-1000
    moved = np.ldexp(parts, -60)  # results near 2^-1060: each rounds to a multiple of 2^-1074
    lost = abs(sum(map(Fraction, moved.tolist())) - sum(map(Fraction, parts.tolist())) * Fraction(2) ** -60)
    assert lost > 0 and R.rescale_slack(parts.size, 0) == 0.0
    slack = R.rescale_slack(parts.size, parts.size)
    assert lost <= Fraction(slack), (float(lost), slack)


def test_conversion_error_grows_with_the_root_of_the_duplicates():
    one, four = R.conversion_error(1.0), R.conversion_error(1.0, k=4)
    assert four >= 2 * one and Fraction(one) >= Fraction(R.U64) / (1 - Fraction(R.U64))


def test_scale_back_is_outward_in_the_subnormal_range():
    x = np.array([3.0])
    lo, hi = R.scale_back(x, 2.0**-1074, "down"), R.scale_back(x, 2.0**-1074, "up")
    assert Fraction(float(lo[0])) <= 3 * Fraction(2) ** -1074 <= Fraction(float(hi[0]))
    assert R.scale_back(np.array([2.0]), 2.0**1023, "up")[0] == math.inf
    assert R.scale_back(np.array([2.0]), 2.0**1023, "down")[0] == np.finfo(float).max


def test_an_assumed_product_lower_bound_lies_below_the_computed_norm():
    assert 0.0 < rounding_maps.linop_lower_bound(1.0, 1000, 800) < 1.0
