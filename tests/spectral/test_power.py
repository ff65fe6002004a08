"""Power iteration (lipbench.spectral.power)."""

from __future__ import annotations

import numpy as np

import lipbench as lb


def test_a_zero_matrix_in_a_stack_does_not_hold_the_others_back():
    """Its A^T A v is 0 for every v: before, the iteration restarted it at
    random every step, divided by a zero norm and ran to maxiter unconverged."""
    A = np.random.default_rng(0).standard_normal((3, 10, 12))
    A[1] = 0.0
    r = lb.spectral_norm(A, method="power", seed=0, tol=1e-8)
    sigma = np.linalg.norm(A, 2, axis=(1, 2))
    assert r.converged and r.iterations < 1000, (r.iterations, r.error_estimate)
    assert r.value[1] == r.lower[1] == 0.0
    assert np.all(r.lower <= sigma) and np.all(sigma <= r.upper), (r.lower, sigma, r.upper)
