"""lipbench: verify and benchmark Lipschitz constants and spectral norms.

>>> import numpy as np, lipbench as lb
>>> r = lb.spectral_norm(np.diag([3.0, 1.0]), method="lanczos", tol=1e-10, seed=0)
>>> round(r.value, 12), r.lower <= 3.0 <= r.upper
(3.0, True)
"""

from __future__ import annotations

from . import backends, matrices
from .spectral import (
    METHODS,
    ConvergenceWarning,
    HistoryEntry,
    MethodInfo,
    NotConvergedError,
    SpectralNormResult,
    Stage,
    auto_plan,
    choose_method,
    default_tol,
    spectral_norm,
)

# isort: split
from . import lipschitz  # after .spectral: its layers call lipbench.spectral_norm

__version__ = "0.1.0"

__all__ = [
    "spectral_norm",
    "SpectralNormResult",
    "HistoryEntry",
    "Stage",
    "METHODS",
    "MethodInfo",
    "choose_method",
    "auto_plan",
    "default_tol",
    "ConvergenceWarning",
    "NotConvergedError",
    "backends",
    "matrices",
    "lipschitz",
    "__version__",
]
