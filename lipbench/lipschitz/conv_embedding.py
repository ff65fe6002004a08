"""A proven upper bound on a convolution's norm from its circular embedding.

Past the Gram route's size, the tightest upper end measured is the circular
embedding (:func:`.conv_fft.embedding_upper`): ``A = V S C P`` with ``P`` the
padding onto the grid ``N' = L + pads`` (rounded up to a multiple of the
stride), ``C`` the circular correlation on it, ``S`` the stride's subsampling
and ``V`` the rows that are A's outputs, so ``||A|| <= ||S C|| ||P||``.  With
``B(w) = sum_t W_t z_t(w)`` the DFT blocks, ``||C|| = max_w sigma(B(w))``
(Sedghi, Gupta & Long, ICLR 2019); with stride ``s`` on the reduced grid
``N'/s``, each output frequency v gathers the K = prod(s) input frequencies
``w = v + k N'/s`` that alias to it, so ``||S C|| = max_v sigma(M(v)) / sqrt K``
with ``M(v) = [B(v + k N'/s)]_k`` the blocks side by side (the polyphase
form; K = 1 for stride 1).  There its FFT's rounding constants are
calibrated; here every step is proven instead, for any stride, dilation,
padding mode and groups; a transposed convolution is the adjoint of the
geometry's forward map A, whose norm it shares:

* twiddles: ``z_t(w) = exp(-2 pi i sum_a t_a d_a w_a / N'_a)`` take at most
  ``lcm(N')`` values, computed with :mod:`decimal` to 40 digits and rounded to
  float64 once: each component off by at most ``u (1 + 2^-20)``;
* the blocks, summed directly over the T taps (no FFT): each entry of
  ``Re B`` and ``Im B`` errs by ``gamma_T`` times the sum of its terms'
  magnitudes plus the twiddles' error, so B's real embedding
  ``[[Re B, -Im B], [Im B, Re B]]`` (whose singular values are B's, each
  twice) moves by ``e <= sqrt 2 (gamma_T (1 + e_z) + e_z) || sum_t |W_t| ||_F`` plus
  underflow (:func:`lipbench._rounding_maps.conv_embedding_error`, term
  ``conv_embedding``), and M(v)'s (its blocks' embeddings side by side, a
  column permutation of M's) by at most ``sqrt K e``;
* ``sigma(M~(v)) < t`` for every v (t just above the largest eigenvalue of
  the stacked blocks' Hermitian Gram matrices, an estimate): the inertia test (Rump's Cholesky of
  ``t^2 I - fl(R~^T R~)`` with the Gram rounding bounded,
  :func:`lipbench.spectral.inertia.shifted_diagonals`), batched over v;
* then ``||A|| <= (t / sqrt K + e) sqrt(copies)``, with ``1 / sqrt K <=
  sqrt_up(K) / K``, in exact rationals rounded up once.

Cost (:func:`embedding_flops`): half the output frequencies (``M(-v)`` is
``M(v)``'s conjugate), per group ``K`` blocks of ``C_out/G x C_in/G``, their
sums ``T`` products each, batched Hermitian eigenvalues for the estimate and
one batched Gram and Cholesky per tested t, a chunk at a time.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import sqrt_int_up, up
from .._rounding_maps import conv_embedding_error
from ..spectral.inertia import shifted_diagonals
from .conv_map import ConvGeometry

__all__ = ["twiddle_table", "proven_embedding_upper", "embedding_flops"]

#: entries of one chunk's blocks (Re or Im; bounds the temporary memory: the real embeddings and their
#: Gram matrices are a few times this)
_ENTRIES = 1 << 20
#: t widened 8x at most this many times
_TESTS = 6


def twiddle_table(L: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos(2 pi j / L)`` and ``sin(2 pi j / L)`` for j < L, each within
    ``u (1 + 2^-20)`` of the exact value (40 digits, then one correct rounding)."""
    with localcontext() as ctx:
        ctx.prec = 45
        pi = _decimal_pi()
        cos, sin = [], []
        for j in range(L):
            x = 2 * pi * j / L
            c, s = _decimal_cos_sin(x)
            cos.append(float(c))
            sin.append(float(s))
    return np.array(cos), np.array(sin)


def _decimal_pi() -> Decimal:
    """pi to the context's precision (the recipe of Python's decimal docs)."""
    with localcontext() as ctx:
        ctx.prec += 2
        lasts, t, s = Decimal(0), Decimal(3), Decimal(3)
        n, na, d, da = 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
    return +s


def _decimal_cos_sin(x: Decimal) -> tuple[Decimal, Decimal]:
    """cos x and sin x by their Taylor series (|x| < 7: the terms fall below the precision)."""
    with localcontext() as ctx:
        ctx.prec += 10
        c, s = Decimal(0), Decimal(0)
        term, k = Decimal(1), 0
        while True:
            nxt = (c + term, s) if k % 4 == 0 else (c, s + term) if k % 4 == 1 else \
                (c - term, s) if k % 4 == 2 else (c, s - term)
            if nxt == (c, s):
                break
            c, s = nxt
            k += 1
            term = term * x / k
    return +c, +s


def _blocks(g: ConvGeometry, group: int, grid: tuple[int, ...], freqs: np.ndarray, tables: tuple[np.ndarray, ...],
            ) -> tuple[np.ndarray, np.ndarray]:
    """Re B(w) and Im B(w) at the frequencies ``freqs`` (d, F) of ``grid``: (F, C_out/G, C_in/G) each;
    ``tables``: :func:`twiddle_table` of L = lcm(grid)."""
    cos, sin = tables
    L = len(cos)
    co = g.out_channels // g.groups
    W = g.weight[group * co:(group + 1) * co]
    taps = list(np.ndindex(*g.kernel_size))
    phase = np.zeros((len(taps), freqs.shape[1]), dtype=np.int64)
    for i, t in enumerate(taps):  # exact integers: sum_a t_a d_a w_a (L / N'_a) mod L
        for ax in range(g.ndim):
            phase[i] += (t[ax] * g.dilation[ax] * freqs[ax] * (L // grid[ax])) % L
    phase %= L
    Wt = np.stack([W[(slice(None), slice(None)) + t] for t in taps])  # (T, co, ci)
    re = np.einsum("tf,tab->fab", cos[phase], Wt)
    im = np.einsum("tf,tab->fab", -sin[phase], Wt)
    return re, im


def _reduced(g: ConvGeometry, grid: tuple[int, ...]) -> tuple[int, ...]:
    """The output frequencies' grid ``N' / stride``, its last axis cut to its first half and one:
    ``M(-v)`` is ``conj M(v)`` with its blocks reordered (a real kernel), the same singular values."""
    red = tuple(N // s for N, s in zip(grid, g.stride))
    return red[:-1] + (red[-1] // 2 + 1,)


def _stacks(g: ConvGeometry, group: int, grid: tuple[int, ...], tables: tuple[np.ndarray, ...]):
    """M(v) for the output frequencies v, a chunk at a time: (Re, Im), each (c, C_out/G, K C_in/G),
    the blocks of v's K aliases ``v + k N'/stride`` side by side (memory bounded by :data:`_ENTRIES`)."""
    red = tuple(N // s for N, s in zip(grid, g.stride))
    V = np.indices(_reduced(g, grid)).reshape(g.ndim, -1)
    aliases = np.indices(g.stride).reshape(g.ndim, -1) * np.array(red)[:, None]  # (d, K)
    K = aliases.shape[1]
    co, ci = g.out_channels // g.groups, g.weight.shape[1]
    per = max(1, _ENTRIES // (co * K * ci))
    for start in range(0, V.shape[1], per):
        v = V[:, start:start + per]
        re, im = _blocks(g, group, grid, (v[:, :, None] + aliases[:, None, :]).reshape(g.ndim, -1), tables)
        c = v.shape[1]
        yield tuple(x.reshape(c, K, co, ci).transpose(0, 2, 1, 3).reshape(c, co, K * ci) for x in (re, im))


def embedding_flops(g: ConvGeometry) -> int:
    """About how many multiply-adds :func:`proven_embedding_upper` takes per test of t: per
    output frequency and group, the blocks' sums, the real embedding's Gram on its smaller side
    and the estimate's Hermitian eigenvalues."""
    grid = _grid(g)
    a, b = g.out_channels // g.groups, g.weight.shape[1] * math.prod(g.stride)
    n = min(a, b)
    per = math.prod(g.kernel_size) * a * b + 8 * a * b * n + 4 * n**3
    return int(math.prod(_reduced(g, grid)) * g.groups * per)


def _grid(g: ConvGeometry) -> tuple[int, ...]:
    """The padded input's grid, each axis rounded up to a multiple of its stride."""
    return tuple(-(-(L + a + b) // s) * s for L, a, b, s in zip(g.in_spatial, g.pad_left, g.pad_right, g.stride))


def _embedded(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """The real embeddings ``[[Re, -Im], [Im, Re]]`` of a batch of complex blocks."""
    return np.concatenate([np.concatenate([re, -im], axis=2), np.concatenate([im, re], axis=2)], axis=1)


def _all_below(R: np.ndarray, t: float) -> bool:
    """The inertia test on every matrix of the batch R at t: True proves ``sigma(R_b) < t`` for all b."""
    m, n = R.shape[1:]
    Rt = np.ascontiguousarray(np.swapaxes(R, 1, 2))  # contiguous: matmul then calls BLAS
    G = np.matmul(Rt, R) if m >= n else np.matmul(R, Rt)
    diag = np.diagonal(G, axis1=1, axis2=2).copy()
    newdiag, _ = shifted_diagonals(diag, np.full(G.shape[0], t), m, n)
    if np.isnan(newdiag).any():
        return False
    M = -G
    idx = np.arange(G.shape[1])
    M[:, idx, idx] = newdiag
    try:
        L = np.linalg.cholesky(M)  # reads the lower triangle: each entry a computed one
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.isfinite(L)))


def proven_embedding_upper(g: ConvGeometry, tol: float) -> tuple[float, dict[str, Any]]:
    """A proven upper bound on the operator norm (module doc), and what it used.

    Two passes over the output frequencies, a chunk at a time: the estimate, then the test of t
    (repeated, t widened, where a chunk fails), so memory stays bounded whatever the layer."""
    grid = _grid(g)
    K = math.prod(g.stride)
    tables = twiddle_table(math.lcm(*grid))
    T = math.prod(g.kernel_size)
    co = g.out_channels // g.groups
    err, best = 0.0, 0.0
    for group in range(g.groups):
        S = np.sum(np.abs(g.weight[group * co:(group + 1) * co]), axis=tuple(range(2, g.weight.ndim)))
        err = max(err, conv_embedding_error(S, T))
        for re, im in _stacks(g, group, grid, tables):
            M = re + 1j * im
            Mh = np.ascontiguousarray(np.conj(np.swapaxes(M, 1, 2)))  # contiguous: matmul then calls BLAS
            H = np.matmul(Mh, M) if M.shape[1] >= M.shape[2] else np.matmul(M, Mh)
            best = max(best, math.sqrt(max(float(np.linalg.eigvalsh(H)[:, -1].max()), 0.0)))  # the estimate
    width, t = tol / 4, math.inf
    for _ in range(_TESTS):
        t = up(best * (1 + width))
        if all(_all_below(_embedded(re, im), t) for group in range(g.groups)
               for re, im in _stacks(g, group, grid, tables)):
            break
        width, t = width * 8, math.inf
    copies = 1
    for ax in range(g.ndim):
        idx = g.pad_index(ax)
        copies *= int(np.bincount(idx[idx >= 0], minlength=g.in_spatial[ax]).max())
    upper = up((Fraction(t) * Fraction(sqrt_int_up(K)) / K + Fraction(err)) * Fraction(sqrt_int_up(copies))) \
        if math.isfinite(t) and math.isfinite(err) else math.inf
    return upper, {"grid": grid, "aliases": K, "twiddles": len(tables[0]), "block_error": err,
                   "padding_norm_squared": copies, "estimate": best / math.sqrt(K)}
