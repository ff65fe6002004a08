"""C1-C4, C12, C15: Lipschitz constants of scalar functions and small networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, find, given, settings
from hypothesis import strategies as st

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation
from lipbench.lipschitz import bounds as lbounds
from lipbench.lipschitz.activations import relu

from . import checks
from . import strategies as S
from . import tolerances as tol

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)


@st.composite
def net_and_pair(draw, **kw):
    net = draw(S.networks(**kw), label="network")
    n = net.in_features
    x = draw(S.vectors(n, bound=10.0), label="x")
    y = draw(S.vectors(n, bound=10.0).filter(lambda y: not np.array_equal(y, x)), label="y")
    return net, x, y


@given(case=net_and_pair())
def test_c1_difference_quotients_bound_L_from_below(case, evidence):
    """Any difference quotient is <= L(f) <= the certified product bound; for a linear
    map the supremum sigma_max is attained (at the top right singular vector)."""
    net, x, y = case
    q, ub = checks.check_c1_quotient(net, x, y)
    evidence.maximum("max_quotient_over_bound", q / ub if ub else 0.0)
    W = next(layer.weight for layer in net.layers if isinstance(layer, Dense))
    lin = Sequential([Dense(W)])
    _, s, vt = np.linalg.svd(W)
    if s[0] > 0:
        q_top = lbounds.difference_quotient(lin, vt[0], np.zeros_like(vt[0]))
        assert abs(q_top - s[0]) <= tol.svd_atol("float64", W.shape, float(s[0])) + \
            tol.matvec_atol("float64", W.shape, float(np.linalg.norm(W))), checks.ctx(quotient=q_top, sigma=float(s[0]))


@given(act=S.activations(), x=finite, y=finite)
def test_c2_activations_are_K_lipschitz_with_best_K(act, x, y, evidence):
    """|g(x) - g(y)| <= K |x - y| for the derived K (sin, cos, ReLU: K = 1), and K is best:
    quotients around the maximiser of |g'| (or far out, where the sup is a limit) reach K."""
    assume(x != y)
    K = act.lipschitz
    gx, gy = float(act(np.float64(x))), float(act(np.float64(y)))
    d = abs(x - y)
    rt = tol.scalar_rtol(ops=4)
    bound = K * d * (1 + rt) + rt * (abs(gx) + abs(gy))
    assert abs(gx - gy) <= bound, checks.ctx(activation=act.name, x=x, y=y, gx=gx, gy=gy, K=K, bound=bound)
    x0 = act.attained_at
    if x0 is None:  # sup approached as x -> +inf (softplus)
        beta = act.params.get("beta", 1.0)
        pairs = [(40.0 / beta, 41.0 / beta)]
    else:  # around the maximiser of |g'|, on either side (kinks) or across it
        pairs = [p for h in (1e-4, 1e-6, 1e-8) for p in ((x0 - h, x0), (x0, x0 + h), (x0 - h, x0 + h))]
    q = max(abs(float(act(np.float64(a))) - float(act(np.float64(b)))) / abs(a - b) for a, b in pairs)
    assert q >= K * (1 - checks.APPROACH), "no quotient near K: " + checks.ctx(activation=act.name, K=K, quotient=q)
    evidence.record(act.name.split("(")[0], K)


def test_c2_named_constants(evidence):
    """The note's examples and the table's constants, each derived (GELU by brentq)."""
    got = {name: activation(name).lipschitz for name in ("sin", "cos", "relu", "tanh", "sigmoid", "softplus", "gelu")}
    got["leaky_relu(0.2)"] = activation("leaky_relu", alpha=0.2).lipschitz
    got["elu(2)"] = activation("elu", alpha=2.0).lipschitz
    for name in ("sin", "cos", "relu", "tanh", "softplus", "leaky_relu(0.2)"):
        assert got[name] == 1.0, checks.ctx(activation=name, K=got[name])
    assert got["sigmoid"] == 0.25 and got["elu(2)"] == 2.0, checks.ctx(**{k.replace("(", "_").replace(")", ""): v
                                                                        for k, v in got.items()})
    g = activation("gelu")
    x0 = g.attained_at
    assert abs(x0 - math.sqrt(2.0)) <= tol.scalar_rtol(ops=4), checks.ctx(gelu_argmax=x0)
    evidence.record("constants", got)


@given(R=st.floats(1e-3, 1e3), u=st.floats(-1, 1), v=st.floats(-1, 1))
def test_c3_square_is_lipschitz_only_on_bounded_sets(R, u, v, evidence):
    """x^2 on [-R, R]: every quotient |x + y| is <= 2R (and 2R is approached at x, y -> R)."""
    x, y = R * u, R * v
    assume(x != y)
    q = abs(x * x - y * y) / abs(x - y)
    assert q <= 2 * R * (1 + tol.scalar_rtol(ops=4)), checks.ctx(x=x, y=y, quotient=q, R=R)
    evidence.maximum("max_quotient_over_2R", q / (2 * R))


@pytest.mark.parametrize("K", [1.0, 1e3, 1e6, 1e12, 1e100])
def test_c3_square_has_no_global_constant(K, evidence):
    """On R no K works: Hypothesis finds a pair whose quotient beats each proposed K."""
    pair = find(st.tuples(st.floats(-1e300, 1e300), st.floats(-1e300, 1e300)),
                lambda p: p[0] != p[1] and abs(p[0] * p[0] - p[1] * p[1]) / abs(p[0] - p[1]) > K,
                settings=settings(database=None, derandomize=True, max_examples=1000))
    x, y = pair
    evidence.record("witness", {"K": K, "x": x, "y": y, "quotient": abs(x * x - y * y) / abs(x - y)})


@given(net=S.networks(piecewise_linear=True), data=st.data())
def test_c4_sup_jacobian_norm_is_L(net, data, evidence):
    """sigma(J_f(x)) <= certified L bound, and inside x's linear region a difference quotient
    equals sigma(J_f(x)): sampled Jacobian norms are lower bounds on L (convex domain R^n)."""
    x = data.draw(S.vectors(net.in_features, bound=10.0), label="x")
    sj, q = checks.check_c4_jacobian(net, x)
    evidence.maximum("realised_quotient_matches_jacobian", float(q is not None))


@given(net=S.networks(), data=st.data())
def test_c4_smooth_networks_jacobian_below_bound(net, data):
    x = data.draw(S.vectors(net.in_features, bound=10.0), label="x")
    checks.check_c4_jacobian(net, x)


def test_c4_quotient_allows_for_underflow():
    """Found by Hypothesis (1000 examples): at x = 1.09e-162 a leaky ReLU of slope
    2.5e-231 sends f(x + h) and f(x) below the smallest subnormal, so the
    computed quotient is 0 against sigma(J) = 2.5e-231.  The slack counts what
    underflow can lose, so the quotient is called unresolved instead of wrong."""
    net = Sequential([Dense(np.array([[-1.0]])),
                      ActivationLayer(activation("leaky_relu", alpha=2.5046554801262716e-231)),
                      Dense(np.array([[0.6894138], [-0.72436774]]))])
    sj, q = checks.check_c4_jacobian(net, np.array([1.08994714e-162]))
    assert q is None and sj > 0
    # on the unit-slope side, well away from underflow, the quotient is resolved and matches
    sj, q = checks.check_c4_jacobian(net, np.array([-0.5]))
    assert q is not None and abs(q - sj) <= sj * tol.scalar_rtol(ops=checks.network_ops(net)), (q, sj)


@given(net=S.networks(min_depth=2), seed=S.seeds)
@example(net=Sequential([Dense(np.array([[4.0]])), ActivationLayer(relu()), Dense(np.array([[4.0]]))]), seed=0)
def test_c12_product_bound_dominates_lower_bound(net, seed, evidence):
    """L(f) <= prod L(phi_i) <= lambda^d; the gap to the empirical lower bound is recorded."""
    lower, ub = checks.check_lower_below_upper(net, seed)
    consts = net.layer_constants()
    lam = max(consts)
    d = len(consts)
    assert ub <= lam**d * (1 + tol.scalar_rtol(ops=d)), checks.ctx(product=ub, lam=lam, depth=d)
    if lower > 0:
        evidence.maximum("max_gap", ub / lower)


def test_c12_gap_on_realistic_networks(evidence):
    """How loose the product bound is on trained-like layers (nn_like spectra, width 32, depth 4)."""
    from lipbench import matrices as lm
    gaps = []
    for seed in range(5):
        layers = []
        for i in range(4):
            layers.append(Dense(lm.nn_like(32, 32, seed=10 * seed + i).matrix))
            if i < 3:
                layers.append(ActivationLayer(relu()))
        net = Sequential(layers)
        lower, ub = checks.check_lower_below_upper(net, seed)
        gaps.append(ub / lower)
    evidence.record("gap_nn_like_32x4", {"median": float(np.median(gaps)), "max": float(np.max(gaps)),
                                         "min": float(np.min(gaps))})
    assert min(gaps) >= 1.0 - tol.scalar_rtol(ops=8), checks.ctx(gaps=np.array(gaps))


@given(sm=S.spectral_matrices(dtype="float64"), data=st.data())
def test_c15_not_testable_nearest_reading_is_c4(sm, data, evidence):
    """"sigma_max is something like the gradient" is not a statement; its nearest testable
    reading is C4: the Jacobian of x -> W x is W at every x and L = sup sigma(J) = sigma_max(W)."""
    W = sm.matrix
    net = Sequential([Dense(W)])
    x = data.draw(S.vectors(W.shape[1], bound=10.0), label="x")
    assert np.array_equal(net.jacobian(x), W), checks.ctx(W)
    sj, q = checks.check_c4_jacobian(net, x)
    assert q is not None and abs(sj - sm.sigma_max) <= sm.atol + tol.svd_atol(W, W.shape, sm.sigma_max), \
        checks.ctx(W, jacobian_norm=sj, sigma=sm.sigma_max, quotient=q)
    evidence.record("reading", "C4 on linear maps: sup_x sigma(J(x)) = sigma_max(W), realised as a quotient")
