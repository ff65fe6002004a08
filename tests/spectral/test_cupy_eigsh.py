"""CuPy's eigensolver behind lipbench's contract (``lipbench.spectral.cupy_eigsh``):
its vector's certified lower bound, its silent exit at maxiter caught by the
recomputed residual, its count of steps.  The GPU tests skip, with the reason,
where CuPy has no usable GPU (``cp`` fixture); the refusal runs everywhere."""

from __future__ import annotations

import numpy as np
import pytest

import lipbench as lb
from lipbench import matrices
from lipbench.spectral.cupy_eigsh import cupy_eigsh
from lipbench.testing import Tracker
from lipbench.testing import operator_of as prepare
from properties.tolerances import reference_rtol
from tests.helpers import said


def test_numpy_input_is_refused_by_name():
    with pytest.raises(ValueError, match="method 'cupy-eigsh' runs on cupy arrays; got a numpy array"):
        lb.spectral_norm(np.eye(3), method="cupy-eigsh")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_its_vector_certifies_a_lower_bound_below_an_exact_sigma(cp, dtype):
    k = 64
    op = prepare(cp.asarray(np.diag(np.arange(1.0, k + 1.0)), dtype=dtype))
    tol = 1e-8 if dtype == "float64" else 1e-5
    track = Tracker(True)
    raw = cupy_eigsh(op, tol=tol, maxiter=None, rng=np.random.default_rng(0), v0=None, track=track)
    sigma = k / op.scale
    assert raw.converged and raw.lower <= sigma and sigma - raw.lower <= tol * sigma, (raw.lower, sigma, raw.notes)
    (st,) = raw.stages
    assert st.engine == "cupy-eigsh" and st.iterations == raw.iterations and len(track.rows) == 1
    assert op.matvecs >= 2 * raw.iterations


@pytest.mark.gpu
def test_a_silent_exit_at_maxiter_is_not_converged(cp):
    A, s = matrices.gap(300, 200, delta=1e-4, seed=3)
    op = prepare(cp.asarray(A))
    tol = 1e-12
    raw = cupy_eigsh(op, tol=tol, maxiter=1, rng=np.random.default_rng(0), v0=None, track=Tracker(False))
    assert not raw.converged and said(raw, "solver-problem"), (raw.error_estimate, raw.notes)
    assert raw.lower * op.scale <= s[0] * (1 + reference_rtol(A.shape)), (raw.lower, s[0])


@pytest.mark.gpu
def test_through_spectral_norm_the_bracket_holds(cp):
    A, s = matrices.nn_like(150, 90, seed=6)
    r = lb.spectral_norm(cp.asarray(A), method="cupy-eigsh", tol=1e-8, seed=0)
    assert r.converged and r.lower <= s[0] <= r.upper and r.method == "cupy-eigsh", r.summary()
