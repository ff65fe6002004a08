"""No literal tolerance in a test body: every tolerance a test compares floats
with comes from ``properties/tolerances.py`` (a backward-error bound with named
constants) or is the tol the test asked the library for, held in a name.

Read from the source with ``ast``, in every ``test_*.py`` under tests/ and
properties/, a float literal other than 0 is flagged where it is used

* as a tolerance keyword (``rel``, ``abs``, ``rtol``, ``atol``, ``rel_tol``,
  ``abs_tol``) of any call, or as the threshold of ``assert_array_less``;
* inside an ``assert``, on the far side of ``<``/``<=`` (``>``/``>=``) from a
  difference: ``abs(x - y) <= 1e-8 * y`` (not the value the difference is
  taken from: ``abs(x - 3.0) <= rtol * 3.0``);
* inside an ``assert``, as ``1 +`` or ``1 -`` a literal: ``x <= y * (1 + 1e-12)``.

Inputs (``tol=1e-6`` passed to ``spectral_norm``), bounds that hold exactly
(``r.normalized_upper >= 1.0``) and range checks (``peak > 1e300``) are not
flagged.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TOLERANCE_KEYWORDS = {"rel", "abs", "rtol", "atol", "rel_tol", "abs_tol"}
LESS = (ast.Lt, ast.LtE)
GREATER = (ast.Gt, ast.GtE)


def _test_files() -> list[pathlib.Path]:
    return sorted([*(REPO / "tests").rglob("test_*.py"), *(REPO / "properties").glob("test_*.py")])


def _float_literals(node: ast.AST) -> list[ast.Constant]:
    """Non-zero float constants anywhere in an expression (not inside a call's
    arguments: ``f(1e-3)`` is an input to f)."""
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, float) and node.value != 0.0 else []
    if isinstance(node, ast.Call):
        return []
    return [c for child in ast.iter_child_nodes(node) for c in _float_literals(child)]


def _has_difference(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) for n in ast.walk(node))


def _one_plus_literal(node: ast.AST) -> list[ast.Constant]:
    """``1 + c`` / ``1 - c`` with a float literal c: a relative tolerance written out."""
    out = []
    for n in ast.walk(node):
        if (isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub))
                and isinstance(n.left, ast.Constant) and n.left.value == 1):
            out += _float_literals(n.right)
    return out


def literal_tolerances(source: str) -> list[tuple[int, str]]:
    """(line, what) for every literal tolerance in a test module's source."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in TOLERANCE_KEYWORDS:
                    found += [(c.lineno, f"{kw.arg}={c.value!r}") for c in _float_literals(kw.value)]
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "assert_array_less" and len(node.args) == 2:
                found += [(c.lineno, f"assert_array_less(..., {c.value!r})") for c in _float_literals(node.args[1])]
        if not isinstance(node, ast.Assert):
            continue
        for cmp in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            sides = [cmp.left, *cmp.comparators]
            for i, op in enumerate(cmp.ops):
                small, big = (sides[i], sides[i + 1]) if isinstance(op, LESS) else (sides[i + 1], sides[i])
                if isinstance(op, (*LESS, *GREATER)) and _has_difference(small):
                    truths = {c.value for c in ast.walk(small) if isinstance(c, ast.Constant)}  # abs(x - 3.0)
                    found += [(c.lineno, f"difference compared with {c.value!r}") for c in _float_literals(big)
                              if c.value not in truths]
            found += [(c.lineno, f"1 +/- {c.value!r}") for c in _one_plus_literal(cmp)]
    return sorted(set(found))


@pytest.mark.parametrize("snippet, expected", [
    ("assert x == pytest.approx(y, rel=1e-9)", 1),
    ("np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * s)", 2),
    ("assert abs(r.value - t) <= 1e-8 * t", 1),
    ("assert a - b < 1e-12", 1),
    ("assert 1e-12 > a - b", 1),
    ("assert r.lower <= t * (1 + 1e-12)", 1),
    ("np.testing.assert_array_less(err, 1e-9)", 1),
    ("r = spectral_norm(A, tol=1e-6)", 0),  # an input
    ("assert abs(r.value - t) <= tol * t", 0),  # the tol asked for, by name
    ("assert abs(x - 3.0) <= rtol * 3.0", 0),  # 3.0 is the value compared with
    ("assert abs(x - 3.0) <= 1e-9 * 3.0", 1),
    ("assert r.value <= t * (1 + tol.scalar_rtol())", 0),
    ("assert peak > 1e300", 0),  # a range, not a difference
    ("assert r.normalized_upper >= 1.0", 0),
    ("np.testing.assert_allclose(a, b, rtol=0, atol=0.0)", 0),  # exact
    ("assert abs(spectral_norm(A - B, tol=1e-6).value) <= t", 0),  # the literal is an input to the call
    ("while time.perf_counter() - t0 < 0.02:\n    pass", 0),  # not an assertion
])
def test_the_scan_finds_literal_tolerances_and_nothing_else(snippet, expected):
    assert len(literal_tolerances(snippet)) == expected, (snippet, literal_tolerances(snippet))


def test_no_literal_tolerance_in_a_test_body():
    offenders = [f"{path.relative_to(REPO)}:{line}: {what}"
                 for path in _test_files() for line, what in literal_tolerances(path.read_text())]
    assert not offenders, ("literal tolerances (use properties/tolerances.py, or name the tol asked for):\n"
                           + "\n".join(offenders))
