"""Layers that normalise along per-sample axes, for imported graphs: softmax, log-softmax
and layer normalisation, each with its constant derived and proven here.

Each acts on groups of entries: the per-sample shape is read as ``(outer, n, inner)``
and the map runs along ``n`` for every (outer, inner) pair; the groups are disjoint, so
the Jacobian is block diagonal (after a permutation) and the layer's constant is the
largest group's, the one below for a group of ``n`` entries.

**Softmax**, ``p = exp(x) / sum exp(x)``, has ``J = diag(p) - p p^T``, symmetric and PSD
with ``v^T J v = Var_p(v) = 1/2 sum_{i != j} p_i p_j (v_i - v_j)^2 <= sum_{i != j} p_i p_j
(v_i^2 + v_j^2) = 2 sum_i v_i^2 p_i (1 - p_i) <= ||v||^2 / 2`` (``p_i (1 - p_i) <= 1/4``).
So ``||J||_2 <= 1/2`` everywhere and, the domain being convex, the map is 1/2-Lipschitz.
The constant is tight for ``n >= 2``: at equal logits of two entries (others -> -inf)
``p = (1/2, 1/2)`` and ``v = (1, -1)/sqrt 2`` give ``Var = 1/2``.  ``n = 1``: constant 0.

**Log-softmax**, ``x - log sum exp(x)``, has ``J = I - 1 p^T``.  ``J 1 = 0`` (as
``1^T p = 1``), and ``J`` is the identity on the ``n - 2`` dimensions orthogonal to
``1`` and ``p``, so its other two singular values ``s_1 >= s_2 = 0`` satisfy
``s_1^2 = ||J||_F^2 - (n - 2) = (n - 2 + n ||p||^2) - (n - 2) = n ||p||^2`` (with
``||I - a b^T||_F^2 = n - 2 b^T a + ||a||^2 ||b||^2``).  Hence ``||J||_2 = sqrt(n) ||p||_2
< sqrt(n)`` (``n >= 2``; ``n ||p||^2 >= 1``), and the supremum ``sqrt(n)`` is approached as
one logit dominates (``p -> e_1``): the Lipschitz constant is exactly ``sqrt(n)`` (not
sqrt 2 unless n = 2), rounded up by :func:`lipbench._rounding.sqrt_int_up`; 0 for n = 1.

**Layer normalisation**, ``y = gamma (x - mean) / sqrt(var + eps) + beta`` over the
group (``var`` the population variance), is ``diag(gamma) g(P x) + beta`` with ``P =
I - 11^T/n`` the centring projection (``||P||_2 = 1`` for ``n >= 2``) and ``g(z) = z / s``,
``s = sqrt(||z||^2 / n + eps)``.  ``g'(z) = (I - z z^T / (n s^2)) / s`` has eigenvalues
``1/s`` (orthogonal to z) and ``eps / s^3`` (along z), both in ``(0, 1/s]``, and ``s >=
sqrt(eps)`` with equality at ``z = 0``: so ``||g'|| <= 1/sqrt(eps)``, attained at zero
variance, and the layer's constant is at most ``max|gamma| / sqrt(eps)``, computed in
exact rationals from the float ``eps`` and rounded up.  It is finite only through eps:
the layer is **eps-dominated** (:attr:`LayerNorm.eps_dominated`), a worst case met only
where a group has (near) zero variance; the graph ladder says so in its notes.

Two linear pieces of the layer normalisation that older exporters write out
(``ReduceMean``, then ``Sub`` of it): **GroupMean**, the mean of each group of n, is
``(1/n) 1^T`` per group on disjoint groups, so its norm is ``1/sqrt(n)`` exactly
(rounded up); **Center**, ``x - mean``, is the orthogonal projection ``P`` per
group, norm 1 (0 for n = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import special

from .._rounding import sqrt_int_up, up
from ..lipschitz.layers import check_input
from .graph_layers import _Elementwise

__all__ = ["Softmax", "LayerNorm", "GroupMean", "Center"]


class _Grouped(_Elementwise):
    """A layer on per-sample ``shape`` acting along ``n`` of its ``(outer, n, inner)`` view."""

    groups: tuple[int, int, int]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shape

    def _rows(self, x: Any) -> tuple[np.ndarray, bool]:
        a = check_input(x, self.in_features)
        return np.atleast_2d(a).reshape(-1, *self.groups), a.ndim == 1

    def _blocks(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """(one input as (outer, n, inner), the flat index of each of its entries in that view)."""
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return a.reshape(self.groups), np.arange(self.in_features).reshape(self.groups)

    def _jacobian(self, x: Any, block: Any) -> np.ndarray:
        """The block-diagonal Jacobian, ``block(group values, group index)`` per group."""
        v, idx = self._blocks(x)
        J = np.zeros((self.in_features, self.in_features))
        for o in range(self.groups[0]):
            for i in range(self.groups[2]):
                ids = idx[o, :, i]
                J[np.ix_(ids, ids)] = block(v[o, :, i], (o, i))
        return J


def _groups(shape: tuple[int, ...], axis: int, to_end: bool) -> tuple[int, int, int]:
    if not 0 <= axis < len(shape):
        raise ValueError(f"axis {axis} is not a per-sample axis of shape {shape}")
    n = int(np.prod(shape[axis:])) if to_end else shape[axis]
    inner = 1 if to_end else int(np.prod(shape[axis + 1:]))
    return int(np.prod(shape[:axis])), n, inner


@dataclass(frozen=True)
class Softmax(_Grouped):
    """Softmax (``log=False``) or log-softmax (``log=True``) along per-sample ``axis`` of ``shape``;
    ``to_end=True`` normalises over all axes from ``axis`` on together (ONNX opsets before 13)."""

    shape: tuple[int, ...]
    axis: int
    log: bool = False
    to_end: bool = False

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "groups", _groups(shape, int(self.axis), bool(self.to_end)))

    def __call__(self, x: Any) -> np.ndarray:
        rows, one = self._rows(x)
        f = special.log_softmax if self.log else special.softmax
        y = f(rows, axis=2).reshape(rows.shape[0], -1)
        return y.reshape(-1) if one else y

    def jacobian(self, x: Any) -> np.ndarray:
        def block(v: np.ndarray, _: Any) -> np.ndarray:
            p = special.softmax(v)
            return np.eye(v.size) - np.outer(np.ones(v.size), p) if self.log else np.diag(p) - np.outer(p, p)

        return self._jacobian(x, block)

    def lipschitz_upper(self) -> float:
        """1/2 for softmax, ``sqrt(n)`` rounded up for log-softmax, 0 for groups of one (module docstring)."""
        n = self.groups[1]
        if n == 1:
            return 0.0
        return sqrt_int_up(n) if self.log else 0.5

    def lipschitz_exact(self) -> float:
        n = self.groups[1]
        return 0.0 if n == 1 else (math.sqrt(n) if self.log else 0.5)


@dataclass(frozen=True)
class LayerNorm(_Grouped):
    """``scale (x - mean) / sqrt(var + eps) + bias`` over the axes from per-sample ``axis`` on;
    ``scale`` and ``bias`` broadcast to those axes' shape."""

    shape: tuple[int, ...]
    axis: int
    scale: np.ndarray
    bias: np.ndarray | None = None
    eps: float = 1e-5

    #: the constant holds only through eps (see the module docstring)
    eps_dominated = True

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        groups = _groups(shape, int(self.axis), True)
        normalised = shape[int(self.axis):]
        eps = float(self.eps)
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be finite and > 0 (the constant is max|scale| / sqrt(eps)); got {eps}")
        params = {}
        for name, value in (("scale", self.scale), ("bias", self.bias)):
            if value is None:
                continue
            try:
                v = np.broadcast_to(np.asarray(value, dtype=np.float64), normalised).reshape(-1).copy()
            except ValueError:
                raise ValueError(f"{name} of shape {np.shape(value)} does not broadcast to the normalised "
                                 f"axes {normalised}") from None
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{name} contains NaN or inf")
            params[name] = v
        for name, value in (("shape", shape), ("groups", groups), ("eps", eps), *params.items()):
            object.__setattr__(self, name, value)

    def __call__(self, x: Any) -> np.ndarray:
        rows, one = self._rows(x)
        z = rows - rows.mean(axis=2, keepdims=True)
        y = z / np.sqrt(np.mean(z * z, axis=2, keepdims=True) + self.eps) * self.scale[None, None, :, None]
        if self.bias is not None:
            y = y + self.bias[None, None, :, None]
        y = y.reshape(rows.shape[0], -1)
        return y.reshape(-1) if one else y

    def jacobian(self, x: Any) -> np.ndarray:
        def block(v: np.ndarray, _: Any) -> np.ndarray:
            n = v.size
            P = np.eye(n) - 1.0 / n
            z = P @ v
            s = math.sqrt(float(z @ z) / n + self.eps)
            return (self.scale[:, None] * (np.eye(n) - np.outer(z, z) / (n * s * s)) / s) @ P

        return self._jacobian(x, block)

    def lipschitz_upper(self) -> float:
        """``max|scale| / sqrt(eps)`` rounded up (exact rationals, one square root stepped up);
        0 for groups of one entry (x - mean = 0)."""
        if self.groups[1] == 1:
            return 0.0
        peak = Fraction(float(np.max(np.abs(self.scale))))
        return up(math.sqrt(up(peak * peak / Fraction(self.eps))))

    def lipschitz_exact(self) -> float:
        return self.lipschitz_upper()


@dataclass(frozen=True)
class GroupMean(_Grouped):
    """The mean over the axes from per-sample ``axis`` on (ONNX ``ReduceMean`` over trailing
    axes); ``keepdims`` keeps them as size-1 axes."""

    shape: tuple[int, ...]
    axis: int
    keepdims: bool = True

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if int(self.axis) == 0 and not self.keepdims:
            raise ValueError("the mean over every per-sample axis without keepdims leaves no per-sample axis")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "groups", _groups(shape, int(self.axis), True))

    @property
    def out_features(self) -> int:
        return self.groups[0]

    @property
    def output_shape(self) -> tuple[int, ...]:
        head = self.shape[:self.axis]
        return head + (1,) * (len(self.shape) - self.axis) if self.keepdims else head

    def __call__(self, x: Any) -> np.ndarray:
        rows, one = self._rows(x)
        y = rows.mean(axis=2).reshape(rows.shape[0], -1)
        return y.reshape(-1) if one else y

    def jacobian(self, x: Any) -> np.ndarray:
        check_input(x, self.in_features)
        outer, n, _ = self.groups
        return np.kron(np.eye(outer), np.full((1, n), 1.0 / n))

    def lipschitz_upper(self) -> float:
        """``1 / sqrt(n)`` rounded up (1/n exact in rationals, the square root stepped up)."""
        n = self.groups[1]
        return 1.0 if n == 1 else up(math.sqrt(up(Fraction(1, n))))

    def lipschitz_exact(self) -> float:
        return 1.0 / math.sqrt(self.groups[1])


@dataclass(frozen=True)
class Center(_Grouped):
    """``x - mean`` over the axes from per-sample ``axis`` on: the orthogonal projection per group."""

    shape: tuple[int, ...]
    axis: int

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "groups", _groups(shape, int(self.axis), True))

    def __call__(self, x: Any) -> np.ndarray:
        rows, one = self._rows(x)
        y = (rows - rows.mean(axis=2, keepdims=True)).reshape(rows.shape[0], -1)
        return y.reshape(-1) if one else y

    def jacobian(self, x: Any) -> np.ndarray:
        return self._jacobian(x, lambda v, _: np.eye(v.size) - 1.0 / v.size)

    def lipschitz_upper(self) -> float:
        """1 (a projection), 0 for groups of one entry."""
        return 0.0 if self.groups[1] == 1 else 1.0

    lipschitz_exact = lipschitz_upper
