"""Residual blocks ``x -> x + f(x)`` and the shape-only ``Flatten``.

For a residual block, ``||(x + f(x)) - (y + f(y))|| <= ||x - y|| + L(f) ||x - y||``,
so ``L <= 1 + L(f)``: equal for ``f = c I`` with c >= 0, loose otherwise
(``f = -I`` gives the zero map).  The Jacobian is
``I + J_f(x)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rounding import sum_up
from .layers import check_input
from .windows import check_shape

__all__ = ["Residual", "Flatten"]


@dataclass(frozen=True)
class Residual:
    """``x -> x + f(x)``; f is a layer or a ``Sequential`` whose output width equals its input width."""

    f: Any

    def __post_init__(self) -> None:
        for attr in ("jacobian", "lipschitz_upper"):
            if not callable(getattr(self.f, attr, None)):
                raise TypeError(f"the residual branch ({type(self.f).__name__}) has no {attr}() method")
        n_in = getattr(self.f, "in_features", None)
        n_out = getattr(self.f, "out_features", None)
        if n_in is not None and n_out is not None and n_in != n_out:
            raise ValueError(f"a residual branch must keep the width; it maps {n_in} features to {n_out}")

    @property
    def in_features(self) -> int | None:
        return getattr(self.f, "in_features", None)

    @property
    def out_features(self) -> int | None:
        return self.in_features

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        return a + self.f(a)

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return np.eye(a.size) + self.f.jacobian(a)

    def lipschitz_upper(self) -> float:
        """``1 + L(f)``, L(f) the branch's certified bound, rounded up (exact when representable)."""
        return sum_up([1.0, float(self.f.lipschitz_upper())])


@dataclass(frozen=True)
class Flatten:
    """``(C, *spatial)`` to a vector: on lipbench's flattened layout, the identity (L = 1)."""

    input_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", check_shape(self.input_shape))

    @property
    def in_features(self) -> int:
        return int(np.prod(self.input_shape))

    out_features = in_features

    def __call__(self, x: Any) -> np.ndarray:
        return check_input(x, self.in_features).copy()

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return np.eye(a.size)

    def lipschitz_upper(self) -> float:
        return 1.0

    lipschitz_exact = lipschitz_upper
