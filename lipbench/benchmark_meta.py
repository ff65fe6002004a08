"""Facts that the benchmark grid (``benchmarks/``) and the report share.

Pure data: importing this module runs no estimator code, so the report can
read it without importing the estimators, and the grid and the report cannot
disagree on which rows are references, which are timed once, or which version
of ``method="auto"``'s rule a row measured.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Reference rows timed beside lipbench's methods, named as their saved rows are.
BASELINES: tuple[str, ...] = ("numpy.linalg.norm", "scipy.sparse.linalg.svds")

#: Exact methods whose work does not depend on the target tolerance: the grid
#: times them once per input (at its finest tolerance, saved with ``tol``
#: null), and the report compares that time with every tolerance's rows.
TOL_INDEPENDENT: frozenset[str] = frozenset({"svd", "numpy.linalg.norm"})


@dataclass(frozen=True)
class AutoRuleChange:
    """A change of ``method="auto"``'s rule that changes what it runs on one backend.

    ``since`` is the commit time (ISO 8601, UTC) of the change: a saved run that
    did not record :data:`AUTO_RULE_VERSION` is dated by its commit's time (or,
    without one, by the run's own date) and measured the newest version whose
    ``since`` is not later.
    """

    backend: str
    version: int
    since: str
    what: str


#: Every version of auto's rule, per backend (version 1: the first rule).  Add a
#: row, and bump :data:`AUTO_RULE_VERSION`, whenever a change of the rule
#: changes what auto runs on that backend: every row measured before it is then
#: marked stale in the report.
AUTO_RULE_HISTORY: tuple[AutoRuleChange, ...] = (
    AutoRuleChange("numpy", 1, "1970-01-01T00:00:00+00:00", "the first rule"),
    AutoRuleChange("cupy", 1, "1970-01-01T00:00:00+00:00", "the first rule"),
    AutoRuleChange("numpy", 2, "2026-11-26T18:37:09+00:00",
                   "Lanczos on the normal operator, float32 work down to tol 1e-8, PROPACK steps for "
                   "small float32 input, and tol=None planned as the default tol"),
    AutoRuleChange("cupy", 2, "2026-11-26T14:35:15+00:00",
                   "dense CuPy input with smaller side <= 4096 goes to the Gram iteration"),
    AutoRuleChange("torch", 1, "2026-12-07T08:30:00+00:00",
                   "CPU tensors: NumPy's rule on their NumPy view; CUDA tensors: CuPy's (the GPU's) rule"),
)

#: The version of auto's rule that the code of this checkout runs, per backend
#: (the newest of :data:`AUTO_RULE_HISTORY`); every benchmark run records it.
AUTO_RULE_VERSION: dict[str, int] = {
    b: max(c.version for c in AUTO_RULE_HISTORY if c.backend == b) for b in ("numpy", "cupy", "torch")
}

__all__ = ["AUTO_RULE_HISTORY", "AUTO_RULE_VERSION", "AutoRuleChange", "BASELINES", "TOL_INDEPENDENT"]
