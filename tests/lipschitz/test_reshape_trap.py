"""The reshape trap (``lipbench.lipschitz.reshape_trap``): sigma of ``kernel.reshape(out, -1)`` against
the convolution's norm, under and over by proven brackets, the sqrt(T) ceiling that always holds
for stride 1, and the reshaped matrix itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench.lipschitz.reshape_trap import ReshapeTrap, reshape_trap, reshaped_kernel
from properties.tolerances import svd_atol


def test_reshape_trap_verdicts_and_bad_input():
    rng = np.random.default_rng(3)
    W0 = rng.standard_normal((2, 2))
    equal_taps = np.repeat(W0[:, :, None], 3, axis=2)  # circular: the zero frequency adds all three taps
    r = reshape_trap(equal_taps, (4,), padding=1, padding_mode="circular")
    assert r.verdict == "under" and r.taps == 3
    # exactly sqrt(3): the brackets' ratio must contain it
    assert r.under_ratio <= math.sqrt(3) <= r.operator_upper / r.reshape_lower
    K = rng.standard_normal((2, 2, 3))
    K[:, :, 1] = 0.0  # a length-1 input with zero padding sees only the centre tap
    r = reshape_trap(K, (1,), padding=1)
    assert r.verdict == "over" and r.operator_upper == 0.0 and r.over_ratio == math.inf
    assert reshaped_kernel(K).shape == (2, 6)
    with pytest.raises(ValueError, match="forward convolutions"):
        reshape_trap(K, (3,), transposed=True)



def test_reshaped_kernel_is_pytorch_s_dim0_reshape_and_a_copy():
    W = np.arange(24.0).reshape(2, 3, 4)
    R = reshaped_kernel(W)
    assert R.shape == (2, 12) and np.array_equal(R[1], np.arange(12.0, 24.0))
    R[0, 0] = -1.0
    assert W[0, 0, 0] == 0.0, "reshaped_kernel returned a view of the caller's kernel"


@pytest.mark.parametrize("seed,mode,shape", [(0, "zeros", (5, 6)), (1, "circular", (4, 4)), (2, "zeros", (2, 2)),
                                             (3, "circular", (3, 7))])
def test_the_operator_never_exceeds_sqrt_taps_times_the_reshape(seed, mode, shape):
    """Stride 1 under zeros or circular padding: ||A|| <= sqrt(T) sigma(R), proof against proof."""
    W = np.random.default_rng(seed).standard_normal((3, 2, 3, 3))
    r = reshape_trap(W, shape, padding=1, padding_mode=mode)
    assert r.taps == 9 and r.operator_method == "dense", r
    assert r.operator_lower <= math.sqrt(r.taps) * r.reshape_upper, r
    assert r.reshape_lower <= r.reshape_upper and r.operator_lower <= r.operator_upper, r


def test_a_one_by_one_kernel_is_undecided():
    """A 1x1 kernel is W (x) I: both norms are sigma(W), so the brackets overlap and nothing is claimed."""
    W = np.random.default_rng(4).standard_normal((3, 2, 1, 1))
    r = reshape_trap(W, (4, 4))
    sigma = float(np.linalg.norm(W[:, :, 0, 0], 2))
    slack = svd_atol("float64", (3, 2), sigma)
    assert r.verdict == "undecided" and r.under_ratio <= 1 and r.over_ratio <= 1, r
    assert r.reshape_lower - slack <= sigma <= r.operator_upper + slack, (r, sigma)


def test_verdicts_follow_the_brackets():
    """The ratios compare proven ends only: an under-ratio above 1 needs the operator's lower end above
    the reshape's upper end; a zero operator makes any positive reshape an infinite over-estimate."""
    under = ReshapeTrap(1.0, 2.0, 2.5, 3.0, 3, "dense")
    assert under.verdict == "under" and under.under_ratio == 1.25
    overlap = ReshapeTrap(1.0, 2.0, 1.9, 3.0, 3, "dense")
    assert overlap.verdict == "undecided"
    zero = ReshapeTrap(1.0, 2.0, 0.0, 0.0, 3, "dense")
    assert zero.verdict == "over" and zero.over_ratio == math.inf
    assert math.isnan(ReshapeTrap(0.0, 0.0, 0.0, 0.0, 1, "dense").over_ratio)
