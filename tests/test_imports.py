"""No import cycle inside lipbench, counting imports inside functions too:
every ``import``/``from ... import`` of a lipbench module, read from the
source, is an edge; a strongly connected component of more than one module is
a cycle, named with its modules."""

from __future__ import annotations

import ast
import pathlib

import lipbench

ROOT = pathlib.Path(lipbench.__file__).parent


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _targets(module: str, is_package: bool, node: ast.AST, known: set[str]) -> set[str]:
    """The lipbench modules one import statement loads (a name imported from a
    package counts as its submodule when there is one, else as the package)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source not in known:
        return set()
    return {f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names}


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in ast.walk(tree):  # module level and inside functions alike
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _targets(name, path.name == "__init__.py", node, known)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert graph == [["a", "b", "c"]]
    g = import_graph()
    assert "lipbench.spectral.driver" in g["lipbench.spectral"]
    assert "lipbench.spectral._validate" in g["lipbench.spectral.driver"]


def test_lipbench_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_a_method_name_finds_its_module():
    """The table of ``lipbench.spectral``'s docstring names, for every method
    of ``METHODS``, the module that defines the method's function."""
    import re

    doc = lipbench.spectral.__doc__
    for name, info in lipbench.METHODS.items():
        row = next((line for line in doc.splitlines() if line.startswith(f"``{name}``")), None)
        assert row is not None, f"method {name!r} is missing from the table in lipbench.spectral's docstring"
        module = "lipbench.spectral." + re.search(r":mod:`\.(\w+)`", row).group(1)
        assert info.function.__module__ == module, (name, info.function.__module__, module)
