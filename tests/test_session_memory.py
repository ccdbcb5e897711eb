"""Memory per session (issue 28, broken 4): the attention page keeps no large result outside the bounded store.

app_pages/attention.py:130,134,142 defined helper functions (`in_context`, `_pick`, `_step_layer`) and passed them
to widgets (:215,234,275); a page function's globals are the whole page, and Streamlit keeps a widget's callback with
the session, so every idle session held its ~400 MB attention view after the store had let it go. Expected now:
once the store drops the view, nothing else holds it (no garbage collection needed)."""
from __future__ import annotations

import ast
import weakref
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app_support import job_runner

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "app_pages" / "attention.py"


def test_the_attention_page_defines_no_function_or_lambda():
    tree = ast.parse(PAGE.read_text(encoding="utf-8"))
    defined = [f"{PAGE.name}:{n.lineno}" for n in ast.walk(tree)
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    assert not defined, f"functions in the page script keep the whole page alive with the session: {defined}"


def test_a_session_holds_no_attention_view_the_store_dropped(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/attention.py").run()
    assert not at.exception
    store = job_runner().store
    views = [weakref.ref(entry[2]) for key, entry in list(store._entries.items())
             if getattr(key, "method", None) == "attention_view"]
    assert views, "the page's view is not in the store"
    store.clear()
    alive = [ref for ref in views if ref() is not None]
    assert not alive, "a session still holds the attention view the store dropped"
