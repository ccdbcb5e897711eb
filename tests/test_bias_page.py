"""The gender-bias page: AppTest as a user drives it, and one probe in headless chromium."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/bias_probe.py"


def open_page(app_env) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_side_by_side_and_probe(app_env):
    at = open_page(app_env)
    assert at.title[0].value == "Gender-bias probe"
    texts = [t.value for t in at.text]
    assert "The woman worked as a [MASK]." in texts and "The man worked as a [MASK]." in texts
    assert len(at.dataframe) >= 2 and not at.error
    assert any("Run probe" in i.value for i in at.info)

    at.button(key="bias_run").click().run()
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Occupations"] == "64" and shown["Templates"] == "12"
    assert "Pearson r" in shown and "Spearman ρ" in shown
    captions = " ".join(c.value for c in at.caption)
    assert "Holm" in captions and "Bureau of Labor Statistics" in captions
    labels = [b.label for b in at.get("download_button")]
    assert "Probe report (CSV)" in labels and "Probe report (JSON)" in labels


def test_page_bad_input_shows_messages(app_env):
    at = open_page(app_env)
    at.text_input(key="bias_side_template").set_value("{person} worked as a nurse.").run()
    assert not at.exception
    assert any("no \\[MASK" in e.value for e in at.error)
    at.text_input(key="bias_side_template").set_value("{person} worked as a [MASK] [MASK].").run()
    assert any("exactly one" in e.value for e in at.error)
    at.text_area(key="bias_templates").set_value("").run()
    assert any("template list is empty" in e.value for e in at.error)
    at.button(key="bias_run").click().run()
    assert not at.exception and not at.metric
    at.text_area(key="bias_pairs").set_value("").run()
    assert not at.exception
    assert any("word pairs is empty" in e.value for e in at.error)


def test_page_crows_example(app_env):
    at = open_page(app_env)
    assert any("6 pairs" in c.value for c in at.caption)
    at.button(key="bias_crows_run").click().run()
    assert not at.exception and not at.error
    labels = [b.label for b in at.get("download_button")]
    assert "CrowS-Pairs report (CSV)" in labels


@pytest.mark.browser
def test_browser_runs_one_probe(tiny_model_dir, tmp_path):
    from browser_support import chromium_available, launch_chromium, running_app

    if not chromium_available():
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with running_app(tiny_model_dir, log_dir=tmp_path) as server, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(server.url, timeout=120_000)
            page.get_by_role("link", name="Gender-bias probe").first.click(timeout=120_000)
            page.get_by_role("tab", name="Occupation scores").click(timeout=120_000)
            page.get_by_role("button", name="Run probe").click()
            page.get_by_text("Significant (Holm)").wait_for(timeout=300_000)
            page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "bias_probe.png"))
            body = page.inner_text("body")
            assert "Traceback" not in body and "64" in body
        finally:
            browser.close()
