"""The layout holds, with no allow-list: the core never imports the app, its UI libraries or the dev tools; services
never import components; only `bertlens.forward` and `bertlens.interventions` reach into the model; the package
reads no file outside itself; no module imports itself back."""
from __future__ import annotations

import ast
import json
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


def test_core_does_not_import_the_app_or_the_dev_tools():
    graph = import_graph()
    for name, targets in graph.items():
        if name.split(".")[0] != "bertlens":
            continue
        outside = {t.split(".")[0] for t in targets} & {"components", "services", "app_pages", "devtools"}
        assert not outside, (name, outside)


OUTSIDE_THE_CORE = {"components", "services", "app_pages", "devtools", "app", "streamlit", "plotly"}
IMPORTERS = ("import_module", "__import__", "find_spec", "run_module", "find_module", "import_from_path")


def dynamic_imports(path: Path) -> set[str]:
    """Modules named by a constant in a call that imports or finds them at run time (`importlib.import_module`,
    `__import__`, `importlib.util.find_spec`, `runpy.run_module`), which the import graph does not see."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(IMPORTERS) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.add(node.args[0].value)
    return found


def test_the_core_does_not_reach_the_app_or_the_dev_tools_through_importlib_either():
    """`python -m bertlens bench` runs `python -m devtools.bench` as a program; the package never loads it."""
    found = {}
    for path in (ROOT / "bertlens").rglob("*.py"):
        named = {m for m in dynamic_imports(path) if m.split(".")[0] in OUTSIDE_THE_CORE}
        if named:
            found[path.relative_to(ROOT).as_posix()] = sorted(named)
    assert not found, found


def test_the_dynamic_import_finder_sees_planted_ones(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("import importlib, importlib.util\nimportlib.import_module('devtools.bench')\n"
                       "importlib.util.find_spec('devtools')\n__import__('services.jobs')\n"
                       "importlib.import_module(f'bertlens.{1}')\n", encoding="utf-8")
    assert dynamic_imports(planted) == {"devtools.bench", "devtools", "services.jobs"}


REGISTRATIONS = ("bertlens.metrics", "bertlens.explainers")
ROUTES = ("bertlens.metrics", "bertlens.explainers", "bertlens.kinds", "bertlens.cli")


def test_the_computation_never_imports_a_registration_module():
    """metrics/ and explainers/ only register: the computation they call lives in the core (bertlens/bias/,
    bertlens.explain, bertlens.mediation), which never reaches back into them. The registry finds them by
    `discover()`; the command line and the kinds of input may name them."""
    graph = import_graph()
    found = {name: sorted(t for t in targets if t.startswith(REGISTRATIONS))
             for name, targets in graph.items()
             if name.startswith("bertlens.") and not name.startswith(ROUTES)}
    assert "bertlens.bias.crows_metrics" in found
    assert not {name: targets for name, targets in found.items() if targets}


def test_services_never_import_components_or_pages():
    graph = import_graph()
    for name, targets in graph.items():
        if name.split(".")[0] == "services":
            assert not {t.split(".")[0] for t in targets} & {"components", "app_pages"}, (name, targets)


STREAMLIT_IN_SERVICES = {"cache_resource", "cache_data"}
"""The rule "services never draw" (issue 25, rule 5), checked exactly: in services/, the only attributes read on the
streamlit module (however it is imported or aliased) are these caching decorators, and the only names imported from
streamlit are its runtime's (the script-run context that names the session). So no button, markdown, write, text,
columns, container, progress, info, warning, error, caption, fragment, stop or rerun: drawing is in components/."""


def streamlit_uses(path: Path) -> list[str]:
    """'line: what' for every use of streamlit in `path` outside STREAMLIT_IN_SERVICES and streamlit.runtime."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "streamlit":
                    aliases.add(alias.asname or alias.name)
                elif alias.name.startswith("streamlit.") and not alias.name.startswith("streamlit.runtime"):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "streamlit":
            if not node.module.startswith("streamlit.runtime"):
                found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and node.attr not in STREAMLIT_IN_SERVICES:
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in aliases and not any(
                isinstance(parent, ast.Attribute) and parent.value is node for parent in ast.walk(tree)):
            found.append(f"{node.lineno}: {node.id} used as a value")
    return found


def test_services_never_draw():
    found = {str(p.relative_to(ROOT)): uses for p in sorted((ROOT / "services").rglob("*.py"))
             if (uses := streamlit_uses(p))}
    assert not found, f"services/ draws (move it to components/): {found}"


def test_the_drawing_finder_sees_planted_drawing(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("import streamlit as s\nfrom streamlit import button\nfrom streamlit.runtime import x\n"
                       "@s.cache_resource\ndef f():\n    s.markdown('x')\n    g(s)\n", encoding="utf-8")
    assert [u.split(":")[0] for u in streamlit_uses(planted)] == ["2", "6", "7"], streamlit_uses(planted)


def test_the_rule_finder_sees_a_planted_upward_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from services.jobs import runner\nimport devtools.bench\n", encoding="utf-8")
    assert imports_of(planted, "bertlens.planted", {"services.jobs", "devtools.bench"}) == {"services.jobs",
                                                                                           "devtools.bench"}


MODEL_OWNERS = {"bertlens/forward.py", "bertlens/interventions.py"}
PRODUCT = ("bertlens", "components", "services", "app_pages", "app.py")
SUBMODULES = {"bert", "cls", "embeddings", "word_embeddings", "position_embeddings", "token_type_embeddings", "pooler",
              "seq_relationship", "base_model", "get_input_embeddings", "get_output_embeddings"}
"""BertForPreTraining's parts: every path into the model's layers, heads and embeddings passes one of these names
(`model.bert...`, `model.cls...`), so a reach into them is caught where it starts, even when the part is then kept
in a variable and called later (`head = lm.model.cls.predictions`, `head(states)`)."""


def model_reaches(path: Path) -> list[int]:
    """Lines that reach into the model instead of going through `bertlens.forward`: an attribute named after one of
    its parts (`lm.model.cls.predictions`, `.bert.encoder.layer[i].attention.self`, `.embeddings.word_embeddings`),
    the same through `getattr(x, "bert")`, or a call of the whole model (`lm.model(...)`)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in SUBMODULES:
            lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name == "getattr" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in SUBMODULES:
                lines.append(node.lineno)
            elif name == "model" or name.endswith(".model"):
                lines.append(node.lineno)
    return sorted(set(lines))


def product_files() -> list[Path]:
    return [p for entry in PRODUCT for p in ((ROOT / entry).rglob("*.py") if (ROOT / entry).is_dir()
                                             else [ROOT / entry])]


def test_only_the_forward_module_and_the_interventions_reach_into_the_model():
    """Padding, precision, batching, the CUDA graph and interventions are decided in one place: a page, a metric or
    an explainer that called the MLM head, the Q/K projections or the embeddings itself would skip them. The
    dev tools are outside this rule: their references are transformers' own code, called directly on purpose."""
    found = {}
    for path in product_files():
        name = path.relative_to(ROOT).as_posix()
        if name not in MODEL_OWNERS and (lines := model_reaches(path)):
            found[name] = lines
    assert not found, f"reaches into the model outside bertlens/forward.py and bertlens/interventions.py: {found}"


def test_the_model_rule_finder_sees_planted_reaches(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def f(lm, ids, hidden, states):\n"
        "    out = lm.model.bert(input_ids=ids)\n"
        "    head = lm.model.cls.predictions\n"
        "    module = lm.model.bert.encoder.layer[0].attention.self\n"
        "    vectors = lm.model.bert.embeddings.word_embeddings(ids)\n"
        "    bert = getattr(lm.model, 'bert')\n"
        "    whole = lm.model(input_ids=ids)\n"
        "    fine = lm.model.config, lm.info.layers, args.predictions_file, forward.encoder(lm, ids)\n",
        encoding="utf-8")
    assert model_reaches(planted) == [2, 3, 4, 5, 6, 7]


_READS = r"""
import json, os, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and isinstance(args[0], str) else None)
import importlib, pkgutil
import bertlens
for module in pkgutil.walk_packages(bertlens.__path__, "bertlens."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
from bertlens import registry, Settings, load_model
registry.discover()
from bertlens.settings import agreement_figure
agreement_figure("int8")
lm = load_model(Settings(model=sys.argv[1], device="cpu", dtype="float32"))
from bertlens.fill_mask import fill_mask
fill_mask(lm, "The [MASK] sat on the mat.")
from bertlens import bias
from bertlens.bias.crows import load_crows, EXAMPLE_PATH
bias.default_config(); load_crows(EXAMPLE_PATH)
from bertlens.bias.pronouns import load_pronoun_templates; load_pronoun_templates()
from bertlens.bias.robustness import load_paraphrase_sets; load_paraphrase_sets()
from bertlens.bias.swaps import default_table; default_table()
from bertlens.cli import build_parser; build_parser()
print(json.dumps(opened))
"""


def test_the_package_reads_no_file_outside_itself(tiny_model_dir, tmp_path):
    """Installed as a package or in the container, only the package's own files (and the model) are there."""
    done = subprocess.run([sys.executable, "-c", _READS, str(tiny_model_dir)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    opened = [Path(p) for p in json.loads(done.stdout.strip().splitlines()[-1])]
    assert any(p.is_relative_to(ROOT / "bertlens" / "data") for p in opened if p.is_absolute())
    environment = Path(sys.prefix).resolve()
    outside = sorted({str(p) for p in opened if p.is_absolute() and p.is_relative_to(ROOT)
                      and not p.is_relative_to(ROOT / "bertlens") and not p.resolve().is_relative_to(environment)})
    assert not outside, outside


def session_state_uses(path: Path) -> list[int]:
    """Lines where a module touches `st.session_state` (or `session_state` by any other name) directly."""
    return sorted({node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if (isinstance(node, ast.Attribute) and node.attr == "session_state")
                   or (isinstance(node, ast.Name) and node.id == "session_state")
                   or (isinstance(node, ast.ImportFrom) and any(a.name == "session_state" for a in node.names))})


def test_pages_touch_session_state_only_through_page_state():
    """Every input of a page is declared in its PageState (so it survives a page change, a reload and travels in a
    link); a page that wrote st.session_state itself would keep inputs no link can carry."""
    found = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "app_pages").glob("*.py"))
             for line in session_state_uses(path)]
    assert not found, found


def test_the_session_state_finder_sees_planted_uses(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nx = st.session_state.get('a')\nfrom streamlit import session_state\n"
                    "session_state['b'] = 1\n")
    assert session_state_uses(page) == [2, 3, 4]
