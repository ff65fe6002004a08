"""Spectral normalization (``lipbench.lipschitz.spectral_normalization``): power iteration from below,
the modes, the warm-started normalizer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench.lipschitz import (
    SpectralNormalizer,
    power_iteration_sigma,
    spectral_normalize,
)
from properties.tolerances import (
    monotone_slack,
    power_rtol,
    reference_rtol,
    scalar_rtol,
)

EPS = np.finfo(np.float64).eps


def test_power_iteration_estimate_is_from_below():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((5, 4))
    U, sv, _ = np.linalg.svd(W)
    s = sv[0]
    u0 = np.ones(5)
    cos0 = abs(U[:, 0] @ u0) / np.linalg.norm(u0)
    tan0 = math.sqrt(1 - cos0 * cos0) / cos0
    prev = 0.0
    for k in (1, 2, 5, 50):
        est, u, v = power_iteration_sigma(W, u0, k)
        assert prev - monotone_slack("float64", W.shape, prev) <= est <= s * (1 + 4 * EPS)
        # and no further below than power iteration's convergence allows (at k = 50: rounding)
        allowed = power_rtol("float64", W.shape, sv[1] / s, k, tan0) + reference_rtol(W.shape)
        assert s - est <= allowed * s, (k, est, s, allowed)
        prev = est


def test_spectral_normalize_modes():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 6))
    for mode in ("exact", "certified"):
        Wn, s = spectral_normalize(W, mode)
        assert np.linalg.norm(Wn, 2) <= 1 + scalar_rtol(ops=8)
    Wp, _ = spectral_normalize(W, "power", n_iterations=1, seed=0)
    assert np.linalg.norm(Wp, 2) >= 1 - scalar_rtol(ops=8)
    with pytest.raises(ValueError, match="zero matrix|norm 0"):
        spectral_normalize(np.zeros((2, 2)), "exact")
    with pytest.raises(ValueError, match="sigma must be one of"):
        spectral_normalize(W, "guess")
    with pytest.raises(ValueError, match="n_iterations"):
        SpectralNormalizer(n_iterations=0)


def test_spectral_normalizer_warm_start_converges():
    W = np.diag([3.0, 2.0, 1.0])
    u0 = np.random.default_rng(0).standard_normal(3)  # the start SpectralNormalizer(seed=0) draws
    sn = SpectralNormalizer(n_iterations=1, seed=0)
    for _ in range(60):
        Wn = sn(W)
    # 60 warm calls are 60 steps of one power iteration from u0 (the top left singular vector is e_1)
    rtol = power_rtol("float64", W.shape, 2 / 3, 60, float(np.linalg.norm(u0[1:]) / abs(u0[0])))
    assert abs(sn.last_sigma - 3.0) <= rtol * 3.0, sn.last_sigma
    # W / sigma_hat: one division per entry, then a float64 SVD
    assert abs(np.linalg.norm(Wn, 2) - 1.0) <= rtol + scalar_rtol() + reference_rtol(W.shape), Wn
