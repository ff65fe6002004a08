"""The reshaping bound on a convolution's norm (``lipbench.lipschitz.conv_bound``): above the
dense matrix's sigma for every size and mode, tight on 1 x 1 kernels, and its size-free read count."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lipbench
from lipbench.lipschitz import conv_geometry, conv_operator_norm, conv_upper_bound
from lipbench.lipschitz.conv_bound import size_free_read_count
from lipbench.lipschitz.conv_routes import entry_hits
from properties.tolerances import svd_atol
from tests.lipschitz.conv_cases import (
    CASES,
    _case_matrix,
    _kwargs,
    _sigma_and_slack,
    case_kernel,
    case_shape,
    dense_conv,
)


def test_one_by_one_kernel_bound_is_tight():
    """A 1 x 1 convolution is W (x) I: both the FFT value and the reshaping bound equal sigma(W)."""
    rng = np.random.default_rng(2)
    W = rng.standard_normal((5, 4, 1, 1))
    sigma = float(np.linalg.norm(W[:, :, 0, 0], 2))
    slack = svd_atol("float64", (5, 4), sigma)
    assert abs(conv_upper_bound(W, None) - sigma) <= 4 * slack
    r = conv_operator_norm(W, (6, 6), padding_mode="circular")
    assert abs(r.value - sigma) <= 4 * slack and r.method == "fft"


def test_stride_tightens_the_size_free_bound():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 4, 3, 3))
    assert conv_upper_bound(W, None, stride=3) < conv_upper_bound(W, None, stride=2) < conv_upper_bound(W, None)
    assert conv_upper_bound(W, None, dilation=2) == conv_upper_bound(W, None)


def test_size_free_bound_over_sizes():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((3, 2, 3, 3))
    free = conv_upper_bound(W, None)
    for n in (3, 4, 6, 9):
        D = dense_conv(W, (n, n), (1, 1), (1, 1), (1, 1), (1, 1), 1, "zeros")
        sigma, slack = _sigma_and_slack(D)
        assert sigma <= free + slack, f"n={n}: {sigma} > {free}"


def test_size_free_bound_counts_strided_dilated_reads():
    """Stride 2 and dilation 2 with a kernel of ones: every even input entry is
    read by all three taps, so the bound's count is ceil(3 gcd(2, 2) / 2) = 3, not
    ceil(3 / 2) = 2; on a long input sigma approaches the bound (3)."""
    W = np.ones((1, 1, 3))
    D = dense_conv(W, (60,), (2,), (0,), (0,), (2,), 1, "zeros")
    sigma, slack = _sigma_and_slack(D)
    free = conv_upper_bound(W, None, stride=2, dilation=2)
    assert sigma <= free + slack and sigma > math.sqrt(6), f"sigma {sigma}, bound {free}"


#: cases whose dense matrix holds single kernel taps (no padding that folds two taps onto one entry): the
#: matrix is exact, so lipbench's certified sigma of it is a proven bracket of the operator's own norm
EXACT_ENTRIES = [c for c in CASES[::5]
                 if entry_hits(conv_geometry(case_kernel(c), case_shape(c[0], c[6]), **_kwargs(c))) == 1]


@pytest.mark.parametrize("case", EXACT_ENTRIES, ids=str)
def test_bound_is_above_the_certified_dense_sigma(case):
    """conv_upper_bound against ``spectral_norm(D, certify=True)`` of the dense matrix: a proof
    against a proof, so no slack: the bound must reach the certified lower end."""
    W, shape, D = _case_matrix(case)
    r = lipbench.spectral_norm(D, certify=True)
    assert r.certified, f"{case}: {r.message}"
    bound = conv_upper_bound(W, shape, **_kwargs(case))
    assert bound >= r.lower, f"{case}: conv_upper_bound {bound!r} below the certified sigma >= {r.lower!r}"
    if case[1] == "zeros" and not case[6]:
        kw = {k: v for k, v in _kwargs(case).items() if k in ("stride", "dilation", "groups")}
        assert conv_upper_bound(W, None, **kw) >= bound, f"{case}: the size-free bound is below the sized one"


def test_exact_entry_cases_are_not_vacuous():
    assert {c[1] for c in EXACT_ENTRIES} >= {"zeros", "circular"} and any(c[6] for c in EXACT_ENTRIES), EXACT_ENTRIES


@pytest.mark.parametrize("k,s,dl,count", [
    ((3,), (1,), (1,), 3), ((3,), (2,), (1,), 2), ((3,), (2,), (2,), 3), ((4,), (3,), (2,), 2),
    ((3, 3), (3, 1), (1, 1), 3), ((2, 5), (2, 2), (1, 4), 1 * 5),
])
def test_size_free_read_count_by_hand(k, s, dl, count):
    """ceil(k gcd(s, d) / s) per axis, multiplied: e.g. k = 3, s = 2, d = 2 reads every even entry three times."""
    assert size_free_read_count(k, s, dl) == count


def test_size_free_bound_refuses_what_it_cannot_bound():
    with pytest.raises(ValueError, match="padding_mode='zeros' only"):
        conv_upper_bound(np.ones((2, 2, 3)), None, padding_mode="circular")
    with pytest.raises(ValueError, match="not divisible by groups"):
        conv_upper_bound(np.ones((3, 2, 3)), None, groups=2)
    assert conv_upper_bound(np.zeros((2, 2, 3, 3)), (4, 4)) == 0.0
