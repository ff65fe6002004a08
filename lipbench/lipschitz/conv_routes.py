"""The routes of :func:`~lipbench.lipschitz.conv.conv_operator_norm`, and which of their ends are proofs.

Every route returns ``(result, proven_lower, proven_upper)``: the
:class:`lipbench.SpectralNormResult` the caller sees, and the two ends that
are proofs under lipbench's rounding model (docs/certify.md).  ``certified``
is True only when those two ends lie within ``tol`` (compared exactly); the
bracket reported is then the proven one, otherwise the route's estimates
intersected with the proven ends.

* ``dense`` -- the operator applied to unit vectors, each entry a sum of at
  most K kernel taps (:func:`entry_hits`) off by ``gamma_{K-1} || |A| ||_F``
  in all (:func:`lipbench._rounding_maps.assembly_error`), then the ``svd`` method's
  proven bracket: both ends proven.
* ``gram-cholesky`` -- :mod:`.conv_gram`: the Gram matrix on the smaller side assembled
  from the kernel with its rounding bounded, Rump's Cholesky test for the upper
  end and the top eigenvector through the convolution for the lower: both proven.
* ``bound`` -- :func:`~.conv_bound.conv_upper_bound` and one impulse
  (:func:`impulse_lower`): both proven, usually far apart.
* ``fft`` -- exact in exact arithmetic, but its rounding constants (8 u per
  FFT stage, ``16 (max(m, n) + 4) u`` for the batched complex SVD) are
  calibrated, not proven: no proof covers pocketfft's mixed-radix and
  Bluestein paths or LAPACK's batched complex SVD.  Its bracket is an
  estimate; it is certified only by ``conv_upper_bound`` and an impulse.
* matrix-free (``lanczos`` and the other methods of :data:`lipbench.METHODS`)
  -- the bracket of a ``LinearOperator`` assumes its products' rounding, and
  the circular embedding's upper end is calibrated like the FFT route's; the
  proven ends are ``conv_upper_bound`` and the larger of one impulse's and the
  iteration's final vector's lower bounds (:func:`vector_lower`, its product
  recomputed through the convolution with its rounding bounded).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import dn, sum_up, within
from .._rounding_maps import assembly_error, operator_lower
from ..spectral import SpectralNormResult, default_tol, notes, spectral_norm
from ..spectral.notes import render
from .conv_fft import circular_conv_norm, embedding_upper, fft_applies
from .conv_map import ConvGeometry, conv_operator

__all__ = ["entry_hits", "terms_per_entry", "impulse_lower", "vector_lower", "dense_route", "bound_route",
           "fft_route", "matrix_free_route", "gram_route", "proven_ends"]

# ------------------------------------------------------------ proven pieces
def terms_per_entry(g: ConvGeometry) -> int:
    """The most products summed into one entry of the operator's product
    (``conv_operator(g).matvec``): ``C_in/G`` per tap for the forward map, ``C_out/G``
    per tap for a transposed one (its adjoint), times the taps."""
    per_tap = g.weight.shape[0] // g.groups if g.transposed else g.weight.shape[1]
    return int(per_tap * math.prod(g.kernel_size))


def entry_hits(g: ConvGeometry) -> int:
    """The most kernel taps that land on one entry of the operator's matrix: per
    axis, the most taps of one output position that read the same input
    position (more than one only where padding wraps or repeats), multiplied over axes."""
    hits = 1
    for ax in range(g.ndim):
        idx = g.pad_index(ax)
        pos = (np.arange(g.out_spatial[ax])[:, None] * g.stride[ax]
               + np.arange(g.kernel_size[ax])[None, :] * g.dilation[ax])
        src = idx[pos]
        hits *= max(int(np.bincount(row[row >= 0]).max(initial=1)) for row in src)
    return hits


def _abs_operator(g: ConvGeometry) -> Any:
    return conv_operator(dataclasses.replace(g, weight=np.abs(g.weight)), ())


def vector_lower(g: ConvGeometry, v: Any) -> float:
    """A proven lower bound ``||A v|| / ||v||`` on the operator norm, ``A v``
    computed through the convolution and its rounding bounded with the
    convolution of ``|kernel|`` (:func:`lipbench._rounding_maps.operator_lower`)."""
    if v is None:
        return 0.0
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.size != g.shape[1] or not np.all(np.isfinite(v)):
        return 0.0
    return operator_lower(conv_operator(g, ()).matvec, _abs_operator(g).matvec, v, terms_per_entry(g))


def impulse_lower(g: ConvGeometry) -> float:
    """A proven lower bound: :func:`vector_lower` of a unit impulse at the centre of
    the input, in the channel whose kernel slice is largest (for a forward map,
    that channel of every group)."""
    W = g.weight
    peak = float(np.max(np.abs(W)))
    if peak == 0.0:
        return 0.0
    S = np.ldexp(W, -math.frexp(peak)[1])  # only picks the channel: scaled so that squares cannot overflow
    if g.transposed:  # the operator is A^T: its input channels are the forward outputs
        channels, spatial = W.shape[0], g.out_spatial
        cols = [int(np.argmax(np.sum(S * S, axis=tuple(range(1, W.ndim)))))]
    else:
        channels, spatial = g.in_channels, g.in_spatial
        c = int(np.argmax(np.sum(S * S, axis=(0,) + tuple(range(2, W.ndim)))))  # a channel of each group
        cols = [grp * (channels // g.groups) + c for grp in range(g.groups)]
    best = 0.0
    for col in cols:
        e = np.zeros((channels,) + tuple(spatial))
        e[(col,) + tuple(n // 2 for n in spatial)] = 1.0
        best = max(best, vector_lower(g, e))
    return best


def _settle(est_lower: float, est_upper: float, lower: float, upper: float, tol: float) -> tuple[float, float, bool]:
    """The proven bracket and True when it is within tol; else the estimates
    intersected with the proven ends, and False."""
    if within(lower, upper, tol):
        return lower, upper, True
    hi = min(est_upper, upper)
    return min(max(est_lower, lower), hi), hi, False


def _route_note(g: ConvGeometry, route: str, **values: Any) -> notes.Note:
    """The note saying which route ran and what it found (rendered by :data:`lipbench.spectral.notes.CONV_ROUTES`)."""
    return notes.note("convolution", describe=g.describe(), route=route, **values)


def _result(g: ConvGeometry, *, method: str, value: float, lower: float, upper: float, tol: float,
            input_dtype: str, certificate: str, certified: bool, note: notes.Note) -> Any:
    err = (upper - lower) / upper if upper > 0 else 0.0
    said = (note,)
    return SpectralNormResult(
        value=min(max(value, lower), upper), lower=lower, upper=upper, converged=bool(err <= tol), iterations=0,
        matvecs=0, method=method, backend="numpy", dtype="float64", seed=None, tol=float(tol), error_estimate=err,
        input_dtype=input_dtype, shape=g.shape, message=render(said), notes=said, certificate=certificate,
        certified=certified)


# ------------------------------------------------------------------ routes
def bound_route(g: ConvGeometry, bound: float, tol: float, input_dtype: str) -> tuple[Any, float, float]:
    """conv_upper_bound, and one impulse for the lower end: both proven."""
    lower = min(impulse_lower(g), bound)
    r = _result(g, method="bound", value=bound, lower=lower, upper=bound, tol=tol, input_dtype=input_dtype,
                certificate="conv-bound", certified=within(lower, bound, tol), note=_route_note(g, "conv-upper-bound"))
    return r, lower, bound


def gram_route(g: ConvGeometry, bound: float, tol: float, input_dtype: str,
               seed: int | None) -> tuple[Any, float, float]:
    """:func:`.conv_gram.gram_bracket`: both ends proven."""
    import time

    from .conv_gram import gram_bracket

    start = time.perf_counter()
    lower, upper, info = gram_bracket(g, tol, seed, vector_lower)
    upper = min(upper, bound)
    if lower == 0.0:  # no usable eigenvector: an impulse instead
        lower = min(impulse_lower(g), upper)
    certified = within(lower, upper, tol)
    note = _route_note(g, "gram-cholesky", certified=certified, **info)
    r = _result(g, method="gram-cholesky", value=lower, lower=lower, upper=upper, tol=tol, input_dtype=input_dtype,
                certificate="conv-gram (Rump)" if info["proven"] else "conv-bound", certified=certified, note=note)
    return dataclasses.replace(r, seconds=time.perf_counter() - start), lower, upper


def proven_ends(r: Any, lower: float, upper: float, why: str, upper_from: str) -> Any:
    """A route's result with its proven ends as the bracket (``certify=True`` past the
    Gram route's size: ``why`` and ``upper_from`` say so in a note)."""
    said = (*r.notes, notes.note("conv-certify-ends", why=why, upper_from=upper_from))
    err = (upper - lower) / upper if upper > 0 else 0.0
    return dataclasses.replace(r, lower=lower, upper=upper, value=min(max(float(r.value), lower), upper),
                               error_estimate=err, converged=bool(err <= float(r.tol)), message=render(said),
                               notes=said, certified=within(lower, upper, float(r.tol)))


def fft_route(g: ConvGeometry, bound: float, tol: float, input_dtype: str) -> tuple[Any, float, float]:
    """The DFT's block SVDs (an estimate, module doc), certified only by proven ends."""

    f_lower, value, f_upper, info = circular_conv_norm(g)
    p_lower = min(impulse_lower(g), bound)
    lower, upper, certified = _settle(f_lower, f_upper, p_lower, bound, tol)
    note = _route_note(g, "dft", frequencies=info["frequencies"], block_shape=info["block_shape"],
                       fft_rounding=info["rounding"]["fft"], svd_rounding=info["rounding"]["svd"],
                       certified=certified, proven_lower=p_lower, proven_upper=bound)
    r = _result(g, method="fft", value=value, lower=lower, upper=upper, tol=tol, input_dtype=input_dtype,
                certificate="conv-bound" if certified else "fft (calibrated)", certified=certified, note=note)
    return r, p_lower, bound


def matrix_free_route(g: ConvGeometry, method: str, bound: float, input_dtype: str, *, tol: float | None,
                      maxiter: int | None, seed: int | None, strict: bool) -> tuple[Any, float, float]:
    """``lipbench.spectral_norm`` on the operator, certified only by proven ends (module doc)."""

    r = spectral_norm(conv_operator(g, ()), method=method, tol=tol, maxiter=maxiter, seed=seed,
                               strict=strict)
    if fft_applies(g)[0]:  # the DFT's upper end, when the caller chose another route
        embedded, grid = circular_conv_norm(g)[2], g.in_spatial
    else:
        embedded, info = embedding_upper(g)
        grid = info["grid"]
    p_lower = min(max(impulse_lower(g), vector_lower(g, r.vector)), bound)
    est_upper = min(float(r.upper), bound, embedded)
    lower, upper, certified = _settle(float(r.lower), est_upper, p_lower, bound, float(r.tol))
    if certified or upper == bound:
        upper_from = "conv-upper-bound"
    elif upper == embedded and embedded < bound:
        upper_from = "circular-embedding"
    else:
        upper_from = "operator-iteration"
    certificate = {"conv-upper-bound": "conv-bound", "circular-embedding": "circular-embedding (calibrated)",
                   "operator-iteration": r.certificate}[upper_from]
    said = (_route_note(g, "operator-iteration", certified=certified, upper_from=upper_from, grid=grid,
                        proven_lower=p_lower, proven_upper=bound), *r.notes)
    out = dataclasses.replace(r, lower=lower, upper=upper, value=min(max(float(r.value), lower), upper),
                              input_dtype=input_dtype, message=render(said), notes=said, certificate=certificate,
                              certified=certified)
    return out, p_lower, bound


def dense_route(g: ConvGeometry, bound: float, input_dtype: str, *, tol: float | None, seed: int | None,
                strict: bool) -> tuple[Any, float, float]:
    """The operator's matrix from its columns, bracketed by the ``svd`` method's proof.

    A column is the operator applied to a unit vector: each entry is a sum of
    the at most K kernel taps that land on that input (:func:`entry_hits`;
    several only where padding wraps or repeats) and exact zeros, so the
    assembled matrix is off by at most ``gamma_{K-1} || |A| ||_F`` (term
    ``conv_assembly``), which widens the proven bracket on each side.
    """
    n = g.shape[1]
    M = conv_operator(g, ()).matmat(np.eye(n))
    e = assembly_error(_abs_operator(g).matmat(np.eye(n)), entry_hits(g))
    want = default_tol("float64") if tol is None else float(tol)
    # half the width for the matrix, the rest for the assembly's rounding e
    r = spectral_norm(M, method="svd", tol=want / 2, seed=seed, strict=strict)
    lower = max(dn(Fraction(float(r.lower)) - Fraction(e)), 0.0) if math.isfinite(e) else 0.0
    upper = min(sum_up([float(r.upper), e]), bound)
    said = (_route_note(g, "dense-assembly", rows=M.shape[0], cols=M.shape[1], assembly_error=e), *r.notes)
    out = dataclasses.replace(r, lower=lower, upper=upper, value=min(max(float(r.value), lower), upper), tol=want,
                              input_dtype=input_dtype, message=render(said), notes=said, method="dense",
                              certified=within(lower, upper, want))
    return out, lower, upper
