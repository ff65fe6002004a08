"""Convolution cases and their ground truth, shared by the convolution test files.

The ground truth never goes through lipbench's operator: ``dense_conv`` and
``dense_conv_transpose`` fill the matrix entry by entry with loops over output
positions, channels and kernel taps, with the padding written out per mode.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib

import numpy as np

from properties.tolerances import svd_atol


# ---------------------------------------------------------------- ground truth
def _source(q: int, L: int, mode: str) -> int | None:
    """Which input entry padded position q (0 = first real entry) copies; None for a zero."""
    if 0 <= q < L:
        return q
    if mode == "zeros":
        return None
    if mode == "circular":
        return q % L
    if mode == "reflect":
        return -q if q < 0 else 2 * (L - 1) - q
    return 0 if q < 0 else L - 1  # replicate


def dense_conv(W, shape, stride, pad_left, pad_right, dilation, groups, mode):
    """The matrix of PyTorch's conv{d}d (after F.pad for non-zero modes): rows (o, i), columns (c, j)."""
    d = len(shape)
    c_out, cg_in = W.shape[:2]
    k = W.shape[2:]
    out = [(shape[a] + pad_left[a] + pad_right[a] - dilation[a] * (k[a] - 1) - 1) // stride[a] + 1 for a in range(d)]
    cg_out = c_out // groups
    D = np.zeros((c_out * math.prod(out), cg_in * groups * math.prod(shape)))
    for o in range(c_out):
        grp = o // cg_out
        for i in itertools.product(*map(range, out)):
            row = np.ravel_multi_index((o, *i), (c_out, *out))
            for cl in range(cg_in):
                c = grp * cg_in + cl
                for t in itertools.product(*map(range, k)):
                    src = [_source(i[a] * stride[a] + t[a] * dilation[a] - pad_left[a], shape[a], mode)
                           for a in range(d)]
                    if any(s is None for s in src):
                        continue
                    D[row, np.ravel_multi_index((c, *src), (cg_in * groups, *shape))] += W[(o, cl, *t)]
    return D


def dense_conv_transpose(W, shape, stride, padding, dilation, groups, output_padding):
    """conv_transpose{d}d as PyTorch documents it: input (c, i) scatters W[c, o, t] to output o at i*s + t*d - p."""
    d = len(shape)
    c_in, cg_out = W.shape[:2]
    k = W.shape[2:]
    out = [(shape[a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * (k[a] - 1) + output_padding[a] + 1
           for a in range(d)]
    cg_in = c_in // groups
    D = np.zeros((cg_out * groups * math.prod(out), c_in * math.prod(shape)))
    for c in range(c_in):
        grp = c // cg_in
        for i in itertools.product(*map(range, shape)):
            col = np.ravel_multi_index((c, *i), (c_in, *shape))
            for ol in range(cg_out):
                for t in itertools.product(*map(range, k)):
                    j = [i[a] * stride[a] + t[a] * dilation[a] - padding[a] for a in range(d)]
                    if all(0 <= j[a] < out[a] for a in range(d)):
                        D[np.ravel_multi_index((grp * cg_out + ol, *j), (cg_out * groups, *out)), col] += W[(c, ol, *t)]
    return D


def case_shape(d, transposed=False):
    if transposed:  # the input of a transposed convolution: its output is about stride times larger
        return (5, 3)[:d] if d < 3 else (2, 3, 2)
    return (8,) if d == 1 else (6, 4) if d == 2 else (4, 4, 4)


@functools.cache
def _case_matrix(case):
    d, mode, s, p, dl, G, tr, op = case
    W = case_kernel(case)
    shape = case_shape(d, tr)
    if tr:
        D = dense_conv_transpose(W, shape, (s,) * d, (p,) * d, (dl,) * d, G, (op,) * d)
    elif p == "same":
        span = [dl * (k - 1) for k in W.shape[2:]]
        D = dense_conv(W, shape, (1,) * d, [x // 2 for x in span], [x - x // 2 for x in span], (dl,) * d, G, mode)
    else:
        D = dense_conv(W, shape, (s,) * d, (p,) * d, (p,) * d, (dl,) * d, G, mode)
    return W, shape, D


def case_kernel(case):
    d, mode, s, p, dl, G, tr, op = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    k = (3, 2, 3)[:d] if d < 3 else (2, 3, 2)
    c_a, c_b = 2 * G, 3 * G  # (out, in) or (in, out) for transposed; both divisible by G
    return rng.standard_normal((c_a, c_b // G, *k))


# every padding mode x stride x dilation x groups in 1-D and 2-D, a selection in 3-D,
# 'same', and transposed convolutions (zeros padding only, as in PyTorch)
CASES = [(d, mode, s, p, dl, G, False, 0)
         for d in (1, 2) for mode in ("zeros", "circular", "reflect", "replicate")
         for s in (1, 2) for p in (0, 1, 2) for dl in (1, 2) for G in (1, 2)
         if not (mode == "reflect" and p >= 4)]
CASES += [(3, mode, s, 1, dl, G, False, 0) for mode in ("zeros", "circular", "reflect", "replicate")
          for s, dl, G in ((1, 1, 1), (2, 1, 2), (1, 2, 1))]
CASES += [(d, mode, 1, "same", dl, G, False, 0) for d in (1, 2) for mode in ("zeros", "circular", "replicate")
          for dl in (1, 2) for G in (1, 2)]
CASES += [(d, "zeros", s, p, dl, G, True, op) for d in (1, 2) for s in (1, 2, 3) for p in (0, 1)
          for dl in (1, 2) for G in (1, 2) for op in (0, 1) if op < max(s, dl)]
CASES += [(3, "zeros", 2, 1, 1, 2, True, 1)]


def _kwargs(case):
    d, mode, s, p, dl, G, tr, op = case
    kw = dict(stride=s, padding=p, dilation=dl, groups=G, padding_mode=mode, transposed=tr)
    if tr:
        kw["output_padding"] = op
    return kw


def _sigma_and_slack(D):
    sigma = float(np.linalg.norm(D, 2))
    return sigma, svd_atol("float64", D.shape, sigma)
