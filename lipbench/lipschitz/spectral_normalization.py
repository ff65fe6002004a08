"""Spectral normalization ``W -> W / sigma`` (Miyato et al. 2018).

``sigma`` is either exact (SVD), certified from above (the upper end of
``lipbench.spectral_norm``'s bracket), or estimated the way training code does
it: a persistent vector ``u`` and ``k`` power iterations per step,

    v <- normalize(W^T u);  u <- normalize(W v);  sigma_hat = u^T W v,

costing 2k matrix-vector products.  Since ``u^T W v = ||W v||`` for unit ``v``,
``sigma_hat <= sigma_max(W)`` always: the power-iteration estimate is from
*below*, so ``sigma_max(W / sigma_hat) >= 1`` -- the normalized layer is not
1-Lipschitz unless sigma is certified from above.  A *warm start* keeps ``u``
between calls (as training does across steps); a *cold start* draws a fresh
random ``u``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _sigma

__all__ = ["power_iteration_sigma", "spectral_normalize", "SpectralNormalizer", "SIGMA_MODES"]

SIGMA_MODES = ("exact", "certified", "power")


def _normalize(x: np.ndarray, what: str) -> np.ndarray:
    nrm = float(np.linalg.norm(x))
    if nrm == 0.0 or not math.isfinite(nrm):
        raise ValueError(f"{what} has norm {nrm}; power iteration cannot continue (W is zero or the start "
                         f"vector is orthogonal to W's range)")
    return x / nrm


def power_iteration_sigma(W: Any, u: Any, n_iterations: int = 1) -> tuple[float, np.ndarray, np.ndarray]:
    """``(sigma_hat, u, v)`` after ``n_iterations`` power iterations from ``u`` (length m).

    ``sigma_hat = u^T W v <= sigma_max(W)``.  Raises ValueError for a zero W or
    a start vector in the null space of W^T.
    """
    W = _sigma.check_matrix(W)
    if not (isinstance(n_iterations, (int, np.integer)) and n_iterations >= 1):
        raise ValueError(f"n_iterations must be a positive integer; got {n_iterations!r}")
    u = np.asarray(u, dtype=np.float64)
    if u.shape != (W.shape[0],):
        raise ValueError(f"u must have shape ({W.shape[0]},) for W of shape {W.shape}; got {u.shape}")
    u = _normalize(u, "the start vector u")
    v = u
    for _ in range(int(n_iterations)):
        v = _normalize(W.T @ u, "W^T u")
        u = _normalize(W @ v, "W v")
    sigma_hat = float(u @ (W @ v))
    return sigma_hat, u, v


def spectral_normalize(W: Any, sigma: str = "exact", *, n_iterations: int = 1, u: Any = None,
                       seed: int | None = None) -> tuple[np.ndarray, float]:
    """``(W / s, s)`` with s by ``sigma`` = "exact", "certified" or "power" (cold start
    from ``u`` or a random vector drawn with ``seed``)."""
    W = _sigma.check_matrix(W)
    if sigma == "exact":
        s = _sigma.sigma_exact(W)
    elif sigma == "certified":
        s = _sigma.sigma_upper(W)
    elif sigma == "power":
        if u is None:
            u = np.random.default_rng(seed).standard_normal(W.shape[0])
        s, _, _ = power_iteration_sigma(W, u, n_iterations)
    else:
        raise ValueError(f"sigma must be one of {SIGMA_MODES}; got {sigma!r}")
    if s == 0.0:
        raise ValueError("W is the zero matrix (sigma_max = 0); spectral normalization is undefined")
    return W / s, float(s)


@dataclass
class SpectralNormalizer:
    """Spectral normalization with a persistent ``u`` (warm start across calls),
    as in training code: each call runs ``n_iterations`` power iterations from the
    stored ``u``, stores the new ``u`` and returns ``W / sigma_hat``."""

    n_iterations: int = 1
    seed: int | None = None
    u: np.ndarray | None = None
    last_sigma: float = field(default=math.nan, init=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.n_iterations, (int, np.integer)) and self.n_iterations >= 1):
            raise ValueError(f"n_iterations must be a positive integer; got {self.n_iterations!r}")

    def __call__(self, W: Any) -> np.ndarray:
        W = _sigma.check_matrix(W)
        if self.u is None or self.u.shape != (W.shape[0],):
            self.u = np.random.default_rng(self.seed).standard_normal(W.shape[0])
        s, self.u, _ = power_iteration_sigma(W, self.u, self.n_iterations)
        self.last_sigma = s
        return W / s
