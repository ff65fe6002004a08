"""A certified lower bound on L(f) at one input, for ReLU networks with convolutions.

For a network of Dense, Conv, AvgPool and Flatten layers with ReLU or leaky-ReLU
activations, f is affine on a neighbourhood of any input x at which no
pre-activation is zero, its linear part the Jacobian J = J_f(x); so
``L(f) >= ||J v|| / ||v||`` for every v.  :func:`point_lower` proves both
pieces for the exact network on the float input x (the plain-MLP rung
:mod:`.lower_search` does the same with a linear program's input; this one takes
any x, such as the empirical rung's best point, and any supported layer):

* the pattern: a forward pass with a running bound on each entry's error.  An
  affine layer's entry is a sum of at most ``n`` products (a bias included), so
  it errs by ``gamma_n (|A| |a~| + |b|)`` plus what the input's error ``e``
  carries, ``|A| e``, plus underflow (Higham Thm 3.5; ``|A|`` applied in floating
  point and bounded from above by :func:`lipbench._rounding.abs_sum_upper`); an
  activation keeps a proven sign where ``|z~| > e`` and passes ``slope e`` on,
  plus one rounding for a leaky slope;
* ``||J v||``: the same running bound on the linear parts applied to v with the
  proven slopes, so ``||J v|| >= ||u~|| - ||e||`` (norms bounded with
  :func:`lipbench._rounding.norm_bounds`).

v defaults to the top right singular vector of the computed Jacobian, so the
bound sits just under sigma_max(J_f(x)).  A layer of any other kind is named in
a ValueError, never skipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._rounding import ETA, abs_sum_upper, dn, gamma_up, norm_bounds, one_rounding, up
from .conv_layer import Conv
from .layers import ActivationLayer, Dense
from .network import Sequential
from .pooling import AvgPool
from .residual import Flatten

__all__ = ["point_lower", "point_lower_applies", "proven_slopes", "entry_terms"]

_KINKED_AT_ZERO = ("relu", "leaky_relu")


def point_lower_applies(net: Sequential) -> str | None:
    """None when every layer is supported, else why not (the first layer that is not)."""
    for i, layer in enumerate(net.layers):
        if isinstance(layer, ActivationLayer):
            if layer.activation.name.split("(")[0] not in _KINKED_AT_ZERO:
                return f"layer {i} ({layer.activation.name}) is not ReLU or leaky ReLU"
        elif not isinstance(layer, (Dense, Conv, AvgPool, Flatten)):
            return f"layer {i} ({type(layer).__name__}) has no bound on its rounding here"
    return None


def entry_terms(layer: Any) -> int:
    """The most products summed into one entry, plus one for the bias."""
    if isinstance(layer, Dense):
        return int(layer.weight.shape[1]) + 1
    if isinstance(layer, Conv):
        return int(layer.weight.shape[1] * math.prod(layer.weight.shape[2:])) + 1
    return int(math.prod(layer.kernel_size)) + 1  # AvgPool: the window's sum, then one division


def _linear(layer: Any, v: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """The layer's linear part applied to v (``weight``: another kernel of the same shape)."""
    if isinstance(layer, Dense):
        return (layer.weight if weight is None else weight) @ v
    if isinstance(layer, Conv):
        return layer._apply(v[None, :], layer.weight if weight is None else weight)[0]
    return layer(v)  # AvgPool: linear, non-negative weights


def _bias(layer: Any) -> np.ndarray | float:
    b = getattr(layer, "bias", None)
    if b is None:
        return 0.0
    return np.abs(b) if isinstance(layer, Dense) else np.repeat(np.abs(b), layer.n_positions)


def _error(layer: Any, abs_a: np.ndarray, e: np.ndarray, abs_b: np.ndarray | float) -> np.ndarray:
    """Bound on each entry's error of the layer's computed output, from its input's ``|a~|``
    and error bound ``e`` (module docstring)."""
    n = entry_terms(layer)
    absW = None if isinstance(layer, AvgPool) else np.abs(layer.weight)
    carried = up(abs_sum_upper(_linear(layer, e, absW), n) + n * ETA)
    own = up(gamma_up(n, "product_gamma") * up(abs_sum_upper(_linear(layer, abs_a, absW) + abs_b, n) + n * ETA))
    return up(up(carried + own) + up(n * ETA))


def _through_slopes(s: np.ndarray, a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s a`` and its error bound: ``|s|`` times the carried one (a slope may be negative) plus
    one rounding of the product."""
    out = s * a
    return out, up(up(np.abs(s) * e) + up(one_rounding(np.abs(out)) + ETA))


def _input(net: Sequential, x: Any, name: str) -> np.ndarray:
    a = np.array(x, dtype=np.float64).reshape(-1)
    if a.size != net.in_features or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be {net.in_features} finite numbers; got shape {np.shape(x)}")
    return a


def _slopes(net: Sequential, a: np.ndarray) -> list[np.ndarray] | None:
    """The forward pass of the module docstring from the float input ``a``: each activation's
    proven slopes, or None (a sign too close to tell, or an overflow)."""
    e = np.zeros_like(a)
    slopes = []
    for layer in net.layers:
        if isinstance(layer, ActivationLayer):
            if not np.all(np.abs(a) > e):
                return None
            slopes.append(np.asarray(layer.activation.derivative(a), dtype=np.float64))
            a, e = _through_slopes(slopes[-1], a, e)
        elif not isinstance(layer, Flatten):
            e = _error(layer, np.abs(a), e, _bias(layer))
            a = np.asarray(layer(a), dtype=np.float64)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
            return None  # overflow: nothing proven
    return slopes


def proven_slopes(net: Sequential, x: Any) -> list[np.ndarray] | None:
    """Each activation's slopes at x (1 or alpha per unit), proven for the exact network on the
    float input x (module docstring); None when some pre-activation is too close to 0 for its
    sign to be proven, or a value overflows."""
    why = point_lower_applies(net)
    if why is not None:
        raise ValueError(f"proven_slopes: {why}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is caught and proves nothing
        return _slopes(net, _input(net, x, "x"))


def point_lower(net: Sequential, x: Any, v: Any = None) -> tuple[float, float] | None:
    """``(lower, estimate)``: a certified lower bound on L(f) from x along v (module docstring)
    and the computed ``||J v|| / ||v||``; None when some pre-activation at x is too close to 0 for
    its sign to be proven, or when a value or a sum of squares overflows (nothing is proven then)."""
    why = point_lower_applies(net)
    if why is not None:
        raise ValueError(f"point_lower: {why}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is caught below and proves nothing
        return _point_lower(net, x, v)


def _point_lower(net: Sequential, x: Any, v: Any) -> tuple[float, float] | None:
    """:func:`point_lower`'s work, its overflows left to the finiteness checks."""
    slopes = _slopes(net, _input(net, x, "x"))
    if slopes is None:
        return None
    if v is None:
        J = net.jacobian(x)
        if not np.all(np.isfinite(J)):
            return None
        v = np.linalg.svd(J)[2][0]
    u = np.array(v, dtype=np.float64).reshape(-1)
    if u.size != net.in_features or not np.all(np.isfinite(u)) or not np.any(u):
        raise ValueError(f"v must be {net.in_features} finite numbers, not all zero")
    vv = float(u @ u)
    if not math.isfinite(vv):
        return None  # a sum of squares overflowed: its bounds assume a finite computed sum
    v_hi = norm_bounds(vv, u.size)[1]
    e = np.zeros_like(u)
    steps = iter(slopes)
    for layer in net.layers:
        if isinstance(layer, ActivationLayer):
            u, e = _through_slopes(next(steps), u, e)
        elif not isinstance(layer, Flatten):
            e = _error(layer, np.abs(u), e, 0.0)
            u = _linear(layer, u)
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(e))):
            return None
    uu, ee = float(u @ u), float(e @ e)
    if not (math.isfinite(uu) and math.isfinite(ee)):
        return None
    u_lo = norm_bounds(uu, u.size)[0]
    e_hi = norm_bounds(ee, e.size)[1]
    lower = max(dn(dn(u_lo - e_hi) / v_hi), 0.0)
    return lower, float(np.linalg.norm(u) / np.linalg.norm(v))
