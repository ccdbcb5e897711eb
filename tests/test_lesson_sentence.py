"""The lesson sentence (issue 26): a masked sentence committed on one page opens every page that takes a sentence,
until the user types another there; the bias page is offered a template made from it; Back's runs restore a
history entry's inputs (query_state's history adoption). Through AppTest with the tiny model."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components import lesson_sentence, lesson_stale
from components.query_state import history_script

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SENTENCE = "The woman said that [MASK] was tired."
TEXT_KEYS = {"app_pages/explain.py": "ex_text", "app_pages/heads.py": "hd_text",
             "app_pages/attention.py": "att_text", "app_pages/counterfactual.py": "cf_text",
             "app_pages/fill_mask.py": "fm_text"}


def visit(at: AppTest, page: str) -> AppTest:
    """Change page as the navigation does: the browser drops the previous page's link parameters."""
    at.query_params.clear()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_box(at: AppTest, key: str):
    return next(w for w in [*at.text_area, *at.text_input] if w.key == key)


@pytest.fixture
def at(app_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


@pytest.mark.parametrize("sentence, template", [
    ("The woman said that [MASK] was tired.", "{person} said that [MASK] was tired."),
    ("She said that her [MASK] was late.", "{person} said that her [MASK] was late."),
    ("My father works as a [MASK].", "{person} works as a [MASK]."),
    ("The nurse said that [MASK] was tired.", None),        # no gendered word
    ("The woman said that he was tired.", None),             # no [MASK]
    ("The [MASK] said that [MASK] was tired.", None),        # two masks
    ("The manager said that [MASK] was tired.", None),       # "man" inside a word is not a person
])
def test_person_template_puts_person_in_place_of_the_gendered_word(sentence, template):
    assert lesson_sentence.person_template(sentence) == template


def test_history_and_stale_scripts_survive_streamlits_sanitiser():
    for script, needs in ((history_script(), "pushState"), (lesson_stale.script(), "bertlens-stale")):
        body = script.removeprefix("<script>").removesuffix("</script>")
        assert needs in body and not re.search(r"<[/\w!]", body)


def test_a_sentence_committed_on_fill_mask_opens_every_sentence_page(at):
    visit(at, "app_pages/fill_mask.py")
    text_box(at, "fm_text").input(SENTENCE).run()
    assert at.session_state[lesson_sentence.SENTENCE] == SENTENCE
    for page, key in TEXT_KEYS.items():
        visit(at, page)
        assert text_box(at, key).value == SENTENCE, page
    visit(at, "app_pages/fill_mask.py")
    links = {link.proto.label: link.proto.query_string for link in at.get("page_link")}
    assert {"Explain", "Which heads?", "Attention", "Counterfactual", "Bias"} <= set(links)
    assert "woman" in links["Explain"] and "person" in links["Bias"]


def test_a_sentence_typed_on_a_page_stays_until_a_newer_lesson_sentence(at):
    visit(at, "app_pages/explain.py")
    own = "The doctor said that [MASK] was late."
    text_box(at, "ex_text").input(own).run()
    visit(at, "app_pages/fill_mask.py")
    assert text_box(at, "fm_text").value == own, "Explain's committed sentence is the lesson sentence"
    text_box(at, "fm_text").input(SENTENCE).run()
    visit(at, "app_pages/explain.py")
    assert text_box(at, "ex_text").value == SENTENCE
    text_box(at, "ex_text").input("No mask in this one.").run()
    visit(at, "app_pages/fill_mask.py")
    visit(at, "app_pages/explain.py")
    assert text_box(at, "ex_text").value == "No mask in this one.", "a sentence without a mask is kept on its page"
    visit(at, "app_pages/fill_mask.py")
    assert text_box(at, "fm_text").value == SENTENCE, "and does not become the lesson sentence"


def test_an_untouched_default_is_not_a_lesson_sentence(at):
    visit(at, "app_pages/fill_mask.py")
    visit(at, "app_pages/explain.py")
    assert lesson_sentence.SENTENCE not in at.session_state
    visit(at, "app_pages/heads.py")
    assert "nurse" in text_box(at, "hd_text").value


def test_the_bias_page_offers_the_template_made_from_the_lesson_sentence(at):
    visit(at, "app_pages/fill_mask.py")
    text_box(at, "fm_text").input(SENTENCE).run()
    visit(at, "app_pages/bias_probe.py")
    offer = next(b for b in at.button if b.key == "bias_side_template_from_lesson")
    offer.click().run()
    assert text_box(at, "bias_side_template").value == "{person} said that [MASK] was tired."
    assert not any(b.key == "bias_side_template_from_lesson" for b in at.button), "offered once it is in the box"
