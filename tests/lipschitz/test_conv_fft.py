"""The DFT route of a circularly padded convolution (``lipbench.lipschitz.conv_fft``):
where it applies, its value against the dense matrices of ``conv_cases``, and its
rounding terms against a direct extended-precision DFT."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import conv_geometry, conv_operator_norm
from lipbench.lipschitz.conv_fft import (
    circular_conv_norm,
    embedding_upper,
    fft_applies,
    fft_rounding_terms,
    polyphase_kernel,
)
from tests.helpers import said
from tests.lipschitz.conv_cases import (
    CASES,
    _case_matrix,
    _kwargs,
    _sigma_and_slack,
    case_kernel,
    case_shape,
    dense_conv,
)


@pytest.mark.parametrize("case", [c for c in CASES if c[1] == "circular"], ids=str)
def test_fft_route_is_exact_where_it_applies(case):
    W, shape, D = _case_matrix(case)
    sigma, slack = _sigma_and_slack(D)
    kw = _kwargs(case)
    try:
        r = conv_operator_norm(W, shape, method="fft", **kw)
    except ValueError as exc:  # only when the map is not block-circulant; auto must then take a matrix route
        assert "not block-circulant" in str(exc) or "does not divide" in str(exc), str(exc)
        assert conv_operator_norm(W, shape, seed=0, **kw).method in ("dense", "lanczos")
        return
    assert r.method == "fft" and r.converged
    assert conv_operator_norm(W, shape, **kw).method == "fft"
    assert r.lower - slack <= sigma <= r.upper + slack, f"{case}: sigma {sigma} outside [{r.lower}, {r.upper}]"


def test_fft_route_covers_strides_and_dilation():
    """FFT cases exist for stride 2 (polyphase), dilation 2 and groups: the parametrization above is not vacuous."""
    applied = set()
    for case in CASES:
        if case[1] != "circular":
            continue
        W, shape = case_kernel(case), case_shape(case[0])
        try:
            conv_operator_norm(W, shape, method="fft", **_kwargs(case))
        except ValueError:
            continue
        applied.add((case[2], case[4], case[5]))
    assert {(1, 1, 1), (1, 2, 2)} <= applied and any(s == 2 for s, _, _ in applied), applied


def test_fft_polyphase_on_larger_grids():
    """Stride 2 and 3 with circular padding on grids the stride divides, 8 and 9 channels in and out."""
    rng = np.random.default_rng(5)
    for s, n, k, dl in ((2, 8, 3, 1), (3, 9, 3, 1), (2, 8, 4, 2), (3, 6, 5, 1)):
        W = rng.standard_normal((3, 2, k, k))
        span = dl * (k - 1)
        pad = span // 2
        D = dense_conv(W, (n, n), (s, s), (pad, pad), (span - pad, span - pad), (dl, dl), 1, "circular")
        sigma, slack = _sigma_and_slack(D)
        r = conv_operator_norm(W, (n, n), stride=s, padding=pad, dilation=dl, padding_mode="circular", method="fft") \
            if span % 2 == 0 else None
        if r is None:
            continue
        assert r.method == "fft"
        assert r.lower - slack <= sigma <= r.upper + slack, f"s={s} n={n} k={k}: {sigma} vs [{r.lower}, {r.upper}]"


@pytest.mark.parametrize("n,stride", [(16, 1), (31, 1), (64, 2), (53, 1), (24, 3)])
def test_fft_rounding_term_covers_the_transform_error(n, stride):
    """The computed DFT blocks against a direct extended-precision DFT: every
    block's error (Frobenius) stays within the documented FFT term."""
    rng = np.random.default_rng(n)
    W = rng.standard_normal((3, 2, 3, 3))
    g = conv_geometry(W, (n, n), stride=stride, padding=1, padding_mode="circular")
    Kp, hits = polyphase_kernel(g)
    B = np.fft.rfftn(Kp, axes=(-2, -1))
    M = Kp.shape[-1]
    two_pi = 2 * np.longdouble("3.14159265358979323846264338327950288")
    a, w = np.arange(M), np.arange(B.shape[-1])
    ang0 = -two_pi * (np.outer(a, a) % M).astype(np.longdouble) / M  # (a0, w0), integer phase reduced exactly
    ang1 = -two_pi * (np.outer(a, w) % M).astype(np.longdouble) / M  # (a1, w1)
    Kl = Kp.astype(np.longdouble)
    re = np.einsum("...xy,xu,yv->...uv", Kl, np.cos(ang0), np.cos(ang1)) - np.einsum(
        "...xy,xu,yv->...uv", Kl, np.sin(ang0), np.sin(ang1))
    im = np.einsum("...xy,xu,yv->...uv", Kl, np.cos(ang0), np.sin(ang1)) + np.einsum(
        "...xy,xu,yv->...uv", Kl, np.sin(ang0), np.cos(ang1))
    err = np.sqrt(np.sum((B.real - re) ** 2 + (B.imag - im) ** 2, axis=tuple(range(B.ndim - 2))))
    terms = fft_rounding_terms(g, 0.0, (1, 1), hits)
    assert float(err.max()) <= terms["fft"], f"n={n} s={stride}: block error {float(err.max())} > term {terms['fft']}"


def test_fft_route_is_an_estimate_and_says_why():
    """The FFT route's rounding constants are calibrated: it is certified only when
    conv_upper_bound and a proven lower bound (one impulse) meet, and says so."""
    rng = np.random.default_rng(8)
    W = rng.standard_normal((3, 2, 3, 3))
    r = conv_operator_norm(W, (6, 6), padding=1, padding_mode="circular", method="fft")
    assert r.method == "fft" and r.converged and not r.certified and r.certificate == "fft (calibrated)"
    (route,) = said(r, "convolution")
    assert route["route"] == "dft" and not route["certified"], r.notes
    assert route["proven_lower"] <= r.lower <= r.upper <= route["proven_upper"], (r.lower, r.upper, route)


@pytest.mark.parametrize("kw,reason", [
    (dict(padding=1), "needs padding_mode='circular'"),
    (dict(padding=1, padding_mode="circular", stride=4), "does not divide"),
    (dict(padding=0, padding_mode="circular"), "not block-circulant"),
    (dict(padding=1, transposed=True), "forward convolutions"),
])
def test_fft_applies_says_why_not(kw, reason):
    g = conv_geometry(np.ones((2, 2, 3, 3)), (6, 6), **kw)
    ok, why = fft_applies(g)
    assert not ok and reason in why, (kw, why)
    with pytest.raises(ValueError, match=reason):
        circular_conv_norm(g)
    assert fft_applies(conv_geometry(np.ones((2, 2, 3, 3)), (6, 6), padding=1, padding_mode="circular")) == (True, "")


@pytest.mark.parametrize("case", [c for c in CASES if c[1] == "circular" and not c[6]][::3], ids=str)
def test_circular_conv_norm_brackets_the_dense_sigma(case):
    """circular_conv_norm called directly: (lower, value, upper) around the dense matrix's sigma."""
    W, shape, D = _case_matrix(case)
    g = conv_geometry(W, shape, **_kwargs(case))
    if not fft_applies(g)[0]:
        return
    sigma, slack = _sigma_and_slack(D)
    lower, value, upper, info = circular_conv_norm(g)
    assert lower <= value <= upper and info["block_shape"][0] == g.out_channels // g.groups, (lower, value, upper)
    assert lower - slack <= sigma <= upper + slack, f"{case}: sigma {sigma} outside [{lower}, {upper}]"


def test_polyphase_kernel_of_stride_one_is_the_kernel_wrapped():
    """Stride 1: K' holds tap t at position t (mod N), and no two taps share a position when N >= k."""
    W = np.arange(1.0, 13.0).reshape(2, 2, 3)
    g = conv_geometry(W, (5,), padding=1, padding_mode="circular")
    Kp, hits = polyphase_kernel(g)
    assert Kp.shape == (1, 2, 2, 1, 5) and hits == 1
    assert np.array_equal(Kp[0, :, :, 0, :3], W) and not Kp[..., 3:].any()
    small = conv_geometry(np.ones((1, 1, 3)), (2,), padding=1, padding_mode="circular")
    assert polyphase_kernel(small)[1] == 2  # taps 0 and 2 land on position 0 of a length-2 grid


@pytest.mark.parametrize("pad,mode", [(1, "zeros"), (2, "reflect"), (1, "replicate")])
def test_embedding_upper_is_above_the_dense_sigma(pad, mode):
    """The circular embedding's upper estimate on maps that are not circular themselves."""
    W = np.random.default_rng(12).standard_normal((3, 2, 3, 3))
    shape = (5, 6)
    g = conv_geometry(W, shape, padding=pad, padding_mode=mode)
    D = dense_conv(W, shape, (1, 1), (pad, pad), (pad, pad), (1, 1), 1, mode)
    sigma, slack = _sigma_and_slack(D)
    upper, info = embedding_upper(g)
    assert sigma <= upper + slack, f"{mode}: sigma {sigma} above the embedding's {upper} ({info})"
