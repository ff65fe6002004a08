"""C5-C8: the spectral norm through the Gram matrices A^T A and A A^T."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, find, given, settings
from hypothesis import strategies as st

from lipbench.lipschitz import gram as lgram

from . import checks
from . import checks_gram as CG
from . import strategies as S
from . import tolerances as tol


@given(sm=S.spectral_matrices())
@example(sm=S.SpectralMatrix(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([2.0, 0.0]), 0, "rank_deficient"))
def test_c5_sigma_is_sqrt_of_gram_lambda_max(xp, sm, evidence):
    A = xp.asarray(sm.matrix)
    sigma, lr, ll = CG.check_c5(A)
    evidence.maximum("max_relative_gap", abs(math.sqrt(max(lr, 0.0)) - sigma) / sigma if sigma else 0.0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(data=st.data())
def test_c5_naive_gram_overflows_on_badly_scaled_input(xp, dtype, data, evidence):
    """The qualification: forming A^T A without scaling overflows (inf) or underflows (0)
    when A's entries sit near the ends of the dtype; the scaled Gram still gives sigma^2."""
    ks = data.draw(S.family_matrices(dtype=dtype, families=("badly_scaled",), max_side=12), label="matrix")
    A = xp.asarray(ks.matrix)
    CG.check_c5(A)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        G = checks.host(lgram.gram_matrix(A, "right"))
    sigma = float(checks.svdvals(A)[0])
    gmax = float(np.max(np.abs(G)))
    end = ks.params["end"]
    msg = checks.ctx(A, gram_max_entry=gmax, sigma=sigma)
    if end == "huge":
        assert not np.all(np.isfinite(G)), "naive Gram of a huge matrix did not overflow: " + msg
    else:
        assert gmax < np.finfo(dtype).tiny, "naive Gram of a tiny matrix kept normal numbers: " + msg
    evidence.record(f"{end}_{dtype}", {"shape": list(ks.shape), "max_entry": float(np.max(np.abs(
        checks.host(A)))), "sigma": sigma, "naive_gram_max_entry": gmax})


@given(sm=S.spectral_matrices())
@example(sm=S.SpectralMatrix(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([2.0, 0.0]), 0, "rank_deficient"))
def test_c6_gram_eigenvalues_nonnegative(xp, sm, evidence):
    A = xp.asarray(sm.matrix)
    worst = CG.check_c6_nonnegative(A)
    evidence.minimum("most_negative_relative_eigenvalue", worst, {"value": worst, "dtype": sm.dtype,
                                                                   "shape": list(sm.shape)})


def _square_nonzero_singular(A: np.ndarray) -> bool:
    return A.shape[0] == A.shape[1] and bool(np.all(A != 0)) and CG.gram_has_exact_zero_eigenvalue(A)


def test_c6_all_positive_is_refuted(evidence):
    """The note's "all positive": Hypothesis finds a square matrix without a zero entry
    whose Gram matrix has the eigenvalue 0 exactly (A v = 0 for a rational v != 0)."""
    A = find(S.integer_matrices(max_side=4), _square_nonzero_singular,
             settings=settings(database=None, derandomize=True, max_examples=2000))
    v = CG.exact_null_vector(A)
    assert v is not None and any(v), checks.ctx(A=None, matrix=A)
    G = A.T @ A
    Gv = [sum(int(G[i, j]) * v[j] for j in range(A.shape[1])) for i in range(A.shape[0])]
    assert all(t == 0 for t in Gv), f"A^T A v != 0 for the null vector: A={A.tolist()}, v={v}"
    lam = lgram.gram_eigenvalues(A.astype(np.float64))
    atol = tol.gram_atol("float64", A.shape, float(np.linalg.norm(A)))
    assert abs(lam[0]) <= atol, checks.ctx(matrix=A, computed=lam, atol=atol)
    evidence.record("counterexample", {"A": A.tolist(), "AtA": G.tolist(), "null_vector": [str(t) for t in v],
                                       "computed_eigenvalues": lam.tolist()})


def test_c6_rounding_can_make_computed_eigenvalues_negative(xp, evidence):
    """Why C6 needs its tolerance: for a rank-deficient A the *computed* eigenvalues of the
    Gram matrix can come out negative, so "lambda >= 0" holds only up to -c n eps ||A||^2."""
    sm = find(S.rank_deficient_matrices(dtype="float64", max_side=6),
              lambda sm: CG.computed_gram_eigenvalue_negative(xp.asarray(sm.matrix)),
              settings=settings(database=None, derandomize=True, max_examples=500))
    A = xp.asarray(sm.matrix)
    lam = min(float(lgram.gram_eigenvalues(A, side)[0]) for side in ("right", "left"))
    assert lam < 0
    evidence.record("negative_eigenvalue", {"lambda_min": lam, "shape": list(sm.shape), "rank": sm.rank,
                                            "fro_sq": float(np.linalg.norm(sm.matrix) ** 2)})


@given(sm=S.spectral_matrices())
@example(sm=S.SpectralMatrix(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([2.0, 0.0]), 0, "rank_deficient"))
def test_c7_gram_nonzero_spectra_coincide(xp, sm, evidence):
    A = xp.asarray(sm.matrix)
    worst = CG.check_c7(A)
    evidence.maximum("worst_eigenvector_residual_over_bound", worst)


def test_c7_eigenvector_map_needs_Av_nonzero(evidence):
    """The qualification: for a zero eigenvalue A^T A v = 0 with A v = 0, and the zero
    vector is no eigenvector of A A^T."""
    A = find(S.integer_matrices(max_side=4), _square_nonzero_singular,
             settings=settings(database=None, derandomize=True, max_examples=2000))
    v = CG.exact_null_vector(A)
    Av = [sum(int(A[i, j]) * v[j] for j in range(A.shape[1])) for i in range(A.shape[0])]
    assert all(t == 0 for t in Av), f"A v != 0: A={A.tolist()}, v={v}"
    evidence.record("counterexample", {"A": A.tolist(), "v": [str(t) for t in v], "Av": [str(t) for t in Av]})


@given(sm=S.spectral_matrices())
def test_c8_singular_values_are_sqrt_gram_eigenvalues(xp, sm, evidence):
    A = xp.asarray(sm.matrix)
    err = CG.check_c8(A)
    evidence.maximum("max_abs_error_over_sigma_sq", err / sm.sigma_max**2 if sm.sigma_max else 0.0)
