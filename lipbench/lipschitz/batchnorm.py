"""Batch normalization in evaluation mode: a diagonal affine map.

With running statistics frozen, ``y = gamma (x - mean) / sqrt(var + eps) + beta``
per channel, i.e. ``y = s * x + c`` with ``s = gamma / sqrt(var + eps)``.  Its
Jacobian is ``diag(s)`` (each channel's scale repeated over its spatial
positions), so the Lipschitz constant is exactly ``max |s|``.  The computed
``s`` carries three roundings (the sum, the square root, the quotient), so
:meth:`BatchNorm.scale_bounds` brackets the exact ``|s|`` by the same three
operations rounded outward (``lipbench._rounding.up``/``dn``, each correctly
rounded then stepped one float), and :meth:`BatchNorm.lipschitz_upper` is the
largest upper end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rounding import dn, up
from ._sigma import host
from .layers import check_input
from .windows import check_shape

__all__ = ["BatchNorm"]


def _vector(v: Any, c: int, name: str) -> np.ndarray:
    a = np.array(host(v), dtype=np.float64)  # a copy: a later change to the caller's array does not reach the layer
    if a.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},) (one value per channel); got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


@dataclass(frozen=True)
class BatchNorm:
    """Eval-mode batch norm over ``input_shape = (C, *spatial)`` (or ``(C,)`` for features)."""

    gamma: np.ndarray
    beta: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray
    eps: float = 1e-5
    input_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        c = int(host(self.gamma).size)
        shape = (c,) if self.input_shape is None else tuple(self.input_shape)
        if len(shape) == 1:
            if not (isinstance(shape[0], (int, np.integer)) and shape[0] >= 1):
                raise ValueError(f"input_shape must hold positive integers; got {self.input_shape!r}")
            shape = (int(shape[0]),)
        else:
            shape = check_shape(shape)
        c = shape[0]
        for name in ("gamma", "beta", "running_mean", "running_var"):
            object.__setattr__(self, name, _vector(getattr(self, name), c, name))
        eps = float(self.eps)
        if not (np.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be a non-negative finite number; got {self.eps}")
        if np.any(self.running_var + eps <= 0):
            raise ValueError("running_var + eps must be positive in every channel")
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "input_shape", shape)

    @property
    def in_features(self) -> int:
        assert self.input_shape is not None  # set on construction
        return int(np.prod(self.input_shape))

    out_features = in_features

    def scale(self) -> np.ndarray:
        """The per-channel factor ``gamma / sqrt(var + eps)`` (computed)."""
        return self.gamma / np.sqrt(self.running_var + self.eps)

    def _per_feature(self, v: np.ndarray) -> np.ndarray:
        assert self.input_shape is not None  # set on construction
        return np.repeat(v, self.in_features // self.input_shape[0])

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        return self._per_feature(self.scale()) * (a - self._per_feature(self.running_mean)) + \
            self._per_feature(self.beta)

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return np.diag(self._per_feature(self.scale()))

    def scale_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` per channel with ``lo <= |gamma| / sqrt(var + eps) <= hi`` exactly."""
        with np.errstate(divide="ignore", invalid="ignore"):
            den_lo = dn(np.sqrt(np.maximum(dn(self.running_var + self.eps), 0.0)))
            den_hi = up(np.sqrt(up(self.running_var + self.eps)))
            g = np.abs(self.gamma)
            hi = up(g / np.maximum(den_lo, 0.0))
            lo = np.maximum(dn(g / den_hi), 0.0)
        return lo, np.where(g == 0, 0.0, hi)

    def scale_error(self) -> float:
        """A bound on ``max_i |s_i - exact s_i|`` for the computed :meth:`scale`:
        the 2-norm of the error of the diagonal Jacobian."""
        lo, hi = self.scale_bounds()
        s = np.abs(self.scale())
        return float(np.max(np.maximum(up(hi - s), up(s - lo))))

    def lipschitz_upper(self) -> float:
        """``max |s|`` of the exact s (:meth:`scale_bounds`' upper ends)."""
        return float(np.max(self.scale_bounds()[1]))

    def lipschitz_exact(self) -> float:
        return float(np.max(np.abs(self.scale())))
