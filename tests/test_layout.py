"""Tests mirror modules: every module of ``lipbench/spectral`` (``lanczos/``
included), ``lipbench/lipschitz`` and ``lipbench/report`` has a test file
named after it.

The rule (docs/architecture.md): ``lipbench/<package>/<sub>/<name>.py`` is
tested in ``tests/<package>/<sub>/test_<name>.py``, a private module's
leading underscore dropped (``spectral/_scaling.py`` ->
``tests/spectral/test_scaling.py``).  A module without one must be in
:data:`ALLOW`, with the file that covers it and why; that file must exist and
name the module, so the list cannot go stale silently.
"""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("spectral", "lipschitz", "report")

#: module (path under lipbench/, no suffix) -> (the test file that covers it, why it has none of its own)
ALLOW: dict[str, tuple[str, str]] = {
    # -- package faces: re-exports (and, for lanczos, the dispatch to a route), tested through what they export
    "spectral/__init__": ("tests/test_imports.py", "re-exports; the public names are checked there"),
    "spectral/lanczos/__init__": ("tests/spectral/lanczos/test_plan.py",
                                  "lanczos() only picks a route from the plan; each route's file tests it"),
    "lipschitz/__init__": ("tests/lipschitz/test_layers.py", "re-exports"),
    "report/__init__": ("tests/report/test_render.py", "re-exports; write_report is render's"),
    "report/__main__": ("tests/report/test_cli.py", "`python -m lipbench.report` is report.cli.main"),
}


def _modules() -> list[str]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((REPO / "lipbench" / pkg).rglob("*.py")):
            out.append(path.relative_to(REPO / "lipbench").with_suffix("").as_posix())
    return out


def test_file_for(module: str) -> pathlib.Path:
    """``spectral/lanczos/_tools`` -> ``tests/spectral/lanczos/test_tools.py``."""
    *folders, name = module.split("/")
    return REPO.joinpath("tests", *folders, f"test_{name.lstrip('_')}.py")


test_file_for.__test__ = False  # a helper named like a test


@pytest.mark.parametrize("module", _modules())
def test_every_module_has_a_test_file_named_after_it(module):
    own = test_file_for(module)
    if module not in ALLOW:
        assert own.is_file(), (f"lipbench/{module}.py has no test file: add {own.relative_to(REPO)}, "
                               "or an entry in ALLOW naming the file that covers it and why")
        return
    assert not own.is_file(), f"lipbench/{module}.py now has {own.relative_to(REPO)}: drop it from ALLOW"
    covering, why = ALLOW[module]
    assert why.strip(), f"ALLOW[{module!r}] gives no reason"
    text = (REPO / covering).read_text() if (REPO / covering).is_file() else ""
    dotted = "lipbench." + module.replace("/", ".").removesuffix(".__init__").removesuffix(".__main__")
    names = {dotted, dotted.rsplit(".", 1)[-1], *getattr(importlib.import_module(dotted), "__all__", ())}
    named = [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}\b", text)]
    assert text and named, (f"ALLOW[{module!r}] names {covering}, which does not exist or names neither "
                            f"{dotted} nor anything it exports")


def test_allow_list_names_only_modules_that_exist():
    stale = sorted(set(ALLOW) - set(_modules()))
    assert not stale, f"ALLOW lists modules that no longer exist: {stale}"
