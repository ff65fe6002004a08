"""LipSDP-Neuron on a node's sub-box of activation patterns: a certified bound that couples the layers.

A node of :mod:`.branch_bound` fixes some ReLU units to slope 0 or 1 and lets the
others range over ``[0, 1]``; the bound it needs is ``max sigma_max(W_l D_h ... D_1 W_1)``
over diagonal ``D_k`` in that box.  A unit fixed at slope 0 contributes nothing
to any product of the box, so its row of ``W_k`` and column of ``W_{k+1}`` are
dropped (exactly: the products are equal; a layer with every unit at 0 makes
every product zero, bound 0).  On the remaining units every entry of ``D_k``
lies in a slope interval ``[a_j, 1]``: ``a_j = 0`` for a free unit,
``a_j = A_FIXED = 1/2`` for a unit fixed at 1, so LipSDP-Neuron of the reduced
chain with one interval per neuron (Fazlyab et al., NeurIPS 2019, Theorem 2,
proven in :mod:`.lipsdp_verify`: ``v_j = d_j w_j`` with ``d_j`` in ``[a_j, 1]``
satisfies ``(v_j - a_j w_j)(w_j - v_j) >= 0``) bounds it.  Sub-matrices of the
chain's weights keep its error bounds (a sub-matrix of an error has no larger
norm).  A unit fixed at 1 does not get its exact interval ``[1, 1]``: that puts
the SDP's optimum at infinite multipliers (SCS took 13 s instead of 2.2 s on a
half-fixed node of the trained 784-30-30-10 net); ``[1/2, 1]`` gave 14.900 there
in 1.1 s, against 14.886 for ``[1, 1]`` and 15.08 for ``[0, 1]`` (which leaves a
child fixed at 1 with its parent's bound, so the search stalls).

Unlike the block relaxation of :mod:`.block_bound`, tight for one layer with the
others as first-order radii, the LMI couples every layer's free units.  The SDP
is solved by SCS at a loose tolerance (3e-5: cheap, inexact), and only its *verified*
value is returned: the multipliers, as floats, with ``rho`` raised until
:func:`.lipsdp_verify.lmi_margin` proves the LMI (every rounding and the
chain's errors included); a node whose LMI never verifies gets ``inf`` (no pruning).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import sqrt_up, up
from .branch_bound import NodeBound, Prepared
from .chain import Chain
from .lipsdp import _solve_scaled
from .lipsdp_verify import lmi_margin

__all__ = ["sub_box_chain", "sub_box_bound", "lipsdp_node_bound"]

#: relative raises of rho tried until the LMI verifies (SCS's loose solution is a little infeasible);
#: then :data:`_HALVINGS` bisection steps between the last that failed and the first that passed
_TAUS = (0.0, *(2.0 ** -e for e in (20, 17, 14, 12, 10, 9, 8, 7, 6, 5, 4)))
_HALVINGS = 6
#: the lower slope a unit fixed at 1 is given: [A_FIXED, 1] contains 1, and unlike [1, 1] keeps the SDP's
#: optimum at finite multipliers; 2 a and a + 1 have few bits, so c t and s t are exact (:func:`_multipliers`)
A_FIXED = 0.5
#: SCS's tolerance per node: on the trained 784-50-50-10 net, 10 minutes of search left 0.59% at 1e-4,
#: 0.51% at 5e-5, and at 3e-5 it reached 0.49% in 6 minutes (docs/lipschitz-ladder.md)
_SCS = {"eps_abs": 3e-5, "eps_rel": 3e-5, "max_iters": 20_000}


def sub_box_chain(chain: Chain, fixed: np.ndarray) -> tuple[Chain, list[np.ndarray]] | None:
    """The chain restricted to the units not fixed at slope 0 and, per layer, each kept unit's lower
    slope ``a_j`` (``A_FIXED`` fixed at 1, 0 free; module docstring); None when a layer keeps no unit
    (every product of the box is zero)."""
    if any((lo, hi) != (0.0, 1.0) for lo, hi in chain.slopes):
        raise ValueError(f"the LipSDP node bound is for ReLU layers (slopes [0, 1]); got {chain.slopes}")
    fixed = np.asarray(fixed)
    widths = [W.shape[0] for W in chain.weights[:-1]]
    if fixed.shape != (sum(widths),):
        raise ValueError(f"fixed must hold one entry per hidden unit ({sum(widths)}); got shape {fixed.shape}")
    weights, lows, cols = [], [], None
    start = 0
    for W, n in zip(chain.weights[:-1], widths):
        f = fixed[start:start + n]
        start += n
        keep = np.flatnonzero(f != 0)
        if not keep.size:
            return None
        weights.append(np.ascontiguousarray(W[keep] if cols is None else W[np.ix_(keep, cols)]))
        lows.append(np.where(f[keep] == 1, A_FIXED, 0.0))
        cols = keep
    weights.append(np.ascontiguousarray(chain.weights[-1][:, cols]))
    return Chain(tuple(weights), chain.errors, chain.slopes), lows


def _multipliers(t: list[np.ndarray], lows: list[np.ndarray]) -> tuple[list[np.ndarray], list]:
    """The multipliers with their low bits cleared (any ``t >= 0`` is valid) so that ``c_j t_j`` and
    ``s_j t_j`` (``c = 2 a``, ``s = a + 1``) are exact floats, checked in rationals."""
    out, neurons = [], []
    for tk, a in zip(t, lows):
        tk = (np.asarray(tk, dtype=np.float64).view(np.int64) & ~np.int64(0xFF)).view(np.float64)
        c, s = 2 * a, a + 1
        tc, ts = c * tk, s * tk
        for x, k, y in [*zip(tc, c, tk), *zip(ts, s, tk)]:
            if Fraction(float(x)) != Fraction(float(k)) * Fraction(float(y)):
                raise ArithmeticError(f"c t or s t is not exact ({k} * {y}); the verification needs it exact")
        out.append(tk)
        neurons.append((tc, ts))
    return out, neurons


def _verified(chain: Chain, t: list[np.ndarray], neurons: list, rho: float, reduced: bool) -> float:
    """The smallest ``rho (1 + tau)`` found whose LMI verifies (``inf`` if none): the first of
    :data:`_TAUS` that does, then bisection on tau below it.  Each check costs a few ms against the
    solve's half second, and a step of the ladder alone (2^-7 to 2^-4 on rho) moved the bound of a
    two-layer node by up to 1% (docs/lipschitz-ladder.md)."""
    def verifies(tau: float) -> bool:
        r = up(rho * (1 + tau)) if tau else rho
        return r > 0 and lmi_margin(chain.weights, chain.errors, chain.slopes, t, r, reduced=reduced,
                                    neurons=neurons) > 0

    failed = None
    for tau in _TAUS:
        if verifies(tau):
            break
        failed = tau
    else:
        return math.inf
    if failed is not None:
        for _ in range(_HALVINGS):
            mid = (failed + tau) / 2
            failed, tau = (failed, mid) if verifies(mid) else (mid, tau)
    return up(rho * (1 + tau)) if tau else rho


def sub_box_bound(chain: Chain, fixed: np.ndarray, *, solver: str = "SCS",
                  options: dict[str, Any] | None = None) -> float:
    """A certified upper bound on ``sigma_max(W_l D_h ... D_1 W_1)`` over the node ``fixed``'s box
    (-1 free, 0 slope 0, 1 slope 1; module docstring), ``inf`` when the LMI does not verify."""
    found = sub_box_chain(chain, fixed)
    if found is None:
        return 0.0
    sub, lows = found
    weights = list(sub.weights)
    reduced = weights[0].shape[0] < weights[0].shape[1]
    if reduced:
        U, S, _ = np.linalg.svd(weights[0], full_matrices=False)
        weights[0] = U * S
    opts = dict(_SCS) if options is None and solver == "SCS" else options
    slopes = tuple((a, np.ones_like(a)) for a in lows)
    try:
        t, rho, _ = _solve_scaled(weights, slopes, "neuron", solver, opts)
    except RuntimeError:  # the solver failed: no bound from this node
        return math.inf
    t, neurons = _multipliers(t, lows)
    r = _verified(sub, t, neurons, rho, reduced)
    if reduced and not math.isfinite(r):
        r = _verified(sub, t, neurons, rho, False)
    return sqrt_up(r) if math.isfinite(r) else math.inf


def lipsdp_node_bound(*, solver: str = "SCS", options: dict[str, Any] | None = None) -> NodeBound:
    """A ``node_bound`` for :func:`.branch_bound.branch_and_bound`: :func:`sub_box_bound` per node.

    The bound is for the exact network (the chain's full first weight and errors), so it needs no lift."""
    def bound(prep: Prepared, fixed: np.ndarray) -> np.ndarray:
        return np.array([sub_box_bound(prep.chain, f, solver=solver, options=options) for f in fixed])
    return bound
