"""The one rounding model behind every bound lipbench certifies.

Model (IEEE 754 binary64, round to nearest, gradual underflow): an operation
returns ``fl(a op b) = (a op b)(1 + d) + e`` with ``|d| <= u = 2^-53`` and
``|e| <= eta / 2``, ``eta = 2^-1074`` (``d e = 0``; additions and subtractions
never underflow, ``e = 0``).  Higham's ``gamma_k = k u / (1 - k u)`` bounds k
such roundings in a row (*Accuracy and Stability of Numerical Algorithms*, 2nd
ed., Lemma 3.1); a sum of c terms computed in **any** order (a BLAS, a GPU
reduction, Dask's tree) sends each term through at most c - 1 additions
(Higham sec. 4.2), so the bounds below never assume an order.

Every proof lives in ``docs/certify.md``; each bound's rounding is one *term*
of :data:`TERMS`, computed here and nowhere else, so that a test can weaken a
single term (``lipbench.testing.weakened``) and watch a test fail.

Arithmetic of the bounds themselves: every function returns a float (or a
NumPy array) that is rounded *outward*: each operation is followed by one
step to the next float in the safe direction (:func:`dn`, :func:`up`).  A
correctly rounded result r of an exact x lies within half a spacing of x on
either side, so the next float beyond r is on the safe side of x, normal or
subnormal.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "U64", "ETA", "TERMS", "unit_roundoff", "smallest_subnormal", "gamma", "term", "up", "dn",
    "gamma_up", "sum_bounds", "norm_bounds", "abs_sum_upper", "product_error", "lower_from_product",
    "fro2_from_trace", "gram_error", "rump_shift", "subnormal_loss", "conversion_error", "scale_back",
    "svd_backward_p", "svd_error", "gram_rounding_floor", "residual_floor", "inertia_floor",
    "certificate_floor",
]

U64 = 2.0**-53
#: smallest positive (subnormal) float64: what one underflowing operation loses at most, twice over
ETA = 2.0**-1074

#: Every rounding term of every certified bound: name -> (what it bounds, where it is derived).
#: ``lipbench.testing.weakened(name, factor)`` multiplies one of them.
TERMS: dict[str, str] = {
    "sum_gamma": "relative error gamma_c of a sum of c non-negative terms in any order (norms, traces)",
    "sum_underflow": "c eta / 2: squares that underflow in a sum of c squares",
    "product_gamma": "gamma_k ||A||_F ||v||: a computed product A v, k terms per entry",
    "product_underflow": "(1 + gamma_k) sqrt(m) k eta / 2: products that underflow in A v",
    "gram_gamma": "gamma_M ||A||_F^2: the computed Gram matrix, inner products of length M",
    "gram_underflow": "(1 + gamma_M) N M eta / 2: products that underflow in the Gram matrix",
    "fro_from_trace": "||A||_F^2 <= (tr fl(G) + N M eta) / (1 - gamma_M): the Frobenius norm from the Gram diagonal",
    "rump_gamma": "Rump's gamma_{N+2} / (1 - gamma_{2N+4}) tr(M): the Cholesky factorization's rounding",
    "rump_underflow": "Rump's 4 eta N (2 (N + 1) + max M_ii): underflow in the Cholesky factorization",
    "diagonal_steps": "t^2 and t^2 - G_ii - s stepped one float toward -inf (1: stepped, 0: rounded to nearest)",
    "scale_underflow": "sqrt(mn) eta_dtype / 2: entries scaled down into the subnormal range",
    "conversion": "u ||A||_F / (1 - u): integers beyond 2^53 converted to float64",
    "scale_back": "the result multiplied back by its power of two, rounded outward (1) or to nearest (0)",
    "gram_iteration": "the Gram iteration's per-step product, symmetrization and normalization roundings",
}

_FACTORS: dict[str, float] = {}


def term(name: str) -> float:
    """The factor on rounding term ``name`` (1 unless a test weakened it)."""
    return _FACTORS.get(name, 1.0)


def unit_roundoff(dtype: Any) -> float:
    """u = eps / 2 of a float dtype (name, NumPy dtype or array-API dtype)."""
    return float(np.finfo(np.dtype(str(dtype).split(".")[-1])).eps) / 2


def smallest_subnormal(dtype: Any) -> float:
    """The smallest positive float of ``dtype`` (the spacing of its subnormals)."""
    return float(np.finfo(np.dtype(str(dtype).split(".")[-1])).smallest_subnormal)


def gamma(k: int, dtype: Any = "float64") -> float:
    """Higham's ``gamma_k = k u / (1 - k u)`` (a float: for floors and estimates;
    proofs use :func:`gamma_up`)."""
    ku = k * unit_roundoff(dtype)
    return ku / (1 - ku)


# ----------------------------------------------------------- directed rounding
def up(x: Any) -> Any:
    """The next float above x (after an operation: above the exact result)."""
    if isinstance(x, Fraction):
        try:
            f = float(x)  # correctly rounded
        except OverflowError:
            return math.inf
        return f if Fraction(f) >= x else math.nextafter(f, math.inf)
    return np.nextafter(x, np.inf) if isinstance(x, np.ndarray) else math.nextafter(float(x), math.inf)


def dn(x: Any) -> Any:
    """The next float below x (after an operation: below the exact result)."""
    if isinstance(x, Fraction):
        try:
            f = float(x)
        except OverflowError:
            return -math.inf if x < 0 else float(np.finfo(np.float64).max)
        return f if Fraction(f) <= x else math.nextafter(f, -math.inf)
    return np.nextafter(x, -np.inf) if isinstance(x, np.ndarray) else math.nextafter(float(x), -math.inf)


def _sqrt_up(x: Any) -> Any:
    return up(np.sqrt(x)) if isinstance(x, np.ndarray) else up(math.sqrt(x))


def _sqrt_dn(x: Any) -> Any:
    x = np.maximum(x, 0.0) if isinstance(x, np.ndarray) else max(float(x), 0.0)
    r = dn(np.sqrt(x)) if isinstance(x, np.ndarray) else dn(math.sqrt(x))
    return np.maximum(r, 0.0) if isinstance(r, np.ndarray) else max(r, 0.0)


def _gamma_q(k: int, u: Fraction = Fraction(U64)) -> Fraction:
    ku = k * u
    if ku >= 1:
        return Fraction(10**300)  # no bound: the caller's result is inf
    return ku / (1 - ku)


@functools.lru_cache(maxsize=4096)
def _const(kind: str, a: int, b: int, factor: float, factor2: float = 1.0) -> tuple[float, ...]:
    """The bounds' constants, computed once in exact arithmetic and rounded
    outward (cached: they depend on sizes and the terms' factors only)."""
    f, f2, eta = Fraction(factor), Fraction(factor2), Fraction(ETA)
    if kind == "gamma":  # gamma_a
        return (up(_gamma_q(a) * f),)
    if kind == "sum_under":  # a eta / 2
        return (up(a * eta / 2 * f),)
    if kind == "product_under":  # (1 + gamma_a) sqrt(b) a eta / 2
        return (up((1 + _gamma_q(a)) * Fraction(up(math.sqrt(b))) * a * eta / 2 * f),)
    if kind == "fro":  # (N M eta, 1 - gamma_M) for an a x b matrix
        big, k = max(a, b), min(a, b)
        g = _gamma_q(big) * f
        return (up(k * big * eta), dn(1 - g) if g < 1 else 0.0)
    if kind == "gram":  # (gamma_M, (1 + gamma_M) N M eta / 2)
        big, k = max(a, b), min(a, b)
        return (up(_gamma_q(big) * f), up((1 + _gamma_q(big)) * k * big * eta / 2 * f2))
    if kind == "rump":  # (gamma_{n+2} / (1 - gamma_{2n+4}), 4 eta n)
        return (up(_gamma_q(a + 2) / (1 - _gamma_q(2 * a + 4)) * f), up(4 * eta * a * f2))
    raise ValueError(kind)


def gamma_up(k: int, name: str = "sum_gamma") -> float:
    """``gamma_k`` rounded up, times the factor on term ``name``."""
    return _const("gamma", int(k), 0, term(name))[0]


# ----------------------------------------------------------------- reductions
def sum_bounds(s: Any, count: int, *, squares: bool = True) -> tuple[Any, Any]:
    """``(lo, hi)`` with ``lo <= sum_i y_i <= hi`` for a computed float64 sum
    ``s`` of ``count`` non-negative terms in any order: squares ``y_i = x_i^2``
    (each rounded once, may underflow) or exact terms such as |x_i|.

    ``s >= (1 - gamma_c) sum - c eta/2`` and ``s <= (1 + gamma_c) sum + c eta/2``
    (``c = count``; docs/certify.md, "Sums")."""
    c = max(int(count), 1)
    g = gamma_up(c)
    under = _const("sum_under", c, 0, term("sum_underflow"))[0] if squares else 0.0
    lo = dn(dn(s / up(1 + g)) - under)
    hi = up(up(s + under) / dn(1 - g)) if g < 1 else math.inf
    lo = np.maximum(lo, 0.0) if isinstance(lo, np.ndarray) else max(lo, 0.0)
    return lo, hi


def norm_bounds(ss: Any, count: int) -> tuple[Any, Any]:
    """``(lo, hi)`` around ``sqrt(sum x_i^2)`` from the computed sum of squares ``ss``."""
    lo, hi = sum_bounds(ss, count)
    return _sqrt_dn(lo), _sqrt_up(hi)


def abs_sum_upper(s: Any, count: int) -> Any:
    """Upper bound on a sum of ``count`` absolute values computed as ``s``."""
    return sum_bounds(s, count, squares=False)[1]


# ------------------------------------------------------------------- products
def product_error(k: int, rows: int, fro_up: Any, v_norm_up: Any) -> Any:
    """Bound on ``||fl(A v) - A v||_2`` (float64 products, k terms per entry,
    m = ``rows`` entries): ``gamma_k ||A||_F ||v|| + (1 + gamma_k) sqrt(m) k
    eta / 2`` (Higham Thm 3.5 with underflow: each entry is off by ``gamma_k
    (|A||v|)_i + (1 + gamma_k) k eta / 2``; any order, fused multiply-add or not)."""
    g = gamma_up(k, "product_gamma")
    under = _const("product_under", int(k), int(rows), term("product_underflow"))[0]
    return up(up(up(g * fro_up) * v_norm_up) + under)


def lower_from_product(ss_w: Any, rows: int, ss_v: Any, cols: int, k: int, fro_up: Any) -> Any:
    """A rigorous lower bound on ``sigma_max(A) >= ||A v|| / ||v||`` from the
    computed sums of squares of ``w = fl(A v)`` (``rows`` entries) and of v
    (``cols`` entries), k terms per entry of the product, ``||A||_F <= fro_up``."""
    w_lo, _ = norm_bounds(ss_w, rows)
    _, v_hi = norm_bounds(ss_v, cols)
    err = product_error(k, rows, fro_up, v_hi)
    num = dn(w_lo - err)
    num = np.maximum(num, 0.0) if isinstance(num, np.ndarray) else max(num, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = dn(num / v_hi)
    return np.where(v_hi > 0, np.maximum(out, 0.0), 0.0) if isinstance(out, np.ndarray) else (
        max(out, 0.0) if v_hi > 0 else 0.0)


# --------------------------------------------------------- Gram and Cholesky
def fro2_from_trace(trace: Any, m: int, n: int) -> Any:
    """Upper bound on ``||A||_F^2`` from ``trace``, an upper bound on the exact
    sum of the computed Gram diagonal: each ``fl(G)_ii`` is at least
    ``(1 - gamma_M) sum_k a_ki^2 - M eta`` (M = max(m, n))."""
    under, one_minus_g = _const("fro", int(m), int(n), term("fro_from_trace"))
    if one_minus_g <= 0:
        return math.inf
    return up(up(trace + under) / one_minus_g)


def gram_error(fro2_up: Any, m: int, n: int) -> Any:
    """Bound on ``||fl(G) - G||_2`` for the Gram matrix of an m x n matrix with
    ``||A||_F^2 <= fro2_up``: ``gamma_M ||A||_F^2 + (1 + gamma_M) N M eta / 2``
    (M = max(m, n) the inner-product length, N = min(m, n); each entry is off by
    ``gamma_M (|A|^T |A|)_ij + (1 + gamma_M) M eta / 2``)."""
    g, under = _const("gram", int(m), int(n), term("gram_gamma"), term("gram_underflow"))
    return up(up(g * fro2_up) + under)


def rump_shift(trace_up: Any, maxdiag_up: Any, n: int) -> Any:
    """Rump's c for an n x n matrix: a floating-point Cholesky of M~ that runs
    to completion proves ``lambda_min(M~) > -c`` when ``tr(M~) <= trace_up``
    and ``max_i M~_ii <= maxdiag_up`` (Rump, BIT 46 (2006), Cor. 2.4, with
    ``gamma_{n+2}`` for his ``gamma_{n+1}``)."""
    kappa, c = _const("rump", int(n), 0, term("rump_gamma"), term("rump_underflow"))
    return up(up(kappa * trace_up) + up(c * up(2 * (n + 1) + maxdiag_up)))


# ------------------------------------------------------------ the input's copy
def subnormal_loss(count: int, dtype: Any) -> float:
    """Bound on ``||A 2^-e - fl(A 2^-e)||_2`` when scaling ``count`` entries of
    ``dtype`` down by a power of two: only results in the subnormal range round,
    each by at most half the dtype's smallest subnormal."""
    return up(Fraction(up(math.sqrt(count))) * Fraction(smallest_subnormal(dtype)) / 2
              * Fraction(term("scale_underflow")))


def conversion_error(fro_up: float) -> float:
    """Bound on ``||A - fl64(A)||_2`` for integers converted to float64 (each
    entry off by at most ``u |fl(a)| / (1 - u)``)."""
    return up(Fraction(U64) / (1 - Fraction(U64)) * Fraction(fro_up) * Fraction(term("conversion")))


def scale_back(x: Any, scale: float, direction: str) -> Any:
    """``x * scale`` (scale a power of two) rounded ``"down"`` or ``"up"``:
    exact unless the result is subnormal or overflows, then outward (an
    overflowing lower end becomes the largest float, an upper end inf)."""
    arr = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        r = arr * scale
        if term("scale_back"):
            back = r / scale
            if direction == "down":
                r = np.where(np.isinf(r) & np.isfinite(arr), np.finfo(np.float64).max * np.sign(arr), r)
                r = np.where(np.isfinite(r) & (back > arr), np.nextafter(r, -np.inf), r)
            else:
                r = np.where(np.isfinite(r) & (back < arr), np.nextafter(r, np.inf), r)
    return float(r) if r.ndim == 0 else r


# ------------------------------------------------------- floors and estimates
#: p = SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL) in the SVD's
#: backward-error estimate p u ||A|| (calibrated, not proven: docs/certify.md)
SVD_BACKWARD_FACTOR = 8
SVD_BACKWARD_SMALL = 4


def svd_backward_p(m: int, n: int) -> int:
    """The calibrated factor p of the SVD's backward-error estimate ``p u ||A||``."""
    return SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL)


def svd_error(top: Any, m: int, n: int, dtype: Any, scale: Any = None) -> tuple[float, Any]:
    """``(p u, delta)``: the SVD's sigma_max ``top`` is estimated within
    ``delta = p u scale / (1 - p u)`` of the truth (``scale = top``, or an
    upper bound on ``||A||_F`` for an iterative SVD).  An estimate: p is calibrated."""
    pu = svd_backward_p(m, n) * unit_roundoff(dtype)
    return pu, (top if scale is None else scale) * pu / (1 - pu)


def gram_rounding_floor(m: int, n: int) -> float:
    """Relative width below which the Gram iteration cannot certify an m x n
    matrix in the worst case: its first product is off by ``gamma_M
    ||A||_F^2 <= N gamma_M sigma^2`` and every later one by at most ``N gamma_N``
    times its own scale, halved once per step (docs/certify.md, "Gram
    iteration"), so ``N (gamma_M + gamma_N) / 2 <= N gamma_M``."""
    return min(m, n) * gamma(max(m, n))


def residual_floor(m: int, n: int, dtype: Any = "float64") -> float:
    """Smallest relative error the residual bound ``||A^T A v - theta^2 v|| /
    (2 theta^2)`` can resolve for an m x n matrix evaluated in ``dtype``: the
    two products are off by ``(m + n + 4) u ||A||_F sigma`` and ``||A||_F <=
    sqrt(min(m, n)) sigma``."""
    return (max(int(m), int(n)) + 2) * math.sqrt(min(int(m), int(n))) * unit_roundoff(dtype)


def inertia_floor(m: int, n: int, fro2_ratio: float | None = None) -> float:
    """Smallest relative width ``(t - sigma) / sigma`` the inertia certificate
    can reach for an m x n matrix with ``||A||_F^2 = fro2_ratio * t^2`` (None:
    the worst case over matrices), scaled so its largest entry is in [1/2, 2).
    ``1 / sqrt(1 - q) - 1`` with q the shift over t^2."""
    k, big = min(m, n), max(m, n)
    r = float(k) if fro2_ratio is None else min(max(float(fro2_ratio), 0.0), float(k))
    kappa = gamma(k + 2) / (1 - gamma(2 * k + 4))
    if fro2_ratio is None:
        q = k * max(gamma(big), kappa)
    else:
        q = gamma(big) * r + kappa * (k - r)
    # eta terms over t^2 >= 1/4, and the diagonal's roundings (8 u)
    q = q * (1 + 8 * U64) + 4 * (k * big * ETA + 4 * ETA * k * (2 * k + 3)) + 8 * U64
    return 1 / math.sqrt(1 - q) - 1 if q < 1 else math.inf


def certificate_floor(dtype: Any, m: int, n: int) -> float:
    """Smallest relative width the inertia certificate can reach for any m x n
    matrix of ``dtype`` (float16/32/64; all are certified in float64):
    ``1/sqrt(1 - q) - 1 ~ q/2`` with ``q = N max(gamma_M, gamma_{N+2}/(1 -
    gamma_{2N+4})) + 8 u``, N = min(m, n), M = max(m, n)."""
    name = np.dtype(str(dtype).split(".")[-1]).name
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"dtype {name!r} has no certificate; use float16, float32 or float64")
    if int(m) < 1 or int(n) < 1:
        raise ValueError(f"shape must be two positive integers; got ({m}, {n})")
    return inertia_floor(int(m), int(n))
