"""The strategies produce what they claim (the test machinery is tested too)."""

from __future__ import annotations

import numpy as np
from hypothesis import find, given, settings

from lipbench.lipschitz import Dense

from . import checks
from . import strategies as S
from . import tolerances as tol

FIND = settings(database=None, derandomize=True, max_examples=300)


@given(sm=S.spectral_matrices())
def test_spectral_matrices_have_their_spectrum(sm):
    s = np.linalg.svd(sm.matrix.astype(np.float64), compute_uv=False)
    err = float(np.max(np.abs(s - sm.s)))
    assert err <= sm.atol + tol.svd_atol("float64", sm.shape, sm.sigma_max), checks.ctx(
        sm.matrix, computed=s, claimed=sm.s, atol=sm.atol)
    assert np.all(np.diff(sm.s) <= 0) and np.all(sm.s >= 0), checks.ctx(s=sm.s)


@given(sm=S.rank_deficient_matrices(dtype="float64"))
def test_rank_deficient_matrices_are_rank_deficient(sm):
    s = np.linalg.svd(sm.matrix, compute_uv=False)
    cut = sm.atol + tol.svd_atol("float64", sm.shape, max(sm.sigma_max, 1.0))
    assert sm.rank < min(sm.shape), checks.ctx(sm.matrix, rank=sm.rank)
    assert int(np.count_nonzero(s > cut)) == sm.rank, checks.ctx(sm.matrix, computed=s, claimed_rank=sm.rank)


@given(shape=S.shapes())
def test_shapes_are_in_range(shape):
    m, n = shape
    assert 1 <= m <= S.MAX_SIDE and 1 <= n <= S.MAX_SIDE


def test_shapes_reach_every_kind():
    for kind, pred in (("tall", lambda s: s[0] > s[1]), ("wide", lambda s: s[0] < s[1]),
                       ("square", lambda s: s[0] == s[1])):
        find(S.shapes(), pred, settings=FIND)
        find(S.shapes(kind=kind), pred, settings=FIND)


def test_spectrum_kinds_reachable():
    find(S.spectra(6), lambda s: s[0] == s[1], settings=FIND)  # repeated top
    find(S.spectra(6), lambda s: s[-1] == 0.0, settings=FIND)  # rank-deficient
    find(S.spectra(6), lambda s: s[0] / s[-1] > 1e4 if s[-1] else False, settings=FIND)  # ill-conditioned


@given(A=S.dense_matrices(shape=(6, 6)))
def test_dense_matrices_draw_elements_independently(A):
    assert A.shape == (6, 6) and np.all(np.isfinite(A))


def test_dense_matrices_are_generically_full_rank():
    """Not the accidental low rank of a repeated fill value: full rank is easy to find,
    and so is the adversarial rank-deficient case."""
    find(S.dense_matrices(shape=(8, 8)), lambda A: np.linalg.matrix_rank(A) == 8, settings=FIND)
    find(S.dense_matrices(shape=(8, 8)), lambda A: np.linalg.matrix_rank(A) < 8, settings=FIND)


@given(net=S.networks())
def test_networks_chain(net):
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    for a, b in zip(dense, dense[1:]):
        assert a.out_features == b.in_features
    assert net(np.zeros(net.in_features)).shape == (dense[-1].out_features,)


@given(mask=S.dropout_masks(5), p=S.keep_probabilities())
def test_masks_and_probabilities(mask, p):
    assert mask.shape == (5,) and set(np.unique(mask)) <= {0.0, 1.0}
    assert 0.0 < p <= 1.0


@given(A=S.integer_matrices())
def test_integer_matrices(A):
    assert A.dtype == np.int64 and np.all(np.abs(A) <= 3)


@given(S.gram_losing_matrices())
def test_gram_losing_matrices_have_their_structure(A):
    m, n = A.shape
    assert m > n and np.all(A[np.arange(n), np.arange(n)] == 1.0)
    small = np.delete(A.ravel(), np.arange(n) * (n + 1))
    assert np.all(small == small[0]) and 2.0**-30 <= small[0] <= 2.0**-20


@given(S.near_singular_symmetric())
def test_near_singular_symmetric_are_nearly_singular(M):
    a, b, c = M[0, 0], M[0, 1], M[1, 1]
    assert M[1, 0] == b and a > 0
    assert abs(a * c - b * b) <= tol.scalar_rtol("float64", ops=2) * b * b  # a few ulps from singular
