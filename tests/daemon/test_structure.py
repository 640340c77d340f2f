"""The shape of the tree, checked: the data path in -> durable tables -> engines ->
providers -> out must stay readable from the folder names.

`python -m pytest tests/daemon/test_structure.py` is the check. It reads the import
statements of every module (including those under TYPE_CHECKING, which are
dependencies for a reader too) and fails on a cycle between the daemon's packages,
on a provider named in the web layer, and on the console reaching into the daemon.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from patchbayd.providers.registry import SPECS

ROOT = Path(__file__).resolve().parents[2]
DAEMON = ROOT / "daemon" / "patchbayd"
CONSOLE = ROOT / "console" / "patchbay"


def module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, base: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    name = module_name(path, base)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def unit(module: str) -> str | None:
    """The daemon's unit a module belongs to: its top-level package or module."""
    parts = module.split(".")
    if parts[0] != "patchbayd" or len(parts) < 2:
        return None
    top = parts[1]
    return top if (DAEMON / top).is_dir() or (DAEMON / f"{top}.py").exists() else None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in DAEMON.rglob("*.py"):
        source = unit(module_name(path, DAEMON))
        if source is None:  # patchbayd/__init__.py: the version, nothing else
            continue
        for target in imports(path, DAEMON):
            other = unit(target)
            if other is not None and other != source:
                graph[source].add(other)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one unit (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
    ids=["chain", "pair", "triangle"],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(graph) == expected


def test_no_cycle_between_the_daemons_packages() -> None:
    graph = package_graph()
    assert "engine" in graph and "providers" in graph["engine"]  # the graph is really read
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("providers", "engine"),
        ("providers", "stores"),
        ("providers", "intake"),
        ("intake", "engine"),
        ("intake", "stores"),
        ("db", "engine"),
        ("engine", "web"),
        ("stores", "engine"),
        ("web", "service"),
    ],
)
def test_layers_point_one_way(lower: str, higher: str) -> None:
    assert higher not in package_graph().get(lower, set())


def test_no_module_in_web_names_a_provider() -> None:
    names = [name for name in SPECS if name != "webhook"]  # Shopify's webhooks are a store's
    offenders = [
        f"{path.name}: {name}"
        for path in sorted((DAEMON / "web").glob("*.py"))
        for name in names
        if name in path.read_text().lower()
    ]
    offenders += [
        f"{path.name}: imports {target}"
        for path in sorted((DAEMON / "web").glob("*.py"))
        for target in imports(path, DAEMON)
        if target.startswith("patchbayd.providers.") and target.split(".")[2] in SPECS
    ]
    assert offenders == []
