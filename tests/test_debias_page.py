"""The page "What if we remove it?" as a user drives it (AppTest, the tiny random model): LEACE fitted as a job,
the gender direction intact and debiased, the comparisons and the published figures, and the sidebar switch that
shows every page through the fit and says so."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_support import finish_jobs, press_and_finish

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/debias.py"


def open_page(app_env) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def figure(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id]
    assert found, f"no chart {key}"
    return json.loads(found[0].proto.spec)


def plain(text: str) -> str:
    """Markdown text as a reader sees it (the page escapes what it writes)."""
    return text.replace("\\", "")


def switches(at: AppTest) -> list:
    return [t for t in at.sidebar.toggle if t.key and t.key.startswith("debias_on")]


def fit_leace(at: AppTest, layers: list[int]) -> AppTest:
    at.selectbox(key="db_method").set_value("leace").run()
    at.multiselect(key="db_layers").set_value(layers).run()
    press_and_finish(at, "db_fit_run")
    return finish_jobs(at)


def test_fitting_leace_shows_the_direction_collapse_and_a_switch_that_changes_fill_mask(app_env):
    at = open_page(app_env)
    assert at.title[0].value == "What if we remove it?"
    assert any("Press Fit" in i.value for i in at.info)
    assert not switches(at)

    at = fit_leace(at, [2])
    assert not at.error, [e.value for e in at.error]
    assert any("Debiased: LEACE at layer 2" in plain(s.value) for s in at.success)
    switch = switches(at)
    assert len(switch) == 1 and plain(switch[0].label) == "Debiased: LEACE at layer 2" and not switch[0].value

    press_and_finish(at, "db_direction_run")
    collapse = plain(" ".join(s.value for s in at.success))
    assert "collapses at layer 2" in collapse
    gap = figure(at, "db-gap")
    intact, after = gap["data"][0]["y"], gap["data"][1]["y"]
    assert abs(after[1]) < 1e-3 * abs(intact[1]) and after[0] == intact[0]
    assert "LEACE at layer 2" in gap["data"][1]["name"]
    dots = figure(at, "db-occupations")
    names = {trace.get("name") for trace in dots["data"]}
    assert "intact model" in names and any(n and "LEACE" in n for n in names)

    at.switch_page("app_pages/fill_mask.py").run()
    intact_chart = figure(at, "")["data"][0]["x"]
    assert not any("Debiased" in plain(i.value) for i in at.info)
    switches(at)[0].set_value(True).run()
    assert not at.exception
    assert any("Debiased: LEACE at layer 2" in plain(i.value) and "every result on this page" in plain(i.value)
               for i in at.info)
    debiased_chart = figure(at, "")["data"][0]["x"]
    assert not np.allclose(intact_chart, debiased_chart)

    at.switch_page("app_pages/explain.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Debiased: LEACE at layer 2" in plain(i.value) for i in at.info)
    at.switch_page(PAGE).run()
    assert not any("every result on this page" in plain(i.value) for i in at.info), "the lab shows both models"
    assert switches(at)[0].value, "the switch stays on across pages"


def test_the_comparisons_intact_beside_debiased_with_the_cost_and_the_published_figures(app_env):
    at = fit_leace(open_page(app_env), [1, 2])
    press_and_finish(at, "db_seat_run")
    press_and_finish(at, "db_cost_run")
    press_and_finish(at, "db_probe_run")
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["metric"]) == ["SEAT", "CrowS"]
    seat = table.set_index("metric").loc["SEAT"]
    assert seat["intact"] != seat["debiased"] and seat["difference"] == seat["debiased"] - seat["intact"]
    bars = figure(at, "db-seat")
    assert len(bars["data"]) == 2 and bars["data"][1]["name"] == "Debiased: LEACE at layers 1, 2"
    shown = {m.label.replace("\\", ""): m.value for m in at.metric}
    assert {"Pseudo-perplexity, intact", "Pseudo-perplexity, debiased", "Ratio (debiased / intact)",
            "Top-1 agreement", "Notable occupations, intact", "Notable occupations, debiased"} <= set(shown)
    dots = figure(at, "db-probe")
    assert not np.allclose(dots["data"][1]["x"], dots["data"][2]["x"])
    texts = plain(" ".join(w.value for w in at.warning) + " ".join(c.value for c in at.caption))
    assert "None of these figures is published for bert-large-cased" in texts and "Meade" in texts
    published = at.dataframe[1].value
    assert list(published["method"]) == ["intact", "SentenceDebias", "INLP"]
    assert list(published["SEAT mean |effect|"]) == [0.620, 0.434, 0.204]
    ours = at.dataframe[2].value
    assert ours["SEAT mean |effect|"].tolist() == [seat["intact"], seat["debiased"]]
    assert "random-weights model" in texts
    assert "Download this comparison (JSON)" in [b.label for b in at.get("download_button")]


def test_self_debias_fits_nothing_and_says_what_it_cannot_compare(app_env):
    at = open_page(app_env)
    at.selectbox(key="db_method").set_value("self_debias").run()
    assert not at.multiselect
    press_and_finish(at, "db_fit_run")
    at = finish_jobs(at)
    assert any("Debiased: Self-Debias: nothing is fitted" in plain(s.value) for s in at.success)
    assert any("leaves the hidden states alone" in plain(i.value) for i in at.info)
    assert "db_cost_run" in [b.key for b in at.button]
    switches(at)[0].set_value(True).run()
    for page in ("app_pages/fill_mask.py", "app_pages/explain.py", "app_pages/bias_probe.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert any("Debiased: Self-Debias" in plain(i.value) and "every result" in i.value for i in at.info), page


def test_presentation_mode_links_the_page_from_the_sidebar(app_env):
    """At 1024 px the top bar has no room for a tenth page (no page may wait behind "more"): the page leaves the
    bar in presentation mode and the sidebar links it instead."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert "debias" in [link.proto.page for link in at.sidebar.get("page_link")]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    assert "debias" not in [link.proto.page for link in at.sidebar.get("page_link")]


def test_the_comparison_download_names_the_transform_and_holds_what_was_computed(lm):
    from bertlens.debias import direction, evaluate, fit as fitting
    from components.debias_view import comparison_json

    fit = fitting.fit(lm, "leace", layers=[2])
    intact = direction.gender_directions(lm)
    after = direction.gender_directions(lm, interventions=fit.interventions())
    shown = {"direction": {"layers": [{"layer": d.layer, "gap_intact": d.gap, "gap_debiased": a.gap}
                                      for d, a in zip(intact, after)]},
             "cost": evaluate.lm_cost(lm, fit, evaluate.read_heldout()[:5], bootstrap=50), "metrics": {}}
    document = json.loads(comparison_json(lm, fit, shown))
    assert document["transform"] == "Debiased: LEACE at layer 2"
    assert document["meta"]["debias"]["method"] == "leace" and document["meta"]["debias"]["layers"] == [2]
    assert document["meta"]["random_weights"] is True
    assert document["gender_direction"]["layers"][1]["gap_debiased"] == pytest.approx(0, abs=1e-6)
    assert document["language_model_cost"]["sentences"] == 5
    assert document["published"]["figures"][0]["SEAT mean |effect|"] == 0.620
    assert "bert-large-cased" in document["published"]["note"]


def test_a_fit_the_server_no_longer_keeps_is_said_in_the_sidebar_and_the_model_stays_intact(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.session_state["debias_fit"] = "debias:0123456789abcdef"
    at.run()
    at.switch_page("app_pages/fill_mask.py").run()
    assert not at.exception and not switches(at)
    assert any("no longer kept on the server" in c.value for c in at.sidebar.caption)
    assert not any("every result on this page" in i.value for i in at.info)
