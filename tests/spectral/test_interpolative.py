"""The method ``interpolative`` (``lipbench.spectral.interpolative``): SciPy's
randomized power estimate, a number with no vector, so its accuracy is only
probabilistic (Kuczynski-Wozniakowski) and its bracket is never certified."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench import matrices
from lipbench.spectral.theory import kw_power_epsilon
from tests.helpers import run_quietly, said


@pytest.mark.parametrize("its,tol", [(5, 1e-3), (200, 1e-3), (200, 0.5)])
def test_converged_only_where_the_probabilistic_bound_meets_tol(its, tol):
    A, s = matrices.gap(120, 40, delta=1e-2, seed=1)
    r, warned = run_quietly(A, "interpolative", tol=tol, seed=0, maxiter=its)
    err = 1 - math.sqrt(1 - kw_power_epsilon(40, its))  # sigma's relative error from KW's eigenvalue bound
    assert r.error_estimate == err and r.converged == (err <= tol), (its, tol, r.error_estimate)
    assert bool(said(r, "interpolative-unverified")) == (not r.converged) == bool(warned), r.note_codes
    assert not r.certified and r.iterations == its
    assert r.lower <= s[0] <= r.upper and r.lower <= r.value
    assert r.upper_probabilistic >= r.value


def test_start_vector_refused():
    A, _ = matrices.gaussian(20, 10, seed=0)
    with pytest.raises(ValueError, match="v0 is not supported"):
        run_quietly(A, "interpolative", v0=np.ones(10))
