"""The full SVD (``lipbench.spectral.svd``): its backward-error bracket holds
(float32 input, a 2x2 matrix hill-climbed against it)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest

import lipbench as lb
from properties.tolerances import reference_rtol


@pytest.mark.parametrize("rows", [[[2.4433281, -1.8606709], [-1.3341405, 1.9168746]],
                                  [[2.4532716, -1.8682432], [-1.33957, 1.9246757]]])
def test_svd_bracket_holds_for_float32_input(rows):
    """Regression (Hypothesis): LAPACK's float32 sigma_max of these 2 x 2
    matrices is off by about 2.4 float32 units, outside the max(m, n) u bound
    svd used to claim; float32 input is now decomposed in float64."""
    A = np.array(rows, dtype=np.float32)
    truth = float(np.linalg.svd(A.astype(np.float64), compute_uv=False)[0])
    r = lb.spectral_norm(A, method="svd")
    # both are float64 SVDs of the same (exactly converted) matrix
    assert r.lower <= truth <= r.upper and abs(r.value - truth) <= reference_rtol(A.shape) * truth
    S = np.stack([A, A.T])  # a stack goes the same way
    rs = lb.spectral_norm(S, method="svd")
    assert np.all(rs.lower <= truth) and np.all(truth <= rs.upper)


def test_svd_bracket_holds_for_a_2x2_matrix_hill_climbed_against_it():
    """A float64 2 x 2 matrix searched for gesdd's worst sigma_max (13.2 u off
    where it was found, against the exact value): the bracket holds it.  The
    exact sigma_max is the closed form for 2 x 2, in 50-digit decimals."""
    A = np.array([[0.00193094, 1.11069486], [0.2454917, 0.95519018]])
    with localcontext() as ctx:
        ctx.prec = 50
        a, b, c, d = (Decimal(float(x)) for x in A.ravel())
        t, det = a * a + b * b + c * c + d * d, a * d - b * c
        exact = ((t + (t * t - 4 * det * det).sqrt()) / 2).sqrt()
    r = lb.spectral_norm(A, method="svd")
    assert Decimal(r.lower) <= exact <= Decimal(r.upper), (r.lower, exact, r.upper)
