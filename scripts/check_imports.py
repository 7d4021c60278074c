"""Import-graph check for the ``selene_eval`` package (run by CI before the tests).

Every import inside ``selene_eval`` counts, wherever it is written: at module level, inside a function (a
"lazy" import still ties the two modules together) and under ``TYPE_CHECKING``. The check fails when

* two or more modules import each other, directly or through others (a cycle), or
* a module imports one from a later stage of the pipeline (see ``LAYERS``): imports point downwards only.

Usage::

    python scripts/check_imports.py            # check; exit status 1 with the offending imports
    python scripts/check_imports.py --graph    # also print the graph, one module per line
    python scripts/check_imports.py --stages   # also print which stage imports which (docs/ARCHITECTURE.md)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "selene_eval"
ROOT = Path(__file__).resolve().parent.parent

# The pipeline, bottom first. A module belongs to the entry with the longest prefix of its name; it may import
# modules of its own stage and of earlier ones only. `selene_eval.__main__` sits on top; the package's own
# `__init__` (`selene_eval`) may be imported by anyone.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("selene_eval.errors", "selene_eval.core"),  # the vocabulary every stage shares
    ("selene_eval.stats",),  # pure statistics on arrays and tables
    ("selene_eval.data",),  # files in: readers, column mapping, validation
    ("selene_eval.prompts",),  # prompt variants, rendering, parsing the judge's answers
    ("selene_eval.study",),  # a study on disk: spec, items, judgments, run lock, archive
    ("selene_eval.adapters",),  # public expert-labelled datasets, one step from a study
    ("selene_eval.judge",),  # the judge backends (transformers, OpenAI-compatible, scripted, demo)
    ("selene_eval.run",),  # running a judge over a study
    ("selene_eval.results",),  # the coded judgment table a study's results are read from
    ("selene_eval.presentation",),  # report, judge comparison, frames, charts, HTML and table exports
    ("selene_eval.recipes",),  # the Selene paper's evaluations, end to end
    ("selene_eval.cli",),  # the command line
    ("selene_eval.ui",),  # the dashboard's Streamlit layer (the CLI never imports it)
    ("selene_eval.testing",),  # test-only builders; the product never imports them
    ("selene_eval.__main__",),
)


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int


def module_name(path: Path) -> str:
    """The dotted module name of a file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` refers to: itself, or the nearest enclosing module that exists."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def edges_of(source: str, path: Path, modules: dict[str, Path]) -> Iterable[Edge]:
    """The package-internal imports written in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    target = _resolve(alias.name, modules)
                    if target:
                        yield Edge(source, target, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = source.split(".")
                if not is_package:
                    base_parts = base_parts[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                # `from pkg import submodule` imports the submodule; `from pkg import name` the module.
                target = _resolve(f"{base}.{alias.name}", modules) if f"{base}.{alias.name}" in modules else None
                target = target or _resolve(base, modules)
                if target:
                    yield Edge(source, target, node.lineno)


def import_graph() -> dict[str, list[Edge]]:
    """Every module with the package-internal imports it writes (self-imports and imports of its own
    parent package's ``__init__`` by the ``__init__`` itself left out)."""
    modules = all_modules()
    graph: dict[str, list[Edge]] = {}
    for name, path in modules.items():
        seen: dict[str, Edge] = {}
        for edge in edges_of(name, path, modules):
            if edge.target != name and edge.target not in seen:
                seen[edge.target] = edge
        graph[name] = sorted(seen.values(), key=lambda e: e.target)
    return graph


def cycles(graph: dict[str, list[Edge]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = [e.target for e in graph.get(node, [])]
            if i < len(targets):
                work.append((node, i + 1))
                child = targets[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def layer_of(module: str) -> int:
    """The pipeline stage of a module (its index in ``LAYERS``)."""
    if module == PACKAGE:
        return 0
    best = -1
    best_len = -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def upward_imports(graph: dict[str, list[Edge]]) -> list[Edge]:
    """Imports from a module to one of a later pipeline stage."""
    bad = []
    for source, edges in graph.items():
        for edge in edges:
            if layer_of(edge.target) > layer_of(source):
                bad.append(edge)
    return bad


def unplaced(graph: dict[str, list[Edge]]) -> list[str]:
    """Modules that belong to no stage of ``LAYERS``."""
    return [m for m in graph if layer_of(m) < 0]


def stage_graph(graph: dict[str, list[Edge]]) -> dict[str, list[str]]:
    """Which stage imports which: the graph folded onto ``LAYERS`` (a stage's own imports left out)."""
    names = [" / ".join(p.removeprefix(PACKAGE + ".") for p in prefixes) for prefixes in LAYERS]
    folded: dict[str, set[int]] = {name: set() for name in names}
    for source, edges in graph.items():
        for edge in edges:
            a, b = layer_of(source), layer_of(edge.target)
            if a != b and a >= 0 and b >= 0 and edge.target != PACKAGE:
                folded[names[a]].add(b)
    return {name: [names[i] for i in sorted(targets)] for name, targets in folded.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="print the import graph")
    parser.add_argument("--stages", action="store_true", help="print which stage imports which")
    parser.add_argument("--no-layers", action="store_true", help="check for cycles only")
    args = parser.parse_args(argv)
    graph = import_graph()
    if args.graph:
        for module, edges in graph.items():
            short = ", ".join(e.target.removeprefix(PACKAGE + ".") for e in edges)
            print(f"{module.removeprefix(PACKAGE + '.') or PACKAGE} -> {short or '-'}")
    if args.stages:
        for stage, targets in stage_graph(graph).items():
            print(f"{stage:<16} -> {', '.join(targets) or '-'}")
    problems = 0
    for component in cycles(graph):
        problems += 1
        members = set(component)
        print(f"import cycle: {' <-> '.join(component)}", file=sys.stderr)
        for m in component:
            for e in graph[m]:
                if e.target in members:
                    print(f"  {m} imports {e.target} (line {e.line})", file=sys.stderr)
    if not args.no_layers:
        for m in unplaced(graph):
            problems += 1
            print(f"{m} belongs to no stage of LAYERS in {Path(__file__).name}", file=sys.stderr)
        for e in upward_imports(graph):
            problems += 1
            print(f"upward import: {e.source} (line {e.line}) imports {e.target}, a later stage", file=sys.stderr)
    if problems:
        print(f"{problems} import problem(s) in {PACKAGE}", file=sys.stderr)
        return 1
    print(f"{len(graph)} modules, no import cycle" + ("" if args.no_layers else ", every import points down"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
