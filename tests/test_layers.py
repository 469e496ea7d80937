"""The layers of ``src/thuocdo`` run one way: no module imports a higher layer, and no import cycle exists.

The same contract as the import-linter configuration (``.importlinter``), readable in one file. Every import
counts, those inside functions and under ``TYPE_CHECKING`` too: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "thuocdo"

#: highest first; packages on one line are independent of each other
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("demo",),
    ("web",),
    ("workflows",),
    ("reports", "indices"),
    ("ingest",),
    ("metrics",),
    ("rollups",),
    ("engines",),
    ("store",),
    ("catalog",),
    ("model",),
)
LEVEL = {package: i for i, line in enumerate(LAYERS) for package in line}


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The thuocdo modules `name` imports, with the line of each import."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for imported in targets:
            target = imported
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name and target.startswith("thuocdo"):
                yield target, node.lineno


def graph() -> dict[str, dict[str, int]]:
    known = modules()
    return {name: dict(imports(name, path, known)) for name, path in known.items()}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LEVEL else None


def upward_imports(edges: dict[str, dict[str, int]]) -> list[str]:
    wrong = []
    for source, targets in edges.items():
        mine = layer(source)
        for target, line in targets.items():
            theirs = layer(target)
            if mine is None or theirs is None or mine == theirs:
                continue
            if LEVEL[theirs] <= LEVEL[mine]:  # a higher layer, or a sibling that must stay independent
                wrong.append(f"{source} (line {line}) imports {target}: {mine} may not import {theirs}")
    return sorted(wrong)


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LEVEL)
    assert {p.name for p in SRC.glob("*.py")} == {"__init__.py", "__main__.py"}  # no module outside the layers


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports(graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_checks_can_fail() -> None:
    """The two checks find what they are meant to find, on a made-up graph."""
    edges = {"thuocdo.store.a": {"thuocdo.ingest.b": 3}, "thuocdo.ingest.b": {"thuocdo.store.a": 1},
             "thuocdo.reports.c": {"thuocdo.indices.d": 7}, "thuocdo.cli.e": {"thuocdo.model.f": 1}}
    assert upward_imports(edges) == [
        "thuocdo.reports.c (line 7) imports thuocdo.indices.d: reports may not import indices",
        "thuocdo.store.a (line 3) imports thuocdo.ingest.b: store may not import ingest",
    ]
    assert cycles(edges) == [["thuocdo.ingest.b", "thuocdo.store.a"]]


def test_the_graph_sees_imports_inside_functions() -> None:
    edges = graph()
    assert "thuocdo.demo.run" in edges["thuocdo.cli.demo"]  # imported inside `demo`, only when asked for
    assert "thuocdo.web.app" in edges["thuocdo.cli.web"]  # inside `serve`
