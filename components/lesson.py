"""A lesson plan: the pages of a lesson in order, each with its inputs and a note for the teacher.

The file is JSON, `{"bertlens_lesson": 1, "title": ..., "steps": [{"page": "fill-mask", "inputs": {"text": ...},
"note": ...}]}`; `inputs` uses each page's link parameter names (what its address carries), so a step is a link
with a note. It loads from an upload on Home or from a `?lesson=` link (a shipped lesson's name, or the JSON
itself), is read through `bertlens.schemas.parse_json` (bounded depth, no NaN) and a strict schema, and a bad file
gets one plain message. Its text (title, notes, inputs) is drawn with st.text and widgets, never as markdown.

While a lesson is open, every page shows a bar "Step 2 of 8 · note · ← Previous · Next →" (PageUp and PageDown
press Previous and Next, as a presenter's clicker does); the sidebar adds the current page as a step and
downloads the plan.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import streamlit as st
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from bertlens.errors import InputError
from bertlens.schemas import parse_json, validate
from components.figure_export import file_name
from components.query_state import PRESENT, force_link
from components.safe import md_escape

VERSION = 1
MAX_BYTES = 200_000
MAX_STEPS = 50
LESSONS = Path(__file__).resolve().parent.parent / "assets" / "lessons"
SAMPLE = "gender-bias"
# the lesson's page names are the pages' addresses ("" is Home)
PAGES = {"home": "app_pages/home.py", "fill-mask": "app_pages/fill_mask.py", "explain": "app_pages/explain.py",
         "next-sentence": "app_pages/next_sentence.py", "attention": "app_pages/attention.py",
         "heads": "app_pages/heads.py", "bias-probe": "app_pages/bias_probe.py",
         "counterfactual": "app_pages/counterfactual.py"}
PAGE_NAME = Literal["home", "fill-mask", "explain", "next-sentence", "attention", "heads", "bias-probe",
                    "counterfactual"]
_PLAN, _STEP = "lesson_plan", "lesson_step"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
Value = StrictStr | StrictInt | StrictFloat | StrictBool


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    page: PAGE_NAME
    inputs: dict[StrictStr, Value] = Field(default_factory=dict, max_length=40)
    note: StrictStr = Field(default="", max_length=500)


class Lesson(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    bertlens_lesson: Literal[1]
    title: StrictStr = Field(max_length=200)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


def parse(text: str, name: str = "the lesson file") -> Lesson:
    """A lesson from JSON text. Raises InputError with one message (the first field at fault)."""
    if len(text) > MAX_BYTES:
        raise InputError(f"{name[:1].upper()}{name[1:]} is {len(text):,} characters; a lesson has at most "
                         f"{MAX_BYTES:,}.")
    lesson = validate(Lesson, parse_json(text, name), name)
    for number, step in enumerate(lesson.steps, 1):
        for param, value in step.inputs.items():
            if len(param) > 40 or len(link_value(value)) > 2_000:
                raise InputError(f"Step {number} of {name} has an input longer than a link carries ({param[:40]!r}).")
    return lesson


def link_value(value: object) -> str:
    """A step input as its link text: True/False as 1/0, numbers as written."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def dump(lesson: Lesson) -> str:
    return json.dumps(lesson.model_dump(), indent=1, ensure_ascii=False)


def shipped(name: str) -> Lesson:
    """A lesson shipped in assets/lessons/ by its name ("gender-bias")."""
    if not _NAME.match(name) or not (LESSONS / f"{name}.json").is_file():
        raise InputError(f"There is no shipped lesson called {name[:40]!r}; the shipped ones are "
                         f"{', '.join(sorted(p.stem for p in LESSONS.glob('*.json')))}.")
    return parse((LESSONS / f"{name}.json").read_text(encoding="utf-8"), f"the lesson '{name}'")


def current() -> Lesson | None:
    return st.session_state.get(_PLAN)


def step_index() -> int:
    return int(st.session_state.get(_STEP, 0))


def open_lesson(lesson: Lesson, step: int = 0) -> None:
    st.session_state[_PLAN] = lesson
    st.session_state[_STEP] = max(0, min(step, len(lesson.steps) - 1))


def close_lesson() -> None:
    st.session_state.pop(_PLAN, None)
    st.session_state.pop(_STEP, None)


def go_to_step(index: int) -> None:
    """Open step `index` (from 0): its page with exactly its inputs (an input it does not name is the page's
    default). Does not return."""
    lesson = current()
    index = max(0, min(index, len(lesson.steps) - 1))
    st.session_state[_STEP] = index
    step = lesson.steps[index]
    page = "" if step.page == "home" else step.page
    force_link(page)
    params = {param: link_value(value) for param, value in step.inputs.items()}
    if st.session_state.get(PRESENT.key):
        params[PRESENT.param] = "1"
    st.switch_page(PAGES[step.page], query_params=params)


def adopt_link() -> None:
    """`?lesson=NAME` (a shipped lesson) or `?lesson={...}` (the JSON) opens that lesson at its first step, once
    per distinct value; a bad value is one warning."""
    raw = st.query_params.get("lesson")
    if raw is None or st.session_state.get("_lesson_link") == raw:
        return
    st.session_state["_lesson_link"] = raw
    try:
        lesson = parse(raw, "the lesson in the link") if raw.lstrip().startswith("{") else shipped(raw.strip())
    except InputError as exc:
        st.warning(md_escape(str(exc)), icon=":material/link_off:")
        return
    open_lesson(lesson)
    go_to_step(0)


def step_of(page_path: str, params: dict[str, str], note: str = "") -> Step:
    """The current page and its link inputs (without the presentation flag) as a step."""
    name = page_path or "home"
    inputs = {k: v for k, v in params.items() if k not in (PRESENT.param, "lesson")}
    return Step(page=name, inputs=inputs, note=note)


def add_step(page_path: str, params: dict[str, str], note: str) -> None:
    lesson = current() or Lesson(bertlens_lesson=VERSION, title="My lesson", steps=[step_of(page_path, params, note)])
    if current() is not None:
        if len(lesson.steps) >= MAX_STEPS:
            raise InputError(f"A lesson has at most {MAX_STEPS} steps.")
        lesson = lesson.model_copy(update={"steps": [*lesson.steps, step_of(page_path, params, note)]})
        st.session_state[_STEP] = len(lesson.steps) - 1
    else:
        st.session_state[_STEP] = 0
    st.session_state[_PLAN] = lesson


def bar() -> None:
    """The lesson bar at the top of the page: the step, its note, Previous and Next (PageUp/PageDown)."""
    lesson = current()
    if lesson is None:
        return
    index = step_index()
    step = lesson.steps[index]
    with st.container(horizontal=True, key="lesson_bar", vertical_alignment="center", gap="small", wrap=False):
        st.text(f"Step {index + 1} of {len(lesson.steps)}" + (f" · {step.note}" if step.note else ""),
                width="stretch")
        back = st.button("← Previous", key="lesson_previous", disabled=index == 0, help="PageUp")
        forward = st.button("Next →", key="lesson_next", disabled=index >= len(lesson.steps) - 1, help="PageDown")
    st.html(_KEYS_SCRIPT, unsafe_allow_javascript=True)
    if back:
        go_to_step(index - 1)
    if forward:
        go_to_step(index + 1)


def sidebar(page_path: str) -> None:
    """In the sidebar: add this page as a step, the plan's title, download it, close it."""
    with st.sidebar.expander("Lesson plan", expanded=current() is not None, icon=":material/school:"):
        lesson = current()
        if lesson is not None:
            st.text(f"{lesson.title}: {len(lesson.steps)} steps")
        if st.button("Add this page as a step", key="lesson_add", icon=":material/add:",
                     help="The page with its current inputs; write its note in the downloaded file."):
            try:
                add_step(page_path, dict(st.query_params.to_dict()), "")
            except (InputError, ValueError) as exc:
                st.error(md_escape(str(exc).splitlines()[0]), icon=":material/error:")
            else:
                st.rerun()
        if lesson is not None:
            st.download_button("Download the plan (JSON)", dump(lesson).encode("utf-8"),
                               file_name=f"{file_name('lesson-' + lesson.title)}.json", mime="application/json",
                               key="lesson_download", icon=":material/download:", on_click="ignore")
            if st.button("Close the lesson", key="lesson_close"):
                close_lesson()
                st.rerun()


_KEYS_SCRIPT = """<script>
(() => {
  const doc = window.parent && window.parent.document.querySelector("[data-testid=stApp]") ? window.parent.document
                                                                                           : document;
  const win = doc.defaultView;
  if (win.__bertlensLessonKeys) { return; }
  win.__bertlensLessonKeys = true;
  win.addEventListener("keydown", event => {
    if (event.key !== "PageDown" && event.key !== "PageUp") { return; }
    const target = event.target;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) { return; }
    const key = event.key === "PageDown" ? "lesson_next" : "lesson_previous";
    const button = doc.querySelector(".st-key-" + key + " button");
    if (!button) { return; }
    event.preventDefault();
    if (!button.disabled) { button.click(); }
  }, true);
})();
</script>"""
