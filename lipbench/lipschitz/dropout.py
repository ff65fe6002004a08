"""Dropout with keep probability p, in both conventions, and its exact expectation.

* ``classical`` (Srivastava et al. 2014): train time ``x -> m * x`` with
  ``m_i ~ Bernoulli(p)``; test time ``x -> p x``.
* ``inverted`` (what most frameworks do): train time ``x -> m * x / p``; test
  time the identity.

Either way the expectation over masks of the train-time layer equals the
test-time layer.  Followed by a dense layer W, test-time dropout is the weight
rescaling ``W -> p W`` (classical), so it scales sigma_max and the Lipschitz
constant by p.  :func:`expected_over_masks` computes expectations *exactly* by
enumerating all ``2**n`` masks (n <= 16).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import up
from .layers import check_input

__all__ = ["Dropout", "CONVENTIONS", "enumerate_masks", "mask_probabilities", "expected_over_masks",
           "test_time_weight"]

CONVENTIONS = ("classical", "inverted")
MAX_ENUMERATION_WIDTH = 16


def _check_p(p: float) -> float:
    p = float(p)
    if not (math.isfinite(p) and 0.0 < p <= 1.0):
        raise ValueError(f"keep probability p must lie in (0, 1]; got {p}")
    return p


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"dropout convention must be one of {CONVENTIONS}; got {convention!r}")
    return convention


@dataclass(frozen=True)
class Dropout:
    """Dropout with keep probability ``p``.

    ``training=False`` gives the test-time layer.  ``training=True`` needs a
    ``mask`` (0/1 array of the input width): the train-time layer for that mask.
    """

    p: float
    convention: str = "classical"
    training: bool = False
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "p", _check_p(self.p))
        _check_convention(self.convention)
        if self.training:
            if self.mask is None:
                raise ValueError("a train-time Dropout needs a mask (0/1 array of the input width)")
            m = np.asarray(self.mask)
            if m.ndim != 1 or m.size == 0 or not np.all((m == 0) | (m == 1)):
                raise ValueError(f"dropout mask must be a non-empty 1-D array of 0s and 1s; got {m!r}")
            object.__setattr__(self, "mask", m.astype(np.float64))
        elif self.mask is not None:
            raise ValueError("a test-time Dropout (training=False) takes no mask")

    @property
    def in_features(self) -> int | None:
        return None if self.mask is None else int(self.mask.size)

    out_features = in_features

    def scale(self) -> np.ndarray | float:
        """The elementwise factor the layer multiplies by."""
        if not self.training:
            return self.p if self.convention == "classical" else 1.0
        assert self.mask is not None
        return self.mask if self.convention == "classical" else self.mask / self.p

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        return a * self.scale()

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        return np.diag(np.broadcast_to(np.asarray(self.scale(), dtype=np.float64), a.shape).copy())

    def lipschitz_upper(self) -> float:
        """max |scale| of the exact layer: p or 1 at test time; max(mask) or max(mask)/p at
        train time (the quotient in exact rationals, rounded up)."""
        if self.training and self.convention == "inverted":
            assert self.mask is not None  # a train-time layer has one (checked on construction)
            return up(Fraction(float(np.max(self.mask))) / Fraction(self.p))
        return float(np.max(np.abs(self.scale())))

    def lipschitz_exact(self) -> float:
        return float(np.max(np.abs(self.scale())))


def enumerate_masks(n: int) -> np.ndarray:
    """All ``2**n`` masks of width n as rows of a 0/1 float array."""
    if not (isinstance(n, (int, np.integer)) and 1 <= n <= MAX_ENUMERATION_WIDTH):
        raise ValueError(f"mask width must be an integer in [1, {MAX_ENUMERATION_WIDTH}] to enumerate; got {n!r}")
    idx = np.arange(2**n)[:, None]
    return ((idx >> np.arange(n)[None, :]) & 1).astype(np.float64)


def mask_probabilities(masks: np.ndarray, p: float) -> np.ndarray:
    """P(mask) = p^(kept) (1 - p)^(dropped) for each row; sums to 1."""
    p = _check_p(p)
    kept = masks.sum(axis=1)
    n = masks.shape[1]
    return p**kept * (1.0 - p) ** (n - kept)


def expected_over_masks(fn: Callable[[np.ndarray], np.ndarray], n: int, p: float) -> np.ndarray:
    """E_m[fn(m)] over Bernoulli(p) masks of width n, exactly (all 2**n masks)."""
    masks = enumerate_masks(n)
    probs = mask_probabilities(masks, p)
    total = None
    for m, w in zip(masks, probs):
        if w == 0.0:
            continue
        term = w * np.asarray(fn(m), dtype=np.float64)
        total = term if total is None else total + term
    assert total is not None  # p > 0 gives the all-ones mask positive weight
    return total


def test_time_weight(W: Any, p: float, convention: str = "classical") -> np.ndarray:
    """The weight of ``Dense(W) o Dropout(p)`` at test time: ``p W`` (classical) or ``W`` (inverted)."""
    p = _check_p(p)
    _check_convention(convention)
    W = np.asarray(W, dtype=np.float64)
    return p * W if convention == "classical" else W.copy()


test_time_weight.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
