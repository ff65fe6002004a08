"""The checks behind the property tests, as plain functions.

Each ``check_*`` raises AssertionError (with values, dtype, backend and shape in
the message) when its property fails, and returns what it measured so tests can
record evidence.  Property tests call them on Hypothesis examples;
``test_mutations.py`` calls them against deliberately broken implementations to
show they bite.  Implementations are looked up through their modules at call
time (``lb.spectral_norm``, ``lbounds.product_bound``, ``Dropout.scale``) so a
monkeypatch reaches them.  Here: the estimators, the network claims (C1, C4,
C12), the norms (C9, C10), C11, C13 and C14, and the shared helpers (``ctx``,
``host``, ``svdvals``, ``fro``).  The Gram matrices (C5-C8) are checked in
:mod:`properties.checks_gram`, layer rules in :mod:`properties.checks_layers`,
the reshape trap and the normalization audit in :mod:`properties.checks_sn`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

import lipbench as lb
from lipbench import backends as lbk
from lipbench.lipschitz import bounds as lbounds
from lipbench.lipschitz import dropout as ldropout
from lipbench.lipschitz import spectral_normalization as lsn
from lipbench.lipschitz.layers import ActivationLayer, Dense
from lipbench.lipschitz.network import Sequential

from . import tolerances as tol

APPROACH = 1e-6  # "the constant is best": some quotient comes within this relative distance of it


def ctx(A: Any = None, **values: Any) -> str:
    """An assertion message: the values, and A's dtype, backend and shape."""
    parts = []
    if A is not None:
        parts.append(f"dtype={tol.dtype_name(A)} backend={lbk.backend_name_of(A)} shape={tuple(A.shape)}")
    for k, v in values.items():
        if isinstance(v, np.ndarray) and v.size > 12:
            v = np.array2string(v, precision=6, threshold=12)
        elif isinstance(v, float):
            v = f"{v:.17g}"
        parts.append(f"{k}={v}")
    return "; ".join(parts)


def host(x: Any) -> np.ndarray:
    return np.asarray(lbk.to_numpy(x), dtype=np.float64)


def svdvals(A: Any) -> np.ndarray:
    """Singular values (descending, float64 host array), computed on A's backend in A's dtype."""
    xp = lbk.namespace_of(A)
    return host(xp.linalg.svdvals(A))


def fro(A: Any) -> float:
    a = host(A)
    return float(np.linalg.norm(a))


# ---------------------------------------------------------------- estimators

def estimate(A: Any, method: str, **kw: Any) -> Any:
    """``lb.spectral_norm`` with ConvergenceWarning silenced (the bracket holds regardless)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        return lb.spectral_norm(A, method=method, **kw)


def check_bracket(A: Any, method: str, seed: int = 0) -> Any:
    """lower <= sigma_max(A) <= upper, against the float64 host SVD of the stored matrix."""
    r = estimate(A, method, seed=seed)
    sigma = lb.matrices.reference_norm(A)
    slack = tol.reference_atol(tuple(A.shape), sigma)
    msg = ctx(A, method=method, lower=float(r.lower), value=float(r.value), upper=float(r.upper), sigma=sigma,
              slack=slack)
    assert float(r.lower) <= sigma + slack, "lower bound above sigma_max: " + msg
    assert sigma - slack <= float(r.upper), "upper bound below sigma_max: " + msg
    assert float(r.lower) <= float(r.value) <= float(r.upper), "estimate outside its own bracket: " + msg
    return r


def check_power_monotone(A: Any, seed: int, maxiter: int) -> list[float]:
    """Power-iteration estimates ||A v_k|| never decrease (Rayleigh quotients of A^T A), up to rounding."""
    r = estimate(A, "power", seed=seed, maxiter=maxiter, return_history=True)
    est = [float(h.estimate) for h in r.history]
    for k in range(1, len(est)):
        slack = tol.monotone_slack(A, tuple(A.shape), est[k - 1])
        assert est[k] >= est[k - 1] - slack, "power estimate decreased: " + ctx(
            A, step=k, previous=est[k - 1], current=est[k], slack=slack)
    return est


def check_lanczos_beats_power(A: Any, v0: Any, maxiter: int) -> list[tuple[int, float, float]]:
    """From the same start and at the same number of matvecs, Golub-Kahan-Lanczos
    is at least as good as power iteration (the power iterate lies in the Krylov
    space Lanczos optimises over)."""
    rp = estimate(A, "power", v0=v0, maxiter=maxiter, return_history=True)
    rl = estimate(A, "lanczos", v0=v0, maxiter=maxiter, return_history=True)
    lan = {int(h.matvecs): float(h.estimate) for h in rl.history}
    compared = []
    for h in rp.history:
        k = int(h.matvecs)
        candidates = [v for mv, v in lan.items() if mv <= k]
        if not candidates:
            continue
        best_l = max(candidates)
        slack = tol.monotone_slack(A, tuple(A.shape), float(h.estimate))
        assert best_l >= float(h.estimate) - slack, "Lanczos worse than power at equal matvecs: " + ctx(
            A, matvecs=k, power=float(h.estimate), lanczos=best_l, slack=slack)
        compared.append((k, float(h.estimate), best_l))
    assert compared, "no comparable history entries: " + ctx(A, power=[h.matvecs for h in rp.history],
                                                             lanczos=sorted(lan))
    return compared


# ---------------------------------------------------------------- C1, C4, C12: networks

def forward_magnitude(net: Sequential, z: np.ndarray) -> float:
    """||(|W_d| ... |W_1| |z| + biases)||: the scale that bounds rounding in evaluating f(z)."""
    a = np.abs(z)
    for layer in net.layers:
        if isinstance(layer, Dense):
            a = np.abs(layer.weight) @ a + (0.0 if layer.bias is None else np.abs(layer.bias))
        else:
            shift = np.abs(layer(np.zeros_like(a))) if isinstance(layer, ActivationLayer) else 0.0
            a = layer.lipschitz_upper() * a + shift
    return float(np.linalg.norm(a))


def network_ops(net: Sequential) -> int:
    return sum(int(getattr(layer, "in_features", None) or 1) + 1 for layer in net.layers)


def underflow_ulps(net: Sequential) -> float:
    """Bound on the absolute error that gradual underflow can add to one
    evaluation of f, in units of the smallest subnormal (2**-1074, so the
    bound itself does not underflow): each operation of layer k loses at most
    half of one, (w + 1) operations per entry of a layer at most w wide,
    carried to the output by the layers after k (their certified constants)."""
    dense = [layer.weight for layer in net.layers if isinstance(layer, Dense)]
    w = max([int(max(np.shape(W))) for W in dense] + [1])
    per_layer = (w + 1) * math.sqrt(w)
    total, after = 0.0, 1.0
    for c in reversed(net.layer_constants()):
        total += per_layer * after
        after *= c
    return total


def quotient_slack(net: Sequential, x: np.ndarray, y: np.ndarray) -> float:
    """Rounding bound on a computed difference quotient of ``net`` at (x, y):
    relative rounding of both evaluations, and what underflow can add to them
    (x, y a few 1e-163 apart, with a 1e-231 slope, have a quotient that
    underflows to 0)."""
    d = lbounds.stable_norm(x - y)  # x, y may be 1e-255 apart: a plain norm underflows to 0
    rounding = tol.matvec_atol("float64", (1, network_ops(net)), forward_magnitude(net, x) + forward_magnitude(net, y))
    return rounding / d + math.ldexp(2 * underflow_ulps(net) / d, -1074)


def check_c1_quotient(net: Sequential, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Any sampled difference quotient is at most L(f) <= the certified product bound."""
    q = lbounds.difference_quotient(net, x, y)
    ub = lbounds.product_bound(net)
    slack = quotient_slack(net, x, y)
    assert q <= ub * (1 + tol.scalar_rtol(ops=len(net.layers))) + slack, "difference quotient above the Lipschitz " \
        "upper bound: " + ctx(quotient=q, product_bound=ub, slack=slack, x=x, y=y)
    return q, ub


def check_lower_below_upper(net: Sequential, seed: int) -> tuple[float, float]:
    """empirical lower bound <= product bound (C12)."""
    lower = lbounds.empirical_lower_bound(net, n_samples=8, ascent_steps=4, seed=seed)
    ub = lbounds.product_bound(net)
    x, y = lower.pair
    slack = quotient_slack(net, x, y) + ub * tol.scalar_rtol(ops=len(net.layers))
    assert lower.value <= ub + slack, "empirical lower bound above the product bound: " + ctx(
        lower=lower.value, quotient=lower.quotient, jacobian=lower.jacobian, product_bound=ub, slack=slack,
        constants=np.array(net.layer_constants()))
    return lower.value, ub


def check_c4_jacobian(net: Sequential, x: np.ndarray) -> tuple[float, float | None]:
    """sigma(J_f(x)) <= certified bound, and for a piecewise-linear f the Jacobian
    norm is realised by a difference quotient inside x's linear region (so it is a
    lower bound on L(f)).  Returns (sigma(J), quotient or None if x sits on a kink)."""
    J = net.jacobian(x)
    sj = float(np.linalg.norm(J, 2))
    ub = lbounds.product_bound(net)
    assert sj <= ub * (1 + tol.scalar_rtol(ops=network_ops(net))), "Jacobian norm above the Lipschitz bound: " + ctx(
        jacobian_norm=sj, product_bound=ub, x=x)
    if not all(not isinstance(layer, ActivationLayer) or layer.piecewise_linear for layer in net.layers):
        return sj, None
    r = net.linear_region_radius(x)
    if not r > 0:
        return sj, None
    _, _, vt = np.linalg.svd(J)
    h = min(r / 2, 1.0 + float(np.linalg.norm(x))) * vt[0]
    q = lbounds.difference_quotient(net, x + h, x)
    slack = quotient_slack(net, x + h, x) + sj * tol.scalar_rtol(ops=network_ops(net))
    if sj > 0 and slack > sj / 2:
        return sj, None  # x too close to a kink for the quotient to resolve sigma(J)
    assert abs(q - sj) <= slack, "difference quotient in the linear region differs from sigma(J): " + ctx(
        quotient=q, jacobian_norm=sj, slack=slack, radius=r, x=x)
    return sj, q


# ---------------------------------------------------------------- C9, C10: norms

def check_c9(A: Any, x: np.ndarray, y: np.ndarray, b: np.ndarray) -> float:
    """||Ax|| <= sigma ||x||, equality at the top right singular vector; the same
    for the affine map x -> Ax + b on differences."""
    xp = lbk.namespace_of(A)
    m, n = A.shape
    sigma = float(svdvals(A)[0])
    f = fro(A)
    dt = A.dtype
    X, Y, B = (xp.asarray(v, dtype=dt) for v in (x, y, b))
    xn = float(np.linalg.norm(host(X)))
    ax = float(np.linalg.norm(host(A @ X)))
    s_atol = tol.svd_atol(A, (m, n), sigma)
    atol = tol.matvec_atol(A, (m, n), f, xn) + s_atol * xn
    assert ax <= sigma * xn + atol, "||Ax|| > sigma ||x||: " + ctx(A, Ax=ax, sigma=sigma, x_norm=xn, atol=atol)
    _, _, vt = xp.linalg.svd(A, full_matrices=False)
    v = vt[0, :]
    av = float(np.linalg.norm(host(A @ v)))
    atol_v = tol.matvec_atol(A, (m, n), f) + s_atol + sigma * tol.svd_atol(A, (m, n), 1.0)
    assert abs(av - sigma) <= atol_v, "||A v_1|| != sigma_max: " + ctx(A, Av=av, sigma=sigma, atol=atol_v)
    fx, fy = A @ X + B, A @ Y + B
    d = float(np.linalg.norm(host(X - Y)))
    num = float(np.linalg.norm(host(fx - fy)))
    scale = float(np.linalg.norm(host(xp.abs(A @ X)))) + float(np.linalg.norm(host(xp.abs(A @ Y)))) + \
        2 * float(np.linalg.norm(host(B)))
    atol_aff = tol.matvec_atol(A, (m, n), f, xn + float(np.linalg.norm(host(Y)))) + tol.eps(A) * scale + s_atol * d
    assert num <= sigma * d + atol_aff, "affine map exceeds sigma on a difference: " + ctx(
        A, diff=num, sigma=sigma, dist=d, atol=atol_aff)
    return ax / xn if xn else 0.0


def check_norm_inequalities(A: Any) -> tuple[float, float, float, int]:
    """max column norm <= sigma_max <= ||A||_F <= sqrt(rank) sigma_max."""
    m, n = A.shape
    s = svdvals(A)
    sigma = float(s[0])
    a = host(A)
    colmax = float(np.max(np.linalg.norm(a, axis=0)))
    f = float(np.linalg.norm(a))
    atol = tol.svd_atol(A, (m, n), sigma)
    rank = int(np.count_nonzero(s > atol))
    msg = ctx(A, max_col=colmax, sigma=sigma, fro=f, rank=rank, atol=atol)
    assert colmax <= sigma + atol, "max column norm > sigma_max: " + msg
    assert sigma <= f * (1 + tol.scalar_rtol(A, ops=min(m, n))) + atol, "sigma_max > ||A||_F: " + msg
    assert f <= math.sqrt(max(rank, 1)) * sigma + math.sqrt(min(m, n)) * atol, "||A||_F > sqrt(rank) sigma_max: " + msg
    return colmax, sigma, f, rank


def frobenius_exceeds_sigma(A: np.ndarray) -> bool:
    """||A||_F > sigma_max beyond rounding: the entrywise L2 norm is not sigma_max."""
    s = np.linalg.svd(A, compute_uv=False)
    return float(np.linalg.norm(A)) > float(s[0]) + tol.svd_atol(A, A.shape, float(s[0])) * 4 + \
        float(s[0]) * tol.scalar_rtol(A, ops=A.size)


# ---------------------------------------------------------------- C11, C13, C14

def check_c11(W1: np.ndarray, W2: np.ndarray) -> float:
    """sigma(W2 W1) <= sigma(W2) sigma(W1). Returns the ratio (<= 1)."""
    s1 = float(np.linalg.norm(W1, 2))
    s2 = float(np.linalg.norm(W2, 2))
    s12 = float(np.linalg.norm(W2 @ W1, 2))
    bound = s1 * s2
    atol = tol.matvec_atol("float64", (1, W1.shape[0]), float(np.linalg.norm(W2)) * float(np.linalg.norm(W1))) + \
        tol.svd_atol("float64", W2.shape, s12) + tol.scalar_rtol(ops=2) * bound
    assert s12 <= bound + atol, "composition constant above the product: " + ctx(
        sigma_composition=s12, sigma1=s1, sigma2=s2, atol=atol)
    return s12 / bound if bound else 1.0


def check_c13(W: np.ndarray, u0: np.ndarray) -> dict[int, float]:
    """Exact sigma gives sigma(W / sigma) = 1; a certified upper bound gives <= 1;
    power iteration (k = 1, 2, 5) gives >= 1, non-increasing in k.  Returns the
    overshoot sigma(W / sigma_hat_k) - 1 per k."""
    shape = W.shape
    svd_tol = tol.svd_atol(W, shape, 1.0)
    Wn, _ = lsn.spectral_normalize(W, "exact")
    s = float(np.linalg.norm(Wn, 2))
    assert abs(s - 1.0) <= 2 * svd_tol, "exact SN does not give sigma 1: " + ctx(W, sigma_normalized=s, atol=svd_tol)
    Wc, _ = lsn.spectral_normalize(W, "certified")
    sc = float(np.linalg.norm(Wc, 2))
    assert sc <= 1.0 + svd_tol, "certified SN exceeds 1: " + ctx(W, sigma_normalized=sc, atol=svd_tol)
    over: dict[int, float] = {}
    prev = math.inf
    for k in (1, 2, 5):
        Wk, _ = lsn.spectral_normalize(W, "power", n_iterations=k, u=u0)
        sk = float(np.linalg.norm(Wk, 2))
        assert sk >= 1.0 - 2 * svd_tol, "power-iteration SN below 1 (sigma_hat above sigma?): " + ctx(
            W, k=k, sigma_normalized=sk, atol=svd_tol)
        assert sk <= prev + 2 * svd_tol * sk, "overshoot grew with more iterations: " + ctx(W, k=k, now=sk, before=prev)
        prev = sk
        over[k] = sk - 1.0
    return over


def check_c14_expectation(W: np.ndarray, x: np.ndarray, p: float, convention: str) -> float:
    """E over all 2**n masks of Dense(W)(train-time dropout(x)) equals Dense(W)(test-time dropout(x)), exactly
    (up to the rounding of the weighted sum).  Returns the test-time Lipschitz constant sigma(W) * scale."""
    n = W.shape[1]
    layer = Dense(W)
    test = ldropout.Dropout(p, convention)
    expected = ldropout.expected_over_masks(
        lambda mask: layer(ldropout.Dropout(p, convention, training=True, mask=mask)(x)), n, p)
    at_test = layer(test(x))
    scale = float(np.linalg.norm(np.abs(W) @ np.abs(x))) / (p if convention == "inverted" else 1.0)
    atol = tol.matvec_atol("float64", (1, n + 2**n), scale)
    err = float(np.linalg.norm(expected - at_test))
    assert err <= atol, "E_mask[train-time layer] != test-time layer: " + ctx(
        W, convention=convention, p=p, expected=expected, test_time=at_test, err=err, atol=atol)
    s = float(np.linalg.norm(W, 2))
    weight = ldropout.test_time_weight(W, p, convention)
    s_test = float(np.linalg.norm(weight, 2))
    L_test = test.lipschitz_upper() * s
    assert abs(s_test - L_test) <= tol.svd_atol(W, W.shape, s) + tol.scalar_rtol(ops=2) * s, \
        "test-time Lipschitz constant is not scale * sigma(W): " + ctx(W, convention=convention, p=p, sigma_test=s_test,
                                                                       expected=L_test)
    return s_test


def check_c14_single_mask(W: np.ndarray, mask: np.ndarray, p: float) -> float:
    """sigma(W D) <= sigma(W) and sigma(W D / p) <= sigma(W) / p for one 0/1 mask D. Returns sigma(W D/p)/sigma(W)."""
    s = float(np.linalg.norm(W, 2))
    sd = float(np.linalg.norm(W * mask, 2))
    atol = tol.svd_atol(W, W.shape, s)
    assert sd <= s + atol, "a dropout mask raised sigma: " + ctx(W, sigma=s, sigma_masked=sd, mask=mask)
    si = float(np.linalg.norm(W * (mask / p), 2))
    assert si <= s / p + atol / p, "inverted mask raised sigma above sigma/p: " + ctx(W, sigma=s, p=p, sigma_inv=si)
    return si / s if s else 0.0


def fails(check: Any, *args: Any, **kwargs: Any) -> bool:
    """Whether ``check`` raises AssertionError on these arguments."""
    try:
        check(*args, **kwargs)
    except AssertionError:
        return True
    return False


def check_error_estimate(sm: Any, method: str, tol_: float, seed: int, **options: Any) -> Any:
    """A converged result's ``error_estimate`` bounds its relative distance to
    the nearest singular value, ``min_j |value - sigma_j| / value`` (what a
    residual bound proves), up to the construction's rounding (``sm.atol``)
    and the float64 rounding of the value (``matvec_atol``)."""
    A = sm.matrix
    r = estimate(A, method, tol=tol_, seed=seed, **options)
    if not r.converged:
        return r
    value = float(r.value)
    err = float(np.min(np.abs(value - sm.s))) / value
    slack = (sm.atol + tol.matvec_atol(A, A.shape, fro(A))) / value
    assert err <= float(r.error_estimate) + slack, ctx(
        A, method=method, options=options, tol=tol_, delta=sm.params.get("delta"), value=value,
        sigma=sm.sigma_max, error=err, error_estimate=float(r.error_estimate), slack=slack)
    return r
