"""Limits for heavy work on a public server: BERT_LENS_MAX_IG_STEPS and BERT_LENS_MAX_TOKENS (one accessor,
`bertlens.settings.limits`), applied where steps and token counts are checked: the core, the explain page and the
links that set its inputs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.encoding import encode, token_limit
from bertlens.errors import InputError
from bertlens.explain import check_steps, max_steps
from bertlens.settings import Settings, limits

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_hard_limits(monkeypatch):
    monkeypatch.delenv("BERT_LENS_MAX_IG_STEPS", raising=False)
    monkeypatch.delenv("BERT_LENS_MAX_TOKENS", raising=False)
    assert (limits().max_ig_steps, limits().max_tokens) == (300, 512)
    assert check_steps(300) == 300


def test_the_operator_lowers_the_steps(monkeypatch):
    monkeypatch.setenv("BERT_LENS_MAX_IG_STEPS", "40")
    assert max_steps() == 40 and check_steps(40) == 40
    with pytest.raises(InputError, match="from 1 to 40"):
        check_steps(41)


def test_the_operator_lowers_the_tokens(monkeypatch, lm):
    monkeypatch.setenv("BERT_LENS_MAX_TOKENS", "16")
    assert token_limit(lm) == 16
    encode(lm, "A short one.")
    with pytest.raises(InputError, match="at most 16"):
        encode(lm, "This sentence is certainly a good deal longer than sixteen word pieces, so it is refused.")


@pytest.mark.parametrize("name, value", [("BERT_LENS_MAX_IG_STEPS", "301"), ("BERT_LENS_MAX_IG_STEPS", "0"),
                                         ("BERT_LENS_MAX_TOKENS", "1024"), ("BERT_LENS_MAX_TOKENS", "lots")])
def test_a_limit_cannot_be_raised_or_garbled(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=name):
        Settings.from_env()


def test_integrated_gradients_refuse_more_steps_than_the_server_allows(lm, monkeypatch):
    """What the explain page and its links run (the registered explainer calls this): over the limit, no pass."""
    from bertlens.explain import integrated_gradients, resolve_target

    monkeypatch.setenv("BERT_LENS_MAX_IG_STEPS", "8")
    target = resolve_target(lm, "The [MASK] sat on the mat.", "cat")
    with pytest.raises(InputError, match="from 1 to 8"):
        integrated_gradients(lm, target, steps=9)
    ig, _ = integrated_gradients(lm, target, steps=8)
    assert ig.steps == 8


def test_the_explain_page_survives_a_link_over_the_limit(app_env, monkeypatch):
    monkeypatch.setenv("BERT_LENS_MAX_IG_STEPS", "8")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update({"steps": "300"})
    at.run()
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception
    steps = next((w.value for w in at.number_input if w.key.endswith("steps")), 8)
    if steps > 8:  # the page may show the link's value; what it would run is refused before any pass
        with pytest.raises(InputError, match="from 1 to 8"):
            check_steps(steps)
