"""One safe-text rule: every string that reaches a markdown context of Streamlit comes from the code itself, or goes
through `components.safe.md_escape` first.

Streamlit renders as markdown the body of st.markdown, st.caption, st.info, st.warning, st.error, st.success, titles
and headers, and also widget labels, help texts, tab and expander labels, progress texts and radio options. A link
or an image written there by a user becomes live. This test reads the app's code (app.py, app_pages/, components/,
services/) and lists every such argument that is not plainly safe. Safe is: a string literal; an f-string, `+`,
`join` or conditional made only of safe parts; a value formatted as a number (`{x:.2f}`, `{n:,}`); `len(...)` and
other calls that return numbers; arithmetic and names that hold counts (`NUMBER_NAMES`); an UPPER_CASE constant (the project's convention for
text written in the code); and
anything wrapped in `md_escape(...)`.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py")), *sorted((ROOT / "components").glob("*.py")),
           *sorted((ROOT / "services").glob("*.py"))]
HELPER = "md_escape"

# method name -> positions of the arguments Streamlit renders as markdown, and keywords that it renders so.
BODY = {name: (0, ("body",)) for name in ("markdown", "caption", "info", "warning", "error", "success", "title",
                                          "header", "subheader", "toast", "write")}
LABELLED = {name: (0, ("label",)) for name in (
    "button", "download_button", "link_button", "page_link", "form_submit_button", "text_input", "text_area",
    "number_input", "slider", "select_slider", "selectbox", "multiselect", "radio", "checkbox", "toggle",
    "file_uploader", "date_input", "time_input", "color_picker", "metric", "expander", "status", "popover",
    "segmented_control", "pills", "feedback", "camera_input", "chat_input")}
OTHER = {"progress": (1, ("text",)), "spinner": (0, ("text",)), "tabs": (0, ("tabs",))}
CHECKED = {**BODY, **LABELLED, **OTHER}
ALWAYS = ("help",)
NUMBER_CALLS = {"len", "int", "float", "round", "sum", "min", "max", "abs", "exp", "count", "sha256", "hexdigest",
                "duration", "position"}  # numbers, hex digits, "about 3 s", a queue place
NUMERIC_SPEC = set("dfegn%,_xXob")
# Names that hold numbers wherever the app uses them (counts, sizes, positions): shown as they are.
NUMBER_NAMES = {"n_tokens", "full_length", "layers", "heads", "layer", "head", "position", "rows", "done", "total",
                "resamples", "total_pairs", "n_significant", "steps", "mask_index", "index", "pairs",
                "model_fit", "n"}
MARKDOWN_OPTIONS = {"radio", "pills", "segmented_control"}  # their options are rendered as markdown


def numeric_spec(spec: ast.AST | None) -> bool:
    if not isinstance(spec, ast.JoinedStr) or not spec.values:
        return False
    text = "".join(v.value for v in spec.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return bool(text) and text[-1] in NUMERIC_SPEC


def safe(node: ast.AST | None) -> bool:
    """True when `node` can only produce text written in the code, numbers, or escaped text."""
    if node is None:
        return True
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(safe(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return numeric_spec(node.format_spec) or safe(node.value)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Mult, ast.Sub, ast.Div, ast.FloorDiv, ast.Pow)):
            return True  # arithmetic: a number
        if isinstance(node.op, ast.Add) and any(isinstance(side, ast.Constant) and isinstance(side.value, (int, float))
                                                for side in (node.left, node.right)):
            return True
        return safe(node.left) and safe(node.right)
    if isinstance(node, ast.IfExp):
        return safe(node.body) and safe(node.orelse)
    if isinstance(node, ast.BoolOp):
        return all(safe(v) for v in node.values)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(safe(e) for e in node.elts)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
        return safe(node.elt)
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.Name):
        return node.id.isupper() or node.id in NUMBER_NAMES or local_safe(node.id)
    if isinstance(node, ast.Attribute):
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        return node.attr.isupper() or node.attr in NUMBER_NAMES or (isinstance(base, ast.Name) and base.id.isupper())
    if isinstance(node, ast.Subscript):
        if isinstance(node.value, ast.Call):  # e.g. sha256(data)[:12]
            return safe(node.value)
        return safe(node.value) and isinstance(node.value, ast.Name) and node.value.id.isupper()
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == HELPER:
            return True
        if name in NUMBER_CALLS:
            return True
        if name == "join" and isinstance(func, ast.Attribute):
            return safe(func.value) and all(safe(a) for a in node.args)
        if name == "format" and isinstance(func, ast.Attribute):
            return safe(func.value) and all(safe(a) for a in node.args) and all(safe(k.value) for k in node.keywords)
        return False
    return False


# The local names of the scope being checked: name -> every value assigned to it there (None: assigned otherwise,
# as a parameter, a loop variable or by `with ... as`). A local name is safe when every value it gets is safe.
_SCOPE: list[dict[str, list]] = [{}]
_VISITING: set[str] = set()
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def local_safe(name: str) -> bool:
    values = _SCOPE[-1].get(name)
    if not values or any(v is None for v in values) or name in _VISITING:
        return False
    _VISITING.add(name)
    try:
        return all(safe(v) for v in values)
    finally:
        _VISITING.discard(name)


def in_scope(scope: ast.AST):
    """The nodes of `scope` without those of functions, lambdas and classes nested in it."""
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, _NESTED):
            pending.extend(ast.iter_child_nodes(node))


def assignments(scope: ast.AST) -> dict[str, list]:
    names: dict[str, list] = {}
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for arg in [*scope.args.args, *scope.args.kwonlyargs, *scope.args.posonlyargs]:
            names.setdefault(arg.arg, []).append(None)
    for node in in_scope(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).append(node.value)
                else:
                    for inner in ast.walk(target):
                        if isinstance(inner, ast.Name):
                            names.setdefault(inner.id, []).append(None)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names.setdefault(node.target.id, []).append(node.value if isinstance(node, ast.AnnAssign) else None)
        elif isinstance(node, (ast.For, ast.comprehension, ast.withitem, ast.NamedExpr)):
            target = node.optional_vars if isinstance(node, ast.withitem) else node.target
            for inner in ast.walk(target) if target is not None else ():
                if isinstance(inner, ast.Name):
                    names.setdefault(inner.id, []).append(None)
    return names


def lambda_result(node: ast.AST) -> ast.AST | None:
    return node.body if isinstance(node, ast.Lambda) else None


def unsafe_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    for scope in scopes:
        _SCOPE.append(assignments(scope))
        try:
            found += _unsafe_in(path, scope)
        finally:
            _SCOPE.pop()
    return found


def _unsafe_in(path: Path, scope: ast.AST) -> list[str]:
    found = []
    for node in in_scope(scope):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if method not in CHECKED:
            continue
        position, keywords = CHECKED[method]
        suspects = []
        if len(node.args) > position and not isinstance(node.args[position], ast.Starred):
            suspects.append(node.args[position])
        suspects += [k.value for k in node.keywords if k.arg in keywords or k.arg in ALWAYS]
        if method in MARKDOWN_OPTIONS:
            suspects += [lambda_result(k.value) for k in node.keywords if k.arg == "format_func"]
        for suspect in suspects:
            if suspect is not None and not safe(suspect):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.append(f"{where}: {method}(...) gets {ast.unparse(suspect)[:100]!r} without {HELPER}()")
    return found


def test_every_markdown_context_gets_safe_text():
    found = [problem for path in SOURCES for problem in unsafe_calls(path)]
    assert not found, "text that may come from a user or a file reaches markdown unescaped:\n" + "\n".join(found)


@pytest.mark.parametrize("code, flagged", [
    ('st.caption(f"{name}: ran on {report.get(\'ran_on\')}")', True),
    ('st.caption(f"{md_escape(name)}: {n:,} rows, {share:.1%}")', False),
    ('st.error("Plain " + message)', True),
    ('col.markdown(f"**{md_escape(heading)}**")', False),
    ('st.button(f"Use {exc.first_piece}", key="x")', True),
    ('st.metric("Pearson r", value, help=f"p = {p:.2g}")', False),
    ('st.metric("Pearson r", value, help=note)', True),
    ('st.radio("Score", options, format_func=lambda o: names[o])', True),
    ('st.tabs(["A", "B"])', False),
    ('st.markdown(METRICS_NOTE)', False),
    ('def f(button):\n    label = f"{button} (about 3 s)"\n    st.button(label)', True),
    ('def f(n):\n    label = f"{n:,} rows"\n    st.caption(label)', False),
    ('def f(name):\n    label = md_escape(name)\n    label = name\n    st.caption(label)', True),
    ('for item in items:\n    st.info(item)', True),
])
def test_the_rule_tells_safe_from_unsafe(tmp_path, code, flagged):
    """The scanner itself: it must flag each unescaped case and pass each safe one."""
    source = tmp_path / "page.py"
    source.write_text(textwrap.dedent(code) + "\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert bool(unsafe_calls(source)) is flagged
    finally:
        ROOT = saved
