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


@pytest.mark.parametrize("dtype, factor, check", [("float64", 1e-300, 0), ("float64", 1e300, 1),
                                                  ("float64", 1e-12, 0), ("float64", 1e40, 1),
                                                  ("float32", 1e-30, 0), ("float32", 1e30, 1)])
def test_a_badly_scaled_matrix_is_summarized_once(A, dtype, factor, check):
    """One summary whatever the scale (issue 24): max|A| first, then the sums
    of ``|A| 2^-k`` with k chosen from it on the device, never a second
    summary of the scaled copy (before: 4 + 3 reductions).  Making the copy
    is elementwise work, no reduction; a copy scaled down is compared with A
    once (``check``: did anything round? a reduction of its own, which is no
    summary)."""
    assert _whole_matrix_reductions((A * factor).astype(dtype)) == SUMMARY + check


def test_a_copy_that_rounds_is_summarized_as_a_copy():
    """When the copy scaled down rounds (entries pushed below the normal
    range), the summary of A is not about the copy: the copy's own sums are
    taken (3 more reductions, the max is known).  Rare: entries 2^1022 times
    below the largest."""
    B = np.full((30, 20), 1e300)
    B[3, 4] = 3e-20  # 3e-20 * 2^-997 is subnormal and rounds
    assert _whole_matrix_reductions(B) == SUMMARY + 1 + (SUMMARY - 1)
