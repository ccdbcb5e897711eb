"""One forward pass per page view: counted by wrapping the encoder's forward while a page runs in AppTest."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from browser_support import app_pages

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {page.url_path: page.script for page in app_pages()}
_fresh = itertools.count()


def fresh(text: str) -> str:
    """A text no earlier test has run, so the shared result caches cannot hide a pass."""
    return f"{text} Case {next(_fresh)} {id(text)}."


def open_app(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    return at


def test_counter_sees_a_pass(app_env, lm, passes):
    from bertlens.fill_mask import fill_mask

    fill_mask(lm, fresh("The [MASK] is here."))
    assert len(passes) == 1


def test_fill_mask_with_target_words_is_one_pass(app_env, lm, passes):
    targets = "doctor, nurse, teacher"
    assert all(len(lm.tokenizer.tokenize(w.strip())) == 1 for w in targets.split(","))
    at = open_app(fm_text=fresh("The [MASK] worked late."), fm_targets=targets)
    passes.clear()
    at.switch_page(PAGES["fill-mask"]).run()
    assert not at.exception and not at.error
    assert len(at.dataframe) >= 2, "predictions and target scores are both shown"
    assert len(passes) == 1


def test_attention_page_of_a_text_with_a_mask_is_one_pass(app_env, passes):
    at = open_app(att_text=fresh("The cat sat on the [MASK] because it was tired."))
    passes.clear()
    at.switch_page(PAGES["attention"]).run()
    assert not at.exception and not at.error
    assert "The [MASK] link" in [s.value for s in at.subheader]
    assert at.selectbox(key="att_qk_token") is not None
    assert len(passes) == 1
    at.selectbox(key="att_layer").set_value(2).run()
    at.selectbox(key="att_qk_token").set_value(3).run()
    assert len(passes) == 1, "choosing another head or query token redraws from the cached analysis"


def test_mask_a_word_is_one_pass(app_env, lm, passes):
    text = fresh("I like the red car")
    at = open_app(fm_text=text)
    at.switch_page(PAGES["fill-mask"]).run()
    words = at.button_group(key="fm_mask_word")
    labels = [o.content.replace("\\", "") for o in words.proto.options]
    assert len(lm.tokenizer.tokenize(labels[3])) == 1
    passes.clear()
    words.set_value(3).run()
    assert not at.exception and not at.error
    assert any("[MASK]" in c.value for c in at.code), "the masked text is shown"
    assert "probability" in at.metric[0].label
    assert len(passes) == 1, "prediction and the original word's score come from one pass"
