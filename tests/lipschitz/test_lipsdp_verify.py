"""LipSDP's LMI verified in floating point (``lipbench.lipschitz.lipsdp_verify``): the matrix by
hand on a one-neuron chain, each block's rounding bound against exact rationals, and no rho below
the exact constant squared ever verifying, in the full form or the reduced one."""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np
import pytest

import lipbench.lipschitz.lipsdp as lsdp
from lipbench.lipschitz.lipsdp_verify import TERM, lmi, lmi_margin, weighted_gram
from lipbench.testing import weakened
from properties.test_ladder import jacobian_lower
from tests.lipschitz.lipsdp_nets import _first_layer_wide_chain, _net_of, exact_constant, reference_chain

pytest.importorskip("cvxpy", reason="the reduced-form check solves LipSDP first (pip install -e '.[networks]')")


def test_lmi_below_the_exact_constant_never_verifies():
    """rho below the exact constant squared: no multipliers can make the LMI hold."""
    s, slack = exact_constant()
    chain = reference_chain()
    t = [np.ones(W.shape[0]) * k for k, W in zip((1.0, 4.0, 16.0), chain.weights[:-1])]
    rho = math.nextafter((s - slack) ** 2, 0.0)
    assert not lmi_margin(chain.weights, chain.errors, chain.slopes, t, rho) > 0


def test_reduced_verification_rejects_rho_below_the_constant():
    """The reduced check is a check of the full LMI: with rho under a Jacobian norm it fails."""
    chain = _first_layer_wide_chain(5)
    net = _net_of(chain)
    rng = np.random.default_rng(0)
    s, slack = max(jacobian_lower(net, rng.standard_normal(12)) for _ in range(8))
    r = lsdp.lipsdp_bound(chain, "neuron")
    assert r.certified and r.value >= s - slack, (r, s)
    U, sv, _ = np.linalg.svd(chain.weights[0], full_matrices=False)
    t, rho, _ = lsdp._solve([U * sv, *chain.weights[1:]], chain.slopes, "neuron", None)
    assert lmi_margin(chain.weights, chain.errors, chain.slopes, t, rho * (1 + r.tau), reduced=True) > 0
    low = math.nextafter((s - slack) ** 2, 0.0)
    assert not lmi_margin(chain.weights, chain.errors, chain.slopes, t, low, reduced=True) > 0



#: f(x) = 3 relu(2 x): L = 6.  With t = 9 the LMI is [[rho, -18], [-18, 9]] (c = 2 a b = 0 for ReLU,
#: s = a + b = 1): positive definite exactly when rho > 36 = L^2, singular at rho = 36
ONE_NEURON = ((np.array([[2.0]]), np.array([[3.0]])), (0.0, 0.0), ((0.0, 1.0),), [np.array([9.0])])


def test_lmi_by_hand_on_one_neuron():
    M, err = lmi(*ONE_NEURON, 36.0)
    assert M.tolist() == [[36.0, -18.0], [-18.0, 9.0]] and err >= 0.0, (M, err)
    assert lmi_margin(*ONE_NEURON, math.nextafter(36.0, 0.0)) <= 0.0
    assert lmi_margin(*ONE_NEURON, 36.0) <= 0.0, "a singular LMI was certified positive definite"
    assert lmi_margin(*ONE_NEURON, 37.0) > 0.0, "det = 37 * 9 - 18^2 = 9 > 0: the LMI holds with room"


def _exact_weighted_gram_error(W: np.ndarray, t: np.ndarray, c: Q, X: np.ndarray) -> Q:
    """||X - c W^T diag(t) W||_F^2 in rationals (the Frobenius norm bounds the 2-norm)."""
    n = W.shape[1]
    total = Q(0)
    for i in range(n):
        for j in range(n):
            exact = c * sum(Q(float(W[k, i])) * Q(float(t[k])) * Q(float(W[k, j])) for k in range(W.shape[0]))
            total += (Q(float(X[i, j])) - exact) ** 2
    return total


@pytest.mark.parametrize("c", [Q(1), Q(2) * Q(1, 10)], ids=["c=1", "c=2ab, a=1/10 not a float"])
def test_weighted_gram_rounding_covers_the_exact_product(c):
    """fl(c_f W^T diag(t) W) against the exact product: within its bound; with the assembly's term
    (lipsdp_assembly) dropped, the bound no longer covers the products' rounding."""
    rng = np.random.default_rng(0)
    W, t = rng.standard_normal((6, 4)), rng.uniform(0.5, 2.0, 6)
    X, bound = weighted_gram(W, 0.0, t, c)
    err2 = _exact_weighted_gram_error(W, t, c, X)
    assert 0 < err2 <= Q(bound) ** 2, (float(err2) ** 0.5, bound)
    with weakened(TERM, 0.0):
        assert Q(weighted_gram(W, 0.0, t, c)[1]) ** 2 < err2


def test_weight_errors_widen_the_bound():
    """The chain's error on W (||W_x - W|| <= e) enters through the perturbation of the product."""
    rng = np.random.default_rng(1)
    W, t = rng.standard_normal((3, 3)), np.ones(3)
    assert weighted_gram(W, 0.5, t, Q(1))[1] > weighted_gram(W, 0.0, t, Q(1))[1] + 0.5 * np.linalg.norm(W, 2)
