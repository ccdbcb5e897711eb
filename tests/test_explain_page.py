"""The Explain page through AppTest as a user drives it, and each of its four views in headless chromium."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import job_runner, press_and_finish
from browser_support import ARTIFACTS, app_pages, chromium_available, launch_chromium, running_app

ROOT = Path(__file__).resolve().parent.parent
EXPLAIN_PAGE = next(page for page in app_pages() if page.name == "explain")
TABS = ["Logit lens", "Integrated gradients", "Attention rollout", "Side by side"]
HOSTILE = "<img src=x onerror=alert(1)>"


def open_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(EXPLAIN_PAGE.script).run()
    assert not at.exception, at.exception
    return at


def chart_specs(at: AppTest) -> str:
    return " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_page_is_registered_after_fill_mask():
    names = [page.name for page in app_pages()]
    assert EXPLAIN_PAGE.url_path == "explain"
    assert names.index("explain") == names.index("fill_mask") + 1


def test_default_page_shows_all_four_views(app_env, lm):
    at = open_page()
    assert [t.label for t in at.tabs] == TABS
    assert not at.error
    assert len(at.get("plotly_chart")) == 7  # grid, log-prob, rank, entropy/KL, rollout, side by side, matrix
    run = at.button(key="ex_run")
    assert run.label.replace("\\", "").startswith("Run integrated gradients, occlusion, gradient × input (")
    press_and_finish(at, "ex_run")
    assert len(at.get("plotly_chart")) == 8  # and the word strip of the slow methods
    assert "ex-ig-words" in [c.key for c in at.get("plotly_chart")]
    infos = " ".join(i.value for i in at.info)
    assert "The lens is untrained" in infos and "Rollout's limits" in infos
    assert any("No method is the truth" in m.value for m in at.markdown)
    texts = " ".join(t.value for t in at.text)
    assert "logit(he) - logit(she)" in texts
    lens_table = at.dataframe[0].value
    assert len(lens_table) == lm.info.layers + 1 and "contrast rank" in lens_table.columns


@pytest.fixture
def biased_app(app_env, tmp_path, monkeypatch):
    """The app on the tiny model with a non-zero decoder bias."""
    from test_explain import build_biased_model

    folder = build_biased_model(app_env, tmp_path / "tiny-biased")
    monkeypatch.setenv("BERT_LENS_MODEL", str(folder))
    return folder


def test_the_lens_bias_toggle_and_top_k_change_the_lens(biased_app):
    at = open_page()
    before = at.dataframe[0].value["target log p"].tolist()
    at.toggle(key="ex_bias").set_value(False).run()
    assert not at.exception
    after = at.dataframe[0].value["target log p"].tolist()
    assert before != after
    at.slider(key="ex_top_k").set_value(3).run()
    assert "candidates, most likely first" in chart_specs(at)


def test_a_multi_piece_target_offers_its_first_piece(app_env):
    at = open_page()
    at.text_input(key="ex_target").set_value("firefighter").run()
    assert "one WordPiece at one mask" in at.error[0].value
    assert not at.tabs
    at.button[0].click().run()
    assert at.text_input(key="ex_target").value == "fire"
    assert not at.error and [t.label for t in at.tabs] == TABS
    at.text_input(key="ex_contrast").set_value("firefighter").run()
    assert "contrast 'firefighter'" in at.error[0].value.replace("\\", "")
    at.button[0].click().run()
    assert at.text_input(key="ex_contrast").value == "fire"
    assert "same WordPiece" in at.error[0].value.replace("\\", "")


@pytest.mark.parametrize("field,value,message", [
    ("ex_contrast", "he", "same WordPiece"),
    ("ex_target", "", "Type the target word"),
    ("ex_text", "word " * 600 + "[MASK]", "tokens long"),
    ("ex_text", "She said [mask] was late.", "exactly as"),
])
def test_bad_input_gives_a_clear_message(app_env, field, value, message):
    at = open_page()
    if field == "ex_text":
        at.text_area(key=field).set_value(value).run()
    else:
        at.text_input(key=field).set_value(value).run()
    assert not at.exception
    assert any(message in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]


def test_no_mask_offers_to_mask_a_word(app_env):
    at = open_page()
    at.text_area(key="ex_text").set_value("The doctor said he would be late.").run()
    assert "There is no [MASK]" in at.info[0].value
    assert not at.tabs
    picked = next(w for w in at.selectbox(key="ex_mask_word").options if w.endswith(" he"))
    at.selectbox(key="ex_mask_word").set_value(
        next(o for o in at.selectbox(key="ex_mask_word").proto.options if o == picked)).run()
    assert not at.exception
    assert "The doctor said [MASK] would be late." in [c.value for c in at.code]
    assert [t.label for t in at.tabs] == TABS


def test_completeness_warning_follows_the_gap(app_env, lm):
    from bertlens.explain import integrated_gradients, resolve_target

    at = open_page()
    at.number_input(key="ex_steps").set_value(1).run()
    press_and_finish(at, "ex_run")
    target = resolve_target(lm, at.session_state["ex_text"], "he", "she")
    gap_large = not integrated_gradients(lm, target, steps=1)[0].complete
    warned = any("completeness gap" in w.value for w in at.warning)
    assert warned == gap_large
    at.number_input(key="ex_steps").set_value(300).run()
    assert not any("completeness gap" in w.value for w in at.warning), "a result for 1 step must not show for 300"
    press_and_finish(at, "ex_run")
    assert not any("completeness gap" in w.value for w in at.warning)


def test_user_text_is_never_rendered_as_html(app_env):
    at = open_page(ex_text=f"{HOSTILE} said [MASK] was late.", ex_target="he", ex_contrast="")
    assert not at.exception and not at.error
    press_and_finish(at, "ex_run")
    for element in (*at.markdown, *at.info, *at.warning, *at.caption):
        assert "<img" not in element.value
    assert "&lt;" in chart_specs(at) and "<img" not in chart_specs(at)


def test_the_page_runs_several_masks(app_env):
    at = open_page(ex_text="The [MASK] sat on the [MASK].", ex_target="mat", ex_contrast="")
    at.selectbox(key="ex_mask").set_value(1).run()
    assert not at.exception and not at.error
    assert "at [MASK] 2 (token 6)" in " ".join(t.value for t in at.text)
    at.text_area(key="ex_text").set_value("The cat sat on the [MASK].").run()
    assert not at.exception and "at [MASK] 1 (token 6)" in " ".join(t.value for t in at.text)


@pytest.mark.browser
@pytest.mark.skipif(not chromium_available(), reason="chromium is not installed")
def test_each_view_renders_in_chromium(tiny_model_dir):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_app(tiny_model_dir) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(app.url)
            page.locator("[data-testid=stSidebarNav]").get_by_text("Explain", exact=True).click()
            page.get_by_role("tab", name=TABS[0]).wait_for(timeout=120_000)
            page.get_by_role("button", name=re.compile("Run integrated gradients")).click()
            page.locator(".st-key-ex-ig-words").wait_for(state="attached", timeout=180_000)  # the run's result
            assert page.url.endswith(f"/{EXPLAIN_PAGE.url_path}") or f"/{EXPLAIN_PAGE.url_path}?" in page.url
            for number, name in enumerate(TABS):
                page.get_by_role("tab", name=name).click()
                panel = page.get_by_role("tabpanel", name=name)
                plot = panel.locator(".js-plotly-plot").first
                try:
                    plot.wait_for(timeout=60_000)
                except Exception as exc:
                    page.screenshot(path=str(ARTIFACTS / f"explain-{number + 1}-timed-out.png"), full_page=True)
                    raise AssertionError(f"no chart in the {name} tab; it shows: {panel.inner_text()[:500]!r}") from exc
                page.wait_for_timeout(1000)
                shot = ARTIFACTS / f"explain-{number + 1}-{name.lower().replace(' ', '-')}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 20_000
            assert page.locator("text=Traceback").count() == 0
        finally:
            browser.close()


def test_a_shared_link_sets_the_inputs(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"text": "The nurse said [MASK] was tired.", "target": "she", "contrast": "he",
                            "steps": "7"})
    at.run()
    at.switch_page(EXPLAIN_PAGE.script).run()
    assert not at.exception and not at.error
    assert at.text_area(key="ex_text").value == "The nurse said [MASK] was tired."
    assert at.number_input(key="ex_steps").value == 7
    assert "f = logit(she) - logit(he)" in " ".join(t.value for t in at.text)


def test_a_link_with_heavy_parameters_starts_no_job(app_env):
    """A link restores the inputs and shows the run button with its estimate; only the button starts the work."""
    runs_before = job_runner().runs
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"text": "word " * 100 + "[MASK].", "target": "he", "steps": "300"})
    at.run()
    at.switch_page(EXPLAIN_PAGE.script).run()
    assert not at.exception and not at.error
    assert at.number_input(key="ex_steps").value == 300
    label = at.button(key="ex_run").label
    assert label.endswith(")") and ("about" in label or "under a second" in label), "the estimate in words"
    assert job_runner().idle() and job_runner().runs == runs_before
    assert "ex-ig-words" not in [c.key for c in at.get("plotly_chart")]


def test_a_link_value_outside_the_spec_names_the_field_and_its_range(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"steps": "301", "residual": "2"})
    at.run()
    at.switch_page(EXPLAIN_PAGE.script).run()
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "'steps' must be a whole number from 1 to 300; got '301'. The link's value was ignored" in warnings
    assert "'residual' must be a number from 0 to 1" in warnings
    assert at.number_input(key="ex_steps").value == 20
