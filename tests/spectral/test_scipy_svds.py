"""SciPy's ``svds`` as methods (``lipbench.spectral.scipy_svds``: arpack,
propack, lobpcg): tolerances mapped so that lipbench's own float64 residual
check accepts the answer, tall and wide input (svds iterates on A A^T for a
wide A), products counted, and a solver's trouble said as a note."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench import matrices
from lipbench.testing import operator_of
from properties.tolerances import matvec_atol
from tests.helpers import assert_certified, run_quietly, said

SOLVERS = ["arpack", "propack", "lobpcg"]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("shape", [(80, 50), (50, 80)])
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_converges_to_tol_inside_the_bracket(solver, shape, tol):
    A, s = matrices.gap(*shape, delta=1e-2, seed=1)
    r, warned = run_quietly(A, solver, tol=tol, seed=0)
    assert r.converged and not warned and not said(r, "solver-problem"), (solver, r.message)
    assert r.error_estimate <= tol
    assert_certified(r, float(s[0]), tol, A, f"solver={solver}")


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_start_vector_on_a_wide_matrix(solver):
    """For m < n svds iterates on A A^T, so v0 (length n) enters as A v0."""
    A, s = matrices.gap(40, 90, delta=1e-2, seed=3)
    r, warned = run_quietly(A, solver, tol=1e-8, v0=np.linspace(1.0, 2.0, 90))
    assert r.converged and not warned, (solver, r.message)
    assert_certified(r, float(s[0]), 1e-8, A, f"solver={solver}")


def test_counting_operator_is_the_scaled_matrix_and_counts():
    from lipbench.spectral.scipy_svds import counting_operator

    A, _ = matrices.gaussian(30, 20, seed=4)
    op = operator_of(A)
    lin = counting_operator(op)
    x, y = np.linspace(-1.0, 1.0, 20), np.linspace(0.0, 1.0, 30)
    As = np.asarray(op.dense64())
    before = op.matvecs
    got, gotT = lin.matvec(x), lin.rmatvec(y)
    assert op.matvecs - before == 2
    fro = float(np.linalg.norm(As))
    assert np.linalg.norm(got - As @ x) <= matvec_atol("float64", As.shape, fro, float(np.linalg.norm(x)))
    assert np.linalg.norm(gotT - As.T @ y) <= matvec_atol("float64", As.shape, fro, float(np.linalg.norm(y)))
    X = np.stack([x, 2 * x], axis=1)
    assert lin.matmat(X).shape == (30, 2) and op.matvecs - before == 4  # a block counts its columns


def test_a_solver_that_stops_short_says_so_and_is_not_converged():
    A, s = matrices.gap(80, 50, delta=1e-2, seed=1)
    r, warned = run_quietly(A, "lobpcg", tol=1e-12, seed=0, maxiter=1)
    assert not r.converged and warned and said(r, "solver-problem"), r.note_codes
    assert r.lower <= s[0] <= r.upper


@pytest.mark.parametrize("solver", ["arpack", "lobpcg"])
def test_the_start_vector_is_used_on_a_wide_matrix(solver):
    """Started from A's top right singular vector, the solver needs fewer steps
    than from a generic start (so v0 reached it, as A v0 for a wide A)."""
    A, _ = matrices.gap(40, 90, delta=1e-2, seed=3)
    top = np.linalg.svd(A)[2][0]
    near, _ = run_quietly(A, solver, tol=1e-8, v0=top)
    far, _ = run_quietly(A, solver, tol=1e-8, v0=np.linspace(1.0, 2.0, 90))
    assert near.converged and near.iterations < far.iterations, (solver, near.iterations, far.iterations)
