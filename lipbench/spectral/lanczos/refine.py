"""Runs that start cheap and finish in float64 when the float64 check refuses them.

Two routes of :func:`.lanczos` first run in a cheaper engine -- float32
Krylov work (mixed precision) or SciPy's compiled PROPACK loop
(:func:`lipbench.spectral.scipy_svds.propack`) -- and are certified and verified in float64
like every answer.  When that check misses ``tol``, :func:`continue_from`
carries on from their vector in float64; the Gram route (:mod:`.gram`) ends
the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import notes
from .._operator import Operator
from .._raw import Raw, Tracker
from ..notes import Note
from ..scipy_svds import propack
from ._tools import maxiter_note
from .loop import lanczos_in_dtype
from .normal import lanczos_normal
from .plan import LanczosPlan

__all__ = ["run_lanczos", "float64_operator", "continue_from", "lanczos_mixed", "lanczos_propack"]


def run_lanczos(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any, track: Tracker) -> Raw:
    """A Lanczos run, in float32 with a float64 finish (:func:`lanczos_mixed`)
    for float32 input or ``work_dtype="float32"``, else in the operator's dtype."""
    if not op.products_assumed and (op.dtype == "float32" or (plan.work_dtype == "float32" and op.dtype == "float64")):
        return lanczos_mixed(op, plan, rng=rng, v0=v0, track=track)
    return lanczos_in_dtype(op, plan, rng=rng, v0=v0, track=track)


def float64_operator(op: Operator) -> Operator:
    """The operator itself in float64, else a float64 copy of its dense or
    sparse matrix (the one certification already made, when it made one),
    counting into op's :class:`ProductCount`."""
    return op.with_work_dtype("float64")


def continue_from(op: Operator, target: Operator, first: Raw, *, maxiter: int | None, note: Note,
                  run: Callable[[Operator, int | None, Any], Raw]) -> Raw:
    """Continue ``first`` (a run whose answer missed tol) with ``run(target,
    maxiter left, first.vector)``; products are counted into ``op``, the
    iterations and stages add up, and the better certified lower bound wins.
    ``maxiter`` caps the steps of both runs together: when ``first`` used
    them all, nothing runs and ``first`` is returned with that said (``note``
    with ``continued=False``)."""
    left = None if maxiter is None else maxiter - first.iterations
    if maxiter is not None and left is not None and left <= 0:
        said = any(n.code == "maxiter" and n["maxiter"] == maxiter for n in first.notes)
        first.notes = (note.replace(continued=False), *(first.notes if said else (maxiter_note(maxiter),)))
        return first
    rest = run(target, left, first.vector)
    rest.iterations += first.iterations
    if maxiter is not None and left is not None:  # the second run's cap is what was left of maxiter: say the caller's
        rest.notes = tuple(n.replace(maxiter=maxiter) if n.code == "maxiter" and n["maxiter"] == left else n
                           for n in rest.notes)
    rest.notes = (note, *rest.notes)
    rest.stages = first.stages + rest.stages
    if rest.lower < first.lower:  # keep the better certified vector
        rest.lower, rest.value = first.lower, first.value
    return rest


def lanczos_mixed(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any, track: Tracker) -> Raw:
    """float32 Krylov work, float64 certificate, float64 refinement if needed.

    float64 input: the work runs on a float32 copy.  float32 input: on the
    matrix itself, and the refinement on the float64 copy that certification
    already made -- the float32 iteration cannot push its residual much below
    float32 rounding, so without it a tol near or below ~1e-6 would end
    unverified.
    """
    low = op.with_work_dtype("float32")
    first = lanczos_in_dtype(low, plan, rng=rng, v0=v0, track=track)
    op._fro = low._fro
    if first.converged or first.vector is None:
        first.notes = (notes.note("float32-work"), *first.notes)
        return first
    return continue_from(
        op, float64_operator(op), first, maxiter=plan.maxiter,
        note=notes.note("float32-refined", err=first.error_estimate),
        run=lambda high, left, start: lanczos_in_dtype(high, plan.capped(left), rng=rng, v0=start, track=track))


def lanczos_propack(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, track: Tracker) -> Raw:
    """SciPy's PROPACK for the steps and lipbench's check for the answer (the
    ``propack`` method, :func:`lipbench.spectral.scipy_svds.propack`), then a float64
    normal-operator refinement from its vector if the check misses."""

    first = propack(op, tol=plan.tol, maxiter=plan.maxiter, rng=rng, v0=None, track=track)
    steps = first.iterations  # PROPACK's steps, the check's two products left out
    if first.converged:
        first.notes = (notes.note("propack-verified", steps=steps),)
        return first
    return continue_from(
        op, float64_operator(op), first, maxiter=plan.maxiter,
        note=notes.note("propack-refined", steps=steps, why=first.notes, from_vector=first.vector is not None),
        run=lambda high, left, start: lanczos_normal(high, plan.capped(left), rng=rng, v0=start, track=track))
