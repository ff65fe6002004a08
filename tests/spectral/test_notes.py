"""What a result says beside its numbers, as data (``lipbench.spectral.notes``):
a note is a known code with values, its text is written only by rendering, and
a result's message is the rendering of its notes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lipbench import matrices
from lipbench.spectral.notes import CODES, Note, note, render
from tests.helpers import run_quietly


def test_an_unknown_code_is_refused_when_the_note_is_made():
    with pytest.raises(KeyError, match="unknown note code 'no-such-code'"):
        note("no-such-code", x=1)


def test_a_note_holds_its_values_and_replace_makes_a_new_one():
    n = note("maxiter", maxiter=7, memory="grows")
    assert n.code == "maxiter" and n["maxiter"] == 7 and n["memory"] == "grows"
    m = n.replace(maxiter=9)
    assert m["maxiter"] == 9 and m["memory"] == "grows" and m.code == n.code
    assert n["maxiter"] == 7, "replace left the original alone"
    with pytest.raises(dataclasses.FrozenInstanceError):
        n.code = "zero-matrix"  # type: ignore[misc]
    assert isinstance(n, Note) and n.text == CODES["maxiter"](maxiter=7, memory="grows")


def test_render_writes_the_notes_in_order():
    a, b = note("zero-matrix"), note("thick-restarts", restarts=2, max_basis=8)
    assert render([a, b]) == f"{a.text}; {b.text}"
    assert render([b, a]) == f"{b.text}; {a.text}"
    assert render([]) == ""


@pytest.mark.parametrize("A,kw", [(np.zeros((4, 3)), {}),
                                  (matrices.gap(60, 40, delta=1e-4, seed=1).matrix,
                                   {"method": "lanczos", "maxiter": 2, "tol": 1e-12})])
def test_a_results_message_is_its_notes_rendered(A, kw):
    r, _ = run_quietly(A, kw.get("method", "auto"), **{k: v for k, v in kw.items() if k != "method"})
    assert r.notes and r.message == render(r.notes), (r.note_codes, r.message)
    assert r.note_codes == tuple(n.code for n in r.notes)
    assert set(r.note_codes) <= set(CODES), r.note_codes
