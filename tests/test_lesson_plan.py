"""Lesson plans (issue 26): the file is read with bounded, validated parsing and one plain message for each bad
file; the shipped sample lesson is valid and runs from fill-mask to the bias probe; a `?lesson=` link opens it at
step 1, Next and Previous open each step's page with exactly its inputs, "Add this page as a step" appends the
page with its link inputs, and the plan downloads as the same JSON. AppTest with the tiny model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.errors import InputError
from components import lesson

APP = str(Path(__file__).resolve().parent.parent / "app.py")
GOOD = {"bertlens_lesson": 1, "title": "T", "steps": [{"page": "fill-mask", "inputs": {"text": "A [MASK]."},
                                                       "note": "n"}]}


def with_(**changes) -> str:
    return json.dumps({**GOOD, **changes})


@pytest.mark.parametrize("text, message", [
    ("not json", "is not valid JSON"),
    ("[" * 50 + "]" * 50, "nests lists and objects more than"),
    (with_(bertlens_lesson=2), "'bertlens_lesson' is not valid"),
    (json.dumps({"bertlens_lesson": 1, "steps": GOOD["steps"]}), "lacks the field 'title'"),
    (with_(steps=[]), "'steps' is not valid"),
    (with_(steps=[{"page": "settings", "inputs": {}}]), "'steps[0].page' is not valid"),
    (with_(steps=[{"page": "explain", "inputs": {"text": ["a"]}}]), "'steps[0].inputs.text"),
    (with_(steps=[{"page": "explain", "inputs": {}, "colour": "red"}]), "unknown field 'steps[0].colour'"),
    (with_(steps=[{"page": "explain", "note": "x" * 501}]), "'steps[0].note' is not valid"),
    (with_(steps=[{"page": "explain", "inputs": {"text": "x" * 2001}}]), "longer than a link carries"),
    (with_(steps=GOOD["steps"] * 51), "'steps' is not valid"),
    ('{"bertlens_lesson": 1, "title": "T", "steps": [{"page": "explain", "inputs": {"k": NaN}}]}',
     "not valid JSON"),
])
def test_a_bad_lesson_file_gets_one_plain_message(text, message):
    with pytest.raises(InputError) as caught:
        lesson.parse(text, "the file plan.json")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_sample_lesson_is_valid_and_runs_from_fill_mask_to_the_bias_probe():
    sample = lesson.shipped(lesson.SAMPLE)
    pages = [step.page for step in sample.steps]
    assert 6 <= len(pages) <= 10 and pages[0] == "fill-mask" and pages[-1] == "bias-probe"
    assert all(step.note for step in sample.steps)
    assert lesson.parse(lesson.dump(sample)) == sample, "a downloaded plan reads back as the same plan"
    with pytest.raises(InputError, match="no shipped lesson"):
        lesson.shipped("../secrets")


def test_step_inputs_are_link_texts():
    assert [lesson.link_value(v) for v in (True, False, 12, 0.25, "x")] == ["1", "0", "12", "0.25", "x"]


def test_a_lesson_link_opens_step_one_and_next_previous_open_each_steps_inputs(app_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lesson"] = lesson.SAMPLE
    at.run()
    sample = lesson.shipped(lesson.SAMPLE)
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_area(key="fm_text").value == sample.steps[0].inputs["text"]
    assert any(sample.steps[0].note in t.value for t in at.text)
    for number in (2, 3, 4):
        at.button(key="lesson_next").click().run()
        assert at.text_area(key="fm_text").value == sample.steps[number - 1].inputs["text"]
        assert any(f"Step {number} of {len(sample.steps)}" in t.value for t in at.text)
    assert at.text_input(key="fm_targets").value == sample.steps[3].inputs["targets"]
    at.button(key="lesson_previous").click().run()
    assert at.text_area(key="fm_text").value == sample.steps[2].inputs["text"]
    assert at.text_input(key="fm_targets").value == "", "an input the step does not name is the page's default"
    at.button(key="lesson_next").click().run()
    at.button(key="lesson_next").click().run()
    assert at.text_area(key="ex_text").value == sample.steps[4].inputs["text"]
    assert at.text_input(key="ex_target").value == sample.steps[4].inputs["target"]


def test_add_this_page_as_a_step_and_download_the_plan(app_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/fill_mask.py").run()
    at.text_area(key="fm_text").input("The woman worked as a [MASK].").run()
    at.button(key="lesson_add").click().run()
    plan = lesson.Lesson.model_validate(at.session_state["lesson_plan"].model_dump())
    assert [(s.page, dict(s.inputs), s.note) for s in plan.steps] == \
        [("fill-mask", {"text": "The woman worked as a [MASK]."}, "")]
    at.switch_page("app_pages/explain.py").run()
    at.button(key="lesson_add").click().run()
    plan = at.session_state["lesson_plan"]
    assert [s.page for s in plan.steps] == ["fill-mask", "explain"]
    assert "Download the plan (JSON)" in [d.proto.label for d in at.get("download_button")]
    assert lesson.parse(lesson.dump(plan)) == plan
