"""The caller's result (lipbench.spectral.result.SpectralNormResult): its
fields and its per-check history."""

from __future__ import annotations

import lipbench as lb
from lipbench import matrices
from properties.tolerances import monotone_slack


def test_result_fields_and_history():
    A, s = matrices.gap(80, 60, delta=0.1, seed=2)
    r = lb.spectral_norm(A, method="power", tol=1e-10, seed=9, return_history=True)
    assert (r.method, r.backend, r.dtype, r.seed, r.device) == ("power", "numpy", "float64", 9, "cpu")
    # two products per iteration; the float64 certificate reuses the last A v
    assert r.iterations == len(r.history) and r.matvecs == 2 * r.iterations
    est = [h.estimate for h in r.history]
    assert all(b >= a - monotone_slack("float64", A.shape, a) for a, b in zip(est, est[1:])), \
        "power estimates must not decrease"
    assert all(h.lower <= s[0] for h in r.history)
    assert r.history[-1].matvecs <= r.matvecs
    assert lb.spectral_norm(A, method="power", tol=1e-10, seed=9).history is None
