"""The lesson sentence: a sentence with one [MASK], committed on any page, that every page taking a sentence
(Fill-mask, Explain, Which heads?, Attention, Counterfactual) opens with, until the user types another one there;
the bias page is offered a template made from it.

A page opts a text input in with `Field(..., lesson=True)` (components.query_state); `PageState.restore` calls
`follow` and `PageState.publish` calls `commit`, so a page needs nothing else. Each new lesson sentence gets a
serial number; a field follows the sentence once per serial, so a sentence the user typed on a page stays there
until a newer lesson sentence is committed elsewhere.
"""
from __future__ import annotations

import re

import streamlit as st

from bertlens.text import count_masks
from components.safe import md_escape

SENTENCE = "lesson_sentence"
_SERIAL = "_lesson_serial"
_AT = "_lesson_at_"
_LAST = "_lesson_last_"
# (page script, link label, the page's parameter that takes the sentence)
TARGETS = {
    "fill_mask": ("app_pages/fill_mask.py", "Fill-mask", "text"),
    "explain": ("app_pages/explain.py", "Explain", "text"),
    "heads": ("app_pages/heads.py", "Which heads?", "text"),
    "attention": ("app_pages/attention.py", "Attention", "text"),
    "counterfactual": ("app_pages/counterfactual.py", "Counterfactual", "text"),
    "bias_probe": ("app_pages/bias_probe.py", "Bias", "side_template"),
}
LABELS = {name: label for name, (_, label, _) in TARGETS.items()}
"""Each page's link label (our own fixed text)."""
USE_ON = ("explain", "heads", "attention", "counterfactual", "bias_probe")
# the gendered words a bias template puts {person} in place of, longest first ("the woman" before "woman")
GENDERED = ("the woman", "the man", "the girl", "the boy", "my mother", "my father", "my sister", "my brother",
            "woman", "man", "girl", "boy", "mother", "father", "she", "he")
_PERSON = re.compile(r"\b(" + "|".join(re.escape(w) for w in GENDERED) + r")\b", re.IGNORECASE)


def current() -> str | None:
    """The lesson sentence, or None before one is committed."""
    return st.session_state.get(SENTENCE)


def is_masked(text: str) -> bool:
    return isinstance(text, str) and count_masks(text) == 1


def seen(key: str, value: object) -> None:
    """A link set this field (first visit, Back/Forward, another page's link): the link wins over the lesson
    sentence, and its sentence becomes the lesson sentence when the page publishes it."""
    st.session_state[_AT + key] = st.session_state.get(_SERIAL, 0)


def follow(key: str, kept_key: str) -> None:
    """Put the lesson sentence in the field `key` if it is newer than what the field last took or was typed."""
    serial = st.session_state.get(_SERIAL, 0)
    if serial <= st.session_state.get(_AT + key, 0):
        return
    sentence = st.session_state[SENTENCE]
    st.session_state[key] = sentence
    st.session_state[kept_key] = sentence
    st.session_state[_AT + key] = serial
    st.session_state[_LAST + key] = sentence


def commit(key: str, value: object, default: object) -> None:
    """Called with the field's value after its widget: a changed masked sentence becomes the lesson sentence
    (a page's untouched default on its first showing does not)."""
    last = st.session_state.get(_LAST + key)
    if value == last:
        return
    st.session_state[_LAST + key] = value
    if last is None and value == default:
        return
    if is_masked(value) and value != st.session_state.get(SENTENCE):
        serial = st.session_state.get(_SERIAL, 0) + 1
        st.session_state[SENTENCE] = value
        st.session_state[_SERIAL] = serial
        st.session_state[_AT + key] = serial


def person_template(sentence: str) -> str | None:
    """The bias page's template made from a sentence: its first gendered word (or "the woman", "my father" …)
    becomes {person}; None when the sentence has none or no single [MASK]."""
    if not is_masked(sentence):
        return None
    match = _PERSON.search(sentence)
    if not match:
        return None
    return sentence[:match.start()] + "{person}" + sentence[match.end():]


def use_it_on(sentence: str, here: str) -> None:
    """The row under a result: "Use it on: Explain · Which heads? · Attention · Counterfactual · Bias", links that
    open those pages with this sentence (the bias page with the template made from it, when there is one)."""
    if not is_masked(sentence):
        return
    targets = [name for name in USE_ON if name != here]
    with st.container(horizontal=True, gap="small", key=f"use_it_on_{here}", vertical_alignment="center"):
        st.caption("Use it on:", width="content")
        for name in targets:
            script, label, param = TARGETS[name]
            value = person_template(sentence) if name == "bias_probe" else sentence
            st.page_link(page=script, label=LABELS[name], query_params={param: value} if value else None)


def template_offer(key: str) -> None:
    """On the bias page, above its template box (`key`): a button that puts the template made from the lesson
    sentence in the box, when the lesson sentence has a gendered word and the box holds something else."""
    template = person_template(current() or "")
    if not template or st.session_state.get(key) == template:
        return
    st.button("Use the lesson sentence: " + md_escape(template), key=f"{key}_from_lesson", on_click=_set,
              args=(key, template),
              icon=":material/school:", help="The lesson sentence with its gendered word as {person}.")


def _set(key: str, value: str) -> None:
    st.session_state[key] = value
