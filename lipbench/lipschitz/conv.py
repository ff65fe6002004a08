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
* ``"bound"`` -- :func:`~lipbench.lipschitz.conv_bound.conv_upper_bound`, no iteration; lower end from impulses.
* ``"auto"`` -- ``"fft"`` where it applies, else ``"dense"`` for small
  operators, else ``"lanczos"``; the upper end is always intersected with
  :func:`conv_upper_bound`.

The map is ``A = V P`` with ``P`` the padding (a 0/1 matrix: zeros, circular,
reflect or replicate) and ``V`` the "valid" strided, dilated correlation
``y[o, i] = sum_{c, t} W[o, c, t] xp[c, i*s + t*d]``; a transposed convolution
is ``A^T`` for the forward map whose kernel is the transposed one read in the
forward layout (PyTorch defines it as that gradient), so it has the same norm.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._sigma import real_array

__all__ = ["ConvGeometry", "conv_geometry", "conv_operator", "conv_operator_norm", "conv_certified_bracket",
           "CONV_METHODS", "PADDING_MODES"]

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")
CONV_METHODS = ("auto", "fft", "dense", "lanczos", "bound")
#: ``method="auto"`` assembles operators with at most this many entries (32 MiB
#: in float64) and takes the dense matrix's certified bracket
DENSE_MAX_ENTRIES = 1 << 22


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution reduced to its forward form ``A = V P`` (see the module doc).

    ``weight`` is float64 in the forward layout ``(C_out, C_in/groups, *k)``;
    ``in_spatial`` and ``out_spatial`` are the forward map's input and output
    sizes (for ``transposed`` the operator is ``A^T``); ``pad_left``/``pad_right``
    the padding on each side per axis.
    """

    weight: np.ndarray
    groups: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_left: tuple[int, ...]
    pad_right: tuple[int, ...]
    padding_mode: str
    transposed: bool

    @property
    def ndim(self) -> int:
        return len(self.in_spatial)

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(self.weight.shape[2:])

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1]) * self.groups

    @property
    def forward_shape(self) -> tuple[int, int]:
        """(rows, columns) of the forward matrix A."""
        return (self.out_channels * math.prod(self.out_spatial), self.in_channels * math.prod(self.in_spatial))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the operator the user asked about (A, or A^T when transposed)."""
        m, n = self.forward_shape
        return (n, m) if self.transposed else (m, n)

    def pad_index(self, axis: int) -> np.ndarray:
        """Source index in ``[0, L)`` of each padded position along ``axis``; -1 for a zero."""
        L, pl, pr = self.in_spatial[axis], self.pad_left[axis], self.pad_right[axis]
        j = np.arange(-pl, L + pr)
        if self.padding_mode == "zeros":
            return np.where((j >= 0) & (j < L), j, -1)
        if self.padding_mode == "circular":
            return np.mod(j, L)
        if self.padding_mode == "reflect":
            j = np.abs(j)
            return np.where(j >= L, 2 * (L - 1) - j, j)
        return np.clip(j, 0, L - 1)  # replicate

    def describe(self) -> str:
        kind = "conv_transpose" if self.transposed else "conv"
        return (f"{kind}{self.ndim}d kernel {self.weight.shape}"
                f"{' (forward layout)' if self.transposed else ''}, input "
                f"{(self.out_channels, *self.out_spatial) if self.transposed else (self.in_channels, *self.in_spatial)}"
                ", "
                f"stride {self.stride}, padding {self.pad_left}"
                + (f"/{self.pad_right}" if self.pad_right != self.pad_left else "")
                + f" {self.padding_mode}, dilation {self.dilation}, groups {self.groups}")


def _tuple(value: Any, d: int, name: str, minimum: int) -> tuple[int, ...]:
    vals = (value,) * d if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        vals = tuple(vals)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of {d} ints; got {value!r}") from None
    if len(vals) != d or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise ValueError(f"{name} must be an int or a tuple of {d} ints (one per spatial axis); got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{name} must be >= {minimum} on every axis; got {value!r}")
    return tuple(int(v) for v in vals)


def _check_kernel(kernel: Any) -> np.ndarray:
    a = real_array(kernel, "kernel")
    if a.ndim not in (3, 4, 5):
        raise ValueError("kernel must have shape (out, in/groups, *k) with 1, 2 or 3 spatial axes; "
                         f"got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"kernel is empty (shape {a.shape})")
    a = np.array(a, dtype=np.float64, copy=True)  # never a view of the caller's array
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        raise ValueError(f"kernel contains {a[tuple(bad[0])]} at {tuple(int(i) for i in bad[0])}; "
                         "the operator norm is undefined")
    return a


def conv_geometry(kernel: Any, input_shape: Sequence[int], *, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros", transposed: bool = False,
                  output_padding: Any = 0) -> ConvGeometry:
    """Validate PyTorch-style arguments and reduce them to a :class:`ConvGeometry`.

    ``input_shape`` is the spatial shape ``(*S)`` of one input, or ``(C, *S)``
    with C checked against the kernel.  ``padding`` is an int, a tuple, or
    ``"valid"`` / ``"same"`` (stride 1, not transposed; an odd total goes one
    more to the right, as in PyTorch).
    """
    W = _check_kernel(kernel)
    d = W.ndim - 2
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"input_shape must be a sequence of ints; got {input_shape!r}") from None
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int; got {groups!r}")
    groups = int(groups)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}; got {padding_mode!r}")
    if transposed and padding_mode != "zeros":
        raise ValueError("a transposed convolution takes padding_mode 'zeros' only (as in PyTorch); "
                         f"got {padding_mode!r}")
    stride_t = _tuple(stride, d, "stride", 1)
    dil = _tuple(dilation, d, "dilation", 1)
    ksize = W.shape[2:]
    # channels: forward layout (C_out, C_in/g); transposed kernels are (C_in_T, C_out_T/g) = forward (C_out, C_in/g)
    c_first = W.shape[0]
    if c_first % groups:
        which = "in" if transposed else "out"
        raise ValueError(f"the kernel's first axis ({which}_channels = {c_first}) is not divisible by groups={groups}")
    user_channels = c_first if transposed else W.shape[1] * groups
    if len(shape) == d + 1:
        if shape[0] != user_channels:
            raise ValueError(f"input_shape {shape}, read as (C_in, *spatial) since the kernel {W.shape} has {d} "
                             f"spatial axes, has {shape[0]} channels; the kernel with groups={groups} takes "
                             f"{user_channels}")
        shape = shape[1:]
    elif len(shape) != d:
        raise ValueError(f"kernel {W.shape} has {d} spatial axes but input_shape {tuple(input_shape)} has {len(shape)} "
                         f"(give (*spatial) or (C_in, *spatial))")
    if any(s < 1 for s in shape):
        raise ValueError(f"input_shape {tuple(input_shape)} has an empty axis")
    span = tuple(dl * (k - 1) + 1 for dl, k in zip(dil, ksize))
    if isinstance(padding, str):
        if padding == "valid":
            pl = pr = (0,) * d
        elif padding == "same":
            if transposed or any(s != 1 for s in stride_t):
                raise ValueError("padding='same' needs stride 1 and no transposition (as in PyTorch)")
            pl = tuple((sp - 1) // 2 for sp in span)
            pr = tuple(sp - 1 - p for sp, p in zip(span, pl))
        else:
            raise ValueError(f"padding must be an int, a tuple, 'valid' or 'same'; got {padding!r}")
    else:
        pl = pr = _tuple(padding, d, "padding", 0)
    if transposed:
        outp = _tuple(output_padding, d, "output_padding", 0)
        if any(op >= max(s, dl) for op, s, dl in zip(outp, stride_t, dil)):
            raise ValueError(f"output_padding {output_padding!r} must be smaller than stride or dilation on each axis")
        fwd_in = tuple((L - 1) * s - 2 * p + sp - 1 + op + 1
                       for L, s, p, sp, op in zip(shape, stride_t, pl, span, outp))
        if any(n < 1 for n in fwd_in):
            raise ValueError(f"transposed convolution of input {shape} with padding {pl} has an empty output {fwd_in}")
        fwd_out = shape
    else:
        if any(op != 0 for op in _tuple(output_padding, d, "output_padding", 0)):
            raise ValueError("output_padding applies to transposed convolutions only")
        fwd_in = shape
        fwd_out = None
    for ax, (L, a, b) in enumerate(zip(fwd_in, pl, pr)):
        if padding_mode == "circular" and max(a, b) > L:
            raise ValueError(f"circular padding {max(a, b)} on axis {ax} exceeds the input length {L} "
                             "(PyTorch refuses it)")
        if padding_mode == "reflect" and max(a, b) >= L:
            raise ValueError(f"reflect padding {max(a, b)} on axis {ax} must be smaller than the input length {L}")
    padded = tuple(L + a + b for L, a, b in zip(fwd_in, pl, pr))
    if any(P < sp for P, sp in zip(padded, span)):
        raise ValueError(f"the padded input {padded} is smaller than the dilated kernel {span}; "
                         "no output position exists")
    full_out = tuple((P - sp) // s + 1 for P, sp, s in zip(padded, span, stride_t))
    if fwd_out is None:
        fwd_out = full_out
    return ConvGeometry(weight=W, groups=groups, in_spatial=fwd_in, out_spatial=tuple(fwd_out), stride=stride_t,
                        dilation=dil, pad_left=pl, pad_right=pr, padding_mode=padding_mode, transposed=bool(transposed))


# --------------------------------------------------------------- the operator
def _taps(g: ConvGeometry):
    """(tap index, slices into the padded input) for every kernel tap."""
    for t in np.ndindex(*g.kernel_size):
        yield t, tuple(slice(tk * dl, tk * dl + s * (n - 1) + 1, s)
                       for tk, dl, s, n in zip(t, g.dilation, g.stride, g.out_spatial))


def _pad(g: ConvGeometry, x: np.ndarray) -> np.ndarray:
    """P x for x of shape (C, *in_spatial)."""
    if g.padding_mode == "zeros":
        return np.pad(x, [(0, 0)] + list(zip(g.pad_left, g.pad_right)))
    for ax in range(g.ndim):
        x = np.take(x, g.pad_index(ax), axis=ax + 1)
    return x


def _pad_adjoint(g: ConvGeometry, z: np.ndarray) -> np.ndarray:
    """P^T z for z of shape (C, *padded): each source entry sums the padded entries copied from it."""
    if g.padding_mode == "zeros":
        return z[(slice(None),) + tuple(slice(a, a + L) for a, L in zip(g.pad_left, g.in_spatial))]
    for ax in range(g.ndim):
        idx = g.pad_index(ax)
        gather = np.zeros((idx.size, g.in_spatial[ax]))
        gather[np.arange(idx.size), idx] = 1.0
        z = np.moveaxis(np.tensordot(z, gather, axes=([ax + 1], [0])), -1, ax + 1)
    return z


def _forward(g: ConvGeometry, x: np.ndarray) -> np.ndarray:
    """A x (x flat, length C_in * prod(in_spatial))."""
    G = g.groups
    xp = _pad(g, x.reshape((g.in_channels,) + g.in_spatial)).reshape((G, g.in_channels // G) + tuple(
        L + a + b for L, a, b in zip(g.in_spatial, g.pad_left, g.pad_right)))
    Wg = g.weight.reshape((G, g.out_channels // G) + g.weight.shape[1:])
    n_out = math.prod(g.out_spatial)
    y = np.zeros((G, g.out_channels // G, n_out))
    for t, sl in _taps(g):
        y += Wg[(slice(None),) * 3 + t] @ xp[(slice(None), slice(None)) + sl].reshape(G, -1, n_out)
    return y.reshape(-1)


def _adjoint(g: ConvGeometry, y: np.ndarray) -> np.ndarray:
    """A^T y (y flat, length C_out * prod(out_spatial))."""
    G = g.groups
    padded = tuple(L + a + b for L, a, b in zip(g.in_spatial, g.pad_left, g.pad_right))
    yg = y.reshape(G, g.out_channels // G, -1)
    Wg = g.weight.reshape((G, g.out_channels // G) + g.weight.shape[1:])
    z = np.zeros((G, g.in_channels // G) + padded)
    for t, sl in _taps(g):
        WtT = np.swapaxes(Wg[(slice(None),) * 3 + t], 1, 2)
        z[(slice(None), slice(None)) + sl] += (WtT @ yg).reshape((G, g.in_channels // G) + g.out_spatial)
    return _pad_adjoint(g, z.reshape((g.in_channels,) + padded)).reshape(-1)


def conv_operator(kernel: Any, input_shape: Sequence[int], **conv_args: Any):
    """The convolution as a ``scipy.sparse.linalg.LinearOperator`` (float64) on
    flattened ``(C, *spatial)`` arrays (C-order), with its exact adjoint as
    ``rmatvec``.  Arguments as :func:`conv_operator_norm`; also takes a
    :class:`ConvGeometry` in place of the kernel (then no other arguments).
    Cost per product: ``prod(k)`` matrix products of ``(C_out/g, C_in/g)`` by
    ``(C_in/g, prod(out))`` per group, plus the padding's copies."""
    from scipy.sparse.linalg import LinearOperator

    g = kernel if isinstance(kernel, ConvGeometry) else conv_geometry(kernel, input_shape, **conv_args)
    fwd, adj = (_adjoint, _forward) if g.transposed else (_forward, _adjoint)

    def matvec(v: np.ndarray) -> np.ndarray:
        return fwd(g, np.asarray(v, dtype=np.float64).reshape(-1))

    def rmatvec(v: np.ndarray) -> np.ndarray:
        return adj(g, np.asarray(v, dtype=np.float64).reshape(-1))

    return LinearOperator(g.shape, matvec=matvec, rmatvec=rmatvec, dtype=np.float64)


# --------------------------------------------------------------- the norm
def conv_operator_norm(kernel: Any, input_shape: Sequence[int], *, stride: Any = 1, padding: Any = 0,
                       dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros", transposed: bool = False,
                       output_padding: Any = 0, method: str = "auto", tol: float | None = None,
                       maxiter: int | None = None, seed: int | None = None, strict: bool = False):
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
        :data:`DENSE_MAX_ENTRIES` entries, else ``"lanczos"``), ``"fft"``,
        ``"dense"`` (the operator's matrix assembled from its columns, then the
        ``svd`` method's proven bracket, widened by the assembly's rounding),
        ``"lanczos"`` (or another matrix-free method of :data:`lipbench.METHODS`),
        ``"bound"`` (:func:`conv_upper_bound` only, an impulse for the lower end).
    tol, maxiter, seed, strict : passed to :func:`lipbench.spectral_norm` on the
        matrix-free route; ``tol`` decides ``converged`` and ``certified`` on every route.

    ``certified`` is True only when two *proven* ends lie within ``tol``
    (:mod:`.conv_routes`): the dense and bound routes' brackets are proofs;
    the FFT route's and the matrix-free route's are estimates (calibrated FFT
    constants; a ``LinearOperator``'s assumed rounding), certified only by
    :func:`conv_upper_bound` and a proven lower bound.  :func:`conv_certified_bracket`
    gives proven ends for any size.  The result's ``shape`` is the operator's
    (rows, columns) on flattened tensors and ``message`` names the convolution
    and the route; the upper end is intersected with :func:`conv_upper_bound`
    on every route.
    """
    import lipbench

    from .conv_fft import fft_applies

    g = conv_geometry(kernel, input_shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
                      padding_mode=padding_mode, transposed=transposed, output_padding=output_padding)
    if not isinstance(method, str) or (method not in CONV_METHODS and method not in lipbench.METHODS):
        raise ValueError(f"unknown method {method!r}; choose one of {CONV_METHODS} or a matrix-free method of "
                         f"lipbench.METHODS ({', '.join(lipbench.METHODS)})")
    if method == "auto":
        method = ("fft" if fft_applies(g)[0]
                  else "dense" if g.shape[0] * g.shape[1] <= DENSE_MAX_ENTRIES else "lanczos")
    return _route(g, method, str(np.asarray(kernel).dtype), tol=tol, maxiter=maxiter, seed=seed, strict=strict)[0]


def _route(g: ConvGeometry, method: str, input_dtype: str, *, tol: float | None, maxiter: int | None,
           seed: int | None, strict: bool) -> tuple[Any, float, float]:
    """(result, proven lower end, proven upper end) of one route (:mod:`.conv_routes`)."""
    import lipbench

    from . import conv_routes as routes
    from .conv_bound import conv_upper_bound
    from .conv_fft import fft_applies

    peak = float(np.max(np.abs(g.weight)))
    if peak > 0 and not _SAFE_PEAK[0] <= peak <= _SAFE_PEAK[1]:
        return _scaled_route(g, peak, method, input_dtype, tol=tol, maxiter=maxiter, seed=seed, strict=strict)
    bound = conv_upper_bound(g, g.in_spatial)
    if method in ("fft", "bound"):
        tol = lipbench.default_tol("float64") if tol is None else tol
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


def _scaled_route(g: ConvGeometry, peak: float, method: str, input_dtype: str, **kw: Any) -> tuple[Any, float, float]:
    """:func:`_route` on the kernel times ``2^-e`` (largest entry in [1/2, 1)): the
    operator is linear in the kernel, so its norm scales back by ``2^e``, rounded
    outward (an end beyond float64's range becomes inf or the largest float).  Scaling
    down rounds entries below the normal range by at most ``eta / 2``; each entry of
    the operator's matrix sums at most K of them (``entry_hits``) and a row holds at
    most ``terms_per_entry`` nonzeros, so the operator moves by at most
    ``K eta / 2 sqrt(rows terms)`` in 2-norm (its Frobenius norm), by Weyl."""
    import dataclasses as dc

    from .._rounding import ETA, dn, scale_back, up, within
    from ..spectral._scaling import pow2_exponent, scale_array
    from . import conv_routes as routes

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
    note = f"the kernel was scaled by 2^{-e} and the norm back by 2^{e}, rounded outward"
    return (dc.replace(r, value=value, lower=lower, upper=upper, message=f"{r.message}; {note}",
                       certified=bool(r.certified) and within(lo, hi, float(r.tol))), lo, hi)


def conv_certified_bracket(kernel: Any, input_shape: Sequence[int], *, seed: int | None = None,
                           **conv_args: Any) -> tuple[float, float, str]:
    """``(lower, upper, route)`` with ``lower <= sigma_max <= upper`` proven (rounding
    included) for the convolution (arguments as :func:`conv_operator_norm`, no method):
    the ``dense`` route at its narrowest certified width where the matrix has at most
    :data:`DENSE_MAX_ENTRIES` entries, else the matrix-free route's proven ends
    (:func:`conv_upper_bound`; the Lanczos vector's or an impulse's lower bound)."""
    import lipbench

    from ..spectral._certification import certified_width

    g = kernel if isinstance(kernel, ConvGeometry) else conv_geometry(kernel, input_shape, **conv_args)
    m, n = g.shape
    small = m * n <= DENSE_MAX_ENTRIES
    # the dense route gives the matrix half the width: its narrowest certified one
    tol = 2 * certified_width(0.0, "float64", m, n) if small else None
    with warnings.catch_warnings():  # a width not reached still leaves proven ends
        warnings.simplefilter("ignore", lipbench.ConvergenceWarning)
        _, lower, upper = _route(g, "dense" if small else "lanczos", "float64", tol=tol, maxiter=None, seed=seed,
                                 strict=False)
    return lower, upper, "dense" if small else "lanczos"
