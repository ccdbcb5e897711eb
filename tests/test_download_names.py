"""Downloads say what they show (issue 26): on every page that offers them, each file (buttons and charts' SVG/PNG)
is named after the page's sentence or template and the model, and standalone figures carry both in their title.
AppTest drives the pages; `st.download_button` is watched for the names it is given."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_support import press_and_finish
from browser_support import app_pages
from components import figure_export

ROOT = Path(__file__).resolve().parent.parent
PAGES = {page.name: page for page in app_pages()}
SENTENCE = "The nurse said that [MASK] was tired."
SENTENCE_STEM = "The-nurse-said-that-MASK-was-tired"
TEMPLATE = "{person} worked as a [MASK]."
CASES = {  # page: (link inputs, run button (or box to tick) or None, what every name carries)
    "fill_mask": ({"text": SENTENCE}, None, SENTENCE_STEM),
    "attention": ({"text": SENTENCE}, None, SENTENCE_STEM),
    "explain": ({"text": SENTENCE}, "ex_run", SENTENCE_STEM),
    "heads": ({"text": "The nurse said that [MASK] was tired.", "swap": "nurse=man", "targets": "she,he"}, "hd_run",
              SENTENCE_STEM),
    "counterfactual": ({"text": "The woman said that [MASK] was tired."}, "cf_union", "The-woman-said-that-MASK"),
    "next_sentence": ({"a": "The nurse was tired.", "b": "She went home early."}, None, "The-nurse-was-tired"),
    "bias_probe": ({"side_template": TEMPLATE}, None, "person-worked-as-a-MASK"),
}


@pytest.fixture
def named(monkeypatch) -> list[str]:
    """The file name of every download button drawn from now on, through `st.` or a column."""
    from streamlit.delta_generator import DeltaGenerator

    names: list[str] = []
    original = DeltaGenerator.download_button

    def watched(self, label, data, file_name=None, *args, **kwargs):
        names.append(file_name)
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", watched)
    monkeypatch.setattr(st, "download_button", lambda *args, **kwargs: watched(st._main, *args, **kwargs))
    return names


def open_page(name: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update(params)
    at.run()
    at.switch_page(PAGES[name].script).run()
    assert not at.exception, at.exception
    return at


def chart_names(at: AppTest) -> dict[str, str]:
    return {chart.key: json.loads(chart.proto.config)["toImageButtonOptions"]["filename"]
            for chart in at.get("plotly_chart") if chart.proto.config}


@pytest.mark.parametrize("page", list(CASES))
def test_every_download_on_the_page_names_its_sentence_and_the_model(app_env, tiny_model_dir, named, page):
    params, run, stem = CASES[page]
    at = open_page(page, params)
    if run == "cf_union":  # the tiny model's two top-k lists may share no word
        at.checkbox(key=run).check().run()
    elif run:
        at = press_and_finish(at, run)
    model = Path(tiny_model_dir).name
    charts = chart_names(at)
    assert charts, f"{page} draws no chart"
    for key, name in charts.items():
        assert name.startswith("bertlens-") and f"-{model}-" in name and stem in name, (key, name)
    if page == "bias_probe":
        assert set(charts) == {"bias-side-chart"}, "the side-by-side chart alone names the template"
    files = [name for name in named if not name.startswith("bertlens-lesson")]
    expected = {"attention": ["attention-heads", ".csv"], "heads": ["mediation-heads", "mediation-nie", ".json"],
                "explain": ["logit-lens"]}.get(page, [])
    assert all(any(part in name for name in files) for part in expected), (page, files)
    for name in files if page != "bias_probe" else ():  # its files: the next test
        assert name.startswith("bertlens-") and f"-{model}-" in name and stem in name, name


def test_the_bias_pages_reports_name_the_model_not_the_side_template(app_env, tiny_model_dir, named):
    """The probe and the benchmarks run the page's own templates and files, so their files name the model only."""
    at = open_page("bias_probe", {"side_template": TEMPLATE})
    model = Path(tiny_model_dir).name
    audit = [name for name in named if name.startswith("bertlens-audit")]
    assert audit and all(name.split(".")[0] in (f"bertlens-audit-{model}", f"bertlens-audit-report-{model}")
                         for name in audit), audit


def test_names_and_titles_shorten_the_sentence_and_stay_file_safe(app_env):
    at = AppTest.from_string(
        "from components import figure_export as f\n"
        "import streamlit as st\n"
        "f.install()\n"
        "st.text(f.context_name('mediation'))\n"
        "f.set_context('/models/google/bert-large-cased/', 'The nurse said that [MASK] was tired, then she "
        "went home/../ and slept for a very long time.')\n"
        "st.text(f.context_name('mediation'))\n"
        "st.text(f.context_title('Indirect effect (NIE) of each head'))\n"
        "st.text(f.file_name('lesson-My lesson'))\n", default_timeout=30).run()
    plain, named, title, lesson = (t.value for t in at.text)
    assert plain == "bertlens-mediation"
    assert named.startswith("bertlens-mediation-bert-large-cased-The-nurse-said-that-MASK-was-tired")
    assert len(named) <= 100 and "/" not in named and ".." not in named
    assert title.startswith("Indirect effect (NIE) of each head · “The nurse said that [MASK] was tired")
    assert title.endswith("…” · bert-large-cased")
    assert lesson == "bertlens-lesson-My-lesson", "a lesson plan is no page's figure: no context"
    at.run()
    assert at.text[0].value == "bertlens-mediation", "the context lasts one run"


def test_standalone_figures_are_wide_enough_for_their_title():
    from bertlens.svg import text_width
    from components.heads_view import nie_svg
    import numpy as np
    import re

    title = "Indirect effect (NIE) of each head · “The nurse said that [MASK] was tired, then she went…” · bert"
    svg = nie_svg(np.zeros((2, 2)), title=title)
    width = float(re.search(r'width="(\d+)"', svg).group(1))
    assert width >= text_width(title, 11 * 1.2)
    assert figure_export.shortened("word " * 20, 12) == "word word w…"
