"""The layer and ladder checks bite: break one rule, let Hypothesis find an input that shows it.

Each test monkeypatches one rule with a plausible bug and runs the check behind
the property that guards it through ``hypothesis.find`` (NoSuchExample, failing
the test, if the check cannot see the bug).  The control at the end runs the
same searches against the real rules and finds nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from lipbench.lipschitz import AvgPool, BatchNorm, Conv, MaxPool, Residual
from lipbench.lipschitz import chain as lchain
from lipbench.lipschitz import eclipse as leclipse
from lipbench.lipschitz import windows as lwin

from . import strategies as S
from . import test_ladder as TL
from . import test_layers as TLay

FIND = settings(database=None, derandomize=True, max_examples=200, phases=["generate"])


def fails(check, *args, **kw) -> bool:
    try:
        check(*args, **kw)
    except AssertionError:
        return True
    return False


def test_avgpool_without_overlap_factor_is_caught(monkeypatch):
    """1/sqrt(prod k) is right only without overlap: overlapping windows exceed it."""
    monkeypatch.setattr(AvgPool, "lipschitz_upper", lambda self: 1 / math.sqrt(math.prod(self.kernel_size)))
    find(st.tuples(S.pools("avg"), S.seeds), lambda t: fails(TLay.check_linear_layer, *t), settings=FIND)


def test_avgpool_closed_form_bound_as_constant_is_caught(monkeypatch):
    """sqrt(coverage / prod k) is a bound, not the constant: the exactness half of the check sees it."""
    monkeypatch.setattr(AvgPool, "lipschitz_upper", lambda self: self.overlap_bound())
    find(st.tuples(S.pools("avg"), S.seeds), lambda t: fails(TLay.check_linear_layer, *t), settings=FIND)


def test_maxpool_as_one_lipschitz_is_caught(monkeypatch):
    """The folklore 'max pooling is 1-Lipschitz' fails with overlapping windows."""
    monkeypatch.setattr(MaxPool, "lipschitz_upper", lambda self: 1.0)
    find(st.tuples(S.pools("max"), S.seeds), lambda t: fails(TLay.test_maxpool_constant.hypothesis.inner_test,
                                                              t[0], t[1], _NoEvidence()), settings=FIND)


def test_batchnorm_without_sqrt_is_caught(monkeypatch):
    monkeypatch.setattr(BatchNorm, "lipschitz_upper",
                        lambda self: float(np.max(np.abs(self.gamma / (self.running_var + self.eps)))))
    find(st.tuples(S.batchnorms(), S.seeds), lambda t: fails(TLay.check_linear_layer, *t), settings=FIND)


def test_residual_as_max_is_caught(monkeypatch):
    """max(1, L(f)) instead of 1 + L(f) is too small when f pushes along x."""
    monkeypatch.setattr(Residual, "lipschitz_upper", lambda self: max(1.0, float(self.f.lipschitz_upper())))
    find(st.tuples(S.residuals(), S.seeds),
         lambda t: fails(TLay.test_residual_bound.hypothesis.inner_test, t[0], t[1], _NoEvidence()), settings=FIND)


def test_conv_constant_from_reshaped_kernel_is_caught(monkeypatch):
    """sigma of the kernel reshaped to (C_out, C_in k) is neither the operator norm nor a bound on it."""
    monkeypatch.setattr(Conv, "matrix_lipschitz_upper",
                        lambda self: float(np.linalg.norm(self.weight.reshape(self.weight.shape[0], -1), 2)))
    find(st.tuples(S.conv_layers(), S.seeds), lambda t: fails(TLay.check_linear_layer, t[0], t[1],
                                                              upper=t[0].matrix_lipschitz_upper()), settings=FIND)


def test_reflect_padding_as_replicate_is_caught(monkeypatch):
    """The forward pass against the loops: reflect padding that repeats the edge is replicate."""
    real = lwin._index_1d
    monkeypatch.setattr(lwin, "_index_1d", lambda q, n, mode: real(q, n, "replicate" if mode == "reflect" else mode))
    find(st.tuples(S.conv_layers(), S.seeds), lambda t: fails(TLay.test_conv_forward_is_pytorchs.hypothesis.inner_test,
                                                              *t), settings=FIND)


def test_eclipse_without_verification_is_caught(monkeypatch):
    """A recursion with the slope bound dropped (b = 1 for sigmoid's 1/4, ELU's alpha) and no
    check of its inequalities claims a bound below sampled Jacobian norms."""
    monkeypatch.setattr(lchain, "slope_interval", lambda layer: (0.0, 1.0))
    monkeypatch.setattr(leclipse, "psd_margin", lambda M, exact_error=0.0: 1.0)
    find(st.tuples(S.chain_networks(), S.seeds), lambda t: fails(TL.check_ladder, *t), settings=FIND)


def test_patterns_without_low_slopes_are_caught(monkeypatch):
    """Enumerating only the all-'on' pattern misses the maximum."""
    from lipbench.lipschitz import patterns as lpat
    real = lpat._products
    monkeypatch.setattr(lpat, "_products", lambda chain, bits: real(chain, np.ones_like(bits)))
    find(st.tuples(S.chain_networks(piecewise_linear=True), S.seeds), lambda t: fails(TL.check_ladder, *t),
         settings=FIND)


class _NoEvidence:
    def record(self, *a, **k) -> None: ...
    def maximum(self, *a, **k) -> None: ...


def test_unmutated_checks_pass():
    """Control: the searches above find nothing against the real rules."""
    quick = settings(FIND, max_examples=30)
    for strategy, pred in [
        (st.tuples(S.pools("avg"), S.seeds), lambda t: fails(TLay.check_linear_layer, *t)),
        (st.tuples(S.batchnorms(), S.seeds), lambda t: fails(TLay.check_linear_layer, *t)),
        (st.tuples(S.chain_networks(), S.seeds), lambda t: fails(TL.check_ladder, *t)),
    ]:
        with pytest.raises(NoSuchExample):
            find(strategy, pred, settings=quick)
