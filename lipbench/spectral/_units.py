"""What each method's ``iterations`` counts, and what its ``maxiter`` caps
(read by the registry's :class:`~.registry.MethodInfo` and by the result's
summary, which must not import the registry: the registry imports the methods)."""

from __future__ import annotations

__all__ = ["iterations_unit", "maxiter_unit"]

_ITERATIONS = {
    "svd": "SVD",
    "power": "power steps",
    "lanczos": "Lanczos steps",
    "arpack": "steps with A^T A",
    "propack": "PROPACK steps",
    "lobpcg": "steps with A^T A",
    "cupy-eigsh": "steps with A^T A",
    "interpolative": "power steps",
    "randomized": "blocks",
    "gram": "squarings",
}
_MAXITER = {  # where maxiter caps something other than what iterations counts
    "arpack": "ARPACK restart cycles of about 20 steps",
    "lobpcg": "LOBPCG iterations, one step each after a few to start",
    "cupy-eigsh": "eigsh's restart cycles",
}


def iterations_unit(method: str) -> str:
    """What ``result.iterations`` counts for ``method``."""
    return _ITERATIONS.get(method, "iterations")


def maxiter_unit(method: str) -> str:
    """What ``maxiter`` caps for ``method``."""
    return _MAXITER.get(method, iterations_unit(method))
