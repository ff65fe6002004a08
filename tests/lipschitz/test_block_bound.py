"""Branch and bound's node bound (``lipbench.lipschitz.block_bound``): for a node
whose free units lie in one layer, the certified bound is at least
``max ||P D Q||`` over the node's box (a convex function of D: its maximum is
at a vertex, enumerated here), and a stack's proven sigma_max is sound."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lipbench.lipschitz.block_bound import certify_blocks, norms_upper, optimise
from properties.tolerances import proven_sigma_rtol, svd_atol


def _nodes(k: int, m: int, n: int, p: int, free: int, seed: int):
    rng = np.random.default_rng(seed)
    P, Q = rng.standard_normal((k, m, n)), rng.standard_normal((k, n, p))
    c = rng.uniform(0.0, 1.0, (k, n))
    r = np.zeros((k, n))
    r[:, :free] = rng.uniform(0.05, 0.5, (k, free))
    A = np.einsum("kmn,kn,knp->kmp", P, c, Q)
    return A, P, Q, c, r


@pytest.mark.parametrize("free", [0, 1, 3])
def test_node_bound_is_at_least_the_largest_norm_over_the_box(free):
    A, P, Q, c, r = _nodes(3, 4, 5, 3, free, seed=free)
    _, mu, a, b, _ = optimise(A, P, Q, r)
    bound = certify_blocks(A, P, Q, a, b, mu, 0.0, 0.0, 0.0)
    for node in range(len(A)):
        worst = max(np.linalg.norm(P[node] @ np.diag(c[node] + r[node] * s) @ Q[node], 2)
                    for s in itertools.product((-1.0, 1.0), repeat=P.shape[2]))
        allowed = svd_atol("float64", A.shape[1:], worst)
        assert worst - allowed <= bound[node] < np.inf, (free, node, worst, bound[node])


def test_norms_upper_holds_a_sigma_known_exactly():
    """Diagonals of dyadic values (sigma_max their largest entry), stacked."""
    rng = np.random.default_rng(5)
    d = rng.integers(1, 64, (4, 6)) / 8.0
    stack = np.stack([np.diag(row) for row in d])
    sigma = d.max(axis=1)
    up = norms_upper(stack)
    assert np.all(sigma <= up) and np.all(up <= sigma * (1 + proven_sigma_rtol(stack.shape[1:]))), (sigma, up)
    assert norms_upper(np.zeros((3, 0, 2))).tolist() == [0.0, 0.0, 0.0]
