"""Method names that the benchmark grid (``benchmarks/``) and the report share.

Pure data: importing this module runs no estimator code, so the report can
read it without importing the estimators, and the grid and the report cannot
disagree on which rows are references or which are timed once.
"""

from __future__ import annotations

#: Reference rows timed beside lipbench's methods, named as their saved rows are.
BASELINES: tuple[str, ...] = ("numpy.linalg.norm", "scipy.sparse.linalg.svds")

#: Exact methods whose work does not depend on the target tolerance: the grid
#: times them once per input (at its finest tolerance, saved with ``tol``
#: null), and the report compares that time with every tolerance's rows.
TOL_INDEPENDENT: frozenset[str] = frozenset({"svd", "numpy.linalg.norm"})

__all__ = ["BASELINES", "TOL_INDEPENDENT"]
