"""Error bounds and step counts from theory: the residual bound every Krylov
method stops on, Kuczynski-Wozniakowski's probabilistic bounds for random
starts, and the steps theory predicts (:func:`lanczos_steps_theory`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "residual_error",
    "kw_power_epsilon",
    "kw_lanczos_epsilon",
    "lanczos_steps_theory",
    "probabilistic_upper",
    "KW_FAILURE_PROBABILITY",
]

#: failure probability at which the Kuczynski-Wozniakowski upper bound is reported
KW_FAILURE_PROBABILITY = 1e-6


def residual_error(theta: Any, resid: Any) -> Any:
    """Relative error bound on sigma from the residual of the Ritz pair
    ``(theta**2, v)`` of ``A^T A``: some eigenvalue lies within ``||r||`` of
    ``theta**2`` (symmetric residual bound), so ``|sigma - theta| / theta <=
    ||r|| / (2 theta**2)`` to first order (the exact bound ``sqrt(1 + rho) - 1``
    for the side above theta is at most ``rho / 2``).  Every Krylov method
    stops on this bound, and the float64 check re-evaluates it; inf where
    theta is 0.  Works elementwise on arrays (stacks)."""
    if np.ndim(theta) == 0 and np.ndim(resid) == 0:
        theta = float(theta)
        return float(resid) / (2.0 * theta * theta) if theta > 0.0 else math.inf
    th = np.asarray(theta, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(th > 0, np.asarray(resid, dtype=np.float64) / (2 * th * th), np.inf)


def kw_power_epsilon(n: int, k: int, delta: float = KW_FAILURE_PROBABILITY) -> float:
    """Relative eigenvalue error ``eps`` of the power method after ``k`` products
    with ``A^T A`` from a uniformly random start such that
    ``P(theta^2 < (1 - eps) lambda_max) <= delta`` (Kuczynski & Wozniakowski
    1992: the failure probability is at most ``0.824 sqrt(n) (1 - eps)**(k - 1/2)``)."""
    if k < 2:
        return 1.0
    base = delta / (0.824 * math.sqrt(n))
    if base >= 1.0:
        return 0.0
    return max(0.0, 1.0 - base ** (1.0 / (k - 0.5)))


def kw_lanczos_epsilon(n: int, k: int, delta: float = KW_FAILURE_PROBABILITY) -> float:
    """As :func:`kw_power_epsilon` for the Lanczos method (Krylov space of
    dimension k): failure probability at most ``1.648 sqrt(n) exp(-sqrt(eps)(2k - 1))``."""
    if k < 1:
        return 1.0
    arg = math.log(1.648 * math.sqrt(n) / delta)
    if arg <= 0:
        return 0.0
    return min(1.0, (arg / (2 * k - 1)) ** 2)


def lanczos_steps_theory(s: Any, tol: float, delta: float = KW_FAILURE_PROBABILITY) -> dict[str, float]:
    """How many Lanczos steps on ``A^T A`` theory says reach relative accuracy
    ``tol`` of sigma_max, for singular values ``s`` (descending, length n =
    the side Lanczos runs on) and a random start (``tan`` of its angle with
    the top vector taken as ``sqrt(n)``: ``cos^2`` is about ``1/n``).
    With ``lambda = s**2``, ``gamma = (lambda_1 - lambda_2) / (lambda_2 -
    lambda_n)`` and ``spread = (lambda_1 - lambda_n) / lambda_1``:

    * ``value``: Kaniel-Paige-Saad, the Ritz value's error ``(lambda_1 -
      theta^2) / (lambda_1 - lambda_n) <= (tan / T_{k-1}(1 + 2 gamma))^2`` at
      most ``2 tol lambda_1`` (what a stop on the true error would need);
    * ``residual``: the same Chebyshev factor for the Ritz vector's angle,
      ``||r|| <= (lambda_1 - lambda_n) tan / T_{k-1}(1 + 2 gamma)``, until
      the residual bound ``||r|| / (2 lambda_1)`` that lipbench stops on is
      at most ``tol``;
    * ``kw``: Kuczynski & Wozniakowski's gap-free bound -- the steps after
      which the relative eigenvalue error exceeds ``2 tol`` with probability
      at most ``delta`` (:func:`kw_lanczos_epsilon`);
    * ``block_krylov``: Musco & Musco's gap-free block Krylov iteration count
      ``ln(n) / sqrt(eps)`` with ``eps = 2 tol`` (their bound holds up to a
      constant; this takes it as 1);
    * ``kw_failure_probability``: ``delta``.

    ``value`` and ``residual`` are left out when the top eigenvalue has no gap.
    """
    lam = np.asarray(s, dtype=np.float64) ** 2
    n = lam.shape[0]
    eps = 2 * tol
    out = {"kw": math.ceil((math.log(1.648 * math.sqrt(n) / delta) / math.sqrt(eps) + 1) / 2),
           "kw_failure_probability": delta, "block_krylov": math.ceil(math.log(n) / math.sqrt(eps))}
    l1, l2, ln = float(lam[0]), float(lam[1]), float(lam[-1])
    if n < 2 or not l1 > l2 > ln:
        return out  # no gap to speak of (or a single distinct value below the top): gap-free bounds only
    x = 1 + 2 * (l1 - l2) / (l2 - ln)
    spread = (l1 - ln) / l1
    tan = math.sqrt(n)
    out["value"] = 1 + math.ceil(math.acosh(max(1.0, tan * math.sqrt(spread / eps))) / math.acosh(x))
    out["residual"] = 1 + math.ceil(math.acosh(max(1.0, tan * spread / eps)) / math.acosh(x))
    return out


def probabilistic_upper(theta: float, eps: float) -> float:
    """``theta / sqrt(1 - eps)``: sigma_max <= this unless the KW event of
    probability delta happened."""
    if eps >= 1.0:
        return math.inf
    return theta / math.sqrt(1.0 - eps)
