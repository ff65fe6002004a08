"""The benchmark profiles and spectra as declared data (benchmarks/profiles.py, benchmarks/spectra.py).

A misspelt value in a profile would silently skip the cases it meant to run,
and a spectrum restated by hand could drift from the one the grid labels: both
are checked against the grid and the library here.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import grid, profiles, spectra
from benchmarks.test_convergence import CURVE_INPUTS
from benchmarks.test_targets import FAMILIES as TARGET_FAMILIES
from benchmarks.test_targets import SIDES as TARGET_SIDES
from lipbench import matrices

AXES = {
    "shapes": {s for s, _, _ in grid.SHAPES},
    "dtypes": set(grid.DTYPES),
    "families": set(grid.FAMILIES),
    "tols": set(grid.TOLS),
    "methods": set(grid.all_methods()),
}


def _slices(p: profiles.Profile):
    yield from p.grid or ()
    yield from (ex.cases for ex in p.exclusions)


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_profile_names_only_values_of_the_grid(name):
    p = profiles.get(name)
    for s in _slices(p):
        for axis, known in AXES.items():
            values = getattr(s, axis)
            unknown = set() if values is None else values - known
            assert not unknown, f"profile {name}: {axis} {sorted(unknown)} are not in the grid ({sorted(known)})"
    shapes = {s for s, *_ in CURVE_INPUTS}
    assert p.curve_shapes is None or p.curve_shapes <= shapes, (name, p.curve_shapes, shapes)
    assert p.auto_accuracy_sides is None or p.auto_accuracy_sides <= set(TARGET_SIDES), (name, p.auto_accuracy_sides)
    assert p.budget_seconds > 0 and p.max_rounds >= 1, (name, p.budget_seconds, p.max_rounds)


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_every_grid_case_runs_or_says_why(name):
    cases = grid.grid()
    reasons = [profiles.skip_reason(c, name) for c in cases]
    assert all(r is None or (isinstance(r, str) and r) for r in reasons), name
    assert any(r is None for r in reasons), f"profile {name} runs no grid case"
    # no exclusion is dead data: each leaves out a case its profile would otherwise run
    p = profiles.get(name)
    for ex in p.exclusions:
        hit = [c for c in cases if c in ex.cases and grid.tol_independent_skip(c) is None]
        assert hit, f"profile {name}: exclusion {ex.cases} matches no grid case"


def test_full_runs_the_whole_grid_and_others_a_part():
    cases = grid.grid()
    full = [c for c in cases if profiles.skip_reason(c, "full") is None]
    assert full == [c for c in cases if grid.tol_independent_skip(c) is None]
    for name in profiles.PROFILES:
        ran = {c.id for c in cases if profiles.skip_reason(c, name) is None}
        assert ran <= {c.id for c in full}, name
    assert not any(profiles.skip_reason(c, "quick") is None for c in cases if c.shape in profiles.FULL_ONLY_SHAPES)


def test_unknown_profile_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown benchmark profile 'huge'.*tiny, quick, full"):
        profiles.get("huge")


def test_spectra_name_families_of_the_library():
    for label, spec in spectra.SPECTRA.items():
        assert spec.family in matrices.FAMILIES, (label, spec.family)
        spec.make(8, 8, seed=0)  # its options are accepted
    assert set(TARGET_FAMILIES) == set(matrices.FAMILIES), "auto accuracy covers every family"
    assert set(spectra.GRID_SPECTRA) == set(grid.FAMILIES)


@pytest.mark.parametrize("label", list(spectra.GRID_SPECTRA))
def test_sparse_operator_has_the_dense_familys_spectrum(label):
    """The sparse operator's singular values follow the same law as the dense
    matrix of the same grid label (so its ``gap0.99`` is the table's delta)."""
    n = 60
    dense = np.sort(np.asarray(spectra.GRID_SPECTRA[label].make(n, n, seed=0).singular_values))[::-1]
    sparse = spectra.sparse_spectrum(label, n)
    u = np.finfo(np.float64).eps / 2
    np.testing.assert_allclose(sparse, dense, rtol=4 * u, atol=0, err_msg=f"{label}: sparse against dense")
    A, truth = spectra.sparse_block_operator(label, n, 10, "float64", seed=0)
    ref = np.linalg.svd(A.toarray(), compute_uv=False)[0]
    # both are float64 SVDs of the same blocks, one of them embedded in a permuted n x n matrix
    assert abs(truth - ref) <= 8 * n * u * ref, (label, truth, ref)


def test_sparse_spectrum_rejects_a_label_it_has_no_construction_for():
    with pytest.raises(ValueError, match="unknown spectrum family 'geometric'"):
        spectra.sparse_spectrum("geometric", 10)
