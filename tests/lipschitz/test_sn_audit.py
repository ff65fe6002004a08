"""lipbench.lipschitz.sn_audit: the tables, bad input, and PyTorch's spectral_norm cross-check
(the reshape trap has its own file)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench import matrices as lm
from lipbench.lipschitz import conv_operator_norm
from lipbench.lipschitz.conv import conv_certified_bracket
from lipbench.lipschitz.sn_audit import (
    Estimator,
    default_estimators,
    drifting_weights,
    estimate_sigmas,
    overshoot_summary,
    sn_audit,
)
from properties.tolerances import matvec_atol, scalar_rtol


def test_drifting_weights_start_at_the_weight_and_leave_it_alone():
    W = lm.nn_like(6, 4, seed=0).matrix
    keep = W.copy()
    seq = list(drifting_weights(W, 3, eta=0.1, seed=1))
    assert len(seq) == 3 and np.array_equal(seq[0], keep) and np.array_equal(W, keep)
    assert not np.array_equal(seq[1], seq[0])
    assert [np.array_equal(a, b) for a, b in zip(seq, drifting_weights(W, 3, eta=0.1, seed=1))] == [True] * 3


def test_dense_audit_table():
    W = lm.nn_like(12, 8, seed=1).matrix
    rows = sn_audit(W, steps=4, seed=2)
    names = [e.name for e in default_estimators("dense")]
    assert [r.estimator for r in rows[:len(names)]] == names and len(rows) == 4 * len(names)
    for r in rows:
        assert r.sigma_lower <= r.sigma_upper and r.normalized_lower <= r.normalized_upper
        # power iteration estimates from below: sigma(W)/sigma_hat >= 1 up to the bracket's width
        assert r.normalized_upper >= 1.0, r
        if r.estimator == "certified":
            assert r.normalized_upper == 1.0 and r.overshoot == 0.0
    summary = {d["estimator"]: d for d in overshoot_summary(rows)}
    assert summary["certified"]["margin"] == 0.0 and summary["certified"]["provably_above_1"] == 0.0
    assert summary["power-cold-k1"]["max"] >= summary["power-cold-k1"]["q50"] >= 0.0
    assert set(rows[0].as_dict()) >= {"overshoot", "overshoot_lower", "step", "sigma_hat"}


def test_conv_audit_uses_the_operator_bracket():
    rng = np.random.default_rng(0)
    K = rng.standard_normal((3, 2, 3, 3))
    rows = sn_audit(K, input_shape=(5, 5), padding=1, padding_mode="circular", steps=2, iterations=(1,))
    assert {r.target for r in rows} == {"reshape", "operator"}
    # the audit's bracket is the proven one (the assembled matrix: this operator is small), not
    # the FFT route's estimate, whose rounding constants are calibrated
    lo, up, route = conv_certified_bracket(K, (5, 5), padding=1, padding_mode="circular")
    assert route == "dense" and rows[0].sigma_lower == lo and rows[0].sigma_upper == up
    r0 = conv_operator_norm(K, (5, 5), padding=1, padding_mode="circular", method="dense")
    assert r0.certified and max(r0.lower, lo) <= min(r0.upper, up)  # two proofs of the same sigma overlap
    for r in rows:
        if r.target == "operator":
            assert r.normalized_upper >= 1.0, r


@pytest.mark.parametrize("bad, match", [
    (dict(weight=np.ones((2, 2, 3))), "give input_shape"),
    (dict(weight=np.ones((2, 2)), input_shape=(3,)), "apply to a kernel"),
    (dict(weight=np.zeros((2, 2))), "weight is zero"),
    (dict(weight=np.ones((2, 2)), steps=0), "steps must be a positive int"),
    (dict(weight=np.ones((2, 2)), eta=math.nan), "eta must be"),
    (dict(weight=np.ones((2, 2)), estimators=[Estimator("x", "warm", 1, "reshape")]), "target 'matrix'"),
    (dict(weight=np.array([[1.0, np.inf]])), "contains inf"),
])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        sn_audit(**bad)


def test_bad_estimators():
    with pytest.raises(ValueError, match="start must be"):
        Estimator("x", "hot", 1)
    with pytest.raises(ValueError, match="iterations must be a positive int"):
        Estimator("x", "warm", 0)
    with pytest.raises(ValueError, match="kind must be"):
        default_estimators("lstm")


# --------------------------------------------------------------- PyTorch cross-check
def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (optional: pip install torch); "
                                               "the cross-check with torch.nn.utils.parametrizations.spectral_norm "
                                               "needs it")


def _torch_sigmas(torch, module, weights, seed, k):
    """sigma_hat per step from PyTorch's spectral_norm on ``weights`` (float64), registered with ``seed``."""
    from torch.nn.utils import parametrizations

    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(weights[0]))
    torch.manual_seed(seed)
    parametrizations.spectral_norm(module, n_power_iterations=k)
    sn = module.parametrizations.weight[0]
    out = []
    for W in weights:
        with torch.no_grad():
            module.parametrizations.weight.original.copy_(torch.from_numpy(W))
        module.train()
        Wn = module.weight.detach().numpy()  # forward: k power iterations, then W / sigma
        Wt = torch.from_numpy(W.reshape(W.shape[0], -1))
        s = float(torch.vdot(sn._u, Wt @ sn._v))
        assert np.allclose(Wn * s, W, rtol=scalar_rtol(), atol=0)
        out.append(s)
    return np.array(out)


def _start_vector(torch, seed, h, w):
    """The v PyTorch's spectral_norm draws under ``torch.manual_seed(seed)`` (u first, then v)."""
    torch.manual_seed(seed)
    torch.empty(h, dtype=torch.float64).normal_(0, 1)
    return torch.empty(w, dtype=torch.float64).normal_(0, 1).numpy()


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("layer", ["dense", "conv"])
def test_warm_estimator_matches_torch_spectral_norm(layer, k):
    """Same weights, same start (PyTorch's own seeded draw): lipbench's warm estimator (dense, and
    conv reshaped as PyTorch does) gives PyTorch's sigma_hat at every step, to rounding."""
    torch = _torch()
    seed, steps = 5, 8
    if layer == "dense":
        W0 = lm.nn_like(16, 12, seed=0).matrix
        module = torch.nn.Linear(12, 16, bias=False, dtype=torch.float64)
        kw, name = {}, f"power-warm-k{k}"
        est = Estimator(name, "warm", k)
    else:
        W0 = np.random.default_rng(1).standard_normal((4, 3, 3, 3)) / 6
        module = torch.nn.Conv2d(3, 4, 3, padding=1, bias=False, dtype=torch.float64)
        kw, name = dict(input_shape=(5, 5), padding=1), f"reshape-warm-k{k}"
        est = Estimator(name, "warm", k, "reshape")
    weights = list(drifting_weights(W0, steps, seed=seed + 1))
    h, w = W0.shape[0], int(np.prod(W0.shape[1:]))
    rows = sn_audit(W0, steps=steps, seed=seed, estimators=[est], start_vector=_start_vector(torch, seed, h, w), **kw)
    ours = np.array([r.sigma_hat for r in rows])
    theirs = _torch_sigmas(torch, module, weights, seed, k)
    # both run the same float64 products; BLAS may sum in another order: a matvec's error per iteration
    fro = max(float(np.linalg.norm(W)) for W in weights)
    iters = 15 + k * (steps + 1)
    rtol = iters * matvec_atol("float64", (1, max(h, w)), fro) / float(np.min(ours))
    assert np.all(np.abs(ours - theirs) <= rtol * ours), (ours, theirs, rtol)


def test_estimate_sigmas_is_the_audit_estimate():
    W = lm.nn_like(10, 7, seed=4).matrix
    rows = sn_audit(W, steps=5, seed=6)
    weights = list(drifting_weights(W, 5, seed=7))
    for e in default_estimators("dense"):
        ours = [r.sigma_hat for r in rows if r.estimator == e.name]
        assert np.array_equal(estimate_sigmas(weights, e, seed=6), ours), e.name
