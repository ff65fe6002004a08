"""Every rounding term of every certified bound is pinned: each margin check
holds as the library stands, and every weakening of every term (halved,
dropped) makes at least one check fail (the mutation table of
``python -m tests.margins``, with no survivor)."""

from __future__ import annotations

import pytest

import tests.lipschitz_margins  # noqa: F401  (registers the lipschitz checks)
from lipbench.testing import TERMS
from tests.margins import CHECKS, failing, weakenings


@pytest.mark.parametrize("fn", [c[0] for c in CHECKS], ids=lambda f: f.__name__)
def test_margin_check_holds(fn):
    fn()


def test_every_term_is_pinned_by_a_check():
    pinned = {t for _, terms, _ in CHECKS for t in terms}
    assert set(TERMS) <= pinned, f"terms without a margin check: {sorted(set(TERMS) - pinned)}"


@pytest.mark.parametrize("term,factor", [(t, f) for t in TERMS for f in weakenings(t)])
def test_no_weakening_survives(term, factor):
    assert failing(term, factor), f"rounding term {term!r} x {factor:g}: no margin check fails"
