"""A feed-forward network as a sequence of layers, with its Jacobian."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rounding import prod_up
from .layers import ActivationLayer, check_input

__all__ = ["Sequential"]


@dataclass(frozen=True)
class Sequential:
    """``x -> layer_d(...layer_1(x))``.  Layers need ``__call__``, ``jacobian`` and
    ``lipschitz_upper``; consecutive Dense widths must chain."""

    layers: tuple[Any, ...]

    def __init__(self, layers: Sequence[Any]):
        layers = tuple(layers)
        if not layers:
            raise ValueError("a Sequential network needs at least one layer")
        width = None
        for i, layer in enumerate(layers):
            for attr in ("jacobian", "lipschitz_upper"):
                if not callable(getattr(layer, attr, None)):
                    raise TypeError(f"layer {i} ({type(layer).__name__}) has no {attr}() method")
            n_in = getattr(layer, "in_features", None)
            if width is not None and n_in is not None and n_in != width:
                raise ValueError(f"layer {i} expects {n_in} inputs but the previous layer gives {width}")
            n_out = getattr(layer, "out_features", None)
            width = n_out if n_out is not None else width
        object.__setattr__(self, "layers", layers)

    @property
    def in_features(self) -> int | None:
        for layer in self.layers:
            n = getattr(layer, "in_features", None)
            if n is not None:
                return n
        return None

    @property
    def out_features(self) -> int | None:
        for layer in reversed(self.layers):
            n = getattr(layer, "out_features", None)
            if n is not None:
                return n
        return None

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        for layer in self.layers:
            a = layer(a)
        return a

    def jacobian(self, x: Any) -> np.ndarray:
        """J_f(x) by the chain rule (product of the layers' Jacobians), multiplied from the
        narrower end: from the input (n_in columns throughout) or, when the output is
        narrower, from the output (n_out rows throughout: a classifier's 10 rows instead of
        a 3x32x32 image's 3072 columns)."""
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        inputs = []
        for layer in self.layers:
            inputs.append(a)
            a = layer(a)
        if a.size < inputs[0].size:
            J = np.eye(a.size)
            for layer, a_in in zip(reversed(self.layers), reversed(inputs)):
                J = J * _diagonal(layer, a_in) if isinstance(layer, ActivationLayer) else J @ layer.jacobian(a_in)
            return J
        J = np.eye(inputs[0].size)
        for layer, a_in in zip(self.layers, inputs):
            J = _diagonal(layer, a_in)[:, None] * J if isinstance(layer, ActivationLayer) else layer.jacobian(a_in) @ J
        return J

    def layer_constants(self) -> list[float]:
        """Each layer's certified Lipschitz upper bound."""
        return [float(layer.lipschitz_upper()) for layer in self.layers]

    def lipschitz_upper(self) -> float:
        """The product of the layers' certified constants, in exact rational arithmetic
        rounded up once (so a network nests as a layer)."""
        return prod_up(self.layer_constants())

    def linear_region_radius(self, x: Any) -> float:
        """For a piecewise-linear network (Dense, ReLU/leaky ReLU, test-time
        dropout): a radius r > 0 such that f is affine on the ball B(x, r), so
        that ``f(x + h) - f(x) = J_f(x) h`` for ``||h|| < r``.  0 if x is on a kink.

        Each activation input ``z_i = M_i x + c`` (M the Jacobian so far) keeps its
        sign while ``||h|| < |z_i| / ||M_i||``."""
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"linear_region_radius takes one input of shape (n,); got {a.shape}")
        M = np.eye(a.size)
        radius = np.inf
        for i, layer in enumerate(self.layers):
            if isinstance(layer, ActivationLayer):
                if not layer.piecewise_linear:
                    raise ValueError(f"layer {i} ({layer.activation.name}) is not piecewise linear; "
                                     f"the network is not locally affine")
                rows = np.linalg.norm(M, axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = np.where(rows > 0, np.abs(a) / rows, np.inf)
                radius = min(radius, float(np.min(r)))
            M = layer.jacobian(a) @ M
            a = layer(a)
        return float(radius)


def _diagonal(layer: ActivationLayer, a: np.ndarray) -> np.ndarray:
    """An activation's Jacobian as its diagonal (the product by it is then exact and cheap)."""
    return np.asarray(layer.activation.derivative(a), dtype=np.float64)
