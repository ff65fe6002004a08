"""Properties of the sigma_max estimators of lipbench.spectral_norm."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lipbench as lb
from lipbench import backends as lbk
from lipbench import matrices as lm

from . import checks
from . import strategies as S
from . import tolerances as tol

NUMPY_METHODS = sorted(name for name, info in lb.METHODS.items() if "numpy" in info.backends)
PORTABLE_METHODS = sorted(name for name, info in lb.METHODS.items() if {"numpy", "array_api_strict"} <= info.backends)

matrices = S.spectral_matrices(max_side=16) | S.family_matrices(max_side=16).map(
    lambda ks: S.SpectralMatrix(np.asarray(ks.matrix), ks.singular_values, ks.seed or 0, ks.family, ks.params, ks.atol))


@pytest.mark.parametrize("method", NUMPY_METHODS)
@given(sm=matrices, seed=S.seeds)
def test_bracket_contains_sigma_numpy(method, sm, seed):
    """lower <= sigma_max <= upper for every method (numpy)."""
    checks.check_bracket(sm.matrix, method, seed=seed)


@given(sm=S.spectral_matrices(max_side=12), method=st.sampled_from(PORTABLE_METHODS), seed=S.seeds)
def test_bracket_contains_sigma_backends(xp, sm, method, seed):
    """lower <= sigma_max <= upper on every backend (method drawn per example)."""
    checks.check_bracket(xp.asarray(sm.matrix), method, seed=seed)


@given(sm=S.spectral_matrices(dtype="float64", max_side=16), seed=S.seeds, maxiter=st.integers(2, 12))
def test_power_estimates_nondecreasing(sm, seed, maxiter):
    checks.check_power_monotone(sm.matrix, seed, maxiter)


@given(sm=S.spectral_matrices(dtype="float64", max_side=16), seed=S.seeds, maxiter=st.integers(1, 8))
def test_lanczos_at_least_power_at_equal_matvecs(sm, seed, maxiter):
    v0 = np.random.default_rng(seed).standard_normal(sm.shape[1])
    checks.check_lanczos_beats_power(sm.matrix, v0, maxiter)


def _svd(A):
    return checks.estimate(A, "svd")


@given(sm=S.spectral_matrices(max_side=16), c=st.floats(-1e3, 1e3).filter(lambda c: abs(c) >= 1e-3), seed=S.seeds)
def test_sigma_invariances(xp, sm, c, seed):
    """sigma(cA) = |c| sigma(A); sigma(A^T) = sigma(A); sigma(QA) = sigma(A) for orthogonal Q."""
    A = xp.asarray(sm.matrix)
    r = _svd(A)
    m, n = sm.shape
    atol = tol.svd_atol(A, (m, n), float(r.value))
    rc = _svd(A * c)
    assert abs(float(rc.value) - abs(c) * float(r.value)) <= abs(c) * 2 * atol, checks.ctx(
        A, c=c, sigma=float(r.value), sigma_c=float(rc.value))
    rt = _svd(A.T)
    assert abs(float(rt.value) - float(r.value)) <= 2 * atol, checks.ctx(A, sigma=float(r.value),
                                                                         sigma_t=float(rt.value))
    Q = xp.asarray(lm.haar_orthonormal(m, m, np.random.default_rng(seed)).astype(sm.dtype))
    rq = _svd(Q @ A)
    atol_q = 2 * atol + tol.matvec_atol(A, (m, m), float(np.sqrt(m)) * checks.fro(A))
    assert abs(float(rq.value) - float(r.value)) <= atol_q, checks.ctx(A, sigma=float(r.value),
                                                                       sigma_qa=float(rq.value))


@given(sm=S.spectral_matrices(max_side=16))
def test_norm_inequalities(xp, sm):
    """max column norm <= sigma <= ||A||_F <= sqrt(rank) sigma."""
    checks.check_norm_inequalities(xp.asarray(sm.matrix))


@given(sm=S.spectral_matrices(max_side=12), method=st.sampled_from(PORTABLE_METHODS), seed=S.seeds)
def test_backends_agree(sm, method, seed):
    """The same matrix on every available backend: brackets overlap and contain the host sigma."""
    results = {}
    for b, av in lbk.selected_backends():
        if not av.available:
            continue
        A = lbk.namespace(b).asarray(sm.matrix)
        results[b.value] = checks.check_bracket(A, method, seed=seed)
    lo = max(float(r.lower) for r in results.values())
    hi = min(float(r.upper) for r in results.values())
    sigma = lm.reference_norm(sm.matrix)
    slack = tol.reference_atol(sm.shape, sigma)
    assert lo <= hi + slack, "backend brackets do not overlap: " + checks.ctx(
        method=method, brackets={k: (float(r.lower), float(r.upper)) for k, r in results.items()})
