"""The options of ``method="lanczos"`` as one frozen plan, and every default of the family.

:func:`make_plan` validates the caller's options once and returns a
:class:`LanczosPlan`; the routes and recurrences read it instead of long
parameter lists, and a later stage of a route runs on a copy with its own
step cap (:meth:`LanczosPlan.capped`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .._operator import Operator

__all__ = ["LanczosPlan", "make_plan", "STEP_CAP", "RESTARTED_STEP_CAP", "CHECK_WARMUP", "MIN_BASIS"]

#: steps of a run without restarts when ``maxiter`` is not given (memory grows with each step)
STEP_CAP = 300
#: steps of a thick-restarted run when ``maxiter`` is not given (memory is bounded; time is not)
RESTARTED_STEP_CAP = 3000
#: default of ``check_warmup``: steps checked one by one before the check schedule thins the checks out
CHECK_WARMUP = 6
#: the smallest ``max_basis`` a thick restart can work with
MIN_BASIS = 4


@dataclasses.dataclass(frozen=True)
class LanczosPlan:
    """What a Lanczos run does: validated options (see :func:`.lanczos` for
    their meaning) and the step cap ``maxiter`` (None: the defaults above)."""

    tol: float
    maxiter: int | None = None
    normal: bool = False
    max_basis: int | None = None
    gram: bool = False
    work_dtype: str | None = None
    engine: str | None = None
    check_warmup: int = CHECK_WARMUP
    fused_min_bytes: int | None = None

    def steps(self, kmax: int) -> int:
        """The step cap of a run without restarts whose Krylov space is
        exhausted after ``kmax`` steps."""
        return min(STEP_CAP if self.maxiter is None else self.maxiter, kmax)

    def restarts(self, n: int) -> bool:
        """Whether the normal-operator run on n columns thick-restarts."""
        return self.max_basis is not None and self.max_basis < n

    def restarted_steps(self) -> int:
        """The step cap of a thick-restarted run."""
        return RESTARTED_STEP_CAP if self.maxiter is None else self.maxiter

    def capped(self, maxiter: int | None) -> LanczosPlan:
        """This plan with another step cap (what a later stage has left)."""
        return dataclasses.replace(self, maxiter=maxiter)


def make_plan(op: Operator, *, tol: float, maxiter: int | None, v0: Any, options: Mapping[str, Any]) -> LanczosPlan:
    """The plan of a Lanczos run on ``op``: the caller's options validated
    (each error names the option and what it accepts)."""
    fused = options.get("fused_min_bytes")
    plan = LanczosPlan(
        tol=tol, maxiter=maxiter, normal=bool(options.get("normal", False)), max_basis=options.get("max_basis"),
        gram=bool(options.get("gram", False)), work_dtype=options.get("work_dtype"), engine=options.get("engine"),
        check_warmup=options.get("check_warmup", CHECK_WARMUP), fused_min_bytes=None if fused is None else int(fused))
    if plan.engine is not None:
        _check_engine(op, plan, v0)
        return plan
    if plan.work_dtype not in (None, "float32", "float64"):
        raise ValueError(f"work_dtype must be 'float32' or 'float64'; got {plan.work_dtype!r}")
    if plan.gram and plan.normal:
        raise ValueError("choose one of gram=True (explicit Gram matrix) and normal=True (implicit A^T A)")
    if plan.max_basis is not None:
        max_basis = plan.max_basis
        if not plan.normal:
            raise ValueError("max_basis (thick restarts) applies to the normal-operator iteration: pass normal=True")
        if isinstance(max_basis, bool) or int(max_basis) != max_basis or max_basis < MIN_BASIS:
            raise ValueError(f"max_basis must be an integer >= {MIN_BASIS}; got {max_basis!r}")
        plan = dataclasses.replace(plan, max_basis=int(max_basis))
    if plan.gram and not op.dense_entries:
        raise ValueError("the Gram route (gram=True) needs a dense matrix")
    return plan


def _check_engine(op: Operator, plan: LanczosPlan, v0: Any) -> None:
    """``engine="propack"`` runs SciPy's iteration: on NumPy dense or SciPy
    sparse input, with none of the options of lipbench's own loops."""
    if plan.engine != "propack":
        raise ValueError(f"engine must be None or 'propack'; got {plan.engine!r}")
    if plan.gram or plan.normal or plan.max_basis is not None or plan.work_dtype is not None:
        raise ValueError("engine='propack' runs SciPy's own iteration: it takes none of gram, normal, "
                         "max_basis and work_dtype")
    if v0 is not None:
        raise ValueError("engine='propack' draws its own start vector; v0 is not supported")
    if op.backend != "numpy" or op.products_assumed or op.is_batched:
        raise ValueError("engine='propack' needs a NumPy dense or SciPy sparse matrix")
