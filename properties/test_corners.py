"""Every certified bracket holds in exact arithmetic, at the dangerous corners.

Hypothesis draws on purpose from where scaling and rounding break (issue 23):
float16/32/64 matrices near the top of their range (up to the largest finite
float) and at its bottom (subnormal entries, subnormal sigma_max), one huge
entry among tiny ones, long sums whose squares straddle half an ulp of the
running sum, complex, integer (beyond 2^53) and bool input, and exactly
repeated top singular values (``t^2 I - G`` singular).  Each matrix goes
through every method of ``lipbench.METHODS`` that takes it, with
``certify=False`` and ``True``; small convolutions go through
``conv_operator_norm``'s ``dense``, ``fft`` and ``bound`` routes.

Truth is exact: A's entries as rationals (the exact integers, the real
embedding of a complex matrix), its Gram matrix in integers, and
``lower <= sigma_max <= upper`` decided by an exact definiteness test of
``t^2 I - G`` (``exact.ExactGram``).  Checked: nothing crashes but a clear
refusal; no NaN; a ``certified`` bracket holds and is at most ``tol`` wide
relative to its lower end; a method whose bracket is always a proof holds it
even when not certified.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

import lipbench as lb
from lipbench.lipschitz import conv_operator_norm

from . import corner_strategies as CS
from . import exact
from . import strategies as S

#: methods whose bracket is not always a proof, and why (``Raw.proven`` False:
#: lipbench/spectral/interpolative.py); every other method's bracket must hold
#: exactly whether or not it is certified
UNPROVEN = {"interpolative": "a number only: its upper end is the cheap bound, its accuracy probabilistic"}
#: the same for conv_operator_norm's routes
CONV_UNPROVEN = {"fft": "the FFT stages' and the batched SVD's rounding factors are calibrated (issue 23, item 5)"}
CONV_METHODS = ("dense", "fft", "bound")

ETA = 5e-324
MAX64 = float(np.finfo(np.float64).max)

#: issue 23, item 1: float32 with an entry >= 2^127 (the scale 2^128 became inf in float32)
F32_TOP = (np.random.default_rng(0).standard_normal((6, 4)) * 1e38).astype(np.float32)
F32_TOP[0, 0] = np.float32(2.5e38)
#: item 2: subnormal results scaled back to nearest (lower 2 eta > sigma 1.618 eta; upper 14 eta < sigma)
ETA_2x2 = np.array([[ETA, ETA], [ETA, 0.0]])
ETA_10x8 = np.where(np.random.default_rng(3).random((10, 8)) < 0.5, ETA, 2 * ETA)
ETA_ROW = np.array([[ETA, ETA, ETA]])
#: item 3: eight 1.0 and 120 squares just above half an ulp of 8 (norm off by far more than 3u)
LONG_128x2 = np.zeros((128, 2))
LONG_128x2[:, 0] = math.sqrt(2.0**-53) * (1 + 2.0**-40)
LONG_128x2[:8, 0] = 1.0
LONG_128x2_TINY = LONG_128x2.copy()
LONG_128x2_TINY[:, 1] = ETA
#: item 4: entries >= 2^1023 (math.ldexp overflowed)
TOP_64 = np.array([[MAX64, 2.0**1023], [-(2.0**1023), MAX64]])
TOP_64_ROW = np.array([[MAX64, MAX64, MAX64]])
#: found by this file: a convolution whose one assembled entry is 2^1023 + 2^1023 (sigma_max beyond float64)
CONV_BEYOND_RANGE = S.ConvCase(np.array([[[0.0, 2.0**1023, 2.0**1023]]]), (1,), (1,), "circular")


def _entries(A: np.ndarray) -> str:
    return np.array2string(np.asarray(A), threshold=16, precision=17)


def spectral_results(A: Any, seed: int) -> Iterator[tuple[str, bool, Any]]:
    """``(method, certify, result)`` for every method of ``lipbench.METHODS`` and
    both ``certify``; result None where the method refuses A, and only with
    the reason ``METHODS[method].applies_to(A)`` gives (any other error fails)."""
    for method, info in lb.METHODS.items():
        takes, why = info.applies_to(A)
        for certify in (False, True):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", lb.ConvergenceWarning)  # the bracket holds regardless
                    # OpenBLAS kernels can raise the FPU's invalid flag on finite operands, which NumPy
                    # reports as a warning now and then (numpy/numpy#28967): the bracket is checked exactly
                    warnings.filterwarnings("ignore", "invalid value encountered in matmul", RuntimeWarning)
                    r = lb.spectral_norm(A, method=method, certify=certify, seed=seed)
            except (TypeError, ValueError) as exc:
                if takes or why not in str(exc):
                    raise
                yield method, certify, None
                continue
            yield method, certify, r


def check_every_method(A: np.ndarray, seed: int, evidence: Any) -> Counter:
    """Every method's bracket on A against exact arithmetic (see the module doc)."""
    truth = exact.ExactGram(exact.exact_entries(A))
    outcomes: Counter = Counter()
    for method, certify, r in spectral_results(A, seed):
        if r is None:
            outcomes["refused"] += 1
            continue
        outcomes[exact.check_exact_bracket(r, truth, proven=method not in UNPROVEN, method=method,
                                            certify=certify, seed=seed, dtype=A.dtype.name, shape=A.shape,
                                            A=_entries(A))] += 1
    assert outcomes["certified"] + outcomes["proven"] > 0, f"no method bracketed A: {dict(outcomes)}"
    evidence.maximum("most certified brackets in one example", outcomes["certified"], dict(outcomes))
    return outcomes


@given(A=CS.huge_matrices(), seed=S.seeds)
@example(A=F32_TOP, seed=0)
@example(A=TOP_64, seed=0)
@example(A=TOP_64_ROW, seed=0)
@example(A=np.array([[np.finfo(np.float16).max, 1.0], [2.0**15, -np.finfo(np.float16).max]], dtype=np.float16), seed=0)
def test_top_of_the_range(A, seed, evidence):
    check_every_method(A, seed, evidence)


@given(A=CS.tiny_matrices(), seed=S.seeds)
@example(A=ETA_2x2, seed=0)
@example(A=ETA_10x8, seed=0)
@example(A=ETA_ROW, seed=0)
def test_bottom_of_the_range(A, seed, evidence):
    check_every_method(A, seed, evidence)


@given(A=CS.mixed_range_matrices(), seed=S.seeds)
@example(A=np.array([[MAX64, 0.1], [3e-300, ETA]]), seed=0)
def test_mixed_ranges(A, seed, evidence):
    check_every_method(A, seed, evidence)


@given(A=CS.long_sum_matrices(), seed=S.seeds)
@example(A=LONG_128x2, seed=0)
@example(A=LONG_128x2_TINY, seed=0)
def test_long_sums(A, seed, evidence):
    check_every_method(A, seed, evidence)


@given(A=CS.complex_matrices(), seed=S.seeds)
def test_complex_input(A, seed, evidence):
    check_every_method(A, seed, evidence)


@given(A=CS.integer_corner_matrices(), seed=S.seeds)
@example(A=np.array([[2**62 + 1, 3], [2**62, -(2**63)]], dtype=np.int64), seed=0)
@example(A=np.array([[2**64 - 1, 2**53 + 1], [1, 2**63 + 1]], dtype=np.uint64), seed=0)
def test_integer_and_bool_input(A, seed, evidence):
    check_every_method(A, seed, evidence)


@given(kt=CS.repeated_top_matrices(), seed=S.seeds)
def test_repeated_top_singular_values(kt, seed, evidence):
    check_every_method(kt.matrix, seed, evidence)


@given(sm=st.sampled_from(("repeated_top", "clustered", "rank_deficient")).flatmap(
    lambda kind: S.spectral_matrices(kind=kind, min_side=2, max_side=CS.CORNER_SIDE)), seed=S.seeds)
def test_clustered_top_singular_values(sm, seed, evidence):
    check_every_method(sm.matrix, seed, evidence)


def conv_results(case: S.ConvCase) -> Iterator[tuple[str, Any]]:
    """``(method, result)`` for the dense, fft and bound routes; fft refuses
    zeros padding (a ValueError naming the padding mode), nothing else may."""
    for method in CONV_METHODS:
        try:
            r = conv_operator_norm(case.kernel, case.input_shape, method=method, **case.args)
        except ValueError as exc:
            if not (method == "fft" and case.padding_mode != "circular" and "padding_mode" in str(exc)):
                raise
            continue
        yield method, r


def check_conv_routes(case: S.ConvCase, evidence: Any) -> Counter:
    """Every conv route's bracket against the operator's exact matrix (see the module doc)."""
    truth = exact.ExactGram(exact.exact_conv_matrix(case.kernel, case.input_shape, case.padding,
                                                      case.padding_mode))
    outcomes: Counter = Counter()
    for method, r in conv_results(case):
        outcomes[exact.check_exact_bracket(r, truth, proven=method not in CONV_UNPROVEN, method=method,
                                            **case.describe())] += 1
    evidence.maximum("most certified conv brackets in one example", outcomes["certified"], dict(outcomes))
    return outcomes


@given(case=CS.corner_conv_cases())
@example(case=CONV_BEYOND_RANGE)  # one assembled entry 2^1024: sigma_max beyond float64's range
def test_convolution_routes(case, evidence):
    check_conv_routes(case, evidence)


