"""Operator norms of convolutions (1-D, 2-D, 3-D, multi-channel), PyTorch semantics.

``conv_operator_norm(kernel, input_shape, ...)`` is sigma_max of the linear map
``x -> conv(x, kernel)`` on one input of shape ``(C_in, *input_shape)`` (no
bias), with the arguments and kernel layout of ``torch.nn.functional.conv{1,2,3}d``
(``(out, in/groups, *k)``) and ``conv_transpose{1,2,3}d`` (``(in, out/groups, *k)``).
It returns a :class:`lipbench.SpectralNormResult`; ``certified`` is True only
when proven ends lie within tol (:mod:`.conv_routes` says which ends are proofs).

Methods:

* ``"fft"`` -- exact for circular padding when every stride divides its input
  length and the output has ``N/s`` positions: the DFT block-diagonalises the
  map (Sedghi, Gupta & Long 2019; stride by polyphase), see :mod:`.conv_fft`;
  its rounding constants are calibrated, so its bracket is an estimate.
* ``"dense"`` -- the operator's matrix assembled from its columns, with the
  ``svd`` method's proven bracket widened by the assembly's rounding.
* ``"lanczos"`` (or any matrix-free method of :data:`lipbench.METHODS`) -- the
  convolution and its exact adjoint as a ``LinearOperator`` fed to
  :func:`lipbench.spectral_norm`; every padding mode, stride, dilation, group
  count and transposition.
* ``"gram-cholesky"`` -- the Gram matrix on the smaller side assembled from the kernel,
  Rump's Cholesky test and the top eigenvector (:mod:`.conv_gram`): both ends
  proven, at the sizes of real layers (smaller side up to a few thousand).
* ``"bound"`` -- :func:`~lipbench.lipschitz.conv_bound.conv_upper_bound`, no iteration; lower end from impulses.
* ``"auto"`` -- ``"fft"`` where it applies, else ``"dense"`` for small
  operators, else ``"gram-cholesky"`` up to :data:`~.conv_gram.GRAM_AUTO_SIDE`, else
  ``"lanczos"``; the upper end is always intersected with :func:`conv_upper_bound`.

The map itself (geometry, products, ``LinearOperator``) is :mod:`.conv_map`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._rounding import ETA, dn, scale_back, up, within
from ..spectral import METHODS, ConvergenceWarning, default_tol
from ..spectral._certification import certified_width
from ..spectral._scaling import pow2_exponent, scale_array
from ..spectral.notes import note, render
from . import _sigma
from . import conv_routes as routes
from .conv_bound import conv_upper_bound
from .conv_embedding import embedding_flops, proven_embedding_upper
from .conv_fft import fft_applies
from .conv_gram import GRAM_AUTO_SIDE, GRAM_MAX_SIDE, gram_fits, gram_side
from .conv_map import PADDING_MODES, ConvGeometry, conv_geometry, conv_operator

__all__ = ["ConvGeometry", "conv_geometry", "conv_operator", "conv_operator_norm", "conv_certified_bracket",
           "layer_upper", "embedding_bound", "EMBEDDING_MAX_FLOPS", "CONV_METHODS", "PADDING_MODES"]

CONV_METHODS = ("auto", "fft", "dense", "gram-cholesky", "lanczos", "bound")
#: the most multiply-adds a layer's constant spends on the proven circular embedding past
#: DENSE_MAX_ENTRIES (about 15 s on one core; a 128 -> 128 channel 3x3 layer at stride 2 on 32x32
#: takes about 1e10); past it the layer keeps the size-free bound
EMBEDDING_MAX_FLOPS = 1 << 35
#: ``method="auto"`` assembles operators with at most this many entries (32 MiB
#: in float64) and takes the dense matrix's certified bracket
DENSE_MAX_ENTRIES = 1 << 22


# --------------------------------------------------------------- the norm
def conv_operator_norm(kernel: Any, input_shape: Sequence[int], *, stride: Any = 1, padding: Any = 0,
                       dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros", transposed: bool = False,
                       output_padding: Any = 0, method: str = "auto", tol: float | None = None,
                       maxiter: int | None = None, seed: int | None = None, strict: bool = False,
                       certify: bool | None = None):
    """sigma_max of the convolution ``x -> conv(x, kernel)`` on inputs of shape
    ``(C_in, *input_shape)``, with PyTorch's arguments, as a
    :class:`lipbench.SpectralNormResult`.

    kernel : ``(C_out, C_in/groups, *k)``, or ``(C_in, C_out/groups, *k)`` when
        ``transposed`` (``conv_transpose{1,2,3}d``, zeros padding only).
    input_shape : the spatial shape ``(L,)``, ``(H, W)`` or ``(D, H, W)`` of one
        input, optionally preceded by its channel count.
    stride, padding, dilation, groups, padding_mode, output_padding : as in
        PyTorch (``padding`` also ``"same"``/``"valid"``; padding modes
        ``"zeros"``, ``"circular"``, ``"reflect"``, ``"replicate"``).
    method : ``"auto"`` (``"fft"`` where exact, else ``"dense"`` up to
        :data:`DENSE_MAX_ENTRIES` entries, else ``"gram-cholesky"`` up to a smaller side
        of :data:`~.conv_gram.GRAM_AUTO_SIDE`, else ``"lanczos"``), ``"fft"``,
        ``"dense"`` (the operator's matrix assembled from its columns, then the
        ``svd`` method's proven bracket, widened by the assembly's rounding),
        ``"gram-cholesky"`` (:mod:`.conv_gram`: the Gram matrix on the smaller side from
        the kernel, Rump's Cholesky test; both ends proven),
        ``"lanczos"`` (or another matrix-free method of :data:`lipbench.METHODS`),
        ``"bound"`` (:func:`conv_upper_bound` only, an impulse for the lower end).
    tol, maxiter, seed, strict : passed to :func:`lipbench.spectral_norm` on the
        matrix-free route; ``tol`` decides ``converged`` and ``certified`` on every route.
    certify : True: the bracket is proven ends; ``"auto"`` then takes ``"dense"``
        or ``"gram-cholesky"`` (up to a smaller side of :data:`~.conv_gram.GRAM_MAX_SIDE`),
        else ``"lanczos"`` with its proven ends, said in a note: the final
        vector's lower bound, and the smaller of :func:`conv_upper_bound` and the
        circular embedding with its rounding proven (:mod:`.conv_embedding`).  False:
        ``"auto"`` never takes ``"gram-cholesky"``.  None (default): the ``"auto"`` rule above.

    ``certified`` is True only when two *proven* ends lie within ``tol``
    (:mod:`.conv_routes`): the dense, gram-cholesky and bound routes' brackets are proofs;
    the FFT route's and the matrix-free route's are estimates (calibrated FFT
    constants; a ``LinearOperator``'s assumed rounding), certified only by
    :func:`conv_upper_bound` and a proven lower bound.  :func:`conv_certified_bracket`
    gives proven ends for any size.  The result's ``shape`` is the operator's
    (rows, columns) on flattened tensors and ``message`` names the convolution
    and the route; the upper end is intersected with :func:`conv_upper_bound`
    on every route.
    """
    g = conv_geometry(kernel, input_shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
                      padding_mode=padding_mode, transposed=transposed, output_padding=output_padding)
    if not isinstance(method, str) or (method not in CONV_METHODS and method not in METHODS):
        raise ValueError(f"unknown method {method!r}; choose one of {CONV_METHODS} or a matrix-free method of "
                         f"lipbench.METHODS ({', '.join(METHODS)})")
    if certify not in (None, True, False):
        raise ValueError(f"certify must be True, False or None; got {certify!r}")
    if method == "auto":
        method = _auto(g, certify)
    r, lower, upper = _route(g, method, _sigma.dtype_label(kernel), tol=tol, maxiter=maxiter, seed=seed,
                             strict=strict)
    if certify and (float(r.lower), float(r.upper)) != (lower, upper):
        side = gram_side(g)[1]
        why = (f"the Gram route's smaller side {side} (x {g.groups} groups) exceeds GRAM_MAX_SIDE = {GRAM_MAX_SIDE}"
               if not gram_fits(g, GRAM_MAX_SIDE) else f"method {method!r} gives estimates")
        upper_from = "conv_upper_bound"
        embedded = embedding_bound(g, float(r.tol))
        if embedded < upper:
            upper, upper_from = embedded, "circular-embedding (proven)"
        r = routes.proven_ends(r, min(lower, upper), upper, why, upper_from)
    return r


def layer_upper(g: ConvGeometry) -> float:
    """A convolution layer's proven constant: the dense route's certified upper end when the
    operator has at most :data:`DENSE_MAX_ENTRIES` entries, else the smaller of
    :func:`conv_upper_bound` and :func:`embedding_bound` (up to :data:`EMBEDDING_MAX_FLOPS`)."""
    if g.shape[0] * g.shape[1] > DENSE_MAX_ENTRIES:  # too large to assemble: the smaller proven bound
        return min(conv_upper_bound(g, g.in_spatial), embedding_bound(g, max_flops=EMBEDDING_MAX_FLOPS))
    return conv_certified_bracket(g, g.in_spatial)[1]


def embedding_bound(g: ConvGeometry, tol: float = 1e-8, max_flops: int | None = None) -> float:
    """The proven circular embedding's upper bound (:mod:`.conv_embedding`; ``tol``: the
    relative width its test asks), or inf where the kernel's largest entry lies outside the
    range whose squares stay normal, or where its cost (:func:`.conv_embedding.embedding_flops`)
    passes ``max_flops``."""
    peak = float(np.max(np.abs(g.weight)))
    if not _GRAM_SAFE_PEAK[0] <= peak <= _GRAM_SAFE_PEAK[1]:
        return math.inf
    if max_flops is not None and embedding_flops(g) > max_flops:
        return math.inf
    return proven_embedding_upper(g, tol)[0]


def _auto(g: ConvGeometry, certify: bool | None) -> str:
    """``method="auto"``'s route (see :func:`conv_operator_norm`)."""
    if g.shape[0] * g.shape[1] <= DENSE_MAX_ENTRIES and (certify or not fft_applies(g)[0]):
        return "dense"
    if not certify and fft_applies(g)[0]:
        return "fft"
    limit = GRAM_MAX_SIDE if certify else GRAM_AUTO_SIDE if certify is None else 0
    return "gram-cholesky" if limit and gram_fits(g, limit) else "lanczos"


def _route(g: ConvGeometry, method: str, input_dtype: str, *, tol: float | None, maxiter: int | None,
           seed: int | None, strict: bool) -> tuple[Any, float, float]:
    """(result, proven lower end, proven upper end) of one route (:mod:`.conv_routes`)."""
    peak = float(np.max(np.abs(g.weight)))
    safe = _GRAM_SAFE_PEAK if method == "gram-cholesky" else _SAFE_PEAK
    if peak > 0 and not safe[0] <= peak <= safe[1]:
        return _scaled_route(g, peak, method, input_dtype, tol=tol, maxiter=maxiter, seed=seed, strict=strict)
    bound = conv_upper_bound(g, g.in_spatial)
    if method in ("fft", "bound", "gram-cholesky"):
        tol = default_tol("float64") if tol is None else tol
        if method == "gram-cholesky":
            return routes.gram_route(g, bound, tol, input_dtype, seed)
        if method == "fft":
            ok, why = fft_applies(g)
            if not ok:
                raise ValueError(why)
            return routes.fft_route(g, bound, tol, input_dtype)
        return routes.bound_route(g, bound, tol, input_dtype)
    if method == "dense":
        return routes.dense_route(g, bound, input_dtype, tol=tol, seed=seed, strict=strict)
    return routes.matrix_free_route(g, method, bound, input_dtype, tol=tol, maxiter=maxiter, seed=seed,
                                    strict=strict)


#: a kernel whose largest entry lies outside this range is scaled by a power of two first
_SAFE_PEAK = (2.0**-500, 2.0**500)
#: the same for the Gram route, whose entries are sums of squares of the kernel's
_GRAM_SAFE_PEAK = (2.0**-100, 2.0**100)


def _scaled_route(g: ConvGeometry, peak: float, method: str, input_dtype: str, **kw: Any) -> tuple[Any, float, float]:
    """:func:`_route` on the kernel times ``2^-e`` (largest entry in [1/2, 1)): the
    operator is linear in the kernel, so its norm scales back by ``2^e``, rounded
    outward (an end beyond float64's range becomes inf or the largest float).  Scaling
    down rounds entries below the normal range by at most ``eta / 2``; each entry of
    the operator's matrix sums at most K of them (``entry_hits``) and a row holds at
    most ``terms_per_entry`` nonzeros, so the operator moves by at most
    ``K eta / 2 sqrt(rows terms)`` in 2-norm (its Frobenius norm), by Weyl."""
    import dataclasses as dc

    e = pow2_exponent(peak)
    weight, _ = scale_array(np, g.weight, e, "float64")
    gs = dc.replace(g, weight=weight)
    r, lo, hi = _route(gs, method, input_dtype, **kw)
    moved = (up(routes.entry_hits(gs) * ETA / 2 * up(math.sqrt(gs.shape[0] * routes.terms_per_entry(gs))))
             if e > 0 else 0.0)
    s = math.ldexp(1.0, e)
    lo, hi = scale_back(max(dn(lo - moved), 0.0), s, "down"), scale_back(up(hi + moved), s, "up")
    lower = scale_back(max(dn(float(r.lower) - moved), 0.0), s, "down")
    upper = scale_back(up(float(r.upper) + moved), s, "up")
    with np.errstate(over="ignore"):
        value = min(max(float(r.value) * s, lower), upper)
    said = (*r.notes, note("kernel-scaled", e=e))
    return (dc.replace(r, value=value, lower=lower, upper=upper, message=render(said), notes=said,
                       certified=bool(r.certified) and within(lo, hi, float(r.tol))), lo, hi)


def conv_certified_bracket(kernel: Any, input_shape: Sequence[int], *, seed: int | None = None,
                           **conv_args: Any) -> tuple[float, float, str]:
    """``(lower, upper, route)`` with ``lower <= sigma_max <= upper`` proven (rounding
    included) for the convolution (arguments as :func:`conv_operator_norm`, no method):
    the ``dense`` route at its narrowest certified width where the matrix has at most
    :data:`DENSE_MAX_ENTRIES` entries, else the matrix-free route's proven ends
    (:func:`conv_upper_bound`; the Lanczos vector's or an impulse's lower bound)."""
    g = kernel if isinstance(kernel, ConvGeometry) else conv_geometry(kernel, input_shape, **conv_args)
    m, n = g.shape
    small = m * n <= DENSE_MAX_ENTRIES
    # the dense route gives the matrix half the width: its narrowest certified one
    tol = 2 * certified_width(0.0, "float64", m, n) if small else None
    with warnings.catch_warnings():  # a width not reached still leaves proven ends
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, lower, upper = _route(g, "dense" if small else "lanczos", "float64", tol=tol, maxiter=None, seed=seed,
                                 strict=False)
    return lower, upper, "dense" if small else "lanczos"
