"""``method="lanczos"``: the entry point of the Lanczos family and its options.

Each route lives in its own module:

* :mod:`.lanczos_bidiag` -- Golub-Kahan-Lanczos bidiagonalization (the default);
* :mod:`.lanczos_normal` -- symmetric Lanczos on ``A^T A`` (``normal=True``),
  thick-restarted with ``max_basis``;
* :mod:`.lanczos_gram` -- Lanczos on the small Gram matrix (``gram=True``);
* :mod:`.refine` -- float32 work with a float64 finish (``work_dtype``) and
  SciPy's PROPACK steps with lipbench's check (``engine="propack"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._krylov_tools import CHECK_WARMUP
from ._operator import Operator
from ._raw import Raw, Tracker
from .lanczos_gram import lanczos_gram
from .refine import lanczos_propack, run_lanczos

__all__ = ["lanczos"]


def lanczos(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator, v0: Any, track: Tracker,
            work_dtype: str | None = None, gram: bool = False, normal: bool = False,
            max_basis: int | None = None, engine: str | None = None, check_warmup: int = CHECK_WARMUP,
            fused_min_bytes: int | None = None, **_: Any) -> Raw:
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
    if fused_min_bytes is not None:
        op.fused_min_bytes = int(fused_min_bytes)
    if engine is not None:
        if engine != "propack":
            raise ValueError(f"engine must be None or 'propack'; got {engine!r}")
        if gram or normal or max_basis is not None or work_dtype is not None:
            raise ValueError("engine='propack' runs SciPy's own iteration: it takes none of gram, normal, "
                             "max_basis and work_dtype")
        if v0 is not None:
            raise ValueError("engine='propack' draws its own start vector; v0 is not supported")
        if op.backend != "numpy" or op.linop is not None or op.is_batched:
            raise ValueError("engine='propack' needs a NumPy dense or SciPy sparse matrix")
        return lanczos_propack(op, tol=tol, maxiter=maxiter, rng=rng, track=track, check_warmup=check_warmup)
    if work_dtype not in (None, "float32", "float64"):
        raise ValueError(f"work_dtype must be 'float32' or 'float64'; got {work_dtype!r}")
    if gram and normal:
        raise ValueError("choose one of gram=True (explicit Gram matrix) and normal=True (implicit A^T A)")
    if max_basis is not None:
        if not normal:
            raise ValueError("max_basis (thick restarts) applies to the normal-operator iteration: pass normal=True")
        if isinstance(max_basis, bool) or int(max_basis) != max_basis or max_basis < 4:
            raise ValueError(f"max_basis must be an integer >= 4; got {max_basis!r}")
        max_basis = int(max_basis)
    if gram:
        if op.dense is None:
            raise ValueError("the Gram route (gram=True) needs a dense matrix")
        return lanczos_gram(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, work_dtype=work_dtype,
                            check_warmup=check_warmup)
    return run_lanczos(op, work_dtype=work_dtype, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track,
                       normal=normal, max_basis=max_basis, check_warmup=check_warmup)
