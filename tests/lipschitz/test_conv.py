"""``conv_operator_norm`` and ``conv_certified_bracket`` (``lipbench.lipschitz.conv``) against
dense matrices built from PyTorch's formulas (``conv_cases``): every route's bracket, bad input.

The map itself, the bound, the DFT route and the routes' proven ends have their own files
(``test_conv_map``, ``test_conv_bound``, ``test_conv_fft``, ``test_conv_routes``).
"""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import (
    conv_certified_bracket,
    conv_operator_norm,
    conv_upper_bound,
)
from lipbench.testing import certified_width
from tests.lipschitz.conv_cases import CASES, _case_matrix, _kwargs, _sigma_and_slack


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


def test_certified_bracket_is_the_dense_route_where_it_fits():
    W, shape, D = _case_matrix(CASES[0])
    sigma, slack = _sigma_and_slack(D)
    lo, up, route = conv_certified_bracket(W, shape, **_kwargs(CASES[0]))
    width = 2 * certified_width(0.0, "float64", *D.shape)  # the narrowest width the dense route proves
    assert route == "dense" and lo - slack <= sigma <= up + slack and up - lo <= width * lo
