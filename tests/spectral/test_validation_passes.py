"""How often lipbench reads the whole of A to validate and certify it,
counted on array-api-strict through the counting namespace (tests/counting.py):
a reduction over an array of A's shape is one read of A."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lipbench as lb
from lipbench import backends
from tests.counting import wrap

pytestmark = pytest.mark.skipif(not backends.availability("array_api_strict").available,
                                reason="array_api_strict is not installed")

REDUCTIONS = {"sum", "max", "min", "all", "any"}
# one summary: the sum of squares, the column norms' max, ||A||_1, ||A||_inf and max|A|
SUMMARY = 4


def _whole_matrix_reductions(A: np.ndarray, **kw) -> int:
    X, log = wrap(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        lb.spectral_norm(X, seed=0, **kw)
    return sum(1 for kind, name, shapes in log.events
               if kind == "op" and name in REDUCTIONS and tuple(A.shape) in shapes)


@pytest.fixture
def A():
    return np.random.default_rng(0).standard_normal((300, 200))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_well_scaled_matrix_is_read_once(A, dtype):
    assert _whole_matrix_reductions(A.astype(dtype)) == SUMMARY


@pytest.mark.parametrize("dtype, factor", [("float64", 1.0), ("float64", 1e-300), ("float64", 1e300),
                                           ("float32", 1.0), ("float32", 1e-30)])
def test_the_certificate_reads_nothing_the_summary_has_read(A, dtype, factor):
    """certify=True tests the operator's matrix without checking it again
    (before: max|A| and finiteness once more)."""
    B = (A * factor).astype(dtype)
    assert _whole_matrix_reductions(B, certify=True) == _whole_matrix_reductions(B)


@pytest.mark.parametrize("factor, check", [(1e-300, 0), (1e300, 1)])
def test_a_badly_scaled_matrix_is_summarized_twice(A, factor, check):
    """The summary of A finds its sums out of range but gives max|A| (before,
    a max/min pass followed); the scaled copy is summarized again (without
    its max), and a copy scaled down is compared with A once (``check``: did
    anything round?).  One summary in all is the target: not met here."""
    assert _whole_matrix_reductions(A * factor) == SUMMARY + (SUMMARY - 1) + check
