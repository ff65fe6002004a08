"""Margin checks for the rounding terms of ``lipbench.lipschitz``; registered in
the one table of ``tests/margins.py`` (see its docstring for the kinds)."""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np

from lipbench.lipschitz import Conv, conv_gram, conv_operator_norm, conv_routes, lipsdp_verify
from lipbench.lipschitz import chain as lchain
from lipbench.lipschitz import eclipse as leclipse
from lipbench.lipschitz.conv import conv_geometry
from lipbench.testing import chain_merge, pattern_rounding, rounding, rounding_maps
from tests.margins import U, check, left_to_right, one_then_half_ulps


def _replicate_kernel(above: bool, taps: int = 1000) -> tuple[np.ndarray, dict]:
    """A 1-D kernel read entirely on one input entry: length-1 input, replicate
    padding of half the kernel on each side, so both outputs sum every tap (in
    order, through the operator's tap loop) and the matrix is ``[[S], [S]]``."""
    kernel = np.array(one_then_half_ulps(taps, above)).reshape(1, 1, taps)
    return kernel, dict(padding=taps // 2, padding_mode="replicate")


def _sigma_squared(kernel: np.ndarray, rows: int) -> Q:
    """sigma_max^2 of ``rows`` copies of the kernel's exact sum, stacked in one column."""
    S = sum(map(Q, kernel.ravel().tolist()))
    return rows * S * S


# ------------------------------------------------------------- convolutions
@check("conv_assembly", kind="bracket")
def conv_dense_route_holds_a_matrix_whose_sums_lost_their_tail() -> None:
    """Each entry sums 1000 taps left to right and loses nearly 999 u: the dense
    route's proven bracket must still hold sigma_max exactly."""
    W, args = _replicate_kernel(above=False)
    r = conv_operator_norm(W, (1,), method="dense", **args)
    exact = _sigma_squared(W, r.shape[0])
    assert Q(r.upper) ** 2 >= exact, f"dense upper {r.upper!r} < sigma {math.sqrt(float(exact))!r}"
    assert Q(r.lower) ** 2 <= exact, f"dense lower {r.lower!r} > sigma {math.sqrt(float(exact))!r}"


@check("conv_assembly", kind="bracket")
def conv_layer_constant_holds_a_matrix_whose_sums_lost_their_tail() -> None:
    """The layer's assembled-matrix constant on the same kernel (its own summation order)."""
    W, args = _replicate_kernel(above=False)
    layer = Conv(W, (1, 1), **args)
    exact = _sigma_squared(W, layer.out_features)
    for name, value in (("matrix_lipschitz_upper", layer.matrix_lipschitz_upper()),
                        ("lipschitz_upper", layer.lipschitz_upper())):
        assert Q(value) ** 2 >= exact, f"Conv.{name} {value!r} < sigma {math.sqrt(float(exact))!r}"


@check("product_gamma", kind="bracket")
def conv_impulse_lower_stays_below_a_product_that_gained() -> None:
    """The impulse's computed response gains nearly 999 u per entry: its proven
    lower bound (the bound route's, the matrix-free route's) must stay below sigma."""
    W, args = _replicate_kernel(above=True)
    g = conv_geometry(W, (1,), **args)
    lower = conv_routes.impulse_lower(g)
    exact = _sigma_squared(W, g.shape[0])
    assert Q(lower) ** 2 <= exact, f"impulse lower {lower!r} > sigma {math.sqrt(float(exact))!r}"


@check("product_gamma", kind="bracket")
def conv_gram_route_lower_stays_below_a_product_that_gained() -> None:
    """The Gram route's lower end recomputes ``A v`` through the convolution: on the
    kernel whose responses gain nearly 999 u per entry it must stay below sigma."""
    W, args = _replicate_kernel(above=True)
    r = conv_operator_norm(W, (1,), method="gram-cholesky", **args)
    exact = _sigma_squared(W, r.shape[0])
    assert Q(r.lower) ** 2 <= exact, f"gram-cholesky lower {r.lower!r} > sigma {math.sqrt(float(exact))!r}"
    assert Q(r.upper) ** 2 >= exact, f"gram-cholesky upper {r.upper!r} < sigma {math.sqrt(float(exact))!r}"


@check("conv_gram", kind="bound")
def conv_gram_rounding_covers_a_gram_entry_that_lost_its_tail() -> None:
    """A 1x1 kernel of 200 output channels on one input entry: the Gram matrix is the
    1 x 1 sum of its 200 squared taps, summed left to right (a legitimate order),
    losing nearly 199 u; the route's bound on the assembly must cover it."""
    b = [math.sqrt(x) for x in one_then_half_ulps(200, above=False)]
    g = conv_geometry(np.array(b).reshape(200, 1, 1), (1,))
    assert conv_gram.gram_side(g) == ("right", 1)
    computed = left_to_right([x * x for x in b])
    exact = sum(Q(x) ** 2 for x in b)
    err = conv_gram.gram_rounding(g)
    assert Q(err) >= abs(Q(computed) - exact), f"conv_gram bound {err!r} < the error {float(exact - Q(computed))!r}"


@check("conv_embedding", kind="bound")
def conv_embedding_error_covers_a_block_that_lost_its_tail() -> None:
    """A 200-tap 1-D kernel of one channel: its DFT block at frequency 0 is the sum of
    the taps (twiddles exactly 1), summed left to right (a legitimate order), losing
    nearly 199 u; the embedding's block error bound must cover it."""
    taps = one_then_half_ulps(200, above=False)
    computed = left_to_right(taps)
    exact = sum(map(Q, taps))
    err = rounding_maps.conv_embedding_error(np.array([[sum(taps)]]), len(taps))
    assert Q(err) >= abs(Q(computed) - exact), \
        f"conv_embedding bound {err!r} < the error {float(exact - Q(computed))!r}"


# ------------------------------------------------------------------ chains
def _column_and_row(count: int) -> tuple[np.ndarray, np.ndarray, float, Q]:
    """b (count x 1), b^T, fl(b^T b) summed left to right (losing nearly (count - 1) u),
    and the exact b^T b."""
    b = np.array([math.sqrt(x) for x in one_then_half_ulps(count, above=False)])
    return b[:, None], b[None, :], left_to_right([x * x for x in b.tolist()]), sum(Q(x) ** 2 for x in b.tolist())


@check("chain_merge", kind="bound")
def chain_merge_covers_a_product_that_lost_its_tail() -> None:
    """Two linear layers b and b^T merged: the library's error bound for the merge
    must cover the product summed left to right (a legitimate order)."""
    col, row, computed, exact = _column_and_row(200)
    _, err = chain_merge([(col, 0.0), (row, 0.0)], 1)
    assert Q(err) >= abs(Q(computed) - exact), f"merge bound {err!r} < the error {float(exact - Q(computed))!r}"


@check("pattern_products", kind="bound")
def pattern_products_cover_a_product_that_lost_its_tail() -> None:
    """The chain b, (slopes 1), b^T: each pattern's product is b^T (1 b), summed left to right."""
    col, row, computed, exact = _column_and_row(200)
    chain = lchain.Chain((col, row), (0.0, 0.0), ((1.0, 1.0),))
    err = pattern_rounding(chain)
    assert Q(err) >= abs(Q(computed) - exact), f"pattern bound {err!r} < the error {float(exact - Q(computed))!r}"


@check("psd_entries", kind="bound")
def psd_entries_cover_entries_rounded_down() -> None:
    """M_exact = (1 + u (1 - 2^-20)) J rounds to M = J entry by entry; ||M_exact - M||_2 =
    n u (1 - 2^-20) = u ||M||_F (1 - 2^-20): the term's worst case, nearly attained."""
    n = 8
    delta = U * (1 - Q(2) ** -20)
    assert float(1 + delta) == 1.0
    M = np.ones((n, n))
    assert Q(lchain.entry_rounding(M)) >= n * delta, "entry rounding below ||M_exact - M||_2"


@check("eclipse_multiplier", kind="bound")
def eclipse_multiplier_covers_its_rounding() -> None:
    """lambda b / 2 rounded by nearly half an ulp, W = 2^-3 J (its products exact): the
    off-diagonal block is off by exactly |fl(lambda b / 2) - lambda b / 2| ||W||_2."""
    rng = np.random.default_rng(0)
    pairs = rng.uniform(0.5, 2.0, (2000, 2)).tolist()
    lam, hi = max(pairs, key=lambda p: abs(Q(p[0] * p[1] / 2) - Q(p[0]) * Q(p[1]) / 2) / (Q(p[0]) * Q(p[1])))
    n = 6
    W = np.full((n, n), 2.0**-3)
    off = -(lam * hi / 2) * W
    mu = Q(lam) * Q(hi) / 2
    assert all(Q(v) == -Q(lam * hi / 2) * Q(2) ** -3 for v in off.ravel().tolist())  # products exact
    exact = abs(Q(lam * hi / 2) - mu) * n * Q(2) ** -3  # ||(fl(mu) - mu) W||_2, W of rank one
    assert exact > U / 4 * mu, "no multiplier rounding near half an ulp among the pairs tried"
    got = leclipse.off_block_error(lam, hi, W, 0.0)
    assert Q(got) >= exact, f"off-block error {got!r} < {float(exact)!r}"


@check("lipsdp_assembly", kind="bound")
def lipsdp_weighted_gram_covers_a_product_that_lost_its_tail() -> None:
    """LipSDP's block c W^T diag(t) W with W = b (a column), t = 1, c = 1: the product b^T b,
    summed left to right, loses nearly (count - 1) u; the block's error bound must cover it."""
    col, _, computed, exact = _column_and_row(200)
    _, err = lipsdp_verify.weighted_gram(col, 0.0, np.ones(col.shape[0]), Q(1))
    assert Q(err) >= abs(Q(computed) - exact), f"LMI block bound {err!r} < the error {float(exact - Q(computed))!r}"


@check("one_rounding", kind="bound")
def one_rounding_covers_a_sum_rounded_down() -> None:
    """1 + u (1 - 2^-20) rounds to 1 (the spacing above 1 is 2u): the error u (1 - 2^-20) is
    all but the term's u / (1 - u) |fl(x)|, so halving or dropping it falls short."""
    x = 1 + U * (1 - Q(2) ** -20)
    computed = 1.0 + float(U * (1 - Q(2) ** -20))
    assert computed == 1.0
    assert Q(rounding.one_rounding(computed)) >= abs(Q(computed) - x), "one rounding below the error of a sum"
