"""A Dask array validated and summarized in one pass (``lipbench.spectral._dask_prepare``):
non-finite entries named, a badly scaled matrix scaled by a power of two and
summarized again, other dtypes converted, vectors brought into memory, stacks
and complex arrays refused, the slab orientation chosen."""

from __future__ import annotations

import math

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import lipbench as lb  # noqa: E402
from lipbench import matrices  # noqa: E402
from lipbench.testing import operator_of as prepare  # noqa: E402
from properties.tolerances import (  # noqa: E402
    reference_rtol,
    sum_rtol,  # noqa: E402
    )
from tests.helpers import assert_certified, run_quietly  # noqa: E402
from tests.spectral.dask_cases import case as _case  # noqa: E402


def test_cheap_bounds_match_numpy():
    """One step: the bracket's upper end is the cheap bound from the summary pass."""
    M, _ = _case(shape=(80, 50))
    for chunks in [(20, 50), (80, 7)]:
        with pytest.warns(lb.ConvergenceWarning):
            r = lb.spectral_norm(da.from_array(M, chunks=chunks), method="power", maxiter=1, seed=0)
        with pytest.warns(lb.ConvergenceWarning):
            ref = lb.spectral_norm(M, method="power", maxiter=1, seed=0)
        slack = reference_rtol(M.shape)
        assert abs(r.upper - ref.upper) <= slack * ref.upper, (chunks, r.upper, ref.upper)


@pytest.mark.parametrize("layout", ["views", "C-ordered"])
@pytest.mark.parametrize("method", ["auto", "randomized"])
@pytest.mark.parametrize("end", ["huge", "tiny"])
def test_badly_scaled_input(end, method, layout):
    K = matrices.make("badly_scaled", 64, 48, end=end, seed=5)
    truth = matrices.reference_norm(K.matrix)
    D = da.from_array(K.matrix, chunks=(16, 24))  # chunks are strided views: the whole-block kernel
    if layout == "C-ordered":  # the piecewise kernel
        D = D.map_blocks(np.ascontiguousarray)
    r, _ = run_quietly(D, method, seed=0)
    assert r.converged, r.summary()
    assert r.passes.count("summary") == 2, r.passes  # the rescaled summary
    assert_certified(r, truth, r.tol, K.matrix, f"badly scaled ({end})")


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_other_dtypes(dtype):
    rng = np.random.default_rng(4)
    M = (rng.standard_normal((60, 40)) * 5).astype(dtype)
    truth = matrices.reference_norm(M.astype(np.float64))
    r, _ = run_quietly(da.from_array(M, chunks=(15, 20)), "auto", seed=0)
    assert r.input_dtype == dtype and r.dtype == "float64"
    assert_certified(r, truth, r.tol, M, f"dask {dtype}")


@pytest.mark.parametrize("bad,name", [(np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "-Inf")])
def test_non_finite_entry_is_named(bad, name):
    M = np.ones((30, 20))
    M[17, 13] = bad
    M[25, 2] = bad
    with pytest.raises(ValueError, match=rf"A contains {name} at \(17, 13\) \(and 1 other"):
        lb.spectral_norm(da.from_array(M, chunks=(10, 7)))


def test_zero_vector_and_shape_inputs():
    r = lb.spectral_norm(da.zeros((40, 30), chunks=(10, 30)))
    assert r.value == r.lower == r.upper == 0.0
    col = np.arange(12.0)[:, None]
    r = lb.spectral_norm(da.from_array(col, chunks=(5, 1)))
    assert r.lower <= np.linalg.norm(col) <= r.upper
    with pytest.raises(ValueError, match="not a stack"):
        lb.spectral_norm(da.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="2-D Dask array"):
        lb.spectral_norm(da.ones((3, 4, 5)), method="power")
    with pytest.raises(TypeError, match="complex Dask array"):
        lb.spectral_norm(da.ones((4, 5), dtype=complex))


# ------------------------------------------------------------ the module's own contract
def test_the_slab_orientation_follows_the_chunks(rng):
    M = rng.standard_normal((30, 40))
    rows = prepare(da.from_array(M, chunks=(10, 40)))
    cols = prepare(da.from_array(M, chunks=(30, 8)))
    assert not rows.array_is_transpose and cols.array_is_transpose, "slabs are the smaller of the two cuts"
    assert rows.shape == cols.shape == (30, 40) and (cols.m, cols.n) == (40, 30)
    assert rows.pass_report().count("summary") == 1


@pytest.mark.parametrize("factor", [2.0**-700, 1.0, 2.0**700])
def test_the_summary_gives_the_scale_and_the_cheap_bounds(factor, rng):
    M = rng.standard_normal((36, 20)) * factor
    op = prepare(da.from_array(M, chunks=(12, 20)))
    peak = float(np.max(np.abs(M)))
    if factor == 1.0:
        assert op.scale == 1.0
    else:  # scaled by a power of two so that the largest entry is about 1
        assert math.log2(op.scale) == int(math.log2(op.scale)) and 0.5 <= peak / op.scale < 2.0, op.scale
    fro = float(np.linalg.norm(M / op.scale))
    assert fro <= op.fro_upper() <= fro * (1 + sum_rtol("float64", M.size))
    col = float(np.max(np.linalg.norm(M / op.scale, axis=0)))
    assert op.cheap_lower() <= col <= op.cheap_lower() * (1 + sum_rtol("float64", M.shape[0]))


def test_an_unknown_shape_is_named():
    x = da.from_array(np.ones((10, 3)), chunks=5)
    unknown = x[x[:, 0] > 0]  # boolean row selection: the row count is unknown until computed
    with pytest.raises(ValueError, match=r"Dask array of unknown shape .*compute_chunk_sizes\(\)"):
        prepare(unknown)


def test_subnormal_entries_are_named():
    tiny = da.from_array(np.full((4, 3), 2.0**-1060), chunks=2)
    with pytest.raises(ValueError, match="largest entry .* is subnormal; .*multiply A by a power of two first"):
        prepare(tiny)
