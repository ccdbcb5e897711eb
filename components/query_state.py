"""Page inputs that last: they survive a page change, a browser reload, and travel in a shareable link.

A page declares its inputs once, as `Field`s, and calls two functions around its widgets:

    STATE = PageState("fill_mask", [
        Field("fm_text", "text", DEFAULT_TEXT, label="the text"),
        Field("fm_top_k", "k", 10, parse=bounded_int(1, 50)),
        Field("fm_hide_punct", "punct", False, parse=parse_bool, dump=dump_bool),
    ])
    STATE.restore()          # before any widget: link values (once per session), then kept values, then defaults
    st.text_area("Text", key="fm_text")     # widgets use the field's key and no `value=`/`index=`/`default=`
    ...
    STATE.publish()          # after the widgets: keep the values and write the link; notes what it leaves out

`restore` shows a warning for each refused link value (query parameters are untrusted input: a bad value falls
back to the default, with a message) and returns the messages. `publish` keeps every value in session_state under
a private name, so a widget that Streamlit forgets on a page change (or while it is hidden) comes back, and writes
the non-default values to the URL. A value whose link form is longer than its field's `limit` is left out of the
link, and `publish` shows a one-line note naming it; it still survives page changes, not a reload. The sidebar's
precision (when not the configured one) and the uploads (by SHA-256, the bytes kept in the server's store for a
while: `components.uploads`) travel in every link as app-wide fields.

Widgets whose value is a list (a multiselect) take `parse=parse_list(...)` and `dump=dump_list`, as
app_pages/bias_probe.py does; their labels must not hold a comma for `dump_list`. A page whose options change
with other inputs validates the restored value against its options before drawing the widget (as
app_pages/attention.py does). Uploaded files travel only by reference (above) and results not at all; the
page shows the note for any text over `limit`. Charts can go through `components.presentation.chart`
(or `style(fig)`) so presentation mode enlarges their labels. The presentation-mode flag (`GLOBAL_FIELDS`) is
added to every page's link by `publish`; app.py restores it with `PageState("app", GLOBAL_FIELDS)`
and `publish_globals()`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from bertlens.registry import SpecError

from components import lesson_sentence
from components.safe import checked_script, md_escape

MAX_URL_TEXT = 2_000
_KEPT = "_kept_"
_PAGE = "_page_now"
_FORCE = "_force_link"
DECLARED: dict[str, tuple[Field, ...]] = {}


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value
    return parse


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("not a number") from None
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value
    return parse


def bounded_text(limit: int = MAX_URL_TEXT) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise ValueError(f"longer than {limit:,} characters")
        return raw.replace("\x00", "")
    return parse


def one_of(options: Sequence[str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return raw
    return parse


def parse_bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1 or 0")


def dump_bool(value: Any) -> str:
    return "1" if value else "0"


def parse_list(item: Callable[[str], Any], limit: int = 100) -> Callable[[str], list]:
    """A comma-separated list whose items each pass `item`."""
    def parse(raw: str) -> list:
        items = [part for part in raw.split(",") if part != ""]
        if len(items) > limit:
            raise ValueError(f"more than {limit} items")
        return [item(part) for part in items]
    return parse


def dump_list(value: Any) -> str:
    return ",".join(str(v) for v in value or [])


@dataclass(frozen=True)
class Field:
    """One input: its widget key, its query parameter, its default, and how its link form is read and written.

    `parse` turns the parameter's text into a value and raises ValueError (or TypeError) when it is not valid;
    `dump` turns a value into the parameter's text. `label` names the input in messages ("the text").
    """

    key: str
    param: str
    default: Any
    parse: Callable[[str], Any] = bounded_text()
    dump: Callable[[Any], str] = str
    label: str = ""
    limit: int = MAX_URL_TEXT
    aliases: tuple[str, ...] = ()
    """Other parameter names a link may use for this input (an older name kept so old links still work). A field
    whose `param` is "" is an input of the session only (a choice among options that depend on other inputs): it is
    kept across page changes but never written to or read from a link."""

    def given(self, params: Any) -> str | None:
        """This input's value in the link's `params` (its name first, then an alias), None when absent."""
        for name in (self.param, *self.aliases):
            if name in params:
                return params.get(name)
        return None
    lesson: bool = False

    @property
    def name(self) -> str:
        return self.label or f"'{self.param}'"


def upload_ref(raw: str) -> str:
    """One kept upload in a link: UPLOADER_KEY:SHA256 (`components.uploads`), never a path."""
    key, _, digest = raw.partition(":")
    if not (0 < len(key) <= 60 and key.replace("_", "").isalnum() and key.isascii()):
        raise ValueError("names no uploader")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("is not a file's SHA-256")
    return raw


PRESENT = Field("present", "present", False, parse=parse_bool, dump=dump_bool, label="presentation mode")
PRECISION = Field("app_precision", "precision", "", parse=one_of(("float32", "bfloat16", "float16", "int8")),
                  label="the precision")
"""The sidebar's precision when it is not the server's configured one ("": the configured one)."""
UPLOADS = Field("app_uploads", "files", [], parse=parse_list(upload_ref, 8), dump=dump_list, label="the uploads",
                limit=1_000)
"""Each kept upload by its uploader and SHA-256: after a reload the page finds the bytes in the server's store."""
GLOBAL_FIELDS: tuple[Field, ...] = (PRESENT, PRECISION, UPLOADS)


class PageState:
    """The declared inputs of one page (see the module docstring for the contract)."""

    def __init__(self, page: str, fields: Sequence[Field]) -> None:
        self.page = page
        self.fields = tuple(fields)
        DECLARED[page] = self.fields

    def restore(self, warn: bool = True) -> list[str]:
        """Fill session_state before the widgets exist; returns (and by default shows) refused link values."""
        problems = self._adopt_link()
        for field in self.fields:
            if field.key not in st.session_state:
                kept = st.session_state.get(_KEPT + field.key, field.default)
                st.session_state[field.key] = list(kept) if isinstance(kept, list) else kept
        for field in self.fields:
            if field.lesson:
                lesson_sentence.follow(field.key, _KEPT + field.key)
        if warn:
            for problem in problems:
                st.warning(md_escape(problem), icon=":material/link_off:")
        return problems

    def get(self, key: str) -> Any:
        """The current value of the input `key` (its default before `restore`)."""
        field = self._field(key)
        return st.session_state.get(field.key, field.default)

    def set(self, key: str, value: Any) -> None:
        """Replace the input `key`'s value before its widget is drawn (e.g. a restored choice that is no longer
        among the options): pages change their inputs only here, so every input is a declared, linked one."""
        self._field(key)
        st.session_state[key] = list(value) if isinstance(value, list) else value

    def pop(self, key: str) -> None:
        """Drop the input `key`'s value (its widget then starts from its first option)."""
        self._field(key)
        st.session_state.pop(key, None)
        st.session_state.pop(_KEPT + key, None)

    def _field(self, key: str) -> Field:
        for field in self.fields:
            if field.key == key:
                return field
        raise KeyError(f"'{key}' is not an input declared on the page '{self.page}'")

    def forget(self, *keys: str) -> None:
        """Put these inputs back to their defaults (call from a widget callback, before they are drawn)."""
        for field in self.fields:
            if field.key in keys:
                st.session_state[field.key] = field.default
                st.session_state[_KEPT + field.key] = field.default

    def publish(self, note: bool = True) -> list[str]:
        """Keep the current values and write the link; returns (and by default notes) the inputs it leaves out."""
        for field in self.fields:
            if field.key in st.session_state:
                st.session_state[_KEPT + field.key] = st.session_state[field.key]
                if field.lesson:
                    lesson_sentence.commit(field.key, st.session_state[field.key], field.default)
        wanted, left_out = {}, []
        for field in (*self.fields, *GLOBAL_FIELDS):
            value = st.session_state.get(field.key, st.session_state.get(_KEPT + field.key, field.default))
            if not field.param or value == field.default or value is None:
                continue
            text = field.dump(value)
            if len(text) > field.limit:
                left_out.append(f"{field.name} ({len(text):,} characters; a link carries at most {field.limit:,})")
                continue
            wanted[field.param] = text
        if dict(st.query_params) != wanted:
            st.query_params.from_dict(wanted)  # one message: the browser makes one history entry of it
        if note and left_out:
            st.caption(":material/link: The link to this page leaves out " + md_escape("; ".join(left_out)) +
                       ": a reload or a shared link starts with the default there.")
        return left_out

    def _adopt_link(self) -> list[str]:
        """Read the link's values: on the page's first run in the session, when Back or Forward brings an entry
        of the browser's history (then a parameter the entry lacks means the default: the entry is restored
        exactly), and when another page's link ("Use it on: …") opens this page with some of its parameters."""
        flag = f"_adopted_{self.page}"
        history = history_navigation() or (self.page != "app" and bool(st.session_state.pop(_FORCE, False)))
        entering = self.page != "app" and st.session_state.get(_PAGE) != self.page
        if self.page != "app":
            st.session_state[_PAGE] = self.page
        carried = entering and any(field.given(st.query_params) is not None for field in self.fields)
        if st.session_state.get(flag) and not history and not carried:
            return []
        st.session_state[flag] = True
        problems = []
        for field in (f for f in self.fields if f.param):
            raw = field.given(st.query_params)
            if raw is None:
                if not history:
                    continue
                value = field.default
            else:
                try:
                    value = field.parse(raw)
                except SpecError as exc:
                    value = field.default
                    problems.append(f"{exc} The link's value was ignored; using the default.")
                except (ValueError, TypeError) as exc:
                    value = field.default
                    problems.append(f"The link's '{field.param}' value was ignored ({exc}); using the default.")
            st.session_state[field.key] = list(value) if isinstance(value, list) else value
            st.session_state[_KEPT + field.key] = value
            if field.lesson:
                lesson_sentence.seen(field.key, value)
        return problems


def assign(key: str, value: Any) -> None:
    """Set a declared input from a widget callback: `on_click=assign, args=(key, value)` passes plain values, so
    the callback keeps nothing of the page alive."""
    st.session_state[key] = list(value) if isinstance(value, list) else value


def force_link(page: str) -> None:
    """The next page to run takes its link exactly (a parameter it lacks means the default), as after Back: a
    lesson step opens its page with just the step's inputs. Call before `st.switch_page`; `page` is the target's
    address ("" for Home, which has no inputs)."""
    if page:
        st.session_state[_FORCE] = True


def history_navigation() -> bool:
    """Whether this run was started by the browser's Back or Forward button (its URL then holds the inputs to
    restore)."""
    ctx = get_script_run_ctx()
    return bool(ctx and getattr(ctx, "is_history_navigation", False))


def publish_globals() -> None:
    """Write only the app-wide inputs (`GLOBAL_FIELDS`) to the link, leaving the page's own parameters alone."""
    for field in GLOBAL_FIELDS:
        value = st.session_state.get(field.key, field.default)
        if value == field.default:
            if field.param in st.query_params:
                del st.query_params[field.param]
        elif st.query_params.get(field.param) != field.dump(value):
            st.query_params[field.param] = field.dump(value)


def install_history() -> None:
    """One browser-history entry per committed change (Streamlit's frontend pushes an entry for every change of
    the link, and a page change is two: the new page's address, then the page's inputs written by `publish`).
    The script makes every further push within one script run replace the run's first entry, so Back restores
    the previous inputs first, then the previous page; a run started by Back itself pushes nothing."""
    with st.sidebar:
        st.html(history_script(), unsafe_allow_javascript=True)


def history_script() -> str:
    """The script, checked as figure_export's is: Streamlit's sanitiser drops a <script> holding "<" before a
    letter, "/" or "!"."""
    return checked_script(_HISTORY, "history script")


_HISTORY = """<script>
(() => {
  const doc = window.parent && window.parent.document.querySelector("[data-testid=stApp]") ? window.parent.document
                                                                                           : document;
  const win = doc.defaultView;
  if (win.__bertlensHistory) { return; }
  win.__bertlensHistory = true;
  const history = win.history;
  const push = history.pushState.bind(history);
  const replace = history.replaceState.bind(history);
  let pushedThisRun = false;
  function state() {
    const app = doc.querySelector("[data-testid=stApp]");
    return app ? app.getAttribute("data-test-script-state") : null;
  }
  new win.MutationObserver(records => { if (endedRun(records, state())) { pushedThisRun = false; } })
    .observe(doc.body, {attributes: true, attributeOldValue: true, subtree: true,
                        attributeFilter: ["data-test-script-state"]});
  function endedRun(records, now) {
    // A run may end and the next begin before the observer is called: each record's old value is the state
    // the one before it left, so a run ended if any state after the first old one was "notRunning".
    const seen = records.map(r => r.oldValue).slice(1).concat([now]);
    return seen.includes("notRunning");
  }
  history.pushState = function (data, title, url) {
    if (pushedThisRun && state() !== "notRunning") { return replace(data, title, url); }
    pushedThisRun = true;
    return push(data, title, url);
  };
})();
</script>"""


def copy_link_button(label: str = "Copy link to this page") -> None:
    """A visible "Copy link" button: copies the page's current address (which `publish` keeps up to date)."""
    st.iframe(_COPY_HTML.replace("COPY_LABEL", label), height=44)


_COPY_HTML = """<!doctype html><html><body style="margin:0;font-family:sans-serif">
<button id="copy" type="button" style="font-size:15px;padding:6px 10px;border:1px solid #adb5bd;border-radius:8px;
background:#fff;cursor:pointer">COPY_LABEL</button>
<span id="done" style="font-size:13px;color:#2b8a3e;margin-left:6px" aria-live="polite"></span>
<script>
const done = document.getElementById("done");
function fallback(url) {
  const box = document.createElement("textarea");
  box.value = url; document.body.appendChild(box); box.select();
  const ok = document.execCommand("copy"); box.remove(); return ok;
}
document.getElementById("copy").addEventListener("click", () => {
  const url = window.parent.location.href;
  const report = ok => { done.textContent = ok ? "Copied" : "Copy failed: use the address bar"; };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(url).then(() => report(true), () => report(fallback(url)));
  } else { report(fallback(url)); }
});
</script></body></html>"""
