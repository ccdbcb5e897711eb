"""Hostile and broken input, typed into every text input of every page through AppTest.

The text inputs of a page are found by running it, so a new input or a new page is covered without a new test.
For each input the test asserts: no exception reaches the page; every message is short, plain and free of
tracebacks; nothing the user typed is rendered as live markdown or HTML (no image, link or tag survives
unescaped); and the page shows either its view or a message. Query parameters that set inputs are untrusted too.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from bertlens.text import MAX_MASKS
from browser_support import app_pages
from components.query_state import DECLARED

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = [page.script for page in app_pages()]  # the default page first
HOME = PAGES[0]
NO_TEXT = (HOME, "app_pages/debias.py")  # pages whose inputs are all choices (the debiasing page: method, layers)

# Per-page specifics, by page name. ACTIONS: the key of the button that runs the page's main action after typing
# (absent: the page reruns on every change).
ACTIONS: dict[str, str] = {}
SCRIPT = "</script><img src=x onerror=alert(1)><script>window.__pwned=1</script>"
MD_IMAGE = "![x](http://example.com/x.png)"
HUGE = "x" * 100_000
# name -> text typed into every input
CASES: dict[str, str] = {
    "100,000 characters": HUGE,
    "100,000 characters of words": ("The nurse said " * 7_000)[:100_000],
    "200 masks": "[MASK] " * 200,
    "masks glued to words": "foo[MASK]bar[MASK][MASK]baz and[MASK].",
    "html and script": f"{SCRIPT} The [MASK] is here.",
    "markdown image": f"{MD_IMAGE} The [MASK] is here. [link](javascript:alert(1))",
    "right-to-left": "שלום [MASK] עולם مرحبا بالعالم \u202eevil\u202c",
    "emoji": "👩‍🔬 The [MASK] 🧪🏳️‍🌈 went home 🇫🇷.",
    "combining marks": "Z\u0335\u0322\u0353a\u0335l\u0336g\u0338o e\u0301\u0301\u0301 [MASK].",
    "control characters": "a\x00b\x07c\x1b[31m\x08\x7f [MASK]\r\n\t\x0b\x0c end",
    "only whitespace": " \n\t \u3000 ",
}
# (input key, case) -> what the message must say. Inputs not listed only need *a* clear outcome.
MUST_SAY: dict[tuple[str, str], str] = {
    ("fm_text", "100,000 characters"): r"100,000 characters long; the limit is 20,000",
    ("fm_text", "200 masks"): rf"200 \[MASK\] tokens; the limit is {MAX_MASKS}",
    ("fm_targets", "100,000 characters"): r"100,000 characters long",
    ("ns_a", "100,000 characters"): r"100,000 characters long",
    ("ns_b", "100,000 characters"): r"100,000 characters long",
}
# A huge text is never silently accepted: whatever the input, the page refuses it with a message.
HUGE_CASES = ("100,000 characters", "100,000 characters of words")

TRACEBACK = re.compile(r"Traceback|File \"|\w+Error\(|^\w+(Error|Exception):|object at 0x", re.MULTILINE)
LIVE_MARKUP = [re.compile(p, re.IGNORECASE) for p in (
    r"(?<!\\)<\s*img", r"(?<!\\)<\s*/?\s*script", r"(?<!\\)!\[[^\]]*\]\(", r"(?<!\\)\]\(\s*(https?|javascript):",
    r"onerror\s*=", r"(?<!\\)<\s*a\s", r"(?<!\\)<\s*iframe",
)]
MAX_MESSAGE = 700
WIDGET_KINDS = ("text_area", "text_input", "slider", "select_slider", "selectbox", "multiselect", "checkbox",
                "toggle", "radio", "number_input")


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if query:
        at.query_params.update(query)
    at.run()
    if page != HOME:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_inputs(at: AppTest) -> list:
    return [w for w in [*at.text_area, *at.text_input] if w.key]


def widget(at: AppTest, key: str):
    return next(w for w in text_inputs(at) if w.key == key)


def widget_values(at: AppTest) -> dict[str, object]:
    return {f"{kind}:{w.key}": w.value for kind in WIDGET_KINDS for w in getattr(at, kind) if w.key}


def markdown_values(at: AppTest) -> list[str]:
    """Every string Streamlit renders as markdown (where a link or an image would become live)."""
    values = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "header",
                                   "subheader") for e in getattr(at, kind)]
    values += [m.label for m in at.metric] + [t.label for t in at.tabs] + [e.label for e in at.expander]
    return [str(v) for v in values]


def messages(at: AppTest) -> list[str]:
    """The errors and warnings a user reads, without the random-weights banner."""
    return [str(m.value) for m in [*at.error, *at.warning] if "random weights" not in str(m.value)]


def plain(message: str) -> str:
    return message.replace("\\", "")


def problems_after_typing(at: AppTest, page: str, key: str, text: str, case: str,
                          baseline: set[str]) -> list[str]:
    """Type `text` into `key`, run the page's action, and list every way the page mishandled it."""
    widget(at, key).input(text)
    if Path(page).stem in ACTIONS:
        at.button(key=ACTIONS[Path(page).stem]).click()
    at.run()
    where = f"{page} [{key}] {case}:"
    found = [f"{where} exception {e.value}" for e in at.exception]
    shown = messages(at)
    for message in shown:
        if not message.strip() or len(message) > MAX_MESSAGE or TRACEBACK.search(message):
            found.append(f"{where} unclear message ({len(message)} chars): {message[:200]!r}")
    for value in markdown_values(at):
        if value in baseline:
            continue
        for pattern in LIVE_MARKUP:
            if pattern.search(value):
                found.append(f"{where} user text rendered as live markup ({pattern.pattern}): {value[:200]!r}")
    must = MUST_SAY.get((key, case))
    if must and not any(re.search(must, plain(m)) for m in shown):
        found.append(f"{where} expected a message matching {must!r}, got {shown}")
    if case in HUGE_CASES and not shown:
        found.append(f"{where} a 100,000-character text was accepted without a word: {shown}")
    if not (shown or at.get("plotly_chart") or at.dataframe or at.code or at.info or at.get("iframe")):
        found.append(f"{where} the page shows neither a view nor a message")
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_text_input_survives_hostile_text(app_env, page):
    at = open_page(page)
    keys = [w.key for w in text_inputs(at)]
    if page in NO_TEXT:
        assert not keys, f"{page} has text inputs now: it needs hostile-input cases"
        return
    assert keys, f"{page} has no keyed text input"
    found: list[str] = []
    for key in keys:
        at = open_page(page)
        baseline = set(markdown_values(at))
        default = widget(at, key).value
        for case, text in CASES.items():
            found += problems_after_typing(at, page, key, text, case, baseline)
            widget(at, key).input(default or "")
    assert not found, "\n".join(found)


_PIECES = st.sampled_from([
    "[MASK]", "[mask]", "<mask>", "שלום", "مرحبا", "\u202e", "\u200f", "\u200b", "👩‍🔬", "🧪", "e\u0301", "\u0000",
    "\x07", "\x1b[2J", "\r\n", "\t", "<b>", MD_IMAGE, SCRIPT, "$$x$$", ":red[x]", "**", "`", "\\", "&amp;", "##",
    "[CLS]", "[SEP]", "[UNK]", "[PAD]",
])
_UNICODE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
HOSTILE_TEXT = st.lists(st.one_of(_UNICODE, _PIECES), max_size=12).map("".join)


@pytest.mark.parametrize("page", [p for p in PAGES if p not in NO_TEXT])
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_unicode_in_every_text_input(app_env, page, data):
    at = _page_once(page)
    keys = sorted(w.key for w in text_inputs(at))
    assert keys, f"{page} has no keyed text input"
    key = data.draw(st.sampled_from(keys), label="input")
    text = data.draw(HOSTILE_TEXT, label="text")
    default = _DEFAULTS[page][key]
    found = problems_after_typing(at, page, key, text, "random", _BASELINES[page])
    widget(at, key).input(default or "")
    assert not found, "\n".join(found)


_OPEN: dict[str, AppTest] = {}
_DEFAULTS: dict[str, dict[str, str]] = {}
_BASELINES: dict[str, set[str]] = {}


def _page_once(page: str) -> AppTest:
    """One AppTest per page for the random examples (each puts its input back to the default afterwards)."""
    if page not in _OPEN:
        at = open_page(page)
        _OPEN[page] = at
        _DEFAULTS[page] = {w.key: w.value for w in text_inputs(at)}
        _BASELINES[page] = set(markdown_values(at))
    return _OPEN[page]


# --- query parameters -----------------------------------------------------------------------------------------

BAD_PARAM_VALUES = {
    "too long": "x" * 5_000,
    "not a number": "abc",
    "negative": "-1",
    "huge number": "9" * 40,
    "nan": "nan",
    "NUL": "\x00",
    "script": SCRIPT,
    "markdown image": MD_IMAGE,
    "200 masks": "[MASK] " * 200,
}


@pytest.mark.parametrize("page", [p for p in PAGES if p != HOME])
def test_query_params_are_untrusted(app_env, page):
    clean = open_page(page)
    declared = {field.param for field in DECLARED.get(Path(page).stem, ()) if field.param}  # "": session only
    names = sorted(set(clean.query_params) | declared)
    if not names:
        pytest.skip(f"{page} reads no query parameters")
    defaults = widget_values(clean)
    baseline = set(markdown_values(clean))
    found = []
    for name in names:
        for case, value in BAD_PARAM_VALUES.items():
            at = open_page(page, {name: value})
            where = f"{page} ?{name}= {case}:"
            found += [f"{where} exception {e.value}" for e in at.exception]
            refused = [m for m in messages(at) if f"'{name}'" in plain(m) and "ignored" in m]
            if refused and widget_values(at) != defaults:
                found.append(f"{where} refused but the inputs are not the defaults: {widget_values(at)}")
            if case == "too long" and not refused:
                found.append(f"{where} a 5,000-character link value was not refused with a message")
            for message in messages(at):
                if len(message) > MAX_MESSAGE or TRACEBACK.search(message):
                    found.append(f"{where} unclear message: {message[:200]!r}")
            for text in markdown_values(at):
                if text not in baseline and any(p.search(text) for p in LIVE_MARKUP):
                    found.append(f"{where} link value rendered as live markup: {text[:200]!r}")
    assert not found, "\n".join(found)
