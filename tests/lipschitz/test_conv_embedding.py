"""The proven circular-embedding upper bound (``lipbench.lipschitz.conv_embedding``)
against the dense matrices of ``conv_cases`` (filled entry by entry from PyTorch's formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import conv_embedding, conv_geometry
from lipbench.lipschitz.conv_embedding import embedding_flops, proven_embedding_upper, twiddle_table
from lipbench.lipschitz.conv_fft import embedding_upper
from lipbench.testing import weakened
from properties.tolerances import svd_atol
from tests.lipschitz.conv_cases import CASES, _case_matrix, _kwargs

STRIDE_ONE = [c for c in CASES if c[2] == 1]
#: convolutions with a stride above 1 (the polyphase form), forward and transposed
STRIDED = [c for c in CASES if c[2] != 1]
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


def test_chunks_of_any_size_give_the_same_bound(monkeypatch):
    """The two passes a chunk at a time: one frequency per chunk gives the bound of one chunk."""
    W = np.random.default_rng(6).standard_normal((3, 2, 3, 3))
    g = conv_geometry(W, (7, 6), stride=(2, 3), padding=1)
    whole = proven_embedding_upper(g, TOL)
    monkeypatch.setattr(conv_embedding, "_ENTRIES", 1)
    assert proven_embedding_upper(g, TOL) == whole


def test_the_cost_by_hand():
    """(8, 8, 3, 3) on 8x16x16, padding 1: the grid 18x18, half its frequencies 18 x 10; per
    frequency 9 taps x 8 x 8 sums, a Gram 8 x 8 x 8 x 8 and eigenvalues 4 x 8^3.  At stride 2:
    9 x 5 output frequencies, each 4 blocks side by side (8 x 32)."""
    W = np.ones((8, 8, 3, 3))
    assert embedding_flops(conv_geometry(W, (16, 16), padding=1)) == 18 * 10 * (9 * 64 + 8 * 64 * 8 + 4 * 8**3)
    assert embedding_flops(conv_geometry(W, (16, 16), padding=1, stride=2)) == 9 * 5 * (
        9 * 256 + 8 * 256 * 8 + 4 * 8**3)


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
