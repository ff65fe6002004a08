"""The routes of ``conv_operator_norm`` and which of their ends are proofs
(``lipbench.lipschitz.conv_routes``): the matrix-free route's proven ends, the
impulse and final-vector lower bounds, and the counts their rounding rests on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lipbench.lipschitz import conv as conv_module
from lipbench.lipschitz import conv_geometry, conv_operator_norm, conv_upper_bound
from lipbench.lipschitz.conv_routes import entry_hits, impulse_lower, terms_per_entry, vector_lower
from tests.helpers import said
from tests.lipschitz.conv_cases import CASES, _case_matrix, _kwargs, _sigma_and_slack, case_kernel, case_shape


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


def test_certify_past_the_size_gives_the_proven_ends(monkeypatch):
    """Past GRAM_MAX_SIDE (lowered here), ``certify=True`` returns the matrix-free route's
    proven ends as the bracket, and says why."""
    W, shape, D = _case_matrix((2, "zeros", 1, 1, 1, 1, False, 0))
    sigma, slack = _sigma_and_slack(D)
    monkeypatch.setattr(conv_module, "GRAM_MAX_SIDE", 4)
    monkeypatch.setattr(conv_module, "DENSE_MAX_ENTRIES", 0)
    r = conv_operator_norm(W, shape, padding=1, certify=True, seed=0)
    ends = said(r, "conv-certify-ends")
    assert r.method == "lanczos" and ends, r.message
    assert r.upper <= conv_upper_bound(W, shape, padding=1)
    assert ends[0]["upper_from"] in ("conv_upper_bound", "circular-embedding (proven)")
    assert r.lower - slack <= sigma <= r.upper + slack
    assert r.certified == (r.upper - r.lower <= r.tol * r.lower)


#: cases whose dense matrix is exact (single taps per entry): its certified bracket is a proof about the operator
EXACT_ENTRIES = [c for c in CASES[::7]
                 if entry_hits(conv_geometry(case_kernel(c), case_shape(c[0], c[6]), **_kwargs(c))) == 1]


@pytest.mark.parametrize("case", EXACT_ENTRIES, ids=str)
def test_proven_lower_ends_stay_below_the_certified_sigma(case):
    """impulse_lower and vector_lower (of the top right singular vector) are proofs: below the certified
    upper end of the exact dense matrix, with no slack; the top vector's lower end is within the
    certified bracket's tol of sigma (a centred impulse may be read by no output under stride: 0)."""
    import lipbench

    W, shape, D = _case_matrix(case)
    g = conv_geometry(W, shape, **_kwargs(case))
    r = lipbench.spectral_norm(D, certify=True)
    assert r.certified, r.message
    imp = impulse_lower(g)
    v = np.linalg.svd(D)[2][0]
    top = vector_lower(g, v)
    assert 0.0 <= imp <= r.upper and top <= r.upper, f"{case}: impulse {imp!r}, vector {top!r} > {r.upper!r}"
    assert top >= r.lower * (1 - r.tol), f"{case}: the top vector's bound {top!r} is loose ({r.lower!r})"


def test_vector_lower_is_zero_for_a_vector_it_cannot_use():
    g = conv_geometry(np.ones((2, 1, 3)), (5,), padding=1)
    assert vector_lower(g, None) == 0.0
    assert vector_lower(g, np.ones(4)) == 0.0  # wrong length
    assert vector_lower(g, np.full(5, np.nan)) == 0.0
    assert vector_lower(g, np.ones(5)) > 0.0
    assert impulse_lower(conv_geometry(np.zeros((2, 1, 3)), (5,), padding=1)) == 0.0


def test_counts_the_rounding_rests_on_by_hand():
    """terms_per_entry: C_in/G per tap (C_out/G for a transposed map) times the taps; entry_hits: taps
    folded onto one matrix entry, more than one only where padding wraps or repeats."""
    W = np.ones((4, 3, 2, 5))
    assert terms_per_entry(conv_geometry(W, (6, 6), padding=1)) == 3 * 10
    assert terms_per_entry(conv_geometry(W, (4, 6, 6), padding=1, transposed=True)) == 4 * 10
    assert terms_per_entry(conv_geometry(np.ones((4, 1, 3)), (4, 7), groups=4)) == 3
    assert entry_hits(conv_geometry(W, (6, 6), padding=1)) == 1
    assert entry_hits(conv_geometry(np.ones((1, 1, 3)), (2,), padding=1, padding_mode="circular")) == 2
    assert entry_hits(conv_geometry(np.ones((1, 1, 3)), (3,), padding=1, padding_mode="replicate")) == 2
    assert entry_hits(conv_geometry(np.ones((1, 1, 3, 3)), (2, 2), padding=1, padding_mode="circular")) == 4
