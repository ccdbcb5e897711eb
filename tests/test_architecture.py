"""The layout holds: the core never imports the app's UI libraries, and no module imports itself back."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bertlens", "components", "services", "devtools", "app_pages")


def modules(package: str) -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in (ROOT / package).rglob("*.py"))


def test_importing_every_core_module_loads_neither_streamlit_nor_plotly():
    names = [m for m in modules("bertlens") if not m.endswith("__main__")]
    assert len(names) > 10
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules that `name` (at `path`) imports, at any depth in the file, resolved to known modules."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                package = name.split(".")[: -node.level] if not path.name == "__init__.py" else name.split(".")
                base = ".".join([*package, node.module])
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            paths[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    known = set(paths)
    return {name: imports_of(path, name, known) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    graph = import_graph()
    assert "bertlens.fill_mask" in graph and graph["bertlens.fill_mask"]
    assert find_cycle(graph) is None


LAZY_DEV_TOOLS = {"bertlens.cli.bench"}  # `python -m bertlens bench` loads devtools.bench when it runs


def test_core_does_not_import_the_app_or_the_dev_tools():
    graph = import_graph()
    for name, targets in graph.items():
        if name.split(".")[0] != "bertlens":
            continue
        outside = {t.split(".")[0] for t in targets} & {"components", "services", "app_pages", "devtools"}
        assert outside <= ({"devtools"} if name in LAZY_DEV_TOOLS else set()), (name, outside)
