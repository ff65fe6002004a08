"""The test matrices really have the singular values they claim."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench import matrices
from properties.tolerances import reference_rtol, scalar_rtol, svd_atol


@pytest.mark.parametrize("family", list(matrices.FAMILIES))
@pytest.mark.parametrize("shape", [(30, 30), (40, 25), (25, 40), (1, 6)])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_spectrum_by_construction(family, shape, dtype):
    ks = matrices.make(family, *shape, dtype=dtype, seed=3)
    A = ks.matrix
    assert A.shape == shape and A.dtype == np.dtype(dtype)
    assert ks.singular_values.shape == (min(shape),)
    assert np.all(np.diff(ks.singular_values) <= 0), "descending"
    if family == "badly_scaled" and dtype == "float16":
        pytest.skip("float16 has no room for the badly-scaled family's margins")
    a = A.astype(np.float64)
    peak = np.max(np.abs(a)) if a.size else 0.0
    e = int(np.frexp(peak)[1]) if peak else 0
    got = np.linalg.svd(np.ldexp(a, -e), compute_uv=False) * 2.0**e
    # sigma(A) is within atol of s; the float64 SVD measuring it errs by its own backward error
    allowed = ks.atol + reference_rtol(shape) * (got[0] if got.size else 0.0)
    assert np.all(np.abs(got - ks.singular_values) <= allowed), (
        f"{family} {shape} {dtype}: max deviation {np.max(np.abs(got - ks.singular_values)):.3g} > {allowed:.3g}"
    )


def test_seeds_reproduce_and_differ():
    a = matrices.gaussian(20, 10, seed=1).matrix
    b = matrices.gaussian(20, 10, seed=1).matrix
    c = matrices.gaussian(20, 10, seed=2).matrix
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unpacks_as_pair():
    A, s = matrices.identity(4, 3)
    np.testing.assert_array_equal(A, np.eye(4, 3))
    np.testing.assert_array_equal(s, np.ones(3))


def test_gap_and_rank_parameters():
    _, s = matrices.gap(10, 10, delta=0.0)
    assert s[0] == s[1] == 1.0
    _, s = matrices.gap(10, 10, delta=0.25)
    assert s[1] == 0.75
    A, s = matrices.low_rank(12, 9, rank=3)
    assert np.count_nonzero(s) == 3 and np.linalg.matrix_rank(A) == 3
    _, s = matrices.nn_like(200, 200, spike=2.0)
    assert s[0] == pytest.approx(np.sqrt(5 * 5) / 2) and s[1] < 2.0


def test_badly_scaled_hits_the_ends():
    A, _ = matrices.badly_scaled(30, 20, end="huge")
    assert 1e300 < np.max(np.abs(A)) < np.finfo(np.float64).max
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.sum(A.astype(np.float64) ** 2)), "||A||_F^2 overflows"
    A, _ = matrices.badly_scaled(30, 20, end="tiny")
    assert np.max(np.abs(A)) < 1e-290
    A, _ = matrices.badly_scaled(30, 20, end="huge", dtype="float32")
    assert 1e35 < np.max(np.abs(A)) < np.finfo(np.float32).max


def test_backends_agree(backend):
    ref = matrices.gaussian(16, 12, seed=4)
    got = matrices.gaussian(16, 12, seed=4, backend=backend)
    from lipbench.backends import to_numpy

    # U diag(s) V^T from the same Gaussians: two backward-stable QRs and a product on each backend
    atol = 2 * svd_atol("float64", ref.matrix.shape, float(ref.singular_values[0]))
    np.testing.assert_allclose(to_numpy(got.matrix), ref.matrix, rtol=0, atol=atol)
    np.testing.assert_array_equal(got.singular_values, ref.singular_values)


@pytest.mark.parametrize("bad", [dict(m=0), dict(m=3, n=-1), dict(m=2.5)])
def test_bad_shapes(bad):
    with pytest.raises(ValueError, match="matrix shape must be two positive integers"):
        matrices.gaussian(**bad)


def test_bad_parameters():
    with pytest.raises(ValueError, match="dtype must be one of"):
        matrices.gaussian(4, dtype="int8")
    with pytest.raises(ValueError, match=r"delta must lie in \[0, 1\]"):
        matrices.gap(4, delta=2)
    with pytest.raises(ValueError, match="unknown matrix family 'hilbert'"):
        matrices.make("hilbert", 4)
    with pytest.raises(ValueError, match=r"rank must lie in \[0, min\(m, n\)\]"):
        matrices.low_rank(4, 3, rank=5)
    pytest.importorskip("array_api_strict")
    with pytest.raises(ValueError, match="backend 'array_api_strict' has no float16 dtype"):
        matrices.gaussian(4, dtype="float16", backend="array_api_strict")


def test_marchenko_pastur_edge():
    s = matrices.marchenko_pastur_singular_values(2000, 500)
    c = 0.25
    assert s[0] < 1 + np.sqrt(c) and s[0] > 1 + np.sqrt(c) - 0.02
    assert s[-1] >= (1 - np.sqrt(c)) * (1 - scalar_rtol(ops=4))  # sqrt of a quantile >= (1 - sqrt c)^2, rounded


def test_badly_scaled_float32_large_has_finite_atol():
    """Regression: atol was computed in float32 and overflowed for 1024^2."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ks = matrices.badly_scaled(1024, 1024, end="huge", dtype="float32", seed=0)
    assert np.isfinite(ks.atol) and ks.atol > 0


def test_badly_scaled_huge_atol_is_finite():
    """Regression: ||A||_F of the huge family overflowed into atol = inf."""
    ks = matrices.badly_scaled(2048, 2048, end="huge", seed=0)
    # the construction's rounding: finite, and no more than a float64 SVD's backward error
    assert np.isfinite(ks.atol) and ks.atol <= svd_atol("float64", ks.matrix.shape, ks.sigma_max)
