"""The Gram route of a convolution's norm (``lipbench.lipschitz.conv_gram``) against
the dense matrices of ``conv_cases`` (filled entry by entry from PyTorch's formulas)
and, for its rounding bound, against the Gram matrix in exact rational arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction as Q

import numpy as np
import pytest

from lipbench.lipschitz import conv as conv_module
from lipbench.lipschitz import conv_geometry, conv_operator_norm
from lipbench.lipschitz.conv_gram import assemble_gram, gram_fits, gram_rounding, gram_side
from lipbench.lipschitz.conv_routes import entry_hits
from lipbench.testing import weakened
from tests.helpers import said
from tests.lipschitz.conv_cases import CASES, _case_matrix, _kwargs, _sigma_and_slack


@pytest.mark.parametrize("case", CASES, ids=str)
def test_gram_route_certifies_a_bracket_around_the_dense_sigma(case):
    W, shape, D = _case_matrix(case)
    sigma, slack = _sigma_and_slack(D)
    before = W.copy()
    r = conv_operator_norm(W, shape, method="gram-cholesky", **_kwargs(case))
    assert np.array_equal(W, before), "the kernel was modified"
    assert r.certified and r.method == "gram-cholesky", f"{case}: {r.message}"
    assert r.lower - slack <= sigma <= r.upper + slack, f"{case}: sigma {sigma} outside [{r.lower}, {r.upper}]"
    assert r.upper - r.lower <= r.tol * r.lower, f"{case}: [{r.lower}, {r.upper}] wider than tol {r.tol}"


def _forward_matrix(case):
    """The forward map's dense matrix (a transposed convolution's is the transpose) and its geometry."""
    W, shape, D = _case_matrix(case)
    g = conv_geometry(W, shape, **_kwargs(case))
    return g, (D.T if g.transposed else D)


def _exact_gram_error_squared(g, D) -> tuple[Q, Q]:
    """(||G~ - G||_F^2, E^2) in rationals for group 0: G = the exact Gram matrix of the
    dense matrix's group-0 block (its entries single kernel taps, so exact), G~ assembled."""
    side, _ = gram_side(g)
    co, ci = g.out_channels // g.groups, g.in_channels // g.groups
    rows, cols = co * int(np.prod(g.out_spatial)), ci * int(np.prod(g.in_spatial))
    B = D[:rows, :cols] if side == "right" else D[:rows, :cols].T
    Bq = [[Q(x) for x in row] for row in B.T.tolist()]  # columns of the block, as rationals
    nz = [[(k, x) for k, x in enumerate(col) if x] for col in Bq]
    G = assemble_gram(g, 0, side)
    total = Q(0)
    for i, ci_ in enumerate(nz):
        dense_i = dict(ci_)
        for j, cj in enumerate(nz):
            exact = sum((x * dense_i[k] for k, x in cj if k in dense_i), Q(0))
            total += (Q(float(G[i, j])) - exact) ** 2
    return total, Q(gram_rounding(g)) ** 2


#: forward cases whose matrix entries are single taps (no padding that repeats an entry)
EXACT = [c for c in CASES if c[1] in ("zeros", "circular") and c[0] < 3][::9]


@pytest.mark.parametrize("case", EXACT, ids=str)
def test_assembled_gram_is_within_its_rounding_bound_of_the_exact_gram(case):
    g, D = _forward_matrix(case)
    if entry_hits(g) != 1:
        pytest.skip("padding wraps onto one entry: the dense matrix's entries are rounded sums")
    err2, bound2 = _exact_gram_error_squared(g, D)
    assert err2 <= bound2, f"{case}: ||G~ - G||_F = {float(err2) ** 0.5} > the bound {float(bound2) ** 0.5}"


def test_dropping_the_gram_rounding_term_breaks_the_bound():
    """A kernel whose Gram entries round: with the term ``conv_gram`` dropped the bound
    (then an underflow term only) no longer covers the assembly's exact error."""
    rng = np.random.default_rng(7)
    W = rng.standard_normal((5, 4, 3, 3))
    g = conv_geometry(W, (4, 5), padding=1)
    from tests.lipschitz.conv_cases import dense_conv

    D = dense_conv(W, (4, 5), (1, 1), (1, 1), (1, 1), (1, 1), 1, "zeros")
    err2, bound2 = _exact_gram_error_squared(g, D)
    assert 0 < err2 <= bound2, f"the assembly is exact ({float(err2)}) or beyond its bound ({float(bound2)})"
    with weakened("conv_gram", 0.0):
        assert _exact_gram_error_squared(g, D)[1] < err2


def test_readme_example_is_certified_by_the_gram_route():
    k = np.random.default_rng(0).standard_normal((16, 3, 3, 3))
    r = conv_operator_norm(k, (32, 32), stride=1, padding=1, padding_mode="zeros")
    assert r.method == "gram-cholesky" and r.certified and r.converged, r.message
    assert r.upper - r.lower <= r.tol * r.lower, f"[{r.lower}, {r.upper}]"
    note = said(r, "convolution")[0]
    assert note["route"] == "gram-cholesky" and note["side"] == "right" and note["size"] == 3 * 32 * 32


def test_certify_false_keeps_auto_off_the_gram_route():
    k = np.random.default_rng(0).standard_normal((16, 3, 3, 3))
    g = conv_geometry(k, (24, 24), padding=1)
    assert g.shape[0] * g.shape[1] > conv_module.DENSE_MAX_ENTRIES
    assert conv_module._auto(g, None) == "gram-cholesky" and conv_module._auto(g, True) == "gram-cholesky"
    assert conv_module._auto(g, False) == "lanczos"


def test_certify_must_be_a_bool_or_none():
    with pytest.raises(ValueError, match="certify must be True, False or None"):
        conv_operator_norm(np.ones((1, 1, 3)), (5,), certify="yes")


def test_cli_certify_takes_the_gram_route(tmp_path):
    p = tmp_path / "kernel.npy"
    np.save(p, np.random.default_rng(0).standard_normal((16, 3, 3, 3)))
    out = subprocess.run([sys.executable, "-m", "lipbench", "norm", str(p), "--conv", "24,24", "--padding", "1",
                          "--certify", "--json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["method"] == "gram-cholesky" and data["certified"] is True, data["message"]


def test_the_size_limit_counts_every_group():
    """A depthwise layer holds one Gram matrix per group: the limit is on them all together."""
    g = conv_geometry(np.ones((4, 1, 3, 3)), (4, 4), padding=1, groups=4)
    assert gram_side(g)[1] == 16
    assert gram_fits(g, 32) and not gram_fits(g, 31) and not gram_fits(g, 15)
