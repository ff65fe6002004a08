"""Exact operator norm of a circularly padded convolution through the DFT.

Sedghi, Gupta & Long (ICLR 2019): a multi-channel circular convolution is
block-diagonalised by the DFT, one ``C_out x C_in`` block per frequency, so its
norm is the largest singular value over all blocks.  Stride by polyphase: with
``s`` dividing the input length ``N`` and ``N/s`` outputs per axis, split the
input into its ``s`` phases (``x[m s + b]``); tap ``t`` reads phase
``b = t d mod s`` at offset ``a = t d div s``, so the strided map is a stride-1
circular correlation on the ``M = N/s`` grid with ``C_in s`` input channels and
the kernel ``K'[o, (c, b), a]``; its blocks are ``C_out x (C_in prod(s))``.
The circular padding itself only shifts the input (a permutation), and groups
make the map block-diagonal (max over groups).

Rounding (everything else is exact integer bookkeeping).  These constants
are *calibrations*, not proofs: Higham's theorem covers a radix-2 transform
with known twiddle error, but no published constant covers pocketfft's
mixed-radix and Bluestein paths, nor LAPACK's batched complex SVD.  The
bracket below is therefore an estimate, and the routes built on it
(:mod:`.conv_routes`) certify only with proven ends (docs/certify.md, "Routes
that do not certify"):

* the FFT (Higham, *Accuracy and Stability*, 2nd ed., Thm 24.2): a transform of
  length n computed in ``L`` stages, each with relative error ``eta``, has
  ``||fl(Fx) - Fx||_2 <= L eta / (1 - L eta) ||Fx||_2``, with
  ``eta = mu + gamma_4 (sqrt 2 + mu)`` and ``mu`` the twiddles' error.  We take
  ``eta = 8 u`` (mu <= 2 u) and ``L = sum_axes 3 (ceil(log2 M) + 1)``: the
  factor 3 and the extra stage cover mixed radices, a real-input transform's
  post-processing pass and Bluestein's three transforms for large prime
  lengths.  For one channel pair, Parseval gives ``||F k||_2 = sqrt(prod M) ||k||_2``,
  so the error of every block ``E(w)`` obeys
  ``||E(w)||_2 <= ||E(w)||_F <= eps_fft sqrt(prod M) ||K'||_F``;
* taps landing on the same ``(b, a)`` (only when ``d (k - 1) >= s M``) are
  summed: at most ``gamma_c sqrt(T) ||W||_F`` more, c taps per sum;
* the batched complex SVD (LAPACK ``gesdd``) is backward stable: each computed
  sigma is exact for ``B + F``, ``||F|| <= 16 (max(m, n) + 4) u ||B||``
  (twice the real ``svd`` method's measured factor, for complex arithmetic).

Any other padding (zeros, reflect, replicate; circular with other output
counts) gets an upper estimate from the same machinery,
:func:`embedding_upper`: ``A = V P`` with ``V`` the "valid" correlation on the
padded length ``Lp``, which is the first rows of the strided circular
correlation ``C`` on a grid ``N' >= Lp`` (a multiple of the stride) fed with
the zero-extended input, so ``||A|| <= ||C|| ||P||`` and ``||P||`` is the
square root of the most copies the padding makes of one entry (1 for zeros).

By Weyl each block's sigma_max moves by at most the sum, which bounds
``|value - sigma|`` if the constants hold; the bracket is ``value -/+`` that sum.
"""

from __future__ import annotations

import math

import numpy as np

from .._rounding import U64, fro_bounds, gamma, prod_up, sqrt_int_up
from ..spectral._floors import svd_backward_p

__all__ = ["fft_applies", "circular_conv_norm", "polyphase_kernel", "fft_rounding_terms", "embedding_upper"]

#: relative error of one FFT stage in units of u (covers twiddle error mu <= 2 u; calibrated)
FFT_STAGE_ETA = 8.0
#: frequencies per batched SVD call (bounds the temporary memory)
_SVD_CHUNK = 1024


def fft_applies(g) -> tuple[bool, str]:
    """Whether the DFT route is exact for a :class:`~lipbench.lipschitz.conv.ConvGeometry`, and why not."""
    if g.transposed:
        return False, "the FFT route takes forward convolutions (transposed ones take zeros padding only)"
    if g.padding_mode != "circular":
        return False, f"the FFT route needs padding_mode='circular'; got {g.padding_mode!r}"
    for ax, (N, s, n) in enumerate(zip(g.in_spatial, g.stride, g.out_spatial)):
        if N % s:
            return False, f"stride {s} does not divide the input length {N} on axis {ax}"
        if n != N // s:
            return False, (f"axis {ax} has {n} outputs, not N/stride = {N // s} (the padding {g.pad_left[ax]}+"
                           f"{g.pad_right[ax]} is not the kernel span minus one), so the map is not block-circulant")
    return True, ""


def polyphase_kernel(g) -> tuple[np.ndarray, int]:
    """K' of shape (G, C_out/G, C_in/G, *s, *M) and the most taps summed into one entry."""
    G = g.groups
    M = tuple(N // s for N, s in zip(g.in_spatial, g.stride))
    W = g.weight.reshape((G, g.out_channels // G) + g.weight.shape[1:])
    Kp = np.zeros(W.shape[:3] + g.stride + M)
    hits = np.zeros(g.stride + M, dtype=np.int64)
    for t in np.ndindex(*g.kernel_size):
        e = [tk * dl for tk, dl in zip(t, g.dilation)]
        where = tuple(ek % s for ek, s in zip(e, g.stride)) + tuple((ek // s) % m for ek, s, m in zip(e, g.stride, M))
        Kp[(slice(None),) * 3 + where] += W[(slice(None),) * 3 + t]
        hits[where] += 1
    return Kp, int(hits.max())


def fft_rounding_terms(g, sigma_hat: float, block_shape: tuple[int, int], max_hits: int) -> dict[str, float]:
    """The three rounding terms of the module doc (absolute, float64; calibrated, not proven)."""
    M = [N // s for N, s in zip(g.in_spatial, g.stride)]
    stages = sum(3 * (math.ceil(math.log2(m)) + 1) if m > 1 else 0 for m in M)
    eta = FFT_STAGE_ETA * U64
    eps_fft = stages * eta / (1 - stages * eta) if stages else 0.0
    fro = fro_bounds(g.weight)[1]
    T = math.prod(g.kernel_size)
    fft = eps_fft * math.sqrt(math.prod(M)) * fro
    gather = 0.0 if max_hits <= 1 else gamma(max_hits) * math.sqrt(T) * fro
    p = 2 * svd_backward_p(*block_shape) * U64  # a batched (on a GPU, Jacobi) SVD: twice LAPACK's calibration
    svd = p * (sigma_hat + fft + gather) / (1 - p)
    return {"fft": fft, "gather": gather, "svd": svd}


def circular_conv_norm(g) -> tuple[float, float, float, dict]:
    """``(lower, value, upper, info)`` for a geometry where :func:`fft_applies`.

    Cost: one real FFT of the polyphase kernel (``C_out C_in prod(s)`` transforms
    of size ``prod(N/s)``) and ``prod(N/s)/2`` batched SVDs of
    ``C_out/G x C_in prod(s)/G`` complex blocks per group.
    """
    ok, why = fft_applies(g)
    if not ok:
        raise ValueError(why)
    Kp, max_hits = polyphase_kernel(g)
    d = g.ndim
    G, co, ci = Kp.shape[:3]
    P = math.prod(g.stride)
    freq_axes = tuple(range(3 + d, 3 + 2 * d))
    B = np.fft.rfftn(Kp, axes=freq_axes)  # real K': the other half of the grid holds the conjugate blocks
    F = math.prod(B.shape[3 + d:])
    B = B.reshape(G, co, ci * P, F)  # channel index (c, b) in C order
    B = np.moveaxis(B, -1, 0)  # (F, G, co, ci P)
    sigma_hat = 0.0
    for start in range(0, F, _SVD_CHUNK):
        s = np.linalg.svd(B[start:start + _SVD_CHUNK], compute_uv=False)
        sigma_hat = max(sigma_hat, float(s[..., 0].max()))
    terms = fft_rounding_terms(g, sigma_hat, (co, ci * P), max_hits)
    err = sum(terms.values())
    info = {"frequencies": F * 2 if F else 0, "block_shape": (co, ci * P), "rounding": terms}
    return max(0.0, sigma_hat - err), sigma_hat, sigma_hat + err, info


def embedding_upper(g) -> tuple[float, dict]:
    """An upper estimate ``||C_{N'}|| ||P||`` on any convolution (module doc; calibrated
    like :func:`circular_conv_norm`, not a proof), and a description of the circular map it used."""
    import dataclasses

    padded = tuple(L + a + b for L, a, b in zip(g.in_spatial, g.pad_left, g.pad_right))
    grid = tuple(-(-Lp // s) * s for Lp, s in zip(padded, g.stride))
    circ = dataclasses.replace(g, in_spatial=grid, out_spatial=tuple(n // s for n, s in zip(grid, g.stride)),
                               pad_left=(0,) * g.ndim, pad_right=(0,) * g.ndim, padding_mode="circular",
                               transposed=False)
    _, _, upper, info = circular_conv_norm(circ)
    copies = 1
    for ax in range(g.ndim):
        idx = g.pad_index(ax)
        copies *= int(np.bincount(idx[idx >= 0], minlength=g.in_spatial[ax]).max())
    return prod_up([upper, sqrt_int_up(copies)]), {"grid": grid, "padding_norm_squared": copies, **info}
