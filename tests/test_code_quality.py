"""The code stays lint clean and type clean: ruff and mypy (strict) run as tests."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "pipeline", "tests", "tests_realmodel", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_finds_nothing() -> None:
    result = subprocess.run(
        [str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the quick loop stays honest ----------------------------------------------------------
# `pytest -m "not slow"` leaves out the tests marked slow, so every test that starts a process
# or a browser must carry the mark. A test starts one when it (or a fixture it asks for, or a
# function or class it uses, here or in a helper module, at any depth) uses one of these.
PROCESS_MODULES = frozenset(
    {"subprocess", "multiprocessing", "selenium", "browser", "preview_browser", "newsletter_cli"}
)
PROCESS_CALLS = re.compile(
    r"os\.(system|popen|fork\w*|exec\w*|spawn\w*|posix_spawn\w*)"
    r"|asyncio\.create_subprocess_\w+"
)
# Processes that are neither our program nor a browser, quick, started by these alone.
NOT_OURS = {
    "conftest.py::certificate": "openssl writes a throwaway TLS certificate, once a session",
    "test_code_quality.py::test_ruff_finds_nothing": "ruff lints the tree in well under a second",
    "pgserver.py::start": "PostgreSQL for the store tests, once a session, in about a second",
    "pgserver.py::PgServer": "pg_ctl stops that server, once a session",
}


def _is_slow(marks: list[ast.expr]) -> bool:
    return any("mark.slow" in ast.unparse(m) for m in marks)


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` for a chain of attributes on a name ('' for anything else)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


class _Module:
    """One test or helper module: what it imports, its top-level definitions and their uses."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        tree = ast.parse(source)
        self.imports: dict[str, tuple[str, str]] = {}  # bound name -> (module, name or '')
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = (a.name.split(".")[0], "")
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    self.imports[a.asname or a.name] = (node.module.split(".")[0], a.name)
        self.defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = {}
        self.fixtures: set[str] = set()
        self.autouse: set[str] = set()
        self.module_marks: list[ast.expr] = []
        self.top_level_uses: list[ast.AST] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defs[node.name] = node
                for d in getattr(node, "decorator_list", []):
                    text = ast.unparse(d)
                    if "fixture" in text:
                        self.fixtures.add(node.name)
                        if "autouse=True" in text:
                            self.autouse.add(node.name)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
            ):
                self.module_marks.append(node.value)
            elif not isinstance(node, ast.Import | ast.ImportFrom):
                self.top_level_uses.append(node)
        self.def_uses = {name: _uses(node) for name, node in self.defs.items()}
        self.import_time_uses = set().union(*map(_uses, self.top_level_uses))


def _uses(node: ast.AST) -> set[str]:
    """Names and dotted names the node reads, and the fixtures a function asks for."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute) and (dotted := _dotted(sub)):
            found.add(dotted)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
            found.update(a.arg for a in sub.args.args + sub.args.kwonlyargs)
    return found


def _tests(module: _Module) -> list[tuple[str, ast.AST, list[ast.expr]]]:
    """(id, node, marks) of each test in the module: functions and methods of Test classes."""
    found = []
    for name, node in module.defs.items():
        marks = [*module.module_marks, *node.decorator_list]
        if isinstance(node, ast.ClassDef) and name.startswith("Test"):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and sub.name.startswith("test"):
                    found.append((f"{name}::{sub.name}", sub, [*marks, *sub.decorator_list]))
        elif not isinstance(node, ast.ClassDef) and name.startswith("test"):
            found.append((name, node, marks))
    return found


def unmarked_process_tests(sources: dict[str, str]) -> list[str]:
    """``file::test (via name)`` for each test that starts a process or a browser and is not
    marked slow; ``sources`` maps each file name in tests/ to its text."""
    modules = {Path(f).stem: _Module(Path(f).stem, text) for f, text in sources.items()}
    conftest = modules.get("conftest")
    starters: dict[str, dict[str, str]] = {m: {} for m in modules}  # module -> def -> via

    def via(module: _Module, uses: set[str], owner: str = "") -> str:
        """The first of ``uses`` that starts a process ('' when none does)."""
        if f"{module.name}.py::{owner}" in NOT_OURS:
            return ""
        for name in sorted(uses):
            root, _, attr = name.partition(".")
            if PROCESS_CALLS.fullmatch(name):
                return name
            if root in module.imports:
                source, imported = module.imports[root]
                target = imported or attr.split(".")[0]
                if source in PROCESS_MODULES or target in starters.get(source, {}):
                    return name
            elif name in module.defs:  # a module's own fixture overrides conftest's
                if name != owner and name in starters[module.name]:
                    return name
            elif conftest and name in conftest.fixtures and name in starters["conftest"]:
                return name
        return ""

    changed = True
    while changed:  # until no definition is newly found to start a process
        changed = False
        for module in modules.values():
            for name, uses in module.def_uses.items():
                if name not in starters[module.name] and (why := via(module, uses, name)):
                    starters[module.name][name] = why
                    changed = True
    problems = []
    for file, module in sorted((f, modules[Path(f).stem]) for f in sources):
        if not Path(file).name.startswith("test_"):
            continue
        # fixtures every test gets, and code run at import, count for every test
        everyone = [f for f in sorted(module.autouse) if f in starters[module.name]]
        if conftest:
            everyone += [f for f in sorted(conftest.autouse) if f in starters["conftest"]]
        everyone.append(via(module, module.import_time_uses))
        for test, node, marks in _tests(module):
            why = via(module, module.def_uses.get(test) or _uses(node), test)
            why = why or next((w for w in everyone if w), "")
            if why and not _is_slow(marks):
                problems.append(f"{Path(file).name}::{test} (via {why})")
    return problems


def test_every_test_that_starts_a_process_or_a_browser_is_marked_slow() -> None:
    sources = {p.name: p.read_text("utf-8") for p in sorted((ROOT / "tests").glob("*.py"))}
    assert unmarked_process_tests(sources) == [], (
        'mark these @pytest.mark.slow (or the module with pytestmark) so `-m "not slow"` '
        "stays the quick loop"
    )


def test_the_slow_check_follows_helpers_and_fixtures_and_honours_the_mark() -> None:
    helper = "import subprocess\n\ndef start():\n    subprocess.run(['newsletter'])\n"
    tests = (
        "import pytest\nfrom helper import start\n\n"
        "@pytest.fixture\ndef proc():\n    start()\n\n"
        "def test_direct():\n    start()\n\n"
        "def test_by_fixture(proc):\n    pass\n\n"
        "@pytest.mark.slow\ndef test_marked(proc):\n    pass\n\n"
        "def test_quick():\n    assert 1\n"
    )
    found = unmarked_process_tests({"helper.py": helper, "test_x.py": tests})
    assert found == ["test_x.py::test_direct (via start)", "test_x.py::test_by_fixture (via proc)"]
    marked = "import pytest\n\npytestmark = pytest.mark.slow\n" + tests
    assert unmarked_process_tests({"helper.py": helper, "test_x.py": marked}) == []
