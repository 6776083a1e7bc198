"""The core's modules import each other without cycles: each can be read, tested and
replaced on its own, and importing one never half-imports another. Not even through the
imports made only for the type checker (under ``TYPE_CHECKING``): those do not run, but a
cycle through them still means two modules that cannot be understood apart. The layer
contracts in pyproject.toml (``lint-imports``) keep the direction of the rest.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import one another, directly or round about (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def _described(graph: grimp.ImportGraph, group: list[str]) -> str:
    first, second = group[0], next(m for m in group[1:])
    there = graph.find_shortest_chain(importer=first, imported=second) or ()
    back = graph.find_shortest_chain(importer=second, imported=first) or ()
    return f"{len(group)} modules: {' -> '.join(there)} -> ... {' -> '.join(back[1:])}"


def _with_parents(graph: grimp.ImportGraph) -> grimp.ImportGraph:
    """Importing ``a.b.c`` runs ``a/b/__init__.py`` first: count it as importing ``a.b``."""
    for importer in list(graph.modules):
        for imported in list(graph.find_modules_directly_imported_by(importer)):
            parent = imported.rpartition(".")[0]
            while parent and parent in graph.modules and not importer.startswith(parent + "."):
                graph.add_import(importer=importer, imported=parent)
                parent = parent.rpartition(".")[0]
    return graph


def test_the_core_has_no_import_cycle() -> None:
    graph = _with_parents(
        grimp.build_graph("floki_core", exclude_type_checking_imports=True, cache_dir=None)
    )
    assert len(graph.modules) > 100  # the whole core was read
    cycles = _cycles(graph)
    assert cycles == [], "\n".join(_described(graph, group) for group in cycles)


def test_the_core_has_no_import_cycle_through_type_annotations_either() -> None:
    graph = _with_parents(
        grimp.build_graph("floki_core", exclude_type_checking_imports=False, cache_dir=None)
    )
    cycles = _cycles(graph)
    assert cycles == [], "\n".join(_described(graph, group) for group in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert "pkg.a -> pkg.b" in _described(graph, ["pkg.a", "pkg.b", "pkg.c"])
