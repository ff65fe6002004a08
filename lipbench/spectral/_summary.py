"""The dense summary: one pass over a real 2-D matrix gives max|A| and the
sums behind the cheap bounds, whatever its scale.

The sums (every square, each column's squares, each column's and each row's
absolute values) are accumulated in float64 on ``|A| 2^-k``, a power of two
chosen from max|A| on a fixed ladder (:func:`level`): ``max|A| 2^-k`` lies
in [2^-74, 2^300), so no square or sum of m n squares overflows, and the
squares of the largest entries are normal.  Entries far below max|A| may
still underflow when squared; that is the ``sum_underflow`` term of
:func:`lipbench._rounding.sum_bounds`, as in any sum of squares.

* Whole arrays (any array-API backend): max|A| is reduced first and the
  ladder is climbed on the device (``where`` on a 0-D array, no host read),
  then the sums of ``|A| 2^-k``: four reductions over A and one host read.
  (A NumPy array that is not C-ordered reads its max at once, which costs no
  wait, and skips the product by 1 when k = 0.)
* A C-ordered NumPy matrix: one pass in cache-sized row blocks, as before.
  The blocks' running max sets the running level; when it rises, the column
  accumulators (squares, absolute values) are moved to the new, smaller scale
  with ``ldexp`` (correctly rounded), and the running largest row sum too.
  Such a product is exact unless it lands below float64's normal range, where
  it rounds by at most ``eta / 2``: each rescaled partial sum carries one such
  error into the additions that follow, at most ``(1 + gamma_c) eta / 2``
  (term ``rescale_underflow``, :func:`lipbench._rounding.rescale_slack`,
  proved in docs/certify.md, "Sums under a running scale").  The ladder has 7
  rungs, so a column is rescaled at most 6 times.  The error is folded into
  the returned sums, outward (upper ends up, the column-norm lower end down),
  so that :func:`~lipbench._rounding.sum_bounds` on them stays a proof.  The
  largest row sum needs no term: every row is summed within one block, and the
  largest is at least ``max|A| 2^-k >= 2^-74``, a normal number, whose
  rescales were exact (rounding is monotone, so a smaller value that rounded
  cannot overtake it).

Which matrix the sums are about: ``|A| 2^-k`` computed in float64, which is
``|A_s| 2^(e - k)`` exactly for the operator's copy ``A_s = fl(A 2^-e)``
whenever that copy is exact (k > 0 only when ``k <= e``; scaling up is exact),
which :func:`._scaling.scale_array` checks; when the copy rounded, the
caller summarizes the copy instead (:mod:`._inputs`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import backends as _backends
from .._rounding import dn, rescale_slack, scale_back, up
from ._operator import FUSED_BLOCK_BYTES

__all__ = ["Summary", "summarize", "dense_summary", "level", "LEVELS"]

#: ``(threshold, k)``, highest first: the level of max|A| = p is the k of the
#: first threshold p reaches (p 2^-k in [1/2, 2^300) for k > 0, in [1, 2^300)
#: for k = -600, -900, [2^-74, 2^100) for -1000); k = 0 keeps a matrix with p in
#: [2^-300, 2^299) as it is, so its sums are those computed on A itself.
LEVELS: tuple[tuple[float, int], ...] = (
    (2.0**899, 900), (2.0**599, 600), (2.0**299, 300), (2.0**-300, 0), (2.0**-600, -600), (2.0**-900, -900),
)
_LOWEST = -1000


def level(peak: float) -> int:
    """The ladder's k for max|A| = ``peak`` (0 for 0, NaN or inf: nothing to scale)."""
    if not (math.isfinite(peak) and peak > 0):
        return 0
    for threshold, k in LEVELS:
        if peak >= threshold:
            return k
    return _LOWEST


class Summary(NamedTuple):
    """What one pass over a matrix M found.  ``ss``, ``col2`` (largest column
    sum of squares), ``abs1`` (largest column sum of |.|), ``absinf`` (largest
    row sum) are sums computed on ``|M| 2^-k``, already moved outward by any
    rescaling error, so they are fed to ``sum_bounds`` as computed sums (upper
    ends from ``ss``, ``abs1``, ``absinf``; the lower end from ``col2``);
    ``peak`` is max|M| exactly (NaN or inf when an entry is not finite: then
    the sums mean nothing)."""

    ss: float
    col2: float
    abs1: float
    absinf: float
    peak: float
    k: int

    def sums(self, shift: int) -> tuple[float, float, float, float]:
        """``(ss, col2, abs1, absinf)`` of ``|M| 2^-(k - shift)``, rounded outward
        (exact when, as here, each is a normal number before and after:
        ``|shift| <= 301``, checked by the ladder's ranges)."""
        s = math.ldexp(1.0, shift)
        s2 = math.ldexp(1.0, 2 * shift)
        return (scale_back(self.ss, s2, "up"), scale_back(self.col2, s2, "down"),
                scale_back(self.abs1, s, "up"), scale_back(self.absinf, s, "up"))


def summarize(xp: Any, A: Any, *, block_bytes: int = FUSED_BLOCK_BYTES, peak: float | None = None) -> Summary:
    """The :class:`Summary` of a real 2-D matrix in one pass (``peak``: max|A|
    when already known exactly, e.g. of a copy scaled to [1/2, 2); the
    whole-array path then skips its max)."""
    if isinstance(A, np.ndarray) and A.flags.c_contiguous:
        return _blocked(A, block_bytes)
    return _whole(xp, A, peak)


def dense_summary(xp: Any, A: Any, *, block_bytes: int = FUSED_BLOCK_BYTES) -> tuple[float, float, float, float, float]:
    """``(sum of squares, largest squared column norm, ||A||_1, ||A||_inf,
    max|a_ij|)`` of A itself (the summary's sums scaled back; inf or 0 where
    they leave float64's range, NaN when an entry is not finite)."""
    s = summarize(xp, A, block_bytes=block_bytes)
    with np.errstate(over="ignore", under="ignore"):
        return (float(np.ldexp(s.ss, 2 * s.k)), float(np.ldexp(s.col2, 2 * s.k)),
                float(np.ldexp(s.abs1, s.k)), float(np.ldexp(s.absinf, s.k)), s.peak)


def _fold(s: Summary, m: int, n: int, rescales: int) -> Summary:
    """The summary with ``rescales`` rescalings of every column accumulator
    folded in (term ``rescale_underflow``): each column's sums moved by
    :func:`rescale_slack` for m terms, the total by it for m n terms and
    ``rescales n`` partial sums."""
    if not rescales:
        return s
    col, total = rescale_slack(m, rescales), rescale_slack(m * n, rescales * n)
    return s._replace(ss=up(s.ss + total), col2=max(dn(s.col2 - col), 0.0), abs1=up(s.abs1 + col))


def _not_finite(peak: float) -> Summary:
    return Summary(math.nan, math.nan, math.nan, math.nan, peak, 0)


def _blocked(A: np.ndarray, block_bytes: int) -> Summary:
    """One pass over a C-ordered NumPy matrix in row blocks under a running level
    (absolute values and squares of a block reduced by BLAS products with a
    vector of ones, as the block sits in cache)."""
    m, n = (int(d) for d in A.shape)
    rows = min(m, max(1, block_bytes // (8 * n)))
    col2, col1 = np.zeros(n), np.zeros(n)
    t = np.empty((rows, n))
    ones_r, ones_n = np.ones(rows), np.ones(n)
    peak, rowmax, k, rescales = 0.0, 0.0, 0, 0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(0, m, rows):
            ti = t[:min(rows, m - i)]
            np.abs(A[i:i + rows], out=ti)
            p = float(ti.max())
            if not math.isfinite(p):  # NaN or inf: the caller names the entry
                return _not_finite(p)
            if p > peak:
                new = level(p)
                if new != k and peak > 0:  # move the accumulators to the smaller scale
                    col2 = np.ldexp(col2, 2 * (k - new))
                    col1 = np.ldexp(col1, k - new)
                    rowmax = float(np.ldexp(rowmax, k - new))
                    rescales += 1
                peak, k = p, new
            if peak == 0.0:
                continue
            if k:
                np.multiply(ti, math.ldexp(1.0, -k), out=ti)  # a normal power of two: exact unless subnormal
            r = ti.shape[0]
            col1 += ones_r[:r] @ ti
            rowmax = max(rowmax, float(np.max(ti @ ones_n)))
            np.multiply(ti, ti, out=ti)
            col2 += ones_r[:r] @ ti
    return _fold(Summary(float(np.sum(col2)), float(np.max(col2)), float(np.max(col1)), rowmax, peak, k), m, n,
                 rescales)


def _whole(xp: Any, A: Any, peak: float | None) -> Summary:
    """Whole-array reductions: max|A| first, the ladder climbed on the device,
    then the sums of ``|A| 2^-k``, read to the host in one transfer."""
    a = A if _dtype_name(A.dtype) == "float64" else xp.astype(A, xp.float64)
    ab = xp.abs(a)
    with np.errstate(over="ignore", invalid="ignore"):  # array-API arrays backed by NumPy
        p = xp.max(ab) if peak is None else _const(xp, a, peak)
        if isinstance(a, np.ndarray):  # reading the max costs no wait: skip the product when k = 0
            k = level(float(p))
            g = _const(xp, a, math.ldexp(1.0, -k))
            y = ab if k == 0 else ab * g
        else:  # climb the ladder on the device: no host read before the sums
            g = _const(xp, a, math.ldexp(1.0, -_LOWEST))
            for threshold, k in reversed(LEVELS):
                g = xp.where(p >= _const(xp, a, threshold), _const(xp, a, math.ldexp(1.0, -k)), g)
            y = ab * g
        col2 = xp.sum(y * y, axis=0)
        # one stacked read: on a GPU each float() would wait for the queue
        stats = xp.stack([xp.sum(col2), xp.max(col2), xp.max(xp.sum(y, axis=0)), xp.max(xp.sum(y, axis=1)), p, g])
        got = [float(x) for x in np.asarray(_backends.to_numpy(stats), dtype=np.float64)]
    if not math.isfinite(got[4]):
        return _not_finite(got[4])
    return Summary(got[0], got[1], got[2], got[3], got[4], 1 - math.frexp(got[5])[1])


def _const(xp: Any, like: Any, value: float) -> Any:
    return xp.asarray(value, dtype=xp.float64, device=getattr(like, "device", None))


def _dtype_name(dt: Any) -> str:
    try:
        return np.dtype(dt).name
    except TypeError:
        return str(dt).split(".")[-1]
