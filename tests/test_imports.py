"""The package's import graph has no circles: every ``import`` statement counts, at module level
or inside a function (a lazy import that closes a circle is still a circle, it only fails
later). Modules are files under ``analyzer/``; an import of ``analyzer.x.y`` counts as an edge
to the module ``analyzer.x.y`` (or to the package ``analyzer.x`` when ``y`` is a name in it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "analyzer"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The module (or package) that ``target`` names, walking up to the nearest known one."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            if not t.startswith("analyzer"):
                continue
            m = _resolve(t, modules)
            # A package's __init__ importing its own submodules is not a circle of ideas.
            if m is not None and m != name and not name.startswith(m + "."):
                out.add(m)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {n: _edges(n, p, modules) for n, p in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_circles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_circle_finder_finds_circles(graph, expected) -> None:
    assert find_cycles(graph) == expected


def test_every_registered_index_kind_resolves_to_its_class() -> None:
    from analyzer.search.vector_index import INDEX_KINDS, VectorIndex, index_class

    for kind in INDEX_KINDS:
        cls = index_class(kind)
        assert issubclass(cls, VectorIndex) and cls.kind == kind


def test_every_registered_pool_kind_resolves() -> None:
    import importlib

    from analyzer.audit.pools import POOL_KINDS

    for path in POOL_KINDS.values():
        module, _, name = path.partition(":")
        if module.startswith("analyzer.scale"):
            pytest.importorskip("ray")
        assert callable(getattr(importlib.import_module(module), name))


# Each layer may import only the layers before it (README "Architecture"); the contracts
# (codes, errors, results, config) and io are below all of them.
LAYERS = ["analyzer.vision", "analyzer.quality", "analyzer.engine", "analyzer.embed",
          "analyzer.fix", "analyzer.search", "analyzer.report", "analyzer.audit",
          "analyzer.scale", "analyzer.cli", "analyzer.ui"]


def _layer(module: str) -> int | None:
    for i, name in enumerate(LAYERS):
        if module == name or module.startswith(name + "."):
            return i
    return None


def test_layers_import_only_the_layers_below_them() -> None:
    wrong = []
    for module, deps in import_graph().items():
        lm = _layer(module)
        for d in deps:
            ld = _layer(d)
            if lm is not None and ld is not None and ld > lm:
                wrong.append(f"{module} -> {d}")
    assert not wrong, "imports from a higher layer: " + "; ".join(sorted(wrong))
