"""The package's import graph has no cycle but the ones named here, each with why (docs/architecture.md).

Every import counts, also one inside a function (deliberately late, it still ties the two modules),
except those under `if TYPE_CHECKING:` (for the type checker only). A new cycle fails this test:
break it, or name it in ALLOWED with the reason."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "openaudit"

# Each cycle as the sorted modules it passes through, with why it is allowed.
ALLOWED: dict[tuple[str, ...], str] = {
    ("openaudit.census", "openaudit.census.driver"):
        "the package re-exports run_census; the driver imports its sibling modules through it, late",
    ("openaudit.report", "openaudit.subjects"):
        "Report streams its packed subjects (subjects.py, imported late); subjects packs Report's Subject",
}
# Any cycle inside the evidence package: evidence/__init__ defines EvidenceContext, which each extractor
# imports, and imports the extractors late, to run them (review §8.6: evidence/context.py would end it).
ALLOWED_WITHIN = ("openaudit.evidence",)


def allowed(cycle: tuple[str, ...]) -> bool:
    return cycle in ALLOWED or any(all(m == p or m.startswith(p + ".") for m in cycle) for p in ALLOWED_WITHIN)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports, at its top or in a function (not for the type checker only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:
                        out.add(f"{base}.{alias.name}")  # `from openaudit import api`: the module api
                    elif base in modules:
                        out.add(base)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit([n for n in inner if isinstance(n, ast.stmt | ast.ExceptHandler)])  # type: ignore[misc]

    visit(tree.body)
    out.discard(here)
    return out


def import_graph() -> dict[str, set[str]]:
    files = [p for p in PKG.rglob("*.py") if "_snapshots" not in p.parts]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[tuple[str, ...]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
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
                out.append(tuple(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out)


def test_the_import_graph_has_no_cycle_but_the_named_ones() -> None:
    found = cycles(import_graph())
    assert [c for c in found if not allowed(c)] == [], "a new import cycle (see docs/architecture.md)"


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b", "c")]


def test_the_layers_point_down() -> None:
    """No renderer runs an audit or imports the CLI; the pure audit and the sources know no orchestration."""
    graph = import_graph()
    for mod, deps in graph.items():
        if mod.startswith("openaudit.render"):
            assert not deps & {"openaudit.cli", "openaudit.api", "openaudit.publish"}, mod
            assert not any(d.startswith("openaudit.run") for d in deps), mod
        if mod.startswith(("openaudit.sources", "openaudit.evidence")) or mod == "openaudit.audit":
            assert not any(d.startswith("openaudit.run") or d in ("openaudit.api", "openaudit.cli") for d in deps), mod
    assert "openaudit.cli" not in graph["openaudit.publish"]
