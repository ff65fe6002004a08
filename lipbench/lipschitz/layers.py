"""Layers with Jacobians and Lipschitz constants (NumPy, small networks).

Every layer maps ``x`` of shape ``(n_in,)`` or ``(batch, n_in)`` and offers

* ``jacobian(x)`` for one input ``x`` of shape ``(n_in,)``: the ``(n_out, n_in)`` matrix;
* ``lipschitz_upper()``: a certified upper bound on the layer's Lipschitz
  constant in the Euclidean norm (for an affine layer sigma_max(W), bracketed by
  ``lipbench.spectral_norm``; for an activation its derived constant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _sigma
from .activations import Activation

__all__ = ["Dense", "ActivationLayer", "check_input"]

_PIECEWISE_LINEAR = ("relu", "leaky_relu")


def check_input(x: Any, n_in: int | None, name: str = "x") -> np.ndarray:
    """``x`` as a finite float64 array of shape ``(n_in,)`` or ``(batch, n_in)``."""
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must have a real numeric dtype; got {a.dtype}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real; got {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (n_in,) or (batch, n_in); got {a.shape}")
    if n_in is not None and a.shape[-1] != n_in:
        raise ValueError(f"{name} has {a.shape[-1]} features but the layer expects {n_in} (shape {a.shape})")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; the layer output is undefined")
    return a


@dataclass(frozen=True)
class Dense:
    """The affine layer ``x -> W x + b`` (W of shape (n_out, n_in))."""

    weight: np.ndarray
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        W = _sigma.check_matrix(self.weight, "weight")
        object.__setattr__(self, "weight", W)
        if self.bias is not None:
            b = np.asarray(_sigma.host(self.bias), dtype=np.float64)
            if b.shape != (W.shape[0],):
                raise ValueError(f"bias must have shape ({W.shape[0]},) to match weight {W.shape}; got {b.shape}")
            if not np.all(np.isfinite(b)):
                raise ValueError("bias contains NaN or inf")
            object.__setattr__(self, "bias", b)

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        y = a @ self.weight.T
        return y if self.bias is None else y + self.bias

    def jacobian(self, x: Any) -> np.ndarray:
        check_input(x, self.in_features)
        return self.weight.copy()

    def lipschitz_upper(self) -> float:
        """Certified sigma_max(W): the best constant, rounded up."""
        return _sigma.sigma_upper(self.weight)

    def lipschitz_exact(self) -> float:
        """sigma_max(W) to working accuracy."""
        return _sigma.sigma_exact(self.weight)


@dataclass(frozen=True)
class ActivationLayer:
    """An elementwise activation as a layer; its constant is the activation's."""

    activation: Activation
    in_features: int | None = field(default=None)

    @property
    def out_features(self) -> int | None:
        return self.in_features

    @property
    def piecewise_linear(self) -> bool:
        return self.activation.name.split("(")[0] in _PIECEWISE_LINEAR

    def __call__(self, x: Any) -> np.ndarray:
        return self.activation(check_input(x, self.in_features))

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return np.diag(self.activation.derivative(a).astype(np.float64))

    def lipschitz_upper(self) -> float:
        """The activation's derived constant, or its proven upper bound where the
        constant is only a floating-point evaluation (GELU)."""
        proven = self.activation.proven_upper
        return float(self.activation.lipschitz if proven is None else proven)

    def lipschitz_exact(self) -> float:
        return float(self.activation.lipschitz)
