"""AppTest: the home, fill-mask and next-sentence pages behave as a user sees them."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if query:
        at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception
    return at


def test_home_links_every_page_and_shows_model_facts(app_env):
    at = open_page()
    links = {link.proto.page for link in at.get("page_link")}
    assert links == {"fill-mask", "next-sentence", "attention", "bias-probe"}
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "Layers" in sidebar and "Heads" in sidebar
    assert any("random weights" in w.value for w in at.warning)


def test_fill_mask_default_shows_chart_table_and_completion(app_env):
    at = open_page("app_pages/fill_mask.py")
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert list(table.columns) == ["rank", "token", "probability", "log-probability", "token id"]
    assert len(table) == 10
    assert "[MASK]" not in at.code[0].value


def test_fill_mask_two_masks_are_labelled(app_env):
    at = open_page("app_pages/fill_mask.py")
    at.text_area(key="fm_text").set_value("The [MASK] sat on the [MASK].").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["[MASK] 1", "[MASK] 2"]
    assert any("other masks still in place" in i.value for i in at.info)


def test_fill_mask_preset_and_top_k(app_env):
    at = open_page("app_pages/fill_mask.py")
    at.selectbox(key="fm_preset").set_value("Model card: The woman worked as a [MASK].").run()
    assert at.text_area(key="fm_text").value == "The woman worked as a [MASK]."
    at.slider(key="fm_top_k").set_value(3).run()
    assert len(at.dataframe[0].value) == 3
    assert at.query_params["k"] in ("3", ["3"])


def test_fill_mask_targets_multi_piece(app_env):
    at = open_page("app_pages/fill_mask.py")
    at.text_input(key="fm_targets").set_value("firefighter, doctor").run()
    scores = at.dataframe[1].value
    assert list(scores["word"]) == ["firefighter", "doctor"]
    assert scores["rank in vocabulary"][0].startswith("n/a")
    assert any("chained left to right" in c.value for c in at.caption)


def test_fill_mask_mask_a_word(app_env):
    at = open_page("app_pages/fill_mask.py")
    at.text_area(key="fm_text").set_value("I like the red car.").run()
    words = at.button_group(key="fm_mask_word")
    assert [o.content.replace("\\", "") for o in words.proto.options] == ["I", "like", "the", "red", "car", "."]
    words.set_value(3).run()
    assert not at.exception
    assert "I like the [MASK] car." in [c.value for c in at.code]
    assert "probability" in at.metric[0].label and any("rank" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize("text, expected", [
    ("", "empty"),
    ("a [mask] b", "[MASK]"),
    ("[MASK] " * 200, "limit is 10"),
    ("word " * 600 + " [MASK]", "512"),
    ("x" * 100_000, "characters long"),
    ("</script><img src=x onerror=alert(1)> [MASK]", None),
    ("![x](http://example.com/x.png) [MASK]", None),
])
def test_fill_mask_bad_input(app_env, text, expected):
    at = open_page("app_pages/fill_mask.py")
    at.text_area(key="fm_text").set_value(text).run()
    assert not at.exception
    if expected is None:
        assert not at.error
        assert text.split(" [MASK]")[0] in at.code[0].value.replace("\n", "")
    else:
        assert any(expected in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
    assert at.text_area(key="fm_text").value == text


def test_fill_mask_query_params(app_env):
    at = open_page("app_pages/fill_mask.py", {"text": "The [MASK] barked.", "k": "4"})
    assert at.text_area(key="fm_text").value == "The [MASK] barked."
    assert len(at.dataframe[0].value) == 4


@pytest.mark.parametrize("k", ["999", "abc", "-1"])
def test_fill_mask_bad_query_params_fall_back(app_env, k):
    at = open_page("app_pages/fill_mask.py", {"k": k})
    assert any("ignored" in w.value for w in at.warning)
    assert at.slider(key="fm_top_k").value == 10


def test_next_sentence_pair_and_ranking(app_env):
    at = open_page("app_pages/next_sentence.py")
    value = at.metric[0].value
    assert 0 < float(value) < 1 and "%" not in value, "a probability in the one number format (0.873, 6.70e-5)"
    assert len(at.get("plotly_chart")) == 2
    ranking = at.dataframe[0].value
    assert list(ranking["P(IsNext)"]) == sorted(ranking["P(IsNext)"], reverse=True)


@pytest.mark.parametrize("key, value, expected", [
    ("ns_a", "", "sentence A is empty"),
    ("ns_b", "", "Sentence B is empty"),
])
def test_next_sentence_empty_sides(app_env, key, value, expected):
    at = open_page("app_pages/next_sentence.py")
    at.text_area(key=key).set_value(value).run()
    assert not at.exception
    assert any(expected in e.value.replace("\\", "") for e in at.error)
