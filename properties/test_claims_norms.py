"""C9-C11: the spectral norm as the operator norm; products of constants."""

from __future__ import annotations

import numpy as np
from hypothesis import example, find, given, settings
from hypothesis import strategies as st

from lipbench import matrices as lm

from . import checks
from . import strategies as S


@given(sm=S.spectral_matrices(), data=st.data())
def test_c9_linear_map_constant_is_sigma_max(xp, sm, data, evidence):
    m, n = sm.shape
    x = data.draw(S.vectors(n, bound=10.0), label="x")
    y = data.draw(S.vectors(n, bound=10.0), label="y")
    b = data.draw(S.vectors(m, bound=10.0), label="b")
    ratio = checks.check_c9(xp.asarray(sm.matrix), x, y, b)
    evidence.maximum("max_ratio_Ax_over_sigma_x", ratio / sm.sigma_max if sm.sigma_max else 0.0)


@given(sm=S.spectral_matrices())
@example(sm=S.SpectralMatrix(np.eye(2), np.array([1.0, 1.0]), 0, "repeated_top"))
def test_c10_sigma_is_induced_2norm_not_frobenius(xp, sm, evidence):
    """max column norm <= sigma_max <= ||A||_F <= sqrt(rank) sigma_max (the induced 2-norm
    is sigma_max by C9; the entrywise L2 norm exceeds it unless rank <= 1)."""
    colmax, sigma, f, rank = checks.check_norm_inequalities(xp.asarray(sm.matrix))
    if sigma:
        evidence.maximum("max_fro_over_sigma", f / sigma, {"fro_over_sigma": f / sigma, "rank": rank,
                                                           "shape": list(sm.shape)})


def test_c10_entrywise_l2_counterexample(evidence):
    """The note's "L2 norm" read entrywise is false: Hypothesis finds a matrix with ||A||_F > sigma_max."""
    A = find(S.dense_matrices(max_side=4), checks.frobenius_exceeds_sigma,
             settings=settings(database=None, derandomize=True, max_examples=500))
    s = np.linalg.svd(A, compute_uv=False)
    evidence.record("counterexample", {"A": A.tolist(), "fro": float(np.linalg.norm(A)), "sigma_max": float(s[0])})


@st.composite
def layer_pairs(draw):
    a, b, c = (draw(st.integers(1, 12), label=f"width{i}") for i in range(3))
    W1 = draw(S.spectral_matrices(shape=(b, a), dtype="float64"), label="W1").matrix
    W2 = draw(S.spectral_matrices(shape=(c, b), dtype="float64"), label="W2").matrix
    return W1, W2


@given(pair=layer_pairs())
def test_c11_composition_constant_at_most_product(pair, evidence):
    ratio = checks.check_c11(*pair)
    evidence.minimum("min_ratio_sigma_composition_over_product", ratio)


def test_c11_product_is_not_best(evidence):
    """Strict inequality: misaligned singular vectors; and how loose it is on trained-like layers."""
    W1, W2 = find(layer_pairs(), lambda p: checks.check_c11(*p) < 0.5,
                  settings=settings(database=None, derandomize=True, max_examples=500))
    ratios = [checks.check_c11(lm.nn_like(64, 64, seed=2 * s).matrix, lm.nn_like(64, 64, seed=2 * s + 1).matrix)
              for s in range(5)]
    evidence.record("strict_example", {"W1": W1.tolist(), "W2": W2.tolist(), "ratio": checks.check_c11(W1, W2)})
    evidence.record("nn_like_64_ratio", {"median": float(np.median(ratios)), "min": float(np.min(ratios))})
