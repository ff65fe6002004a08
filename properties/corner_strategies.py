"""Strategies for the dangerous corners of a certified bracket (issue 23).

Entries near the top or the bottom of their dtype's range, ranges mixed in
one matrix, long sums whose squares straddle half an ulp of the running sum,
complex, integer and bool input, exactly repeated top singular values
(t^2 I - G singular), and convolutions at both ends of float64's range.
Small shapes throughout: every bracket is checked in exact rational
arithmetic (``properties/test_corners.py``); each strategy is tested in
``properties/test_strategies.py``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .strategies import ConvCase, conv_kernel_cases, dense_matrices, seeds, shapes

__all__ = [
    "CORNER_SIDE", "FLOAT_CORNER_DTYPES", "COMPLEX_DTYPES", "INTEGER_DTYPES", "top_exponent", "huge_matrices",
    "tiny_matrices", "mixed_range_matrices", "LONG_SUM_OFFSETS", "long_sum_matrices", "complex_matrices",
    "integer_corner_matrices", "KnownTop", "repeated_top_matrices", "corner_conv_cases",
]

FLOAT_CORNER_DTYPES = ("float16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
INTEGER_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
CORNER_SIDE = 6


def top_exponent(dtype: str) -> int:
    """e with 2^e the largest power of two of ``dtype`` (15, 127, 1023): "near the top" means >= 2^e."""
    return int(np.finfo(np.dtype(dtype)).maxexp) - 1


def _width(dtype: str) -> int:
    return np.dtype(dtype).itemsize * 8


@st.composite
def huge_matrices(draw: Any, *, dtype: str | None = None, max_side: int = CORNER_SIDE) -> np.ndarray:
    """float16/32/64 matrices whose largest entry lies in [2^e, max] (2^e the
    dtype's largest power of two, often exactly its largest finite float); the
    other entries anywhere in the dtype's range, or all of the peak's magnitude
    (so every square and product overflows unless the matrix is scaled)."""
    dt = draw(st.sampled_from(FLOAT_CORNER_DTYPES), label="dtype") if dtype is None else dtype
    m, n = draw(shapes(max_side=max_side), label="shape")
    top, big = float(np.finfo(np.dtype(dt)).max), 2.0 ** top_exponent(dt)
    peak = draw(st.sampled_from((top, big)) | st.floats(big, top, width=_width(dt)), label="peak")
    peak *= draw(st.sampled_from((1.0, -1.0)), label="peak sign")
    if draw(st.booleans(), label="others as large"):
        rel = draw(hnp.arrays(np.float64, (m, n), elements=st.floats(-1.0, 1.0), fill=st.nothing()), label="ratios")
        A = (peak * rel).astype(dt)  # |peak * r| <= |peak|: no overflow in the cast
    else:
        A = draw(hnp.arrays(dt, (m, n), elements=st.floats(-top, top, width=_width(dt)), fill=st.nothing()),
                 label="others")
    i, j = draw(st.integers(0, m - 1), label="peak row"), draw(st.integers(0, n - 1), label="peak column")
    A[i, j] = peak
    return A


@st.composite
def tiny_matrices(draw: Any, *, dtype: str | None = None, max_side: int = CORNER_SIDE) -> np.ndarray:
    """Matrices whose entries are all subnormal (or zero) in their dtype: integer
    multiples ``k eta`` of its smallest subnormal eta (|k| < 2^10, at least one
    k != 0), so that in float64 sigma_max itself is subnormal."""
    dt = draw(st.sampled_from(FLOAT_CORNER_DTYPES), label="dtype") if dtype is None else dtype
    m, n = draw(shapes(max_side=max_side), label="shape")
    kmax = min(2 ** int(np.finfo(np.dtype(dt)).nmant) - 1, 2**10 - 1)
    k = draw(hnp.arrays(np.int64, (m, n), elements=st.integers(-kmax, kmax), fill=st.nothing()), label="multiples")
    i, j = draw(st.integers(0, m - 1), label="non-zero row"), draw(st.integers(0, n - 1), label="non-zero column")
    if k[i, j] == 0:
        k[i, j] = draw(st.sampled_from((1, -1, 2, kmax)), label="forced multiple")
    eta = np.finfo(np.dtype(dt)).smallest_subnormal
    return k.astype(dt) * eta  # exact: k eta is a subnormal of dt


@st.composite
def mixed_range_matrices(draw: Any, *, dtype: str | None = None, max_side: int = CORNER_SIDE) -> np.ndarray:
    """One entry near the top of the dtype's range, the others in [-1, 1] (tiny
    and subnormal ones included): scaling the matrix down by its largest power
    of two sends the small entries into the subnormal range, where they round."""
    dt = draw(st.sampled_from(FLOAT_CORNER_DTYPES), label="dtype") if dtype is None else dtype
    m, n = draw(shapes(max_side=max_side), label="shape")
    m, n = max(m, 2), n  # room for a small entry beside the peak
    top, big = float(np.finfo(np.dtype(dt)).max), 2.0 ** top_exponent(dt)
    A = draw(hnp.arrays(dt, (m, n), elements=st.floats(-1.0, 1.0, width=_width(dt)), fill=st.nothing()),
             label="small entries")
    peak = draw(st.sampled_from((top, big)) | st.floats(big, top, width=_width(dt)), label="peak")
    i, j = draw(st.integers(0, m - 1), label="peak row"), draw(st.integers(0, n - 1), label="peak column")
    A[i, j] = peak * draw(st.sampled_from((1.0, -1.0)), label="peak sign")
    return A


#: relative offsets d of a long sum's small summands (see :func:`long_sum_matrices`), per dtype
LONG_SUM_OFFSETS = {"float64": (0.0, 2.0**-40, -(2.0**-40), 2.0**-20, -(2.0**-20)),
                    "float32": (0.0, 2.0**-16, -(2.0**-16), 2.0**-9, -(2.0**-9))}


@st.composite
def long_sum_matrices(draw: Any, *, dtype: str | None = None, min_rows: int = 64, max_rows: int = 128) -> np.ndarray:
    """m x n (n = 1 or 2, m in [min_rows, max_rows]) with a first column of c
    ones (1 <= c <= 8, first or shuffled) and m - c entries s whose squares sit
    just above or below half an ulp of a running sum of the ones:
    ``s = sqrt(2^(j - p)) (1 + d)``, 2^j <= c, p = 53 (float64) or 24
    (float32).  Each square is lost (or kept) by a sum that meets the ones
    first, so a computed norm errs by up to about (m - c) s^2 / 2 -- far more
    than a few units of roundoff.  The second column is zero, tiny
    (subnormal) or a copy of the first."""
    dt = draw(st.sampled_from(("float64", "float32")), label="dtype") if dtype is None else dtype
    p = int(np.finfo(np.dtype(dt)).nmant) + 1
    m = draw(st.integers(min_rows, max_rows), label="rows")
    c = draw(st.integers(1, 8), label="ones")
    j = draw(st.integers(0, c.bit_length() - 1), label="log2 of the running sum")
    d = draw(st.sampled_from(LONG_SUM_OFFSETS[dt]), label="relative offset")
    s = float(np.sqrt(2.0 ** (j - p)) * (1 + d))
    col = np.full(m, s)
    col[:c] = 1.0
    if draw(st.booleans(), label="shuffled"):
        col = np.random.default_rng(draw(seeds, label="order seed")).permutation(col)
    second = draw(st.sampled_from(("none", "zero", "tiny", "copy")), label="second column")
    if second == "none":
        return col[:, None].astype(dt)
    other = {"zero": np.zeros(m), "tiny": np.full(m, float(np.finfo(np.dtype(dt)).smallest_subnormal)),
             "copy": col}[second]
    return np.stack([col, other], axis=1).astype(dt)


@st.composite
def complex_matrices(draw: Any, *, dtype: str | None = None, max_side: int = 4) -> np.ndarray:
    """complex64/complex128 matrices whose real and imaginary parts are drawn
    independently, each ordinary (entries in [-8, 8]), near the top or at the
    bottom (subnormal) of the component dtype's range."""
    dt = draw(st.sampled_from(COMPLEX_DTYPES), label="dtype") if dtype is None else dtype
    part = "float32" if dt == "complex64" else "float64"
    m, n = draw(shapes(max_side=max_side), label="shape")
    comps = []
    for name in ("real", "imaginary"):
        corner = draw(st.sampled_from(("ordinary", "huge", "tiny")), label=f"{name} corner")
        block = (dense_matrices(shape=(m, n), dtype=part) if corner == "ordinary"
                 else _corner_block(corner, part, (m, n)))
        comps.append(draw(block, label=name))
    return (comps[0].astype(dt) + 1j * comps[1].astype(dt)).astype(dt)


def _corner_block(corner: str, dtype: str, shape: tuple[int, int]) -> st.SearchStrategy[np.ndarray]:
    """A fixed-shape block near the top ("huge": entries up to the largest float) or bottom
    ("tiny": multiples of the smallest subnormal) of ``dtype``'s range."""
    fi = np.finfo(np.dtype(dtype))
    if corner == "huge":
        top = float(fi.max)
        return hnp.arrays(dtype, shape, elements=st.floats(-top, top, width=_width(dtype)) |
                          st.sampled_from((top, -top, 2.0 ** top_exponent(dtype))), fill=st.nothing())
    kmax = 2**10 - 1
    return hnp.arrays(np.int64, shape, elements=st.integers(-kmax, kmax), fill=st.nothing()).map(
        lambda k: k.astype(dtype) * fi.smallest_subnormal)


def _integer_elements(dtype: str) -> st.SearchStrategy[Any]:
    if dtype == "bool":
        return st.booleans()
    info = np.iinfo(np.dtype(dtype))
    lo, hi = int(info.min), int(info.max)
    beyond = [x for x in (2**53 + 1, 2**62 + 1, 2**63 + 1, -(2**62) - 1, hi, lo) if lo <= x <= hi]
    return st.sampled_from(beyond) | st.integers(lo, hi)


@st.composite
def integer_corner_matrices(draw: Any, *, dtype: str | None = None, max_side: int = 5) -> np.ndarray:
    """bool and int8..int64, uint8..uint64 matrices with entries anywhere in the
    dtype's range, its ends and (64-bit) values beyond 2^53 such as 2^62 + 1
    and 2^64 - 1 drawn often: the conversion to float64 rounds them."""
    dt = draw(st.sampled_from(INTEGER_DTYPES), label="dtype") if dtype is None else dtype
    m, n = draw(shapes(max_side=max_side), label="shape")
    return draw(hnp.arrays(np.dtype(dt), (m, n), elements=_integer_elements(dt), fill=st.nothing()), label="entries")


@dataclass(frozen=True)
class KnownTop:
    """A matrix whose sigma_max^2 and its multiplicity are known exactly by construction."""

    matrix: np.ndarray
    sigma2: Fraction
    multiplicity: int


@st.composite
def repeated_top_matrices(draw: Any, *, max_side: int = CORNER_SIDE) -> KnownTop:
    """Exactly repeated top singular values, so that ``t^2 I - G`` is singular at
    t = sigma_max: P diag(blocks) Q 2^e with P, Q signed permutations, one or
    two blocks ``[[a, b], [-b, a]]`` (both singular values sqrt(a^2 + b^2)),
    then diagonal entries d with d^2 <= a^2 + b^2 (equality repeats the top
    once more) and zero rows or columns (rank deficiency).  Integers below 2^11
    times 2^e, e anywhere from subnormal to near overflow: the matrix is exact
    in float64 (and in float32 for e in float32's range)."""
    dt = draw(st.sampled_from(("float64", "float32")), label="dtype")
    a, b = draw(st.integers(-(2**11) + 1, 2**11 - 1), label="a"), draw(st.integers(0, 2**11 - 1), label="b")
    if a == b == 0:
        a = 1
    r2 = a * a + b * b
    blocks = draw(st.integers(1, 2 if max_side >= 4 else 1), label="rotation blocks")
    k = 2 * blocks
    extra = draw(st.lists(st.integers(-math.isqrt(r2), math.isqrt(r2)), max_size=max_side - k), label="diagonal")
    m = draw(st.integers(k + len(extra), max_side), label="rows")
    n = draw(st.integers(k + len(extra), max_side), label="columns")
    core = np.zeros((m, n))
    for q in range(blocks):
        core[2 * q:2 * q + 2, 2 * q:2 * q + 2] = [[a, b], [-b, a]]
    for q, d in enumerate(extra):
        core[k + q, k + q] = d
    rng = np.random.default_rng(draw(seeds, label="permutation seed"))
    core = (core * rng.choice((-1.0, 1.0), m)[:, None])[rng.permutation(m)]
    core = (core * rng.choice((-1.0, 1.0), n)[None, :])[:, rng.permutation(n)]
    fi = np.finfo(np.dtype(dt))
    lowest = int(np.log2(fi.smallest_subnormal))
    e = draw(st.sampled_from((lowest, 0, top_exponent(dt) - 11)) | st.integers(lowest, top_exponent(dt) - 11),
             label="log2 scale")
    A = np.ldexp(core, e).astype(dt)
    mult = k + sum(1 for d in extra if d * d == r2)
    return KnownTop(A, Fraction(r2) * Fraction(2) ** (2 * e), mult)


@st.composite
def corner_conv_cases(draw: Any, *, max_side: int = 3, max_log2_scale: int = 1021) -> ConvCase:
    """:func:`conv_kernel_cases` (zeros or circular "same" padding, stride 1,
    at most 2 channels, kernels and inputs at most ``max_side`` wide) with the
    kernel scaled by 2^e: ordinary, near the top of float64's range or at its
    bottom (entries subnormal or lost).  Up to ``max_log2_scale`` 1021 the
    entries stay below 2^1023 and the operator's norm (at most 18 max |w|:
    nine taps of at most 2 x 2 channel blocks) may lie beyond float64's range."""
    case = draw(conv_kernel_cases(max_side=max_side), label="convolution")
    e = draw(st.one_of(st.integers(-8, 8), st.integers(1000, max_log2_scale), st.integers(-1080, -1040)),
             label="log2 kernel scale")
    return dataclasses.replace(case, kernel=np.ldexp(case.kernel, e))
