"""Eval-mode batch norm (``lipbench.lipschitz.batchnorm``): its diagonal Jacobian, the directed
bounds on its scale checked in rationals, its constant, and the arguments it refuses."""

from __future__ import annotations

from fractions import Fraction as Q

import numpy as np
import pytest

from lipbench.lipschitz import BatchNorm


@pytest.mark.parametrize("make,match", [
    (lambda: BatchNorm([1.0], [0.0], [0.0], [-1.0], eps=0.0), "positive"),
    (lambda: BatchNorm([1.0, 2.0], [0.0], [0.0, 0.0], [1.0, 1.0]), "beta must have shape"),
    (lambda: BatchNorm([1.0], [0.0], [0.0], [1.0], eps=-1e-5), "eps must be a non-negative finite"),
    (lambda: BatchNorm([1.0], [0.0], [0.0], [1.0], eps=float("nan")), "eps must be a non-negative finite"),
    (lambda: BatchNorm([1.0], [0.0], [0.0], [1.0], input_shape=(0,)), "positive integers"),
    (lambda: BatchNorm([1.0, 2.0], [0.0] * 2, [0.0] * 2, [1.0] * 2, input_shape=(3, 4)), "gamma must have shape"),
])
def test_bad_batchnorm_arguments_name_the_problem(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def _random_bn(seed: int, channels: int = 64, spatial: tuple[int, ...] = (3,)) -> BatchNorm:
    rng = np.random.default_rng(seed)
    return BatchNorm(rng.standard_normal(channels) * 3, rng.standard_normal(channels), rng.standard_normal(channels),
                     rng.uniform(0.0, 4.0, channels), eps=1e-5, input_shape=(channels, *spatial))


def test_jacobian_is_the_scale_repeated_over_each_channel_s_positions():
    bn = _random_bn(0, channels=4, spatial=(2, 3))
    x = np.random.default_rng(1).standard_normal(bn.in_features)
    J = bn.jacobian(x)
    assert np.array_equal(J, np.diag(np.repeat(bn.scale(), 6)))
    y = bn(x)
    assert np.array_equal(y, np.repeat(bn.scale(), 6) * (x - np.repeat(bn.running_mean, 6)) + np.repeat(bn.beta, 6))
    assert bn.lipschitz_exact() == float(np.max(np.abs(bn.scale())))


@pytest.mark.parametrize("seed", range(4))
def test_scale_bounds_hold_in_exact_arithmetic(seed):
    """lo <= |gamma| / sqrt(var + eps) <= hi, checked by squaring in rationals (lo^2 (var + eps) <= gamma^2
    <= hi^2 (var + eps), with var + eps exact): 64 channels, so rounding to nearest would fall on the wrong
    side of some."""
    bn = _random_bn(seed)
    lo, hi = bn.scale_bounds()
    for c in range(bn.gamma.size):
        g2, d = Q(float(bn.gamma[c])) ** 2, Q(float(bn.running_var[c])) + Q(bn.eps)
        assert Q(float(lo[c])) ** 2 * d <= g2 <= Q(float(hi[c])) ** 2 * d, (c, lo[c], hi[c], bn.gamma[c])
    assert bn.lipschitz_upper() == float(np.max(hi)) >= bn.lipschitz_exact()
    assert bn.scale_error() > 0.0, "64 rounded quotients and not one error counted"


def test_zero_gamma_has_a_zero_bound_and_the_callers_arrays_are_kept():
    gamma, var = np.array([0.0, -2.0]), np.array([1.0, 3.0])
    keep = gamma.copy(), var.copy()
    bn = BatchNorm(gamma, np.zeros(2), np.zeros(2), var, eps=0.0)
    lo, hi = bn.scale_bounds()
    assert lo[0] == hi[0] == 0.0 and hi[1] >= 2 / np.sqrt(3) >= lo[1]
    bn(np.ones(2)), bn.jacobian(np.ones(2)), bn.scale_error()
    assert np.array_equal(gamma, keep[0]) and np.array_equal(var, keep[1]), "BatchNorm modified the caller's arrays"


def test_a_later_change_to_the_callers_arrays_does_not_reach_the_layer():
    gamma = np.array([1.0, 2.0])
    bn = BatchNorm(gamma, np.zeros(2), np.zeros(2), np.ones(2), eps=0.0)
    before = bn.scale_bounds()[1].copy()
    gamma[:] = 100.0
    assert np.array_equal(bn.scale_bounds()[1], before)
