"""Randomized block Krylov iteration (``lipbench.spectral.randomized``, Musco &
Musco 2015): the bracket holds, it stops on the residual bound at tol, a block
costs b products each way, the block is clipped to n, and maxiter counts blocks."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench import matrices
from tests.helpers import assert_certified, run_quietly, said


@pytest.mark.parametrize("family,kw", [("gap", {"delta": 1e-2}), ("geometric", {}), ("gaussian", {})])
@pytest.mark.parametrize("block_size", [1, 4])
@pytest.mark.parametrize("shape", [(80, 50), (50, 80)])
def test_converges_to_tol_inside_the_bracket(family, kw, block_size, shape):
    A, s = matrices.make(family, *shape, seed=1, **kw)
    tol = 1e-8
    r, warned = run_quietly(A, "randomized", tol=tol, seed=0, block_size=block_size)
    assert r.converged and not warned and r.error_estimate <= tol, (family, block_size, r.message)
    assert_certified(r, float(s[0]), tol, A, f"family={family} block_size={block_size}")
    # b products with A and b with A^T per block (fewer for a last block clipped to n), one to certify
    assert r.matvecs <= 2 * block_size * r.iterations + 1, (r.matvecs, r.iterations)
    assert r.options == {"block_size": block_size}


def test_a_block_wider_than_n_is_clipped_and_spans_everything():
    A, s = matrices.gaussian(9, 6, seed=2)
    r, warned = run_quietly(A, "randomized", tol=1e-10, seed=0, block_size=10)
    assert r.converged and not warned and r.iterations == 1, (r.iterations, r.message)
    assert_certified(r, float(s[0]), 1e-10, A)


def test_maxiter_counts_blocks_and_is_said():
    A, s = matrices.gap(80, 50, delta=1e-2, seed=1)
    r, warned = run_quietly(A, "randomized", tol=1e-12, seed=0, maxiter=1)
    assert not r.converged and warned and r.iterations == 1
    assert [(n["maxiter"], n["unit"]) for n in said(r, "maxiter")] == [(1, "blocks")], r.notes
    assert r.lower <= s[0] <= r.upper


def test_the_probabilistic_bound_needs_a_random_start():
    """Kuczynski-Wozniakowski's bound holds for a random start only: none is
    reported from the caller's v0."""
    A, s = matrices.gap(80, 50, delta=1e-2, seed=1)
    rand, _ = run_quietly(A, "randomized", tol=1e-8, seed=0)
    given, _ = run_quietly(A, "randomized", tol=1e-8, seed=0, v0=np.ones(50))
    assert rand.upper_probabilistic is not None and rand.upper_probabilistic >= rand.value
    assert given.upper_probabilistic is None and given.converged
    assert given.lower <= s[0] <= given.upper
