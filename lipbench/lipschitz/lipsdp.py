"""LipSDP-Layer and LipSDP-Neuron (Fazlyab et al., NeurIPS 2019), solved with CVXPY and verified in floating point.

LipSDP bounds the l2 Lipschitz constant of a chain ``W_l o phi o ... o phi o W_1``
whose activations are slope-restricted in ``[a_k, b_k]`` (ReLU [0, 1], leaky ReLU,
tanh, sigmoid...: the chain's slopes) by the smallest ``sqrt(rho)`` for which an
LMI in ``rho`` and diagonal multipliers ``T_k = diag(t_k) >= 0`` holds
(:mod:`.lipsdp_verify` states it and proves it: the S-procedure on the
slope-restriction quadratic constraint, LipSDP's Theorem 2).  ``form="neuron"``
takes one multiplier per hidden neuron, ``form="layer"`` one per hidden layer
(``T_k = lambda_k I``).  ``split=s`` is LipSDP's split into sub-networks of ``s``
weight matrices (its ``split_weights``: consecutive groups of ``s``, the last
shorter), the bound being the product of the pieces' bounds (a piece with one
weight: its certified sigma_max) and of the Lipschitz constants ``max(|a_k|, |b_k|)``
of the activations *between* pieces, which no piece contains (LipSDP's own split
leaves them out: it assumes slopes in [0, 1], where they are 1; a leaky ReLU
with slope 2 on one side would otherwise be lost).

LipSDP-Network (coupled multipliers between pairs of neurons) is **not**
implemented: the quadratic constraint it rests on does not hold for
slope-restricted activations in general (Pauli et al., "Training robust neural
networks using Lipschitz bounds", IEEE Control Systems Letters 2021, report it
invalid in general), so its value is not a proven bound.

**Never trust the solver.**  CVXPY solves the SDP: MOSEK when installed, else
SCS (first order: one ``n x n`` eigendecomposition per iteration) at tolerance
``1e-6``, else Clarabel (interior point, whose cost grows as the cube of the
largest clique's ``n (n + 1) / 2``, the clique being two consecutive blocks,
``n_{k-1} + n_k``, that its chordal decomposition keeps as one dense cone).  On the
LipSDP reference net, with the weights scaled (below), SCS at ``1e-6`` reproduces
the published 3 decimals and verifies as solved, 3.5x faster than Clarabel for
Neuron (6.3 s against 22 s on a 2-core machine at load 10) and 20x for Layer;
at ``1e-5`` its Neuron value (36.4832) misses the third decimal.  The solver's
``t_k`` (negatives clipped to 0) and ``rho`` are then
rounded to floats and the LMI is *verified* with the exact-arithmetic
accounting of :func:`.lipsdp_verify.lmi_margin` (certified PSD through
:func:`.chain.psd_margin`, every assembly rounding and the chain's errors on
each ``W_k`` included).  While it fails, ``rho`` is raised by a relative
``tau`` (``2^-36``, ``2^-24``, ``2^-16``, ``2^-10``, ``2^-4``); the result is certified only
when a check passes, and then reports the verified ``sqrt(rho)`` rounded up
beside the solver's value.  To leave a margin over the solver's own
feasibility tolerance the SDP asks for ``G >= margin * blkdiag(rho I, 2 T)``
(relative ``margin = 1e-7``; the solver's value moves by about as much).

**Structure.** When ``W_1`` has fewer rows than columns (``n_1 < n_0``) the
input block reduces to ``n_1``: the solver works on ``U S`` of
``W_1 = U S V^T`` (an ``n_1 x n_1`` first weight with the same Gram matrix
``W_1 W_1^T``, hence the same LipSDP value), and the verification checks the
``K``-congruent form of the full LMI, which is proven equivalent without the
SVD (:mod:`.lipsdp_verify`, "the reduced form").  If that check fails (a rank
deficient ``W_1``), the full LMI is checked.  The solver also sees each weight
scaled by a power of two to norm near 1 (an exact congruence of the LMI,
:func:`_solve_scaled`), which saves it iterations.
"""

from __future__ import annotations

import importlib.util
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rounding import prod_up, sqrt_up, sum_up, up
from . import _sigma
from .chain import Chain
from .lipsdp_verify import lmi_margin

__all__ = ["LipSDPResult", "lipsdp_bound", "FORMS", "cvxpy_available", "lmi_size", "lipsdp_applies", "SOLVERS",
           "CLARABEL_MAX_CLIQUE", "INSTALL_HINT"]

FORMS = ("layer", "neuron")
#: solvers in the order tried (the first installed one that suits the size is used)
SOLVERS = ("MOSEK", "SCS", "CLARABEL")
CLARABEL_MAX_CLIQUE = 64
#: SCS's default tolerance (1e-4) is far looser than LipSDP's published 3 decimals; 1e-6 keeps them
_OPTIONS: dict[str, dict[str, Any]] = {"SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 100_000}}
INSTALL_HINT = "pip install -e '.[networks]'"
_TAUS = (0.0, *(2.0 ** -e for e in (36, 24, 16, 10, 4)))
MARGIN = 1e-7


@dataclass(frozen=True)
class LipSDPResult:
    """``value`` bounds L(f) from above (proven when ``certified``); ``solver_value`` is
    ``sqrt(rho)`` as the solver returned it (LipSDP's published number)."""

    value: float
    certified: bool
    solver_value: float
    form: str
    solver: str
    tau: float  # the largest relative raise of rho that verification needed (nan: never verified)
    reduced: bool  # whether the input block was reduced to the first weight's rows
    pieces: int
    seconds: float


def cvxpy_available() -> bool:
    """Whether CVXPY can be imported (the ``networks`` extra)."""
    return importlib.util.find_spec("cvxpy") is not None


def lmi_size(chain: Chain) -> int:
    """The order of the largest LMI the solver sees (after the input reduction)."""
    n0, n1 = chain.weights[0].shape[1], chain.weights[0].shape[0]
    return min(n0, n1) + sum(W.shape[0] for W in chain.weights[:-1])


def _clique(weights: list[np.ndarray]) -> int:
    sizes = [weights[0].shape[1], *(W.shape[0] for W in weights[:-1])]
    return max(a + b for a, b in zip(sizes, sizes[1:]))


def lipsdp_applies(chain: Chain, max_order: int) -> str | None:
    """None when the LipSDP rungs run on ``chain``, else the note saying why not."""
    if not cvxpy_available():
        return f"n/a: cvxpy not installed ({INSTALL_HINT})"
    if len(chain.weights) < 2:
        return "n/a: no activation (one linear map: the product rung is its exact norm)"
    if lmi_size(chain) > max_order:
        return f"n/a: LMI of order {lmi_size(chain)} > {max_order} (the time budget; raise lipsdp_max_order)"
    return None


def _solver(cp: Any, requested: str | None, clique: int) -> str:
    installed = set(cp.installed_solvers())
    if requested is not None:
        if requested not in installed:
            raise ValueError(f"solver {requested!r} is not installed; installed: {', '.join(sorted(installed))}")
        return requested
    for name in SOLVERS:
        if name in installed and not (name == "CLARABEL" and clique > CLARABEL_MAX_CLIQUE and "SCS" in installed):
            return name
    raise ImportError(f"no SDP solver for CVXPY is installed (tried {', '.join(SOLVERS)}); "
                      f"pip install clarabel")


def _scale_rows(k: np.ndarray, T: Any) -> Any:
    """``diag(k) T`` for a diagonal ``T`` (a ``k`` shared by all rows stays a scalar)."""
    return float(k[0]) * T if np.all(k == k[0]) else np.diag(k) @ T


def _solve(weights: list[np.ndarray], slopes: tuple[tuple[Any, Any], ...], form: str,
           solver: str | None, options: dict[str, Any] | None = None) -> tuple[list[np.ndarray], float, str]:
    """The SDP (see :mod:`.lipsdp_verify` for ``G``): minimise rho subject to
    ``G >= MARGIN blkdiag(rho I, 2 T)``; returns the multipliers, rho and the solver's name
    (``options``, when given, replace the solver's default options).  ``slopes[k]`` is a pair
    of floats or of per-neuron vectors ``(a, b)``: neuron ``j``'s interval ``[a_j, b_j]``."""
    import cvxpy as cp

    name = _solver(cp, solver, _clique(weights))
    h = len(weights) - 1
    rho = cp.Variable(nonneg=True)
    hidden = [W.shape[0] for W in weights[:-1]]
    tvars = [cp.Variable(n, nonneg=True) if form == "neuron" else cp.Variable(nonneg=True) for n in hidden]
    T = [cp.diag(v) if form == "neuron" else v * np.eye(n) for v, n in zip(tvars, hidden)]
    sizes = [weights[0].shape[1], *hidden]
    blocks: list[list[Any]] = [[np.zeros((a, b)) for b in sizes] for a in sizes]
    c = [np.broadcast_to(2 * np.asarray(a) * np.asarray(b), (n,)) for (a, b), n in zip(slopes, hidden)]
    s = [np.broadcast_to(np.asarray(a) + np.asarray(b), (n,)) for (a, b), n in zip(slopes, hidden)]
    for k in range(h + 1):
        D = (1 - MARGIN) * rho * np.eye(sizes[0]) if k == 0 else 2 * (1 - MARGIN) * T[k - 1]
        if k == h:
            D = D - weights[-1].T @ weights[-1]
        elif np.any(c[k]):
            D = D + weights[k].T @ _scale_rows(c[k], T[k]) @ weights[k]
        blocks[k][k] = D
        if k > 0:
            Off = -(_scale_rows(s[k - 1], T[k - 1]) @ weights[k - 1])
            blocks[k][k - 1] = Off
            blocks[k - 1][k] = Off.T
    G = cp.bmat(blocks)
    problem = cp.Problem(cp.Minimize(rho), [(G + G.T) / 2 >> 0])
    with warnings.catch_warnings():
        # "Solution may be inaccurate" (status optimal_inaccurate): the verification decides
        warnings.filterwarnings("ignore", "Solution may be inaccurate", UserWarning)
        problem.solve(solver=name, **(_OPTIONS.get(name, {}) if options is None else options))
    if problem.status not in ("optimal", "optimal_inaccurate") or rho.value is None:
        raise RuntimeError(f"the LipSDP solve with {name} ended with status {problem.status!r}")
    t = [np.maximum(np.broadcast_to(np.asarray(v.value, dtype=np.float64), (n,)), 0.0).copy()
         for v, n in zip(tvars, hidden)]
    return t, max(float(rho.value), 0.0), name


def _solve_scaled(weights: list[np.ndarray], slopes: tuple[tuple[Any, Any], ...], form: str,
                  solver: str | None, options: dict[str, Any] | None = None) -> tuple[list[np.ndarray], float, str]:
    """:func:`_solve` on ``2^{e_k} W_k`` (each of norm near 1), mapped back exactly.

    With ``E_k = e_1 + ... + e_k`` the scaled network's differences are ``2^{E_k}`` times the
    original's, so its LMI is the original's congruent under ``blkdiag(2^{E_k} I)`` and divided by
    ``2^{2 E_l}``: ``rho = 2^{-2 E_l} rho'`` and ``t_k = 2^{2 (E_k - E_l)} t'_k`` (powers of two:
    exact).  A well-scaled problem takes the interior-point solver fewer iterations (16 instead of
    24 on LipSDP's reference net)."""
    norms = [float(np.linalg.norm(W, 2)) for W in weights]
    exps = [-round(math.log2(n)) if n > 0 else 0 for n in norms]
    cum = np.cumsum(exps).tolist()
    t, rho, name = _solve([np.ldexp(W, e) for W, e in zip(weights, exps)], slopes, form, solver, options)
    return ([np.ldexp(tk, 2 * (cum[k] - cum[-1])) for k, tk in enumerate(t)],
            math.ldexp(rho, -2 * cum[-1]), name)


def _verify(chain: Chain, t: list[np.ndarray], rho: float, reduced: bool) -> tuple[float, float] | None:
    """The smallest ``rho (1 + tau)`` (rounded up) whose LMI verifies, with tau; None if none does."""
    for tau in _TAUS:
        r = up(rho * (1 + tau)) if tau else rho
        if lmi_margin(chain.weights, chain.errors, chain.slopes, t, r, reduced=reduced) > 0:
            return r, tau
        if reduced and tau == _TAUS[-1]:
            return _verify(chain, t, rho, False)
    return None


def _piece(chain: Chain, form: str, solver: str | None, reduce: bool) -> tuple[float, bool, float, str, float, bool]:
    """(value, certified, solver value, solver, tau, reduced) of one chain with at least one activation."""
    weights = list(chain.weights)
    reduced = reduce and weights[0].shape[0] < weights[0].shape[1]
    if reduced:
        U, S, _ = np.linalg.svd(weights[0], full_matrices=False)
        weights[0] = U * S
    t, rho, name = _solve_scaled(weights, chain.slopes, form, solver)
    solver_value = math.sqrt(rho)
    found = _verify(chain, t, rho, reduced)
    if found is None:
        return solver_value, False, solver_value, name, math.nan, reduced
    return sqrt_up(found[0]), True, solver_value, name, found[1], reduced


def _split(chain: Chain, size: int) -> tuple[list[Chain], list[float]]:
    """LipSDP's ``split_weights``: consecutive groups of ``size`` weights, the last shorter; and the
    Lipschitz constant ``max(|a|, |b|)`` of each activation left between two pieces."""
    pieces, joints = [], []
    for i in range(0, len(chain.weights), size):
        j = min(i + size, len(chain.weights))
        pieces.append(Chain(chain.weights[i:j], chain.errors[i:j], chain.slopes[i:j - 1]))
        if j < len(chain.weights):
            joints.append(max(abs(chain.slopes[j - 1][0]), abs(chain.slopes[j - 1][1])))
    return pieces, joints


def lipsdp_bound(chain: Chain, form: str = "neuron", *, split: int | None = None, solver: str | None = None,
           reduce: bool = True) -> LipSDPResult:
    """LipSDP's bound on L(f) for ``chain``, ``form`` ``"neuron"`` or ``"layer"``, optionally ``split``
    into sub-networks of ``split`` weights (see the module docstring).

    ``certified`` is True only when every piece's LMI, with the solver's multipliers as floats, was
    verified positive semidefinite in exact arithmetic (:func:`.lipsdp_verify.lmi_margin`; the proof
    is the S-procedure on the slope-restriction quadratic constraint, LipSDP's Theorem 2, stated in
    :mod:`.lipsdp_verify`); then ``value >= L(f)``.  Otherwise ``value`` is the solver's estimate."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}; got {form!r} (LipSDP-Network is not a proven bound)")
    if split is not None and (not isinstance(split, int) or split < 2):
        raise ValueError(f"split must be an integer >= 2 (weights per sub-network); got {split!r}")
    if any(a < 0 or b < a for a, b in chain.slopes):
        raise ValueError(f"LipSDP needs slopes in [a, b] with 0 <= a <= b; got {chain.slopes}")
    if not cvxpy_available():
        raise ImportError(f"LipSDP needs cvxpy ({INSTALL_HINT})")
    t0 = time.perf_counter()
    if any(not np.any(W) and e == 0 for W, e in zip(chain.weights, chain.errors)):
        # an exactly zero map makes f constant: L = 0, and an LMI with rho = 0 is singular, never verified
        return LipSDPResult(0.0, True, 0.0, form, "-", 0.0, False, 0, time.perf_counter() - t0)
    pieces, joints = _split(chain, split) if split else ([chain], [])
    values, solver_values, cert, names, taus, red = list(joints), list(joints), True, set(), [0.0], False
    for p in pieces:
        if len(p.weights) == 1:
            values.append(sum_up([_sigma.sigma_upper(p.weights[0]), p.errors[0]]))
            solver_values.append(_sigma.sigma_exact(p.weights[0]))
            continue
        v, ok, sv, name, tau, r = _piece(p, form, solver, reduce)
        values.append(v)
        solver_values.append(sv)
        cert, red = cert and ok, red or r
        names.add(name)
        taus.append(tau)
    value = prod_up(values) if cert else math.prod(values)
    return LipSDPResult(value, cert, math.prod(solver_values), form, "+".join(sorted(names)) or "-",
                        max(taus) if cert else math.nan, red, len(pieces), time.perf_counter() - t0)
