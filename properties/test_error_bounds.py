"""The stopping bound itself: what ``error_estimate`` proves, on spectra where it is nearly tight.

Every Krylov method stops on the residual bound ``||A^T A v - theta^2 v|| /
(2 theta^2)``: some singular value lies that close to theta.  It bounds the
distance of the value to the *nearest* singular value, and the error of
sigma_max only once the iteration has resolved the top of the spectrum: on a
top pair ``1, 1 - delta`` with delta near tol, Lanczos can stop on the lower
one (Hypothesis found ``tol = delta = 1e-4``: value ``1 - 0.9997e-4``,
error_estimate ``6.6e-5``).  So the property asserts the nearest-value bound
for every method whose estimate is a residual bound, ``test_mutations``
breaks that bound by a factor 4 and watches the property fail, and the
certificate (``certify=True``) is what bounds the error of sigma_max itself.

Power iteration's estimate also uses a quadratic extrapolation (an estimate,
not a bound): :func:`test_power_estimate_is_no_bound_on_a_close_pair` keeps
a matrix where it falls below the true error as evidence.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from . import checks
from . import strategies as S

#: (method, options) whose error_estimate bounds the error of sigma_max
BOUNDED = [("lanczos", {}), ("lanczos", {"normal": True}), ("lanczos", {"normal": True, "max_basis": 8}),
           ("lanczos", {"work_dtype": "float32"}), ("randomized", {}), ("arpack", {}), ("propack", {}),
           ("lobpcg", {}), ("gram", {}), ("svd", {})]


@pytest.mark.parametrize("method,options", BOUNDED, ids=[f"{m}{o or ''}" for m, o in BOUNDED])
@given(case=S.cluster_matrices(), seed=S.seeds)
def test_error_estimate_bounds_the_error(method, options, case, seed):
    sm, tol = case
    checks.check_error_estimate(sm, method, tol, seed, **options)


def test_power_estimate_is_no_bound_on_a_close_pair():
    """Power iteration on a close top pair: Hypothesis finds a converged call
    whose error_estimate is below the true error (kept as evidence)."""
    from hypothesis import find, settings

    found = find(S.cluster_matrices(max_side=60).flatmap(lambda c: S.seeds.map(lambda s: (c, s))),
                 lambda t: checks.fails(checks.check_error_estimate, t[0][0], "power", t[0][1], t[1]),
                 settings=settings(database=None, derandomize=True, max_examples=200, phases=["generate"]))
    assert found is not None
