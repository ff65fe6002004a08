"""``method="lanczos"``: the Lanczos family, one module per recurrence.

* :mod:`.plan` -- the options as one frozen :class:`~.plan.LanczosPlan`, and
  every default (step caps, check warm-up);
* :mod:`.bidiag` -- Golub-Kahan-Lanczos bidiagonalization (the default);
* :mod:`.normal` -- symmetric Lanczos on ``A^T A`` (``normal=True``),
  thick-restarted with ``max_basis``;
* :mod:`.gram` -- Lanczos on the small Gram matrix (``gram=True``);
* :mod:`.device` -- the bidiagonal and normal loops off NumPy, their scalars
  kept on the device;
* :mod:`.loop` -- which of these loops one run in the operator's dtype takes;
* :mod:`.refine` -- float32 work with a float64 finish (``work_dtype``) and
  SciPy's PROPACK steps with lipbench's check (``engine="propack"``);
* :mod:`._tools` -- what the loops share: the basis, the tridiagonal
  eigensolver, the check schedule of the stopping test.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._operator import Operator
from .._raw import Raw, Tracker
from .gram import lanczos_gram
from .plan import make_plan
from .refine import lanczos_propack, run_lanczos

__all__ = ["lanczos"]


def lanczos(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator, v0: Any, track: Tracker,
            **options: Any) -> Raw:
    """Lanczos with full reorthogonalization: the Golub-Kahan bidiagonalization
    of A (default), or one of the routes below.

    Cost per step: one product with A and one with A^T, plus the
    reorthogonalization against the basis so far (O(n k) at step k).
    ``maxiter`` counts these steps, summed over the stages of a route.
    Every route stops on the residual bound of its Ritz pair (the relative
    error of sigma is at most ``||A^T A v - theta^2 v|| / (2 theta^2)``), or
    on an exhausted Krylov space (exact answer).  Bounds: lower certified
    from the final right vector (``||A v||`` in float64, rounding
    subtracted); upper from the driver's cheap bound;
    Kuczynski-Wozniakowski's probabilistic upper bound for a random start.

    Options:

    * ``normal=True``: symmetric Lanczos on ``A^T A`` -- one pass over A per
      step on a C-ordered NumPy matrix, one basis to reorthogonalize;
      ``max_basis`` adds thick restarts (memory ``max_basis * n``).
    * ``gram=True`` (dense): Lanczos on the Gram matrix of the smaller side.
    * ``work_dtype="float32"`` (dense or sparse float64): the Krylov work in
      float32, certified and verified in float64, refined in float64 from its
      vector when the check misses ``tol``.  float32 input always works this
      way.
    * ``engine="propack"`` (NumPy dense or SciPy sparse, no ``v0``): SciPy's
      PROPACK runs the steps; lipbench's float64 check decides, and float64
      normal-operator Lanczos continues when it misses ``tol``.
    * ``check_warmup``: steps at which the stopping test runs every step
      before its schedule thins it (a huge value checks every step).
    * ``fused_min_bytes``: the one-pass ``A^T (A x)`` runs on matrices larger
      than this (0: always).
    """
    plan = make_plan(op, tol=tol, maxiter=maxiter, v0=v0, options=options)
    if plan.fused_min_bytes is not None:
        op.fused_min_bytes = plan.fused_min_bytes
    if plan.engine is not None:
        return lanczos_propack(op, plan, rng=rng, track=track)
    if plan.gram:
        return lanczos_gram(op, plan, rng=rng, v0=v0, track=track)
    return run_lanczos(op, plan, rng=rng, v0=v0, track=track)
