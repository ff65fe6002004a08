"""Average and max pooling (``lipbench.lipschitz.pooling``): constants by hand, against the
certified sigma of the average's matrix and the Jacobian max pooling attains, the average's
entry rounding in rationals, and the arguments they refuse."""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np
import pytest

import lipbench
from lipbench.lipschitz import AvgPool, MaxPool
from lipbench.lipschitz.windows import coverage
from properties.tolerances import scalar_rtol


@pytest.mark.parametrize("make,match", [
    (lambda: AvgPool(3, (1, 2, 2)), "does not fit"),
    (lambda: MaxPool(2, (4,)), r"channels, \*spatial"),
])
def test_bad_pooling_arguments_name_the_problem(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_pooling_constants_by_hand():
    assert AvgPool(2, (1, 4, 4)).lipschitz_exact() == pytest.approx(0.5, rel=scalar_rtol())  # 1/sqrt(4)
    assert MaxPool(2, (1, 4, 4)).lipschitz_upper() == 1.0
    assert MaxPool(3, (1, 6, 6), stride=1).lipschitz_upper() == 3.0  # a pixel in 9 windows
    up = MaxPool((3, 1), (1, 5, 5), stride=(2, 1)).lipschitz_upper()  # row 2 sits in 2 windows
    assert math.sqrt(2) <= up <= math.sqrt(2) * (1 + scalar_rtol())



#: (kernel, input_shape, stride, dilation): non-overlapping, overlapping, dilated, 1-D and 2-D
POOLS = [(2, (2, 4, 4), None, 1), (3, (1, 6, 5), 1, 1), ((3, 2), (1, 7, 6), (2, 1), 1), (2, (2, 7), 1, 2),
         ((2, 3), (1, 5, 7), (1, 2), (2, 1))]


def _pool(cls, case):
    k, shape, s, dl = case
    return cls(k, shape, stride=s, dilation=dl)


@pytest.mark.parametrize("case", POOLS, ids=str)
def test_avg_pool_constant_brackets_its_matrix_s_certified_sigma(case):
    """lipschitz_upper is a proof on the exact averaging map: not below the certified lower end of its
    stored matrix less the stored matrix's error (operator_error); lipschitz_exact inside the bracket."""
    pool = _pool(AvgPool, case)
    M = pool.operator_matrix()
    r = lipbench.spectral_norm(M, certify=True)
    assert r.certified, r.message
    assert pool.lipschitz_upper() >= r.lower - pool.operator_error(), (case, pool.lipschitz_upper(), r.lower)
    assert r.lower * (1 - r.tol) <= pool.lipschitz_exact() <= r.upper * (1 + r.tol), (case, pool.lipschitz_exact(), r)
    assert pool.lipschitz_upper() <= pool.overlap_bound() * (1 + scalar_rtol(ops=4)), case
    x = np.random.default_rng(0).standard_normal(pool.in_features)
    assert np.array_equal(pool.jacobian(x), M)


@pytest.mark.parametrize("K", [2, 3, 5, 6, 9])
def test_avg_pool_operator_error_covers_the_rounded_entries(K):
    """Every stored entry is fl(1/K): the bound |fl(1/K) - 1/K| sqrt(nnz) is >= the exact error's Frobenius
    norm, and 0 exactly when 1/K is a float."""
    pool = AvgPool((1, K), (2, 3, 2 * K), stride=(1, 1))
    M = pool.operator_matrix()
    nnz = int(np.count_nonzero(M))
    err2 = nnz * (Q(float(1.0 / K)) - Q(1, K)) ** 2
    assert err2 <= Q(pool.operator_error()) ** 2, (K, pool.operator_error())
    assert (pool.operator_error() == 0.0) == (K & (K - 1) == 0), (K, pool.operator_error())


@pytest.mark.parametrize("case", POOLS, ids=str)
def test_max_pool_constant_is_attained_by_an_input(case):
    """L = sqrt(max coverage): an input whose largest entry sits where most windows overlap has a
    Jacobian of exactly that norm (J^T J diagonal with the selection counts)."""
    pool = _pool(MaxPool, case)
    counts = coverage(pool._table, pool.in_features // pool.input_shape[0])
    x = np.zeros(pool.in_features)
    x[int(np.argmax(counts))] = 1.0
    J = pool.jacobian(x)
    assert np.all(J.sum(axis=1) == 1.0), "each output selects one input"
    attained = math.sqrt(float(np.max(J.sum(axis=0))))
    assert attained == pool.lipschitz_exact() == math.sqrt(pool.max_coverage()), (case, attained)
    assert pool.lipschitz_upper() >= attained and pool.lipschitz_upper() <= attained * (1 + scalar_rtol()), case
    assert np.array_equal(J @ x, pool(x)), "the selected inputs are the maxima"
