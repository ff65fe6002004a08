"""Golub-Kahan-Lanczos bidiagonalization (``lipbench.spectral.lanczos.bidiag``)."""

from __future__ import annotations

import numpy as np

import lipbench as lb
from properties.tolerances import reference_rtol


def test_lanczos_exhausts_wide_krylov_space():
    """Regression (found by the Lanczos-vs-power property): for m < n the
    Krylov space is exhausted after m + 1 steps, not m."""
    rng = np.random.default_rng(1)
    tol = 1e-12
    for m, n in [(2, 3), (3, 7), (5, 6)]:
        A = rng.standard_normal((m, n))
        r = lb.spectral_norm(A, method="lanczos", v0=rng.standard_normal(n), tol=tol)
        truth = np.linalg.norm(A, 2)
        assert r.converged and abs(r.value - truth) <= (tol + reference_rtol(A.shape)) * truth, (
            m, n, r.value, truth, r.iterations)
