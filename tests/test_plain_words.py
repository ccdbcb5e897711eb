"""Plain words (issue 26): probabilities a class can read ("4.4 in a million", never μ), and one-line definitions
in place while the switch is on (on by default in presentation mode), all listed on the Glossary page."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.numbers import in_words
from components.lesson_glossary import TERMS

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize("value", [4.406e-6, 8.75e-6, 0.00161, 2.5e-8, 9.4e-4, 1.0e-6])
def test_in_words_reads_back_as_the_same_number(value):
    text = in_words(value)
    number, _, _, word = text.split(" ")
    scale = {"thousand": 1e3, "million": 1e6, "billion": 1e9}[word]
    assert math.isclose(float(number) / scale, value, rel_tol=0.05), text
    assert 1 <= float(number) < 1000 and "μ" not in text


def test_in_words_uses_percent_from_one_in_a_hundred():
    assert in_words(0.0481) == "4.81%" and in_words(0.5) == "50.0%" and in_words(0.0) == "0%"
    assert in_words(None) == "n/a"


def test_the_glossary_defines_every_term_the_issue_names():
    assert {"f", "completeness gap", "NIE", "total effect", "KL", "nats", "Holm", "ties", "log-ratio"} <= set(TERMS)
    assert all(len(definition.splitlines()) == 1 and len(definition) < 220 for definition in TERMS.values())


def definitions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption if c.value.startswith(":material/menu_book:"))


def test_plain_words_follow_presentation_mode_until_switched(app_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/counterfactual.py").run()
    assert definitions(at) == "", "off by default outside presentation mode"
    at.toggle(key="present").set_value(True).run()
    assert "**KL**" in definitions(at) and "**nats**" in definitions(at) and "**log-ratio**" in definitions(at)
    at.toggle(key="plain_words_toggle").set_value(False).run()
    assert definitions(at) == "", "the switch wins over presentation mode"
    at.switch_page("app_pages/glossary.py").run()
    assert not at.exception
    page = " ".join(m.value for m in at.markdown)
    assert all(f"**{term}**" in page for term in TERMS)
