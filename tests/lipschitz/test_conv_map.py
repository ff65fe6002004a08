"""The convolution map itself (``lipbench.lipschitz.conv_map``): ``conv_operator``'s
products and adjoint against the dense matrices of ``conv_cases`` and against PyTorch,
``conv_geometry``'s validation, and the padded index table behind every route."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lipbench.lipschitz.conv_map import PADDING_MODES, check_kernel, conv_geometry, conv_operator
from properties.tolerances import matvec_atol
from tests.lipschitz.conv_cases import CASES, _case_matrix, _kwargs, _source, case_kernel, case_shape


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


@pytest.mark.parametrize("mode,transposed", [(m, False) for m in PADDING_MODES] + [("zeros", True)])
def test_adjoint_identity_on_grids_too_large_to_assemble(mode, transposed):
    """<A x, y> = <x, A^T y> on a 2-D map of 3 x 17 x 19 inputs, stride 2, dilation 2, groups 3:
    no dense matrix, so this checks the adjoint where only the operator exists."""
    rng = np.random.default_rng(11)
    W = rng.standard_normal((6, 1, 3, 4))
    kw = dict(stride=2, padding=2, dilation=2, groups=3, padding_mode=mode, transposed=transposed)
    op = conv_operator(W, (3, 17, 19) if not transposed else (6, 9, 8), **kw)
    x, y = rng.standard_normal(op.shape[1]), rng.standard_normal(op.shape[0])
    lhs, rhs = float(y @ op.matvec(x)), float(x @ op.rmatvec(y))
    fro = float(np.linalg.norm(W)) * math.sqrt(math.prod(W.shape[2:]))  # ||A||_F: each tap read at most prod(k) times
    allow = 2 * matvec_atol("float64", (1, max(op.shape)), fro, float(np.linalg.norm(x) * np.linalg.norm(y)))
    assert abs(lhs - rhs) <= allow, f"{mode} transposed={transposed}: <Ax, y> = {lhs} but <x, A^T y> = {rhs}"


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("pads", [(0, 0), (1, 1), (2, 1), (3, 3)])
def test_pad_index_is_the_padding_pytorch_documents(mode, pads):
    """Each padded position copies the entry ``_source`` names (written out per mode in conv_cases), or is a zero."""
    L = 4
    g = conv_geometry(np.ones((1, 1, 1)), (L,), padding=pads[0], padding_mode=mode) if pads[0] == pads[1] else \
        conv_geometry(np.ones((1, 1, pads[0] + pads[1] + 1)), (L,), padding="same", padding_mode=mode)
    expect = [_source(q, L, mode) for q in range(-g.pad_left[0], L + g.pad_right[0])]
    assert g.pad_index(0).tolist() == [-1 if s is None else s for s in expect], (mode, pads, g.describe())


@pytest.mark.parametrize("case", CASES[::17], ids=str)
def test_geometry_shape_is_the_dense_matrix_s(case):
    W, shape, D = _case_matrix(case)
    g = conv_geometry(W, shape, **_kwargs(case))
    assert g.shape == D.shape and g.forward_shape == (D.T.shape if case[6] else D.shape), (case, g.describe())
    with_channels = conv_geometry(W, (g.out_channels if case[6] else g.in_channels, *shape), **_kwargs(case))
    assert with_channels.describe() == g.describe(), (case, with_channels.describe())


def test_check_kernel_copies_and_refuses_what_has_no_norm():
    W = case_kernel(CASES[0])
    got = check_kernel(W)
    got[...] = 0.0
    assert np.any(W != 0.0), "check_kernel returned a view of the caller's kernel"
    for bad, match in [(np.ones((2, 2)), "spatial axes"), (np.ones((2, 2, 0)), "empty"),
                       (np.array([[[1.0, np.inf]]]), "inf at"), (np.ones((1, 1, 2), dtype=complex), "real")]:
        with pytest.raises((ValueError, TypeError), match=match):
            check_kernel(bad)


@pytest.mark.parametrize("kw,error,match", [
    (dict(groups=0), ValueError, "groups must be a positive int"),
    (dict(groups=True), ValueError, "groups must be a positive int"),
    (dict(padding="full"), ValueError, "'valid' or 'same'"),
    (dict(input_shape=(4, 5, 6)), ValueError, "has 4 channels"),
    (dict(input_shape=(0, 6)), ValueError, "empty axis"),
    (dict(input_shape="six"), TypeError, "sequence of ints"),
    (dict(output_padding=1), ValueError, "transposed convolutions only"),
    (dict(transposed=True, padding=9, input_shape=(2, 3, 3)), ValueError, "empty output"),
    (dict(stride=(1, 2, 3)), ValueError, "stride"),
])
def test_geometry_names_each_bad_argument(kw, error, match):
    args = dict(input_shape=(3, 5, 6))
    args.update(kw)
    with pytest.raises(error, match=match):
        conv_geometry(np.ones((2, 3, 3, 3)), **args)


def test_case_shapes_cover_every_dimension():
    """The shared cases hold 1-, 2- and 3-D maps, forward and transposed (the tests above rely on it)."""
    assert {(c[0], c[6]) for c in CASES} == {(d, t) for d in (1, 2, 3) for t in (False, True)}
    assert all(len(case_shape(d, t)) == d for d in (1, 2, 3) for t in (False, True))
