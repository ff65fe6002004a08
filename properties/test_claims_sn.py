"""C13 for convolutions and in training: the reshape trap and the spectral-normalization audit.

* The reshape trap: spectral normalization code divides a conv kernel by
  sigma(kernel.reshape(out, -1)), which is neither an upper nor a lower bound
  on the layer's operator norm.  What does hold is checked on every drawn
  kernel; Hypothesis finds a kernel where the reshape under-estimates and one
  where it over-estimates, each by at least :data:`CLEAR_MARGIN` against the
  certified brackets (both pinned below as examples).
* The audit: over a drifting weight sequence, sigma(W / sigma_hat) with
  sigma_hat from 1, 2, 5 warm or cold power iterations (on the matrix, the
  reshaped kernel, the conv operator) and from the certified upper bound.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, find, given, settings

from lipbench import matrices as lm
from lipbench.lipschitz import sn_audit as laudit

from . import checks_sn as C
from . import strategies as S

#: a found over/under-estimate must beat the other bracket by this factor
CLEAR_MARGIN = 1.5
FIND = settings(database=None, derandomize=True, max_examples=500)


def _case(kernel, input_shape, padding, mode):
    return S.ConvCase(np.array(kernel, dtype=np.float64), input_shape, padding, mode)


# found by the two find() tests below (and by find on circular padding with tiny inputs)
UNDER_3X3 = _case([[[[0, 0, 0], [0, 0, 0], [1, 1, 1]]]], (3, 3), (1, 1), "circular")
UNDER_1D = _case([[[1, 1, 1]]], (1,), (1,), "circular")
OVER_ZEROS = _case([[[0, 0, 0], [0, 0.5, 1]]], (1,), (1,), "zeros")
OVER_CIRCULAR_WRAP = _case([[[0, 2, -1]]], (1,), (1,), "circular")


@example(case=UNDER_3X3)
@example(case=UNDER_1D)
@example(case=OVER_ZEROS)
@example(case=OVER_CIRCULAR_WRAP)
@given(case=S.conv_kernel_cases())
def test_c13_reshape_trap_bounds(case, evidence):
    """||A|| <= sqrt(T) sigma(R) always (stride 1, zeros or circular 'same'); sigma(R) <= ||A||
    under circular 'same' padding with inputs at least the kernel; records both extreme ratios."""
    if not np.any(case.kernel):
        return  # both norms are 0
    r = C.check_reshape_bounds(case)
    evidence.maximum("max_under_ratio", r.under_ratio, {"ratio": r.under_ratio, **case.describe()})
    if r.operator_upper > 0:
        evidence.maximum("max_over_ratio", r.over_ratio, {"ratio": r.over_ratio, **case.describe()})


def _found(case, ratio):
    r = C.trap(case)
    return {**case.describe(), "ratio": ratio(r), "reshape_bracket": [r.reshape_lower, r.reshape_upper],
            "operator_bracket": [r.operator_lower, r.operator_upper]}


def test_c13_reshape_underestimates(evidence):
    """A kernel whose reshaped sigma is below the operator norm by CLEAR_MARGIN (certified), on an
    input no smaller than the kernel."""
    case = find(S.conv_kernel_cases(),
                lambda c: min(c.input_shape) >= max(c.kernel.shape[2:]) and C.trap(c).under_ratio >= CLEAR_MARGIN,
                settings=FIND)
    assert C.trap(case).under_ratio >= CLEAR_MARGIN
    evidence.record("counterexample", _found(case, lambda r: r.under_ratio))


def test_c13_reshape_overestimates(evidence):
    """A kernel whose reshaped sigma is above the (non-zero) operator norm by CLEAR_MARGIN
    (certified): zero padding on a small input."""
    case = find(S.conv_kernel_cases(modes=("zeros",)),
                lambda c: C.trap(c).over_ratio >= CLEAR_MARGIN and C.trap(c).operator_lower > 0, settings=FIND)
    assert C.trap(case).over_ratio >= CLEAR_MARGIN
    evidence.record("counterexample", _found(case, lambda r: r.over_ratio))


def test_c13_sn_audit_overshoot(evidence):
    """Training-like drift (30 steps dense, 12 conv): power iteration on the layer's own map never
    gives sigma(W / sigma_hat) below 1, the certified bound never above; the overshoot quantiles
    per estimator are recorded (the reshape estimator is under no such rule: the trap)."""
    out = {}
    W = lm.nn_like(32, 32, seed=0).matrix
    rows = laudit.sn_audit(W, steps=30, seed=1)
    C.check_audit(rows, W.shape, C.largest_frobenius(W, 30, seed=1))
    out["dense 32x32"] = C.quantiles(rows)
    K = np.random.default_rng(2).standard_normal((4, 3, 3, 3)) / 6
    rows = laudit.sn_audit(K, input_shape=(6, 6), padding=1, steps=12, seed=3)
    op_shape = (4 * 36, 3 * 36)
    C.check_audit(rows, op_shape, 6 * C.largest_frobenius(K, 12, seed=3))  # ||A||_F <= sqrt(36 outputs) ||K||_F
    out["conv 4x3x3x3 on 6x6 zeros"] = C.quantiles(rows)
    evidence.record("overshoot_quantiles", out)
