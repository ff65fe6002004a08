"""sigma_max with a certified bracket: the driver, the registry and the routes.

``spectral_norm(A, method=...)`` (:mod:`.driver`) validates A, scales it by a
power of two, runs the method, intersects the method's bracket with cheap
valid bounds and scales everything back.  :data:`METHODS` (:mod:`.registry`)
lists the methods; :func:`auto_plan` (:mod:`.auto`) is the rule behind
``"auto"``.  One module per route: :mod:`.svd`, :mod:`.gram`, :mod:`.power`,
:mod:`.lanczos` (with :mod:`.lanczos_bidiag`, :mod:`.lanczos_normal`,
:mod:`.lanczos_gram`, :mod:`.lanczos_device` (off NumPy: scalars kept on the device),
:mod:`.refine`), :mod:`.block_krylov`, :mod:`.scipy_solvers`, :mod:`.cupy_solvers`,
:mod:`.inertia` (the certificate of ``certify=True``; :mod:`.certify` its public face).  Dask arrays:
:mod:`.dask_support` (routes, refusals) and :mod:`._dask_operator` (one pass
over A per product).  Every rounding term lives in :mod:`._rounding`.
"""

from __future__ import annotations

from .auto import auto_plan, choose_method, default_tol
from .driver import spectral_norm
from .registry import METHODS, MethodInfo
from .result import ConvergenceWarning, HistoryEntry, NotConvergedError, SpectralNormResult, Stage
from .theory import lanczos_steps_theory

__all__ = [
    "spectral_norm",
    "METHODS",
    "MethodInfo",
    "choose_method",
    "auto_plan",
    "default_tol",
    "SpectralNormResult",
    "HistoryEntry",
    "Stage",
    "ConvergenceWarning",
    "NotConvergedError",
    "lanczos_steps_theory",
]
