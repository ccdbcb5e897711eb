"""No list in disguise: the audit, report, export and schema modules (and the routes that loop over the registry)
never write a registered method's name as a string literal. What differs between metrics lives in each metric's own
module (`report_fields`, its summary and caveat) or its kind of input's, so adding a metric changes none of them."""
from __future__ import annotations

import ast
from pathlib import Path

from bertlens import registry

ROOT = Path(__file__).resolve().parent.parent
LOOPING = ("bertlens/bias/audit.py", "bertlens/report_html.py", "bertlens/export.py", "bertlens/schemas.py",
           "bertlens/cli/run.py", "bertlens/cli/methods.py", "bertlens/kinds/__init__.py", "components/views.py",
           "components/kind_panel.py", "components/method_options.py")


def literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant in the module, f-strings' literal parts included."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_registered_name_is_written_in_the_modules_that_loop_over_the_registry():
    names = {name for kind in registry.KINDS for name in registry.names(kind)}
    assert {"probe", "crows", "stereoset", "lens"} <= names
    found = [f"{module}:{line}: {value!r}" for module in LOOPING for line, value in literals(ROOT / module)
             if value in names]
    assert not found, "registered names written as literals:\n" + "\n".join(found)


def test_the_check_sees_a_literal():
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.py"
        path.write_text('x = {"crows": 1}\ny = f"{x}crows"\n')
        assert (1, "crows") in literals(path)
