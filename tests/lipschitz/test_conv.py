"""Convolution operator norms against dense matrices built from PyTorch's formulas.

The ground truth never goes through lipbench's operator: ``dense_conv`` and
``dense_conv_transpose`` fill the matrix entry by entry with loops over output
positions, channels and kernel taps, with the padding written out per mode.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
import zlib

import numpy as np
import pytest

from lipbench.lipschitz import (
    conv_certified_bracket,
    conv_geometry,
    conv_operator,
    conv_operator_norm,
    conv_upper_bound,
)
from lipbench.lipschitz.conv_fft import fft_rounding_terms, polyphase_kernel
from lipbench.testing import certified_width
from properties.tolerances import matvec_atol, svd_atol
from tests.helpers import said


# ---------------------------------------------------------------- ground truth
def _source(q: int, L: int, mode: str) -> int | None:
    """Which input entry padded position q (0 = first real entry) copies; None for a zero."""
    if 0 <= q < L:
        return q
    if mode == "zeros":
        return None
    if mode == "circular":
        return q % L
    if mode == "reflect":
        return -q if q < 0 else 2 * (L - 1) - q
    return 0 if q < 0 else L - 1  # replicate


def dense_conv(W, shape, stride, pad_left, pad_right, dilation, groups, mode):
    """The matrix of PyTorch's conv{d}d (after F.pad for non-zero modes): rows (o, i), columns (c, j)."""
    d = len(shape)
    c_out, cg_in = W.shape[:2]
    k = W.shape[2:]
    out = [(shape[a] + pad_left[a] + pad_right[a] - dilation[a] * (k[a] - 1) - 1) // stride[a] + 1 for a in range(d)]
    cg_out = c_out // groups
    D = np.zeros((c_out * math.prod(out), cg_in * groups * math.prod(shape)))
    for o in range(c_out):
        grp = o // cg_out
        for i in itertools.product(*map(range, out)):
            row = np.ravel_multi_index((o, *i), (c_out, *out))
            for cl in range(cg_in):
                c = grp * cg_in + cl
                for t in itertools.product(*map(range, k)):
                    src = [_source(i[a] * stride[a] + t[a] * dilation[a] - pad_left[a], shape[a], mode)
                           for a in range(d)]
                    if any(s is None for s in src):
                        continue
                    D[row, np.ravel_multi_index((c, *src), (cg_in * groups, *shape))] += W[(o, cl, *t)]
    return D


def dense_conv_transpose(W, shape, stride, padding, dilation, groups, output_padding):
    """conv_transpose{d}d as PyTorch documents it: input (c, i) scatters W[c, o, t] to output o at i*s + t*d - p."""
    d = len(shape)
    c_in, cg_out = W.shape[:2]
    k = W.shape[2:]
    out = [(shape[a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * (k[a] - 1) + output_padding[a] + 1
           for a in range(d)]
    cg_in = c_in // groups
    D = np.zeros((cg_out * groups * math.prod(out), c_in * math.prod(shape)))
    for c in range(c_in):
        grp = c // cg_in
        for i in itertools.product(*map(range, shape)):
            col = np.ravel_multi_index((c, *i), (c_in, *shape))
            for ol in range(cg_out):
                for t in itertools.product(*map(range, k)):
                    j = [i[a] * stride[a] + t[a] * dilation[a] - padding[a] for a in range(d)]
                    if all(0 <= j[a] < out[a] for a in range(d)):
                        D[np.ravel_multi_index((grp * cg_out + ol, *j), (cg_out * groups, *out)), col] += W[(c, ol, *t)]
    return D


def case_shape(d, transposed=False):
    if transposed:  # the input of a transposed convolution: its output is about stride times larger
        return (5, 3)[:d] if d < 3 else (2, 3, 2)
    return (8,) if d == 1 else (6, 4) if d == 2 else (4, 4, 4)


@functools.cache
def _case_matrix(case):
    d, mode, s, p, dl, G, tr, op = case
    W = case_kernel(case)
    shape = case_shape(d, tr)
    if tr:
        D = dense_conv_transpose(W, shape, (s,) * d, (p,) * d, (dl,) * d, G, (op,) * d)
    elif p == "same":
        span = [dl * (k - 1) for k in W.shape[2:]]
        D = dense_conv(W, shape, (1,) * d, [x // 2 for x in span], [x - x // 2 for x in span], (dl,) * d, G, mode)
    else:
        D = dense_conv(W, shape, (s,) * d, (p,) * d, (p,) * d, (dl,) * d, G, mode)
    return W, shape, D


def case_kernel(case):
    d, mode, s, p, dl, G, tr, op = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    k = (3, 2, 3)[:d] if d < 3 else (2, 3, 2)
    c_a, c_b = 2 * G, 3 * G  # (out, in) or (in, out) for transposed; both divisible by G
    return rng.standard_normal((c_a, c_b // G, *k))


# every padding mode x stride x dilation x groups in 1-D and 2-D, a selection in 3-D,
# 'same', and transposed convolutions (zeros padding only, as in PyTorch)
CASES = [(d, mode, s, p, dl, G, False, 0)
         for d in (1, 2) for mode in ("zeros", "circular", "reflect", "replicate")
         for s in (1, 2) for p in (0, 1, 2) for dl in (1, 2) for G in (1, 2)
         if not (mode == "reflect" and p >= 4)]
CASES += [(3, mode, s, 1, dl, G, False, 0) for mode in ("zeros", "circular", "reflect", "replicate")
          for s, dl, G in ((1, 1, 1), (2, 1, 2), (1, 2, 1))]
CASES += [(d, mode, 1, "same", dl, G, False, 0) for d in (1, 2) for mode in ("zeros", "circular", "replicate")
          for dl in (1, 2) for G in (1, 2)]
CASES += [(d, "zeros", s, p, dl, G, True, op) for d in (1, 2) for s in (1, 2, 3) for p in (0, 1)
          for dl in (1, 2) for G in (1, 2) for op in (0, 1) if op < max(s, dl)]
CASES += [(3, "zeros", 2, 1, 1, 2, True, 1)]


def _kwargs(case):
    d, mode, s, p, dl, G, tr, op = case
    kw = dict(stride=s, padding=p, dilation=dl, groups=G, padding_mode=mode, transposed=tr)
    if tr:
        kw["output_padding"] = op
    return kw


def _sigma_and_slack(D):
    sigma = float(np.linalg.norm(D, 2))
    return sigma, svd_atol("float64", D.shape, sigma)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_operator_matches_dense_forward_and_adjoint(case):
    W, shape, D = _case_matrix(case)
    op = conv_operator(W, shape, **_kwargs(case))
    assert op.shape == D.shape, f"{case}: operator {op.shape} vs dense {D.shape}"
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(D.shape[1]), rng.standard_normal(D.shape[0])
    fro = float(np.linalg.norm(D))
    err = float(np.linalg.norm(op.matvec(x) - D @ x))
    assert err <= 2 * matvec_atol("float64", D.shape, fro, float(np.linalg.norm(x))), f"{case}: forward off by {err}"
    err_t = float(np.linalg.norm(op.rmatvec(y) - D.T @ y))
    assert err_t <= 2 * matvec_atol("float64", D.T.shape, fro, float(np.linalg.norm(y))), \
        f"{case}: adjoint off by {err_t}"
    lhs, rhs = float(y @ op.matvec(x)), float(x @ op.rmatvec(y))
    allow = 2 * matvec_atol("float64", (1, max(D.shape)), fro, float(np.linalg.norm(x) * np.linalg.norm(y)))
    assert abs(lhs - rhs) <= allow, f"{case}: <Ax, y> = {lhs} but <x, A^T y> = {rhs}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_norm_bracket_and_bounds_hold(case):
    W, shape, D = _case_matrix(case)
    sigma, slack = _sigma_and_slack(D)
    kw = _kwargs(case)
    before = W.copy()
    tol = 1e-10
    r = conv_operator_norm(W, shape, tol=tol, seed=0, **kw)
    assert np.array_equal(W, before), "the kernel was modified"
    assert r.shape == D.shape
    assert r.lower - slack <= sigma <= r.upper + slack, \
        f"{case}: sigma {sigma} outside [{r.lower}, {r.upper}] ({r.method})"
    assert abs(r.value - sigma) <= tol * sigma + slack, f"{case}: value {r.value} vs sigma {sigma} ({r.method})"
    bound = conv_upper_bound(W, shape, **kw)
    assert sigma <= bound + slack, f"{case}: conv_upper_bound {bound} < sigma {sigma}"
    rb = conv_operator_norm(W, shape, method="bound", **kw)
    assert rb.lower - slack <= sigma <= rb.upper + slack and rb.upper == bound, \
        f"{case}: bound bracket [{rb.lower}, {rb.upper}]"
    if case[1] == "zeros" and not case[6]:
        free = conv_upper_bound(W, None, **{k: v for k, v in kw.items() if k in ("stride", "dilation", "groups")})
        assert sigma <= free + slack, f"{case}: size-free bound {free} < sigma {sigma}"


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


def test_lanczos_result_says_what_it_computed():
    rng = np.random.default_rng(6)
    W = rng.standard_normal((4, 3, 3, 3))
    r = conv_operator_norm(W, (3, 8, 8), padding=1, seed=0, method="lanczos")
    assert r.method == "lanczos" and r.shape == (4 * 64, 3 * 64) and np.isfinite(r.upper)
    (route,) = said(r, "convolution")
    assert route["route"] == "operator-iteration" and route["proven_upper"] >= r.upper, r.notes
    d = conv_operator_norm(W, (3, 8, 8), padding=1, seed=0)  # small: auto assembles and certifies it
    (route,) = said(d, "convolution")
    assert d.method == "dense" and d.certified and route["route"] == "dense-assembly", d.notes
    assert (route["rows"], route["cols"]) == d.shape and route["assembly_error"] >= 0.0
    assert d.lower <= r.upper and r.lower <= d.upper


BAD = [
    (dict(kernel=np.ones((2, 3, 3)), input_shape=(4, 4)), "spatial axes"),
    (dict(kernel=np.ones((2, 3, 3, 3)), input_shape=(5, 4, 4)), "channels"),
    (dict(kernel=np.ones((3, 2, 3, 3)), input_shape=(4, 4), groups=2), "divisible by groups"),
    (dict(kernel=np.ones((2, 2, 5, 5)), input_shape=(3, 3)), "smaller than the dilated kernel"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), dilation=3), "smaller than the dilated kernel"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), padding=-1), "padding must be >= 0"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), stride=0), "stride must be >= 1"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), padding_mode="mirror"), "padding_mode"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), padding=5, padding_mode="reflect"), "reflect padding"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), padding=6, padding_mode="circular"), "circular padding"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), transposed=True, padding_mode="circular"), "zeros"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), stride=2, padding="same"), "same"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), stride=2, transposed=True, output_padding=2),
     "output_padding"),
    (dict(kernel=np.full((2, 2, 3, 3), np.nan), input_shape=(5, 5)), "nan"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), method="magic"), "unknown method"),
    (dict(kernel=np.ones((2, 2, 3, 3)), input_shape=(5, 5), method="fft"), "circular"),
]


@pytest.mark.parametrize("kw,match", BAD, ids=[m for _, m in BAD])
def test_bad_input_named(kw, match):
    with pytest.raises(ValueError, match=f"(?i){match}"):
        conv_operator_norm(**kw)


def test_complex_kernel_refused():
    with pytest.raises(TypeError, match="real"):
        conv_operator_norm(np.ones((2, 2, 3, 3), dtype=complex), (5, 5))


def test_matches_torch_when_installed():
    torch = pytest.importorskip("torch", reason="torch is not installed (optional cross-check of the semantics)")
    rng = np.random.default_rng(7)
    for case in CASES:
        d, mode, s, p, dl, G, tr, op = case
        W = case_kernel(case)
        shape = case_shape(d, tr)
        A = conv_operator(W, shape, **_kwargs(case))
        x = rng.standard_normal((1, A.shape[1] // math.prod(shape), *shape))
        tx, tw = torch.from_numpy(x), torch.from_numpy(W)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's note on copying for even kernels with 'same'
            y = _torch_conv(torch, case, tx, tw)
        y = y.detach().numpy().reshape(-1)
        ours = A.matvec(x.reshape(-1))
        fro = float(np.linalg.norm(W)) * math.sqrt(math.prod(W.shape[2:]))
        assert ours.shape == y.shape, f"{case}: {ours.shape} vs torch {y.shape}"
        assert np.linalg.norm(ours - y) <= matvec_atol("float64", (1, A.shape[1]), fro, float(np.linalg.norm(x))), case


def _torch_conv(torch, case, tx, tw):
    F = torch.nn.functional
    d, mode, s, p, dl, G, tr, op = case
    W = tw.numpy()
    if tr:
        return getattr(F, f"conv_transpose{d}d")(tx, tw, stride=s, padding=p, dilation=dl, groups=G, output_padding=op)
    if mode == "zeros" or p == 0:
        return getattr(F, f"conv{d}d")(tx, tw, stride=s, padding=p, dilation=dl, groups=G)
    conv = getattr(torch.nn, f"Conv{d}d")(W.shape[1] * G, W.shape[0], W.shape[2:], stride=s, padding=p,
                                          dilation=dl, groups=G, padding_mode=mode, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(tw)
        return conv(tx)


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


def test_size_free_bound_counts_strided_dilated_reads():
    """Stride 2 and dilation 2 with a kernel of ones: every even input entry is
    read by all three taps, so the bound's count is ceil(3 gcd(2, 2) / 2) = 3, not
    ceil(3 / 2) = 2; on a long input sigma approaches the bound (3)."""
    W = np.ones((1, 1, 3))
    D = dense_conv(W, (60,), (2,), (0,), (0,), (2,), 1, "zeros")
    sigma, slack = _sigma_and_slack(D)
    free = conv_upper_bound(W, None, stride=2, dilation=2)
    assert sigma <= free + slack and sigma > math.sqrt(6), f"sigma {sigma}, bound {free}"


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


def test_matrix_free_route_certifies_only_with_proven_ends():
    """A 1 x 1 kernel: conv_upper_bound is sigma(W), and the final vector's proven
    lower bound meets it; a 3 x 3 kernel's bound is loose, so the bracket stays an estimate."""
    rng = np.random.default_rng(9)
    W = rng.standard_normal((5, 4, 1, 1))
    r = conv_operator_norm(W, (6, 6), padding_mode="circular", method="lanczos", seed=0)
    sigma, slack = _sigma_and_slack(W[:, :, 0, 0])
    assert r.certified and r.certificate == "conv-bound" and r.lower - slack <= sigma <= r.upper + slack
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r3 = conv_operator_norm(rng.standard_normal((4, 3, 3, 3)), (3, 8, 8), padding=1, method="lanczos", seed=0)
    (route,) = said(r3, "convolution")
    assert not r3.certified and route["route"] == "operator-iteration" and not route["certified"], r3.notes
    assert route["proven_lower"] <= r3.lower <= r3.upper <= route["proven_upper"], (r3.lower, r3.upper, route)
    assert said(r, "convolution")[0]["certified"] and said(r, "convolution")[0]["upper_from"] == "conv-upper-bound"


def test_certified_bracket_is_the_dense_route_where_it_fits():
    W, shape, D = _case_matrix(CASES[0])
    sigma, slack = _sigma_and_slack(D)
    lo, up, route = conv_certified_bracket(W, shape, **_kwargs(CASES[0]))
    width = 2 * certified_width(0.0, "float64", *D.shape)  # the narrowest width the dense route proves
    assert route == "dense" and lo - slack <= sigma <= up + slack and up - lo <= width * lo
