"""C13 (spectral normalization) and C14 (dropout)."""

from __future__ import annotations

import numpy as np
from hypothesis import find, given, settings
from hypothesis import strategies as st

from lipbench import matrices as lm
from lipbench.lipschitz import CONVENTIONS, SpectralNormalizer
from lipbench.lipschitz import spectral_normalization as lsn

from . import checks
from . import strategies as S
from . import tolerances as tol


@given(sm=S.spectral_matrices(dtype="float64", kind=None), data=st.data())
def test_c13_spectral_normalization_overshoots_with_power_iteration(sm, data, evidence):
    """exact sigma: sigma(W/sigma) = 1; certified upper bound: <= 1; sigma_hat from k power
    iterations (cold start): >= 1, shrinking with k.  Records the largest overshoot per k."""
    if sm.sigma_max == 0.0:
        return  # SN of the zero matrix is undefined (a ValueError, tested in tests/lipschitz/test_lipschitz.py)
    u0 = np.random.default_rng(data.draw(S.seeds, label="u seed")).standard_normal(sm.shape[0])
    over = checks.check_c13(sm.matrix, u0)
    for k, o in over.items():
        evidence.maximum(f"max_overshoot_k{k}", o, {"overshoot": o, "shape": list(sm.shape),
                                                    "s": sm.s[:3].tolist()})


def test_c13_overshoot_on_realistic_layers(evidence):
    """Cold and warm starts on trained-like 64x64 layers (nn_like): the measured overshoot."""
    out = {}
    for k in (1, 2, 5):
        cold = []
        for seed in range(10):
            W = lm.nn_like(64, 64, seed=seed).matrix
            Wn, _ = lsn.spectral_normalize(W, "power", n_iterations=k, seed=100 + seed)
            cold.append(float(np.linalg.norm(Wn, 2)) - 1.0)
        out[f"cold_k{k}"] = {"median": float(np.median(cold)), "max": float(np.max(cold))}
    # warm start: 20 "training steps" of a slowly drifting W with one iteration each
    rng = np.random.default_rng(7)
    W = lm.nn_like(64, 64, seed=0).matrix
    sn = SpectralNormalizer(n_iterations=1, seed=1)
    warm = []
    for _ in range(20):
        W = W + 1e-3 * rng.standard_normal(W.shape) / 8.0
        warm.append(float(np.linalg.norm(sn(W), 2)) - 1.0)
    out["warm_k1_after_20_steps"] = warm[-1]
    out["warm_k1_first_step"] = warm[0]
    for v in out.values():
        o = v["max"] if isinstance(v, dict) else v
        assert o >= -2 * tol.svd_atol("float64", (64, 64), 1.0), checks.ctx(overshoot=o)
    evidence.record("nn_like_64", out)


@st.composite
def dropout_case(draw):
    n = draw(st.integers(1, 8), label="width")
    m = draw(st.integers(1, 8), label="out width")
    W = draw(S.spectral_matrices(shape=(m, n), dtype="float64"), label="W").matrix
    x = draw(S.vectors(n, bound=10.0), label="x")
    p = draw(S.keep_probabilities(), label="p")
    conv = draw(st.sampled_from(CONVENTIONS), label="convention")
    return W, x, p, conv


@given(case=dropout_case())
def test_c14_dropout_expectation_equals_test_time_scaling(case, evidence):
    """Exactly over all 2**n masks: E[W (m * x)] = p W x (classical), E[W (m * x / p)] = W x
    (inverted); the test-time Lipschitz constant is p sigma(W) (classical) or sigma(W)."""
    W, x, p, conv = case
    checks.check_c14_expectation(W, x, p, conv)
    evidence.maximum("largest_width_enumerated", W.shape[1], {"width": W.shape[1], "masks": 2 ** W.shape[1]})


@given(W=S.spectral_matrices(dtype="float64", max_side=8).map(lambda sm: sm.matrix), data=st.data())
def test_c14_single_mask_bounds(W, data, evidence):
    mask = data.draw(S.dropout_masks(W.shape[1]), label="mask")
    p = data.draw(S.keep_probabilities(), label="p")
    r = checks.check_c14_single_mask(W, mask, p)
    evidence.maximum("max_inverted_mask_sigma_ratio", r)


def test_c14_inverted_mask_can_raise_sigma(evidence):
    """The qualification: one train-time inverted mask D/p can raise sigma above sigma(W)."""
    W, mask, p = find(st.tuples(S.spectral_matrices(dtype="float64", max_side=4).map(lambda sm: sm.matrix),
                                st.just(None), S.keep_probabilities()).flatmap(
        lambda t: st.tuples(st.just(t[0]), S.dropout_masks(t[0].shape[1]), st.just(t[2]))),
        lambda t: checks.check_c14_single_mask(*t) > 1.5,
        settings=settings(database=None, derandomize=True, max_examples=500))
    evidence.record("counterexample", {"W": W.tolist(), "mask": mask.tolist(), "p": p,
                                       "ratio": checks.check_c14_single_mask(W, mask, p)})
