"""The import graph of ``pipeline``: no cycles, and every import points down the layers.

The graph is read from the source with ``ast``, imports inside functions included: a
late import that dodges a cycle at start-up is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "pipeline"

# Top-level modules and packages, bottom first. A module imports only from tiers below
# its own; modules of one tier do not import each other.
TIERS: tuple[frozenset[str], ...] = tuple(
    frozenset(t.split())
    for t in (
        "errors",
        # "pipeline": the package's __init__
        "pipeline models safe_yaml ids httpclient scaffold words _sql",
        "config outbox report codec",
        "store lock draft deployment",  # deployment: several configs, read together
        "sections",
        "edition",  # the edition's folder, files and status: no stage below it
        "alerts log",
        "cluster ingest render summarize",  # the stages
        "select archive tasks",  # tasks: where ingest and summarize run (Celery)
        "build",  # the orchestrator
        "desk send fleet",  # the editor's actions, the last stage, several newsletters at once
        "schedule preview lists",  # lists: a list provider's delivery for send
        "cli",
    )
)


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """The ``pipeline`` modules ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "pipeline":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "pipeline":
                continue
            for alias in node.names:  # `from . import desk` imports the module pipeline.desk
                sub = f"{target}.{alias.name}"
                yield (sub if sub in MODULES else target), node.lineno


@cache
def _graph() -> dict[str, dict[str, int]]:
    """Module -> {imported module: line of the first such import} (read once; not to be
    changed by a test)."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges = graph.setdefault(name, {})
        for target, line in _imports(name, path):
            if target != name:
                edges.setdefault(target, line)
    return graph


def _top(name: str) -> str:
    """The top-level module or package a module belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as a path (first node repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def _tier(top: str) -> int:
    return next(n for n, tier in enumerate(TIERS) if top in tier)


def test_the_graph_sees_imports_inside_functions() -> None:
    # cli imports the scheduler inside its command, on purpose (start-up time); the
    # graph must see it, or it would miss any late import that hides a cycle
    graph = _graph()
    assert "pipeline.schedule" in graph["pipeline.cli"]
    assert "pipeline.desk" in graph["pipeline.preview._state"]  # a relative `from ..desk`


def test_every_module_has_a_tier() -> None:
    tops = {_top(name) for name in MODULES}
    placed = set().union(*TIERS)
    assert tops <= placed, f"put these in TIERS: {sorted(tops - placed)}"
    assert not placed - tops, f"TIERS names modules that are gone: {sorted(placed - tops)}"


def test_no_import_cycle_between_modules() -> None:
    graph = {name: set(edges) for name, edges in _graph().items()}
    cycle = _cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycle_between_packages() -> None:
    tops: dict[str, set[str]] = {}
    for name, edges in _graph().items():
        tops.setdefault(_top(name), set()).update(_top(t) for t in edges if _top(t) != _top(name))
    cycle = _cycle(tops)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_every_import_points_down_the_layers() -> None:
    upward = []
    for name, edges in _graph().items():
        for target, line in edges.items():
            src, dst = _top(name), _top(target)
            if src != dst and _tier(dst) >= _tier(src):
                where = MODULES[name].relative_to(ROOT.parent)
                upward.append(f"{where}:{line}: {src} (tier {_tier(src)}) imports {dst}")
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def test_the_core_imports_no_stage() -> None:
    # spelled out, so the rule survives a reshuffle of TIERS: the edition and what it
    # stands on know nothing of how an issue is made, sent or shown
    core = {"errors", "models", "config", "store", "ids", "edition", "report", "sections"}
    core |= {"draft", "outbox", "lock", "safe_yaml"}
    above = set().union(*TIERS[_tier("alerts") :])
    for name, edges in _graph().items():
        if _top(name) in core:
            assert not {_top(t) for t in edges} & above, name
    # the last stage sends; it does not build, edit or show
    send = {_top(t) for t in _graph()["pipeline.send"]}
    assert not send & {"build", "desk", "preview", "schedule", "cli"}, send


def test_a_late_import_from_desk_into_build_is_caught(tmp_path: Path) -> None:
    source = (ROOT / "build.py").read_text(encoding="utf-8")
    source += "\n\ndef _late() -> None:\n    from .desk import act  # noqa: F401\n"
    bad = tmp_path / "build.py"
    bad.write_text(source, encoding="utf-8")
    edges = {t for t, _ in _imports("pipeline.build", bad)}
    assert "pipeline.desk" in edges
    graph = {name: set(e) for name, e in _graph().items()}
    graph["pipeline.build"] |= edges
    assert _cycle(graph), "build -> desk -> build must read as a cycle"
    assert _tier("desk") >= _tier("build"), "and as an upward import"
