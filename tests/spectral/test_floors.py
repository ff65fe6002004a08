"""How narrow a bracket can get (``lipbench.spectral._floors``): a tol below
a computation's rounding floor is raised to it, with a note, and a result's
error estimate never claims less; the inertia certificate's floor is where
its test starts to pass (sharp on the identity); the SVD's backward-error
estimate and the floors' formulas in the rounding model's terms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lipbench as lb
from lipbench.spectral.certify import inertia_test
from lipbench.testing import (
    certificate_floor,
    certified_width,
    gamma,
    gram_rounding_floor,
    inertia_floor,
    residual_floor,
    svd_backward_p,
    svd_error,
    unit_roundoff,
)
from tests.helpers import quiet as _quiet
from tests.helpers import said


@pytest.fixture(scope="module")
def layer32():
    """A float32 384 x 384 weight, the shape of the report that a tol of 1e-20 was 'converged'."""
    return np.random.default_rng(7).standard_normal((384, 384)).astype(np.float32)


def _floor(method: str, m: int, n: int) -> float:
    """The smallest error estimate each computation can produce, from the rounding model."""
    if method == "svd":  # the backward-error estimate, or the width its certificate proves
        return max(svd_backward_p(m, n) * unit_roundoff("float64"), certified_width(0.0, "float64", m, n))
    if method == "gram":
        return 2 * gram_rounding_floor(m, n)
    return residual_floor(m, n)


@pytest.mark.parametrize("method", ["auto", "lanczos", "power", "randomized", "arpack", "svd", "gram"])
def test_tol_below_the_floor_is_raised_to_it(layer32, method):
    m, n = layer32.shape
    r = _quiet(layer32, method, tol=1e-20, seed=0, maxiter={"power": 50, "randomized": 10}.get(method))
    floor = _floor(r.method, m, n)
    where = f"method={method} -> {r.method}, dtype float32, shape {layer32.shape}"
    assert r.tol == floor, f"tol {r.tol!r} should be raised to the floor {floor!r}: {where}"
    assert r.error_estimate >= floor, f"error estimate {r.error_estimate!r} below the floor {floor!r}: {where}"
    assert [n["floor"] for n in said(r, "tol-raised")] == [floor], f"no note of the raised tol in {r.notes}: {where}"
    if method in ("auto", "lanczos", "svd", "gram"):  # these finish in float64; the others' float32
        assert r.converged, f"{where}: {r.message}"  # vectors stop short of it (or their maxiter), and say so
    sigma = float(np.linalg.norm(layer32.astype(np.float64), 2))
    assert r.lower <= sigma * (1 + floor) and sigma * (1 - floor) <= r.upper, where


def test_certify_raises_tol_to_what_the_certificate_proves(layer32):
    m, n = layer32.shape
    r = lb.spectral_norm(layer32, tol=1e-20, seed=0, certify=True)
    want = certified_width(0.0, "float64", m, n)
    assert r.tol == want and r.certified and r.converged, (r.tol, want, r.message)
    assert r.upper - r.lower <= r.tol * r.lower
    assert [n["floor"] for n in said(r, "tol-raised")] == [want], r.notes


def test_a_tol_above_the_floor_is_left_alone(layer32):
    r = lb.spectral_norm(layer32, tol=1e-6, seed=0)
    assert r.tol == 1e-6 and not said(r, "tol-raised")
    assert r.error_estimate >= residual_floor(*layer32.shape)


def test_stack_power_floor_is_its_own_dtype():
    """A stack's power iteration computes its residuals in the stack's dtype."""
    W = np.random.default_rng(0).standard_normal((3, 64, 64)).astype(np.float32)
    r = _quiet(W, "power", tol=1e-20, seed=0, maxiter=50)
    floor = residual_floor(64, 64, "float32")
    assert r.tol == floor and np.all(np.asarray(r.error_estimate) >= floor), (r.tol, floor, r.error_estimate)


# ------------------------------------------------------------ the module's own contract
@pytest.mark.parametrize("n", [40, 200])
@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_the_inertia_floor_is_where_the_test_starts_to_pass(n, sigma):
    """sigma * I: its Gram matrix is exact, so the test passes exactly when
    t^2 clears the certificate's shift: just above the floor, not just below."""
    A = np.eye(n) * sigma
    floor = inertia_floor(n, n, fro2_ratio=float(n))
    below, above = 1 - 1 / 10, 1 + 1 / 10  # a tenth of the floor either side
    assert not inertia_test(A, sigma * (1 + below * floor)), (n, floor)
    assert inertia_test(A, sigma * (1 + above * floor)), (n, floor)


@pytest.mark.parametrize("shape", [(40, 40), (300, 20), (20, 300)])
def test_the_worst_case_floor_covers_every_frobenius_ratio(shape):
    m, n = shape
    worst = certificate_floor("float64", m, n)
    k = min(m, n)
    assert worst == inertia_floor(m, n) == certificate_floor("float16", m, n) == certificate_floor("float32", m, n)
    for r in np.linspace(0.0, k, 9):
        assert inertia_floor(m, n, float(r)) <= worst, (shape, r)
    assert worst >= k * gamma(max(m, n)) / 2, "the floor is about q / 2 with q >= N gamma_M"
    assert inertia_floor(m, n, fro2_ratio=10.0 * k) == inertia_floor(m, n, fro2_ratio=float(k))  # r is at most N


def test_certificate_floor_names_a_bad_dtype_or_shape():
    with pytest.raises(ValueError, match="dtype 'int32' has no certificate; use float16, float32 or float64"):
        certificate_floor("int32", 3, 3)
    with pytest.raises(ValueError, match=r"shape must be two positive integers; got \(0, 3\)"):
        certificate_floor("float64", 0, 3)


def test_floors_in_the_rounding_models_terms():
    for m, n in [(10, 10), (500, 30), (30, 500)]:
        k, big = min(m, n), max(m, n)
        assert gram_rounding_floor(m, n) == k * gamma(big)
        for dtype in ("float64", "float32"):
            want = (big + 2) * math.sqrt(k) * unit_roundoff(dtype)
            assert residual_floor(m, n, dtype) == want, (m, n, dtype)
    assert residual_floor(64, 64, "float32") > residual_floor(64, 64)


def test_svd_error_is_its_calibrated_backward_error():
    for m, n in [(5, 5), (100, 7), (7, 100)]:
        p = svd_backward_p(m, n)
        assert p >= max(m, n) and svd_backward_p(m + 100, n) > p
        pu, delta = svd_error(2.0, m, n, "float64")
        assert pu == p * unit_roundoff("float64") and delta == 2.0 * pu / (1 - pu)
        assert svd_error(2.0, m, n, "float32")[0] > pu
    top = np.array([1.0, 4.0])
    assert np.all(svd_error(top, 3, 3, "float64")[1] == top * svd_error(1.0, 3, 3, "float64")[1])
