"""Error bounds and step counts from theory (``lipbench.spectral.theory``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from properties.tolerances import scalar_rtol


def test_lanczos_steps_theory_matches_its_formulas():
    from lipbench.spectral import lanczos_steps_theory
    from lipbench.spectral.theory import kw_lanczos_epsilon

    n, tol = 500, 1e-6
    s = np.concatenate([[2.0, 1.8], np.linspace(1.5, 0.1, n - 2)])
    th = lanczos_steps_theory(s, tol)
    # KW: the first k whose gap-free eigenvalue error bound is within 2 tol
    assert kw_lanczos_epsilon(n, th["kw"]) <= 2 * tol < kw_lanczos_epsilon(n, th["kw"] - 1)
    assert th["block_krylov"] == math.ceil(math.log(n) / math.sqrt(2 * tol))
    # Chebyshev: T_{k-1}(1 + 2 gamma) reaches the needed factor at the estimate, not one step before
    lam = s**2
    x = 1 + 2 * (lam[0] - lam[1]) / (lam[1] - lam[-1])
    spread = (lam[0] - lam[-1]) / lam[0]
    for key, need in (("value", math.sqrt(n) * math.sqrt(spread / (2 * tol))),
                      ("residual", math.sqrt(n) * spread / (2 * tol))):
        k = th[key]
        assert math.cosh((k - 1) * math.acosh(x)) >= need > math.cosh((k - 2) * math.acosh(x)), key
    # a wider gap needs fewer steps; no gap leaves the gap-free bounds only
    assert lanczos_steps_theory(np.concatenate([[3.0], s[1:]]), tol)["value"] < th["value"]
    assert set(lanczos_steps_theory(np.ones(10), tol)) == {"kw", "block_krylov", "kw_failure_probability"}


def test_residual_bound_is_the_first_order_symmetric_bound():
    from lipbench.spectral.theory import residual_error

    theta, resid = 3.0, 1e-4
    assert residual_error(theta, resid) == resid / (2 * theta * theta)
    # the exact bound for the side above theta, sqrt(1 + rho) - 1 with rho = ||r|| / theta^2, is at most it
    assert math.sqrt(1 + resid / theta**2) - 1 <= residual_error(theta, resid)
    assert residual_error(0.0, resid) == math.inf
    stack = residual_error(np.array([theta, 0.0, 2.0]), np.array([resid, resid, 0.0]))
    np.testing.assert_array_equal(stack, [resid / (2 * theta * theta), np.inf, 0.0])


@pytest.mark.parametrize("n,k", [(100, 10), (10_000, 50), (500, 200)])
def test_kw_epsilons_meet_their_failure_probability(n, k):
    """Kuczynski & Wozniakowski (1992): at the eps returned, the failure
    probability bound equals delta (power: 0.824 sqrt(n) (1 - eps)^(k - 1/2);
    Lanczos: 1.648 sqrt(n) exp(-sqrt(eps) (2k - 1))), and more steps give a
    smaller eps."""
    from lipbench.spectral.theory import KW_FAILURE_PROBABILITY as delta
    from lipbench.spectral.theory import kw_lanczos_epsilon, kw_power_epsilon

    eps = kw_power_epsilon(n, k)
    power_fail = 0.824 * math.sqrt(n) * (1 - eps) ** (k - 0.5)
    eps_l = kw_lanczos_epsilon(n, k)
    lanczos_fail = 1.648 * math.sqrt(n) * math.exp(-math.sqrt(eps_l) * (2 * k - 1))
    for fail in (power_fail, lanczos_fail):
        assert abs(fail - delta) <= scalar_rtol("float64", 4 * k) * delta, (n, k, fail)
    assert kw_power_epsilon(n, k + 1) < eps and kw_lanczos_epsilon(n, k + 1) < eps_l
    assert eps_l < eps, "Lanczos's bound is the stronger one at equal steps"
    assert kw_power_epsilon(n, 1) == 1.0 and kw_lanczos_epsilon(n, 0) == 1.0  # no steps: no bound


def test_probabilistic_upper_divides_by_sqrt_one_minus_eps():
    from lipbench.spectral.theory import probabilistic_upper

    assert probabilistic_upper(2.0, 0.75) == 4.0
    assert probabilistic_upper(2.0, 0.0) == 2.0
    assert probabilistic_upper(2.0, 1.0) == math.inf
