"""The Gram iteration (``lipbench.spectral.gram``): its upper bound certified at every step."""

from __future__ import annotations

import numpy as np

import lipbench as lb
from lipbench import matrices


def test_gram_upper_bound_is_certified_every_step():
    A, s = matrices.nn_like(90, 70, seed=4)
    tol = 1e-12
    r = lb.spectral_norm(A, method="gram", tol=tol, return_history=True)
    truth = np.linalg.norm(A, 2)
    assert all(h.upper >= truth for h in r.history)
    assert r.upper - r.lower <= tol * r.upper  # gram's own stopping test, in the same float arithmetic
