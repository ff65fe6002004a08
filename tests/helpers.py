"""Assertions shared by the unit tests."""

from __future__ import annotations

import warnings

import numpy as np

import lipbench as lb
from properties.tolerances import matvec_bound, normal_matvec_bound, reference_rtol, sum_rtol

SHAPES = {"square": (48, 48), "tall": (64, 40), "wide": (40, 64)}
FAMILY_KW = {
    "gaussian": {}, "gap": {"delta": 1e-2}, "geometric": {}, "polynomial": {}, "low_rank": {},
    "zero": {}, "identity": {}, "nn_like": {}, "badly_scaled": {"end": "huge"},
}
# methods whose stopping rule cannot certify small tolerances: they must say so
MAY_NOT_CONVERGE = {"interpolative"}
NUMPY_METHODS = [m for m in lb.METHODS if m != "cupy-eigsh"]


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


def quiet(A, method: str = "auto", **kw):
    """spectral_norm with its ConvergenceWarning silenced (the result says whether it converged)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        return lb.spectral_norm(A, method=method, **kw)


def assert_certified(r, truth: float, tol: float, A, context: str = "") -> None:
    """The bracket holds the truth; when converged, the value is within tol."""
    where = f"{context} method={r.method} backend={r.backend} dtype={r.dtype} shape={tuple(A.shape)}"
    assert r.lower <= truth <= r.upper, f"bracket [{r.lower!r}, {r.upper!r}] misses sigma={truth!r}: {where}"
    assert r.lower <= r.value <= r.upper, f"value {r.value!r} outside [{r.lower!r}, {r.upper!r}]: {where}"
    if r.converged and truth > 0:
        rel = abs(r.value - truth) / truth
        allowed = tol + reference_rtol(A.shape)
        assert rel <= allowed, f"converged but relative error {rel:.3g} > tol {tol:.3g}: {where}"


def said(result, code: str) -> list:
    """The notes of ``result`` with ``code`` (lipbench.spectral.notes), in order."""
    return [n for n in result.notes if n.code == code]


def assert_same_certificate(A, v, one, other):
    """Two computations of (lower bound, A v / ||v||, residual bound) from the same float64
    products summed in other orders (blocks, threads) agree to those products' rounding."""
    (lower, w, res), (lower2, w2, res2) = one, other
    u = np.asarray(v, dtype=np.float64)
    u = u / np.linalg.norm(u)
    mb = matvec_bound("float64", A, u)  # A u, entry by entry
    assert np.all(np.abs(w - w2) <= mb), np.max(np.abs(w - w2) / mb)
    m = A.shape[0]
    assert abs(lower - lower2) <= np.linalg.norm(mb) + sum_rtol("float64", m) * lower, (lower, lower2)
    # res = ||A^T w - theta^2 u|| / (2 theta^2): A^T A u's error, and theta^2's through ||w||
    theta = float(np.linalg.norm(w2))
    dr = np.linalg.norm(normal_matvec_bound("float64", A, u)) + 2 * theta * np.linalg.norm(mb)
    allowed = dr / (2 * theta * theta) + 2 * sum_rtol("float64", m) * res
    assert abs(res - res2) <= allowed, (res, res2, allowed)
