"""The audit views in AppTest: the counterfactual page (at most two forward passes), and the bias page's pronoun
and template-robustness tabs."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import press_and_finish

from bertlens.bias.counterfactual import counterfactual
from bertlens.bias.pronouns import run_pronoun_probe
from bertlens.numbers import significant

ROOT = Path(__file__).resolve().parent.parent
COUNTERFACTUAL = "app_pages/counterfactual.py"
BIAS = "app_pages/bias_probe.py"
_fresh = itertools.count()


def open_page(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def test_counterfactual_page_shows_both_versions_swaps_and_divergences(app_env, lm):
    text = f"Her brother said that she was a [MASK] in {next(_fresh)} towns."
    at = open_page(COUNTERFACTUAL, cf_text=text)
    assert at.title[0].value == "Counterfactual sentences"
    assert not at.error
    want = counterfactual(lm, text)
    texts = [t.value for t in at.text]
    assert text in texts and want.counterfactual_text in texts
    assert want.counterfactual_text.startswith("His sister said that he")
    swaps = at.dataframe[0].value
    assert list(swaps["word"]) == ["Her", "brother", "she"] and list(swaps["became"]) == ["His", "sister", "he"]
    values = {m.label.replace("\\", ""): m.value for m in at.metric}
    assert values["KL(original ‖ counterfactual)"] == f"{significant(want.kl_original_counterfactual)} nats"
    assert values["Jensen-Shannon divergence"] == f"{significant(want.js_divergence)} nats"
    assert len(at.dataframe) >= 3


def test_counterfactual_page_is_at_most_two_passes_and_none_on_rerun(app_env, passes):
    at = open_page("app_pages/home.py", cf_text=f"The woman thanked her {next(_fresh)} [MASK] again.")
    passes.clear()
    at.switch_page(COUNTERFACTUAL).run()
    assert not at.exception and not at.error
    assert len(passes) == 2, "one pass per version, at most two"
    at.checkbox(key="cf_union").check().run()
    at.slider(key="cf_top_k").set_value(5).run()
    assert len(passes) == 2, "the union view and another top-k read the cached analyses"


@pytest.mark.parametrize("text, message", [("The [MASK] is red.", "No gendered word"),
                                           ("She is red.", "There is no"),
                                           ("She saw a [MASK] and a [MASK].", "exactly one")])
def test_counterfactual_page_bad_input(app_env, text, message):
    at = open_page(COUNTERFACTUAL, cf_text=text)
    assert not at.exception
    assert any(message in e.value.replace("\\", "") for e in at.error)


def test_counterfactual_page_own_swap_list(app_env):
    at = open_page(COUNTERFACTUAL, cf_text="The king met a [MASK].")
    at.checkbox(key="cf_own_pairs").check().run()
    assert "The queen met a [MASK]." in [t.value for t in at.text]
    at.text_area(key="cf_pairs").set_value("a,b,c\nnot two words,x").run()
    assert not at.exception and any("Line 2" in e.value.replace("\\", "") for e in at.error)


def test_pronoun_tab(app_env, lm):
    at = open_page(BIAS)
    assert any("Run pronoun probe" in i.value for i in at.info)
    press_and_finish(at, "bias_pronoun_run")
    assert not at.exception and not at.error
    want = run_pronoun_probe(lm)
    values = {m.label.replace("\\", ""): m.value for m in at.metric}
    assert values["Skew vs BLS % women: Pearson r"] == f"{want.correlation.pearson_r:.2f}"
    table = next(d.value for d in at.dataframe if "P(they)" in d.value.columns)
    assert len(table) == len(want.occupations)
    assert list(table["occupation"]) == [o.occupation for o in sorted(want.occupations, key=lambda o: o.skew)]
    good = at.text_area(key="bias_pronoun_templates").value
    at.text_area(key="bias_pronoun_templates").set_value("no slots here").run()
    assert not at.exception and any("{occupation}" in e.value.replace("\\", "") for e in at.error)
    assert not any("P(they)" in d.value.columns for d in at.dataframe), "a result shows only for its own inputs"
    at.text_area(key="bias_pronoun_templates").set_value(good).run()
    assert len(next(d.value for d in at.dataframe if "P(they)" in d.value.columns)) == len(want.occupations), \
        "back to the good templates, their result is read from the store without a new run"


def test_robustness_tab_headline_and_effect_size_without_rerun(app_env, passes):
    at = open_page(BIAS)
    press_and_finish(at, "bias_robustness_run")
    assert not at.exception and not at.error
    headline = next(i.value.replace("\\", "") for i in at.info if "paraphrase sets" in i.value)
    assert headline.startswith("Across 3 paraphrase sets")
    values = {m.label.replace("\\", ""): m.value for m in at.metric}
    assert "Headline count across sets" in values and "Mean |log-ratio| across sets" in values
    assert any("mean in paraphrase A" in d.value.columns for d in at.dataframe)
    ran = len(passes)
    assert ran > 0
    at.number_input(key="bias_min_effect").set_value(5.0).run()
    assert len(passes) == ran, "changing the minimum effect re-reads the cached run"
    assert {m.label: m.value for m in at.metric}["Headline count across sets"] == "0 – 0"
    at.text_area(key="bias_paraphrases").set_value("[only]\n{person} is a [MASK].").run()
    press_and_finish(at, "bias_robustness_run")
    assert not at.exception and any("at least two" in e.value.replace("\\", "") for e in at.error)
