"""The proven circular-embedding upper bound (``lipbench.lipschitz.conv_embedding``)
against the dense matrices of ``conv_cases`` (filled entry by entry from PyTorch's formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import conv_geometry
from lipbench.lipschitz.conv_embedding import embedding_applies, proven_embedding_upper, twiddle_table
from lipbench.lipschitz.conv_fft import embedding_upper
from lipbench.testing import weakened
from properties.tolerances import svd_atol
from tests.lipschitz.conv_cases import CASES, _case_matrix, _kwargs

STRIDE_ONE = [c for c in CASES if c[2] == 1]
#: forward convolutions with a stride above 1 (the polyphase form)
STRIDED = [c for c in CASES if c[2] != 1 and not _kwargs(c).get("transposed")]
#: the relative width asked of the inertia test (an input, not a tolerance)
TOL = 1e-8


@pytest.mark.parametrize("case", STRIDE_ONE[::3], ids=str)
def test_proven_embedding_bound_holds_and_matches_the_calibrated_one(case):
    W, shape, D = _case_matrix(case)
    g = conv_geometry(W, shape, **_kwargs(case))
    sigma = float(np.linalg.norm(D, 2))
    upper, info = proven_embedding_upper(g, TOL)
    assert sigma <= upper + svd_atol("float64", D.shape, sigma), f"{case}: proven {upper} < sigma {sigma}"
    calibrated = embedding_upper(g)[0]
    assert abs(upper - calibrated) <= TOL * calibrated + info["block_error"] + svd_atol(
        "float64", D.shape, calibrated), f"{case}: proven {upper} vs calibrated {calibrated}"


@pytest.mark.parametrize("case", STRIDED, ids=str)
def test_proven_polyphase_bound_holds_and_matches_the_calibrated_one(case):
    """At a stride above 1 the aliased blocks side by side: the bound holds, and it is the
    calibrated FFT route's own embedding (its polyphase split) to the test's width."""
    W, shape, D = _case_matrix(case)
    g = conv_geometry(W, shape, **_kwargs(case))
    sigma = float(np.linalg.norm(D, 2))
    upper, info = proven_embedding_upper(g, TOL)
    assert info["aliases"] > 1
    assert sigma <= upper + svd_atol("float64", D.shape, sigma), f"{case}: proven {upper} < sigma {sigma}"
    calibrated = embedding_upper(g)[0]
    assert abs(upper - calibrated) <= TOL * calibrated + info["block_error"] + svd_atol(
        "float64", D.shape, calibrated), f"{case}: proven {upper} vs calibrated {calibrated}"


def test_a_stride_two_bound_is_tighter_than_the_stride_one_operator_s():
    """Subsampling by 4 (2x2) drops three quarters of the rows: on this kernel the
    polyphase bound sits well under the stride-1 bound it would otherwise inherit."""
    W = np.random.default_rng(3).standard_normal((4, 3, 3, 3))
    strided = proven_embedding_upper(conv_geometry(W, (12, 12), stride=2, padding=1), TOL)[0]
    full = proven_embedding_upper(conv_geometry(W, (12, 12), stride=1, padding=1), TOL)[0]
    assert strided < 0.8 * full, (strided, full)


def test_strided_transposed_convolutions_are_left_to_the_other_bounds():
    g = conv_geometry(np.ones((2, 2, 3, 3)), (8, 8), stride=2, padding=1, transposed=True)
    assert not embedding_applies(g) and proven_embedding_upper(g, TOL)[0] == float("inf")


def test_twiddles_are_exact_where_the_value_is_a_float():
    cos, sin = twiddle_table(12)  # angles 2 pi j / 12: 0, 30, 60, 90, ... degrees
    assert (cos[0], sin[0], sin[3], cos[6], cos[2], sin[1]) == (1.0, 0.0, 1.0, -1.0, 0.5, 0.5)


def test_dropping_the_block_rounding_leaves_only_the_estimate_s_slack():
    """With the term dropped the bound is t itself (the inertia test's), so it can
    only grow back when the term returns: the term is what covers the blocks' sums."""
    W = np.random.default_rng(5).standard_normal((3, 2, 3, 3))
    g = conv_geometry(W, (5, 6), padding=1)
    with_term = proven_embedding_upper(g, TOL)
    with weakened("conv_embedding", 0.0):
        without = proven_embedding_upper(g, TOL)
    assert without[1]["block_error"] < with_term[1]["block_error"] and without[0] <= with_term[0]
