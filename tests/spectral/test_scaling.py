"""Scaling by a power of two, and its error (``lipbench.spectral._scaling``):
the exponent puts the largest entry in [1/2, 1), scaling is exact where no
result is subnormal, and the error bound covers what subnormal results lose."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from lipbench.testing import pow2_exponent, scale_array, scale_data
from properties.tolerances import svd_atol

#: the scaled errors are below float64's range; they are compared multiplied by 2^LIFT
LIFT = 1100


@pytest.mark.parametrize("maxabs", [1.0, 0.75, 3.0, 2.0**-600, 1e300, math.ldexp(1.0, -1074)])
def test_exponent_puts_the_largest_entry_in_half_to_one(maxabs):
    e = pow2_exponent(maxabs)
    assert 0.5 <= math.ldexp(maxabs, -e) < 1.0, (maxabs, e)


def test_exponent_is_clamped_to_a_finite_scale():
    top = float(np.finfo(np.float64).max)
    assert pow2_exponent(top) == 1023 and math.isfinite(math.ldexp(1.0, pow2_exponent(top)))
    assert pow2_exponent(0.0) == 0 and pow2_exponent(float("nan")) == 0


@pytest.mark.parametrize("dtype,e", [("float64", 301), ("float64", -500), ("float32", 101), ("float32", -60),
                                     ("float64", 1023)])
def test_scaling_without_subnormal_results_is_exact_and_leaves_the_input_alone(dtype, e):
    rng = np.random.default_rng(3)
    A = np.ldexp(rng.uniform(0.5, 1.0, (7, 5)), e - 1).astype(dtype)  # normal before and after scaling
    kept = A.copy()
    out, err = scale_array(np, A, e, dtype)
    np.testing.assert_array_equal(out, np.ldexp(A, -e), err_msg=f"{dtype} e={e}")
    assert out.dtype == A.dtype and out is not A and err == 0.0, (dtype, e, err)
    np.testing.assert_array_equal(A, kept)
    data, derr = scale_data(A.ravel(), e)
    np.testing.assert_array_equal(data, np.ldexp(A.ravel(), -e))
    assert (derr == 0.0) == (e <= 0), (dtype, e, derr)  # stored entries are not checked by scaling back


def _exact_error_norm(A: np.ndarray, out: np.ndarray, e: int) -> float:
    """||A 2^-e - out||_2 times 2^LIFT, from the exact differences (Fractions)."""
    E = np.array([[float((Fraction(a) / 2**e - Fraction(o)) * 2**LIFT) for a, o in zip(ra, ro)]
                  for ra, ro in zip(A.tolist(), out.tolist())])
    norm = float(np.linalg.norm(E, 2))
    return norm - svd_atol("float64", E.shape, norm)  # a lower bound on the exact norm


@pytest.mark.parametrize("shape", [(1, 2), (6, 4), (20, 30)])
def test_error_bound_covers_subnormal_results_that_round(shape):
    """Every entry but the largest lands just below half-way between two
    subnormals and rounds down by almost half the smallest one: the error
    matrix is nearly constant, so its norm is nearly the bound's
    sqrt(mn) eta / 2 (a halved bound misses it)."""
    e = 1001
    A = np.full(shape, (5.5 - 2.0**-20) * 2.0**-73)  # 2^-e times this is (5.5 - 2^-20) eta
    A[0, 0] = 2.0**1000
    out, bound = scale_array(np, A, e, "float64")
    lost = _exact_error_norm(A, out, e)
    assert 0 < lost <= math.ldexp(bound, LIFT), (shape, lost, math.ldexp(bound, LIFT))
    data, dbound = scale_data(A.ravel(), e)
    assert lost <= math.ldexp(dbound, LIFT), (shape, lost, math.ldexp(dbound, LIFT))
