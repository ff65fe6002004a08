"""Assertions shared by the unit tests."""

from __future__ import annotations

import warnings

import numpy as np

import lipbench as lb
from lipbench.testing import svd_backward_p

SHAPES = {"square": (48, 48), "tall": (64, 40), "wide": (40, 64)}
FAMILY_KW = {
    "gaussian": {}, "gap": {"delta": 1e-2}, "geometric": {}, "polynomial": {}, "low_rank": {},
    "zero": {}, "identity": {}, "nn_like": {}, "badly_scaled": {"end": "huge"},
}
# methods whose stopping rule cannot certify small tolerances: they must say so
MAY_NOT_CONVERGE = {"interpolative"}
NUMPY_METHODS = [m for m in lb.METHODS if m != "cupy-eigsh"]


def reference_slack(A, dtype: str = "float64") -> float:
    """Rounding allowance of the float64 reference SVD (relative): the
    backward-error factor the ``svd`` method itself uses, ``8 (max(m, n) + 4) u64``
    (gesdd's float64 sigma_max of a 2 x 2 matrix was seen 13.2 u off)."""
    m, n = A.shape[-2:]
    return svd_backward_p(m, n) * np.finfo(np.float64).eps / 2


def run_quietly(A, method: str, **kw):
    """spectral_norm, returning (result, list of ConvergenceWarning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", lb.ConvergenceWarning)
        r = lb.spectral_norm(A, method=method, **kw)
    msgs = [str(w.message) for w in caught if issubclass(w.category, lb.ConvergenceWarning)]
    others = [w for w in caught if not issubclass(w.category, lb.ConvergenceWarning)]
    if others:
        raise AssertionError(f"unexpected warnings: {[str(w.message) for w in others]}")
    return r, msgs


def assert_certified(r, truth: float, tol: float, A, context: str = "") -> None:
    """The bracket holds the truth; when converged, the value is within tol."""
    where = f"{context} method={r.method} backend={r.backend} dtype={r.dtype} shape={tuple(A.shape)}"
    assert r.lower <= truth <= r.upper, f"bracket [{r.lower!r}, {r.upper!r}] misses sigma={truth!r}: {where}"
    assert r.lower <= r.value <= r.upper, f"value {r.value!r} outside [{r.lower!r}, {r.upper!r}]: {where}"
    if r.converged and truth > 0:
        rel = abs(r.value - truth) / truth
        allowed = tol + reference_slack(A)
        assert rel <= allowed, f"converged but relative error {rel:.3g} > tol {tol:.3g}: {where}"


def said(result, code: str) -> list:
    """The notes of ``result`` with ``code`` (lipbench.spectral.notes), in order."""
    return [n for n in result.notes if n.code == code]
