"""A convolution's norm certified through its Gram matrix on the smaller side.

``sigma_max(A)^2 = lambda_max(A^T A) = lambda_max(A A^T)``; with ``N`` the
smaller of the two sides (per group: groups make ``A`` block-diagonal), the
N x N Gram matrix is assembled straight from the kernel, no dense ``A``:
writing ``A = sum_t W_t (x) S^1_{t_1} (x) ... (x) S^d_{t_d}`` (``W_t`` the
channel matrix of tap t, ``S^a_j`` the 0/1 map that reads tap j on axis a,
padding included),

    A^T A = sum_{t, t'} (W_t^T W_t') (x) (S^1_{t_1}^T S^1_{t'_1}) (x) ... ,

a contraction of the kernel's ``T^2`` channel products with d small integer
count matrices (``A A^T`` likewise with ``W_t W_t'^T`` and ``S S^T``).  Cost:
``O(c T^2 C^2 + T^2 N^2 / C)`` flops for the assembly, then one Cholesky
factorization (N^3 / 3) per tested t.

Proof of the bracket:

* rounding of the assembly (:func:`lipbench._rounding_maps.conv_gram_error`, term
  ``conv_gram``): every entry is a sum of ``c T^2`` products of two taps and d
  counts, in any order, so ``||G~ - G||_2 <= gamma_{cT^2+d+1} sigma(B)^2 +``
  underflow, ``B`` the convolution with ``|W|`` (Higham, *Accuracy and
  Stability*, 2nd ed., Lemmas 3.1, 3.3), ``sigma(B)`` bounded by
  :func:`~.conv_bound.conv_upper_bound`;
* upper end: ``t^2 I - G = (t^2 I - G~ - E I) + (E I + G~ - G)`` with
  ``E >= ||G~ - G||_2``, and Rump's test (a floating-point Cholesky of
  ``M - c I`` that completes proves M positive definite; S. M. Rump, BIT 46
  (2006), Cor. 2.4, as in :func:`lipbench.spectral.certify.verify_positive_definite`)
  on M, ``-G~`` off the diagonal (the triangle LAPACK reads: each entry is a
  computed entry, within the same bound) and ``t^2 - G~_ii - E`` rounded down
  on it, proves ``sigma_max(A) < t``;
* lower end: the top eigenvector of the Gram operator (ARPACK through the
  convolution and its adjoint, or LAPACK on ``G~`` for small N),
  mapped to the operator's input and fed to :func:`.conv_routes.vector_lower`
  (``||A v|| / ||v||`` through the convolution, its rounding bounded; passed
  in by the route, so that imports run one way).

Size limits (per group, and all groups' matrices together, :func:`gram_fits`):
:data:`GRAM_AUTO_SIDE` = 4096 for ``method="auto"`` and :data:`GRAM_MAX_SIDE` =
8192 for ``certify=True``.  Memory is about ``3 N^2`` floats (the matrix, the
copy LAPACK factors, a transient), 1.5 GB at 8192, and the Cholesky's
``N^3 / 3`` flops grow 8x per doubling: 4096 stays within seconds on two
cores, 8192 within a minute or two (docs/convolutions.md, "Measured").
Rump's floor, ``~ N^2 u / 2`` relative, is 4e-9 at 8192: still below the
default tol, not far beyond.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._rounding import abs_sum_upper, dn, gamma, rump_shift, up, within
from .._rounding_maps import conv_gram_error
from .conv_bound import conv_upper_bound
from .conv_map import ConvGeometry, conv_operator

__all__ = ["GRAM_AUTO_SIDE", "GRAM_MAX_SIDE", "gram_side", "gram_fits", "spatial_maps", "assemble_gram",
           "gram_rounding", "gram_bracket"]

#: ``method="auto"`` takes the Gram route up to this smaller side (per group; :func:`gram_fits`)
GRAM_AUTO_SIDE = 4096
#: ``certify=True`` takes it up to this smaller side (per group); beyond, proven bounds only
GRAM_MAX_SIDE = 8192
#: Cholesky tests per group at widening t before giving up the upper end
_TESTS = 6


def gram_side(g: ConvGeometry) -> tuple[str, int]:
    """``("right", N)`` for ``A^T A`` or ``("left", N)`` for ``A A^T`` (forward map,
    one group), whichever is smaller."""
    right = (g.in_channels // g.groups) * math.prod(g.in_spatial)
    left = (g.out_channels // g.groups) * math.prod(g.out_spatial)
    return ("right", right) if right <= left else ("left", left)


def gram_fits(g: ConvGeometry, limit: int) -> bool:
    """Whether the Gram route stays within ``limit``: its smaller side at most
    ``limit`` and all groups' matrices together at most ``limit^2`` entries
    (a depthwise layer holds one matrix per channel)."""
    n = gram_side(g)[1]
    return n <= limit and g.groups * n * n <= limit * limit


def spatial_maps(g: ConvGeometry, axis: int) -> np.ndarray:
    """``S[j]`` (k, out, in) along ``axis``: 1 where output i reads input p through tap j
    (padding resolved to its source; a zero reads nothing)."""
    idx = g.pad_index(axis)
    k, n_out = g.kernel_size[axis], g.out_spatial[axis]
    S = np.zeros((k, n_out, g.in_spatial[axis]))
    rows = np.arange(n_out)
    for j in range(k):
        src = idx[rows * g.stride[axis] + j * g.dilation[axis]]
        ok = src >= 0
        S[j, rows[ok], src[ok]] = 1.0  # one source per (output, tap)
    return S


def _oriented(g: ConvGeometry, side: str) -> list[np.ndarray]:
    """The spatial maps of every axis, transposed for ``A A^T`` (side ``"left"``)."""
    maps = [spatial_maps(g, ax) for ax in range(g.ndim)]
    return maps if side == "right" else [S.transpose(0, 2, 1) for S in maps]


def _pair_counts(S: np.ndarray) -> np.ndarray:
    """``S_j^T S_l`` for every tap pair of one axis, (k, k, n, n): small integers, exact."""
    return np.einsum("jip,liq->jlpq", S, S)


def assemble_gram(g: ConvGeometry, group: int, side: str) -> np.ndarray:
    """The Gram matrix of one group's forward map on ``side`` (not symmetrized: the
    test reads one triangle).  Axis by axis, ``Z <- sum_{j, l} Z[j, l] (x) S_j^T S_l``,
    so the last axis leaves rows and columns in the operator's (channel, *spatial) order."""
    d = g.ndim
    co = g.out_channels // g.groups
    F = g.weight[group * co:(group + 1) * co].reshape(co, g.weight.shape[1], -1)  # (co, ci, T)
    if side == "left":
        F = F.transpose(1, 0, 2)
    c = F.shape[1]
    Z = np.einsum("oat,obs->tsab", F, F).reshape(g.kernel_size * 2 + (c, c))
    Z = Z.transpose([i for ax in range(d) for i in (ax, d + ax)] + [2 * d, 2 * d + 1])  # (j1, l1, j2, l2, ..)
    for S in _oriented(g, side):
        P = _pair_counts(S)
        rows, cols, n = Z.shape[-2], Z.shape[-1], P.shape[-1]
        Z = np.einsum("jl...AB,jlpq->...ApBq", Z, P).reshape(Z.shape[2:-2] + (rows * n, cols * n))
    return Z


def gram_rounding(g: ConvGeometry) -> float:
    """The bound ``E >= ||G~ - G||_2`` on every group's assembled Gram matrix
    (:func:`lipbench._rounding_maps.conv_gram_error`): ``c T^2`` products per entry
    (c the channels summed: C_out/G on the right, C_in/G on the left), the
    largest product of the counts, and ``sigma(B)`` from :func:`conv_upper_bound`."""
    side, n = gram_side(g)
    c = (g.out_channels if side == "right" else g.in_channels) // g.groups
    T = math.prod(g.kernel_size)
    peak = math.prod(int(_pair_counts(S).max()) for S in _oriented(g, side))
    abs_sigma = conv_upper_bound(dataclasses.replace(g, weight=np.abs(g.weight)), g.in_spatial)
    return conv_gram_error(abs_sigma, c * T * T, g.ndim, n, peak)


def _group_normal(g: ConvGeometry, group: int, side: str) -> Any:
    """One group's ``A^T A`` (side ``"right"``) or ``A A^T`` as a ``LinearOperator``
    through the convolution and its adjoint: a product costs two convolutions,
    far less than one with the N x N Gram matrix."""
    from scipy.sparse.linalg import LinearOperator

    op = conv_operator(g, ())
    A, At = (op.rmatvec, op.matvec) if g.transposed else (op.matvec, op.rmatvec)
    first, second = (A, At) if side == "right" else (At, A)
    channels, spatial = (g.in_channels, g.in_spatial) if side == "right" else (g.out_channels, g.out_spatial)
    per, size = channels // g.groups, math.prod(spatial)
    rows = slice(group * per * size, (group + 1) * per * size)

    def matvec(x: np.ndarray) -> np.ndarray:
        full = np.zeros(channels * size)
        full[rows] = np.ravel(x)
        return second(first(full))[rows]

    return LinearOperator((per * size, per * size), matvec=matvec, rmatvec=matvec, dtype=np.float64)


def _top_pair(g: ConvGeometry, group: int, side: str, G: np.ndarray, tol: float,
              seed: int | None) -> tuple[float, np.ndarray]:
    """The group's largest Gram eigenvalue and its vector (estimates): LAPACK on
    ``G`` for small N, else ARPACK on :func:`_group_normal`."""
    n = G.shape[0]
    if n <= 512:
        from scipy.linalg import eigh

        w, v = eigh(G, subset_by_index=[n - 1, n - 1])
        return float(w[0]), v[:, 0]
    from scipy.sparse.linalg import eigsh

    v0 = np.random.default_rng(0 if seed is None else seed).standard_normal(n)
    w, v = eigsh(_group_normal(g, group, side), k=1, which="LA", v0=v0, tol=min(1e-10, tol / 100))
    return float(w[0]), v[:, 0]


def _user_vector(g: ConvGeometry, group: int, side: str, v: np.ndarray) -> np.ndarray:
    """The Gram's eigenvector as an input of the operator the user asked about
    (through the adjoint when it lives on the operator's output side)."""
    on_input = side == "right"
    channels, spatial = (g.in_channels, g.in_spatial) if on_input else (g.out_channels, g.out_spatial)
    per = channels // g.groups
    full = np.zeros((channels, math.prod(spatial)))
    full[group * per:(group + 1) * per] = v.reshape(per, -1)
    if on_input != g.transposed:  # the user's operator reads this space
        return full.reshape(-1)
    return conv_operator(g, ()).rmatvec(full.reshape(-1))


def _rump_factor(neg: np.ndarray, diag: np.ndarray, t: float, err: float) -> np.ndarray | None:
    """Rump's test on ``M = t^2 I - G~ - err I``: off the diagonal ``-G~`` as LAPACK
    reads one triangle, on it ``t^2 - G~_ii - err`` rounded down, minus Rump's
    shift c (:func:`lipbench._rounding.rump_shift`, rounded down).  A factor (not
    None) proves ``lambda_max(G) < t^2`` for every symmetric G within ``err`` of
    the matrix read (module doc); None proves nothing."""
    from scipy.linalg import lapack

    n = diag.size
    x = np.nextafter(np.nextafter(dn(t * t) - diag, -np.inf) - err, -np.inf)  # <= t^2 - G~_ii - err
    if not np.all(x > 0):
        return None
    c = rump_shift(abs_sum_upper(float(np.sum(x)), n), float(x.max()), n)
    newdiag = np.nextafter(x - c, -np.inf)
    if not np.all(newdiag > 0):
        return None
    M = np.array(neg, order="F")
    np.fill_diagonal(M, newdiag)
    R, info = lapack.dpotrf(M, lower=0, clean=0, overwrite_a=1)
    return R if info == 0 else None


def _inverse_iteration(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Three solves with ``M = R^T R``, whose smallest eigenvalue belongs to G's
    largest: the top vector sharpened (an estimate; the lower end is proven
    from it, never assumed)."""
    from scipy.linalg import lapack

    for _ in range(3):
        w, info = lapack.dpotrs(R, v, lower=0)
        if info != 0 or not np.all(np.isfinite(w)) or not np.any(w):
            return v
        v = w / np.max(np.abs(w))
    return v


def _rump_floor(n: int, trace: float, base: float, err: float) -> float:
    """About the smallest relative step above ``base`` that Rump's test can prove:
    its shift ``gamma_{n+2} tr(t^2 I - G~)`` and ``err``, relative to ``t^2``, halved
    for sigma (an estimate that places the first t; the test itself decides)."""
    if base <= 0:
        return 0.0
    b2 = base * base
    return gamma(n + 2) * max(n - trace / b2, 0.0) / 2 + err / (2 * b2)


def gram_bracket(g: ConvGeometry, tol: float, seed: int | None,
                 vector_lower: Callable[[ConvGeometry, np.ndarray], float]) -> tuple[float, float, dict[str, Any]]:
    """``(lower, upper, info)``, both ends proven (module doc); ``upper`` is
    :func:`conv_upper_bound` when no test passed within :data:`_TESTS` widenings;
    ``vector_lower(g, x)`` is the proven ``||A x|| / ||x||`` (:func:`.conv_routes.vector_lower`).

    Per group: the Gram matrix, its top pair (ARPACK), the lower end from the
    vector.  Then ``t = base (1 + w)`` (base: the largest lower end or Ritz
    value; w: tol / 4, or 1.5 times Rump's floor where that is larger) is
    tested on every group, w widened 8x on a failure; when the lower end is
    then not within tol of t, the vectors are sharpened by inverse iteration
    with their factors and t tested once more from the new lower end."""
    side, n = gram_side(g)
    err = gram_rounding(g)
    groups: list[dict[str, Any]] = []
    for group in range(g.groups):
        G = assemble_gram(g, group, side)
        if not np.all(np.isfinite(G)):
            raise ValueError(f"the Gram matrix of {g.describe()} overflows; scale the kernel by a power of two")
        lam, v = _top_pair(g, group, side, G, tol, seed)
        groups.append({"neg": np.negative(G, out=G).T, "diag": -np.diagonal(G), "lam": lam, "v": v,
                       "lower": vector_lower(g, _user_vector(g, group, side, v))})
    lower = max(r["lower"] for r in groups)
    base = max(lower, math.sqrt(max(max(r["lam"] for r in groups), 0.0)))
    bound = conv_upper_bound(g, g.in_spatial)
    first = max(tol / 4, 1.5 * _rump_floor(n, max(float(np.sum(r["diag"])) for r in groups), base, err))
    upper, tests, proven, width = bound, 0, False, first
    factors: list[np.ndarray | None] = []
    for _ in range(_TESTS):
        t = up(base * (1 + width))
        if t >= bound:
            break
        factors = [_rump_factor(r["neg"], r["diag"], t, err) for r in groups]
        tests += len(groups)
        if all(f is not None for f in factors):
            upper, proven = t, True
            break
        width *= 8
    if proven and not within(lower, upper, tol):  # sharpen the vectors, test once more
        for i, (r, R) in enumerate(zip(groups, factors)):
            if R is not None:
                sharp = _user_vector(g, i, side, _inverse_iteration(R, r["v"]))
                r["lower"] = max(r["lower"], vector_lower(g, sharp))
        lower = max(r["lower"] for r in groups)
        t = up(lower * (1 + first))
        tests += len(groups)
        if t < upper and all(_rump_factor(r["neg"], r["diag"], t, err) is not None for r in groups):
            upper = t
    info = {"side": side, "size": n, "groups": g.groups, "gram_error": err, "tests": tests, "proven": proven}
    return min(lower, upper), upper, info


