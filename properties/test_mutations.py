"""The properties bite: inject a bug, let Hypothesis find an input that exposes it.

Each test monkeypatches one implementation with a specific bug and runs the check
behind the property that guards it through ``hypothesis.find``: the check must
raise AssertionError on some generated input (``find`` raises NoSuchExample,
failing this test, if the property cannot see the bug).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import lipbench as lb
from lipbench import backends as lbk
from lipbench.lipschitz import bounds as lbounds
from lipbench.lipschitz import dropout as ldropout
from lipbench.lipschitz import gram as lgram

from . import checks
from . import strategies as S
from . import test_claims_gram as _gram
from .conftest import EvidenceLog

FIND = settings(database=None, derandomize=True, max_examples=200, phases=["generate"])


def fails(check, *args) -> bool:
    try:
        check(*args)
    except AssertionError:
        return True
    return False


def test_sigma_scaled_by_0999_is_caught(monkeypatch):
    real = lb.spectral_norm

    def shrunk(A, *a, **kw):
        r = real(A, *a, **kw)
        return dataclasses.replace(r, value=r.value * 0.999, lower=r.lower * 0.999, upper=r.upper * 0.999)

    monkeypatch.setattr(lb, "spectral_norm", shrunk)
    find(S.spectral_matrices(max_side=8), lambda sm: fails(checks.check_bracket, sm.matrix, "svd"), settings=FIND)


def test_upper_returned_as_lower_is_caught(monkeypatch):
    real = lb.spectral_norm
    monkeypatch.setattr(lb, "spectral_norm", lambda A, *a, **kw: dataclasses.replace(
        real(A, *a, **kw), lower=real(A, *a, **kw).upper))
    find(st.tuples(S.spectral_matrices(max_side=8), st.sampled_from(["power", "lanczos", "randomized"])),
         lambda t: fails(checks.check_bracket, t[0].matrix, t[1]), settings=FIND)


def test_gram_eigenvalues_clipped_at_zero_is_caught(monkeypatch):
    """Clipping hides the rounding that C6's tolerance exists for: the C6 property test
    that expects Hypothesis to find a computed negative Gram eigenvalue fails."""
    xp = lbk.namespace("numpy")
    _gram.test_c6_rounding_can_make_computed_eigenvalues_negative(xp, EvidenceLog())  # control: passes unmutated
    real = lgram.gram_eigenvalues
    monkeypatch.setattr(lgram, "gram_eigenvalues", lambda *a, **kw: np.maximum(real(*a, **kw), 0.0))
    with pytest.raises(NoSuchExample):
        _gram.test_c6_rounding_can_make_computed_eigenvalues_negative(xp, EvidenceLog())


def test_composition_bound_as_sum_is_caught(monkeypatch):
    monkeypatch.setattr(lbounds, "product_bound", lambda net: float(sum(net.layer_constants())))
    find(st.tuples(S.networks(min_depth=2), S.seeds), lambda t: fails(checks.check_lower_below_upper, *t),
         settings=FIND)


def test_dropout_divided_by_p_at_test_time_is_caught(monkeypatch):
    real = ldropout.Dropout.scale

    def scale(self):
        if not self.training and self.convention == "classical":
            return 1.0 / self.p  # the bug: inverted scaling applied at test time
        return real(self)

    monkeypatch.setattr(ldropout.Dropout, "scale", scale)
    case = st.tuples(S.spectral_matrices(dtype="float64", max_side=4).map(lambda sm: sm.matrix), S.keep_probabilities())
    find(case.flatmap(lambda t: st.tuples(st.just(t[0]), S.vectors(t[0].shape[1], bound=10.0), st.just(t[1]))),
         lambda t: fails(checks.check_c14_expectation, t[0], t[1], t[2], "classical"), settings=FIND)


def test_unmutated_checks_pass():
    """Control: the same searches find nothing against the real implementations."""
    for strategy, pred in [
        (S.spectral_matrices(max_side=8), lambda sm: fails(checks.check_bracket, sm.matrix, "svd")),
        (st.tuples(S.networks(min_depth=2), S.seeds), lambda t: fails(checks.check_lower_below_upper, *t)),
    ]:
        with pytest.raises(NoSuchExample):
            find(strategy, pred, settings=settings(FIND, max_examples=30))


@pytest.mark.parametrize("method,options", [("lanczos", {})])
def test_optimistic_stopping_bound_is_caught(method, options):
    """The residual bound made 4x too optimistic (lipbench.testing.scaled_error_bound):
    the error-bound property finds a converged call whose error exceeds it; the
    same search against the real bound finds none."""
    from lipbench.testing import scaled_error_bound

    case = st.tuples(S.cluster_matrices(max_side=80), S.seeds)

    def broken(t):
        return fails(checks.check_error_estimate, t[0][0], method, t[0][1], t[1], **options)

    with pytest.raises(NoSuchExample):
        find(case, broken, settings=settings(FIND, max_examples=40))
    with scaled_error_bound(0.25):
        find(case, broken, settings=FIND)
