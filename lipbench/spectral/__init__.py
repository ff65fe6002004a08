"""sigma_max with a certified bracket: the driver, the registry and one module per method.

``spectral_norm(A, method=...)`` (:mod:`.driver`) validates A, scales it by a
power of two, runs the method, intersects the method's bracket with cheap
valid bounds and scales everything back.  :data:`METHODS` (:mod:`.registry`)
lists the methods; :func:`auto_plan` (:mod:`.auto`) is the rule behind
``"auto"``.  Where each method lives:

=================  ==========================================================
method             module
=================  ==========================================================
``svd``            :mod:`.svd`
``power``          :mod:`.power`
``lanczos``        :mod:`.lanczos` (a package: ``plan``, ``bidiag``,
                   ``normal``, ``gram``, ``device``, ``loop``, ``refine``)
``arpack``         :mod:`.scipy_svds`
``propack``        :mod:`.scipy_svds` (also ``lanczos``' ``engine="propack"``)
``lobpcg``         :mod:`.scipy_svds`
``cupy-eigsh``     :mod:`.cupy_eigsh`
``interpolative``  :mod:`.interpolative`
``randomized``     :mod:`.randomized`
``gram``           :mod:`.gram`
=================  ==========================================================

The certificate of ``certify=True``: :mod:`.inertia` (:mod:`.certify` its
public face); a Krylov method's final vector is certified in
:mod:`._certify_vector`.  Dask arrays: :mod:`.dask_support` (routes,
refusals), :mod:`._dask_prepare` (validation in one summary pass) and
:mod:`._dask_operator` (one pass over A per product).  Every
rounding term lives in :mod:`lipbench._rounding`.
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
