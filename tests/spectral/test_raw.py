"""What an estimator hands the driver (``lipbench.spectral._raw``): the record
itself, the per-iteration history kept only when asked, a one-stage route's
count of products, and the start vector -- the caller's ``v0`` validated and
never modified, or a Gaussian one from the call's generator."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lipbench as lb
from lipbench.spectral.notes import note
from lipbench.testing import Raw, Tracker, stage, start_vector
from lipbench.testing import operator_of as prepare
from properties.tolerances import sum_rtol


def test_bad_start_vectors():
    A = np.arange(12.0).reshape(4, 3)
    with pytest.raises(ValueError, match=r"v0 has shape \(4,\); expected \(3,\)"):
        lb.spectral_norm(A, method="power", v0=np.ones(4))
    with pytest.raises(ValueError, match=r"v0 contains a non-finite value at \(1,\)"):
        lb.spectral_norm(A, method="lanczos", v0=np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="v0 is the zero vector"):
        lb.spectral_norm(A, method="power", v0=np.zeros(3))
    with pytest.raises(ValueError, match="method 'svd' takes no start vector"):
        lb.spectral_norm(A, method="svd", v0=np.ones(3))
    v0 = np.ones(3)
    lb.spectral_norm(A, method="power", v0=v0)
    np.testing.assert_array_equal(v0, np.ones(3))


# ------------------------------------------------------------ the module's own contract
def test_start_vector_is_a_unit_vector_on_the_operators_backend(rng):
    op = prepare(rng.standard_normal((9, 6)))
    v = start_vector(op, np.random.default_rng(0), None)
    assert v.shape == (6,) and v.dtype == np.float64
    assert abs(float(np.linalg.norm(v)) - 1) <= sum_rtol("float64", 6)
    again = start_vector(op, np.random.default_rng(0), None)
    np.testing.assert_array_equal(v, again)  # drawn from the call's generator alone
    v32 = start_vector(op, np.random.default_rng(0), None, "float32")
    assert v32.dtype == np.float32


def test_start_vector_keeps_the_direction_of_v0_and_leaves_it_alone(rng):
    op = prepare(rng.standard_normal((4, 3)))
    v0 = np.array([2.0**600, -(2.0**601), 0.0])  # squares overflow unless v0 is scaled first
    keep = v0.copy()
    v = start_vector(op, rng, v0)
    np.testing.assert_array_equal(v0, keep)
    want = np.array([1.0, -2.0, 0.0]) / math.sqrt(5.0)
    assert np.all(np.abs(v - want) <= sum_rtol("float64", 3)), v


def test_start_vector_of_a_stack_has_one_row_per_matrix(rng):
    op = prepare(rng.standard_normal((2, 5, 4)))
    v = start_vector(op, rng, None)
    assert v.shape == (2, 4) and np.all(np.abs(np.linalg.norm(v, axis=-1) - 1) <= sum_rtol("float64", 4))
    with pytest.raises(ValueError, match=r"v0 has shape \(4,\); expected \(2, 4\)"):
        start_vector(op, rng, np.ones(4))


def test_tracker_keeps_rows_only_when_enabled(rng):
    op = prepare(rng.standard_normal((5, 5)))
    on, off = Tracker(True), Tracker(False)
    op.matvec(np.ones(5))
    for t in (on, off):
        t.add(op, 3, 2.0, 1.5, 2.5, 0.1)
    assert off.rows == [] and len(on.rows) == 1
    it, matvecs, est, lo, hi, err, seconds = on.rows[0]
    assert (it, matvecs, est, lo, hi, err) == (3, 1, 2.0, 1.5, 2.5, 0.1) and seconds >= 0


def test_stage_counts_the_products_since_it_began(rng):
    op = prepare(rng.standard_normal((5, 4)))
    op.matvec(np.ones(4))
    before = op.matvecs
    for _ in range(3):
        op.normal_matvec(np.ones(4))
    (st,) = stage("power", op, 3, before, converged=False, restarts=1)
    assert (st.engine, st.dtype, st.iterations, st.matvecs, st.converged, st.restarts) == (
        "power", "float64", 3, 6, False, 1)


def test_raw_message_renders_its_notes():
    r = Raw(value=1.0, lower=1.0, upper=math.inf, converged=True, iterations=1)
    assert r.message == "" and r.proven and not r.certified and r.certificate == ""
    said = Raw(value=1.0, lower=1.0, upper=math.inf, converged=False, iterations=1,
               notes=(note("float32-unverified", err=1e-9, verified=3e-4),))
    assert "3e-04" in said.message or "0.0003" in said.message, said.message
