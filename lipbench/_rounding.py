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
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "U64", "ETA", "TERMS", "unit_roundoff", "smallest_subnormal", "gamma", "term", "up", "dn",
    "gamma_up", "sum_bounds", "norm_bounds", "abs_sum_upper", "product_error", "lower_from_product",
    "fro2_from_trace", "gram_error", "rump_shift", "subnormal_loss", "conversion_error", "duplicate_error",
    "scale_back", "rescale_slack", "one_rounding",
    "prod_up", "sum_up", "sqrt_int_up", "within", "fro_bounds",
]

U64 = 2.0**-53
#: smallest positive (subnormal) float64: what one underflowing operation loses at most, twice over
ETA = 2.0**-1074

#: Every rounding term of every certified bound: name -> (what it bounds, where it is derived).
#: ``lipbench.testing.weakened(name, factor)`` multiplies one of them.
TERMS: dict[str, str] = {
    "sum_gamma": "relative error gamma_c of a sum of c non-negative terms in any order (norms, traces)",
    "sum_underflow": "c eta / 2: squares that underflow in a sum of c squares",
    "rescale_underflow": "(1 + gamma_c) r eta / 2: r partial sums of a sum of c terms moved to a smaller "
                         "power of two (the one-pass summary's running scale), each rounding below the normal range",
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
    "duplicates": "gamma_{k-1} sum |a|: a sparse matrix's duplicate entries (k per position) summed",
    "scale_back": "the result multiplied back by its power of two, rounded outward (1) or to nearest (0)",
    "gram_iteration": "the Gram iteration's per-step product and normalization roundings",
    "conv_assembly": "gamma_{K-1} || |A| ||_F: a convolution's matrix assembled from unit vectors, "
                     "each entry a sum of at most K kernel taps",
    "conv_gram": "gamma_k sigma(|A|)^2 + N c P eta: a convolution's Gram matrix summed from its kernel's "
                 "autocorrelation, k = c + d + 1 roundings per product of c (conv_gram_error)",
    "conv_embedding": "sqrt 2 (gamma_T (1 + e_z) + e_z) ||sum_t |W_t| ||_F + underflow: a DFT block summed over T taps "
                      "with twiddles off by e_z (conv_embedding_error)",
    "chain_merge": "gamma_n ||F||_F ||X||_F + n eta sqrt(size) per step: a chain's linear layers multiplied "
                   "out (network_chain)",
    "pattern_products": "the same per step for the activation-pattern products W_l D ... D W_1 (pattern_bound)",
    "psd_entries": "u / (1 - u) ||M||_F + n eta / 2: a PSD check's matrix, each entry its exact value rounded",
    "eclipse_multiplier": "|fl(lambda b / 2) - lambda b / 2| ||W||_F: ECLipsE-Fast's rounded multiplier "
                          "in the off-diagonal block",
    "lipsdp_assembly": "the LipSDP LMI assembled in floats: the products W^T T W, T W, W1 W1^T, each block's "
                       "multipliers and sums (lipsdp_verify)",
    "one_rounding": "u / (1 - u) |fl(x)|: one addition or subtraction rounded (the branch and bound's block "
                    "relaxation: mu added on a diagonal, lambda_min subtracted; the first-layer reduction's "
                    "Gram difference)",
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


def sqrt_up(x: Any) -> Any:
    """An upper bound on sqrt(x) (correctly rounded sqrt, stepped up)."""
    return up(np.sqrt(x)) if isinstance(x, np.ndarray) else up(math.sqrt(x))


def sqrt_dn(x: Any) -> Any:
    """A lower bound on sqrt(max(x, 0)), never negative."""
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
    if kind == "rescale_under":  # (1 + gamma_a) b eta / 2
        return (up((1 + _gamma_q(a)) * b * eta / 2 * f),)
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


def rescale_slack(count: int, rescaled: int) -> float:
    """Bound on what ``rescaled`` partial sums of a sum of ``count`` non-negative
    terms lose when each is multiplied once by a power of two ``2^-j <= 1`` (a
    blockwise sum moved to a smaller common scale): such a product is exact
    unless it lands below the normal range, where it rounds to nearest, by at
    most ``eta / 2``; each such error then passes through at most ``count - 1``
    of the additions that follow (and later rescalings, which only shrink it),
    so the computed sum s obeys "Sums" with ``s -+ (1 + gamma_count) rescaled
    eta / 2`` in place of s (term ``rescale_underflow``; docs/certify.md, "Sums
    under a running scale").  0 when nothing was rescaled."""
    if rescaled <= 0:
        return 0.0
    return _const("rescale_under", max(int(count), 1), int(rescaled), term("rescale_underflow"))[0]


def norm_bounds(ss: Any, count: int) -> tuple[Any, Any]:
    """``(lo, hi)`` around ``sqrt(sum x_i^2)`` from the computed sum of squares ``ss``."""
    lo, hi = sum_bounds(ss, count)
    return sqrt_dn(lo), sqrt_up(hi)


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


def conversion_error(fro_up: float, k: int = 1) -> float:
    """Bound on ``||A - fl64(A)||_2`` for integers converted to float64 (each
    value off by at most ``u |fl(a)| / (1 - u)``; ``fro_up`` bounds the
    Frobenius norm of the converted values).  When each entry of A is the sum of
    at most ``k`` converted values (a sparse matrix's duplicates), the summed
    errors are at most ``sqrt(k)`` times larger in Frobenius norm (Cauchy-Schwarz)."""
    return up(Fraction(U64) / (1 - Fraction(U64)) * Fraction(fro_up) * Fraction(sqrt_int_up(k))
              * Fraction(term("conversion")))


def duplicate_error(k: int, abs_total: float, dtype: Any) -> float:
    """Bound on ``||fl(A) - A||_2`` when a sparse matrix's duplicate entries, at most
    k per position and of absolute sum at most ``abs_total``, are summed in ``dtype``:
    ``gamma_{k-1} abs_total`` (Higham sec. 4.2; ``||.||_2 <= ||.||_F <=`` the entrywise sum)."""
    u = Fraction(unit_roundoff(dtype))
    ku = (int(k) - 1) * u
    return up(ku / (1 - ku) * Fraction(abs_total) * Fraction(term("duplicates")))


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
                r = np.where(np.isfinite(r) & (back > arr), np.nextafter(r, -np.inf), r)
                r = np.where(np.isinf(r) & np.isfinite(arr), np.finfo(np.float64).max * np.sign(arr), r)
            else:
                r = np.where(np.isfinite(r) & (back < arr), np.nextafter(r, np.inf), r)
    return float(r) if r.ndim == 0 else r


# ------------------------------------------------ outward arithmetic of bounds
def _nonnegative(values: Iterable[Any], what: str) -> list[float]:
    vals = [float(v) for v in values]
    bad = [v for v in vals if not v >= 0]
    if bad:
        raise ValueError(f"{what} takes non-negative numbers; got {bad[0]}")
    return vals


def prod_up(values: Iterable[Any]) -> float:
    """An upper bound on the exact product of non-negative floats: the rational
    product rounded up once (exact when representable; 0 if a factor is 0,
    else inf if one is inf)."""
    vals = _nonnegative(values, "prod_up")
    if any(v == 0 for v in vals):
        return 0.0
    if any(math.isinf(v) for v in vals):
        return math.inf
    return up(math.prod((Fraction(v) for v in vals), start=Fraction(1)))


def sum_up(values: Iterable[Any]) -> float:
    """An upper bound on the exact sum of a few non-negative floats (rational sum, rounded up once)."""
    vals = _nonnegative(values, "sum_up")
    if any(math.isinf(v) for v in vals):
        return math.inf
    return up(sum((Fraction(v) for v in vals), Fraction(0)))


def sqrt_int_up(n: int) -> float:
    """An upper bound on sqrt(n) for an integer n >= 0 (exact for perfect squares)."""
    r = math.isqrt(int(n))
    return float(r) if r * r == n else up(math.sqrt(n))


def within(lower: float, upper: float, tol: float) -> bool:
    """Whether ``upper - lower <= tol lower`` exactly (both 0 counts; inf never)."""
    if not (math.isfinite(upper) and lower > 0):
        return upper == lower == 0.0
    return Fraction(upper) - Fraction(lower) <= Fraction(tol) * Fraction(lower)


def all_within(lower: Any, upper: Any, tol: float) -> bool:
    """:func:`within` for every pair of two arrays: decided in floats, stepped one
    float outward (a rounded difference and product are within half an ulp),
    and exactly only for the pairs that floats leave undecided."""
    lo, hi = np.ravel(np.asarray(lower, dtype=np.float64)), np.ravel(np.asarray(upper, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        sure = np.nextafter(hi - lo, np.inf) <= np.nextafter(tol * lo, -np.inf)
    sure &= np.isfinite(hi) & (lo > 0)
    return all(within(float(a), float(b), tol) for a, b in zip(lo[~sure], hi[~sure]))


def fro_bounds(A: Any) -> tuple[float, float]:
    """``(lo, hi)`` with ``lo <= ||A||_F <= hi`` for a float array, its squares
    summed in any order (:func:`lipbench._rounding.norm_bounds`).  A is scaled by
    ``2^-e`` first (its largest entry in [1/2, 1)): scaling up is exact, scaling
    down loses at most half a subnormal per entry (``subnormal_loss``)."""
    a = np.asarray(A, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return 0.0, 0.0
    peak = float(np.max(np.abs(a)))
    if not math.isfinite(peak):
        return 0.0, math.inf
    if peak == 0.0:
        return 0.0, 0.0
    e = min(math.frexp(peak)[1], 1023)  # 2^e stays a finite float
    b = np.ldexp(a, -e)
    lo, hi = norm_bounds(float(np.vdot(b, b)), a.size)
    if e > 0:  # scaled down: entries may have rounded into the subnormal range
        loss = subnormal_loss(a.size, "float64")
        lo, hi = max(dn(lo - loss), 0.0), up(hi + loss)
    s = math.ldexp(1.0, e)
    return scale_back(float(lo), s, "down"), scale_back(float(hi), s, "up")


def one_rounding(abs_computed: Any) -> Any:
    """Bound on ``|fl(x) - x|`` for x the exact result of one addition or subtraction of floats,
    from ``|fl(x)| <= abs_computed``: ``|fl(x) - x| <= u |x|`` and ``|x| <= |fl(x)| / (1 - u)``,
    so ``u / (1 - u) |fl(x)|`` (an addition never underflows; term ``one_rounding``)."""
    rel = up(Fraction(U64) / (1 - Fraction(U64)) * Fraction(term("one_rounding")))
    return up(rel * abs_computed)
