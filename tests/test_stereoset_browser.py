"""StereoSet on the bias page in a real browser: upload a dev.json-layout file, score it as a job, see the figures,
then download the auditor's HTML report from the Export tab. `streamlit run app.py` with the tiny model, driven by
headless chromium at 1024x768, in normal and presentation mode; screenshots land in test-artifacts/stereoset/."""
from __future__ import annotations

import re

import pytest

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app
from tests import stereoset_files as files

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")]

SHOTS = ARTIFACTS / "stereoset"
TIMEOUT_MS = 120_000
PROJECTOR = {"width": 1024, "height": 768}


@pytest.fixture(scope="module")
def app(tiny_model_dir):
    with running_app(tiny_model_dir, log_dir=ARTIFACTS) as server:
        yield server


@pytest.fixture(scope="module")
def tab(app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport=PROJECTOR, accept_downloads=True)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        yield page
        browser.close()


def wait_idle(tab) -> None:
    tab.wait_for_timeout(300)
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def open_tab(tab, label: str) -> None:
    tab.get_by_role("tab", name=label, exact=True).first.click()
    wait_idle(tab)


def test_stereoset_runs_on_the_bias_page_and_exports_the_report(app, tab, tmp_path):
    dev = files.write(tmp_path / "dev.json")
    tab.goto(f"{app.url}/bias-probe", timeout=TIMEOUT_MS)
    tab.get_by_role("heading", name="Gender-bias probe").wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)
    open_tab(tab, "Benchmarks")
    open_tab(tab, "StereoSet")
    tab.locator(".st-key-bias_stereoset_file input[type=file]").set_input_files(str(dev))
    wait_idle(tab)
    tab.get_by_text(f"{len(files.INTRA)} intrasentence and {len(files.INTER)} intersentence examples").wait_for(
        timeout=TIMEOUT_MS)
    tab.get_by_role("button", name=re.compile(r"^Score StereoSet")).click()
    tab.locator("[data-testid=stMetricLabel]").filter(has_text="ICAT").wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)
    main = tab.locator("[data-testid=stMain]")
    text = main.inner_text()
    assert "RANDOM weights" in text and "published bert-large-cased figures are not shown" in text
    charts = tab.locator("[data-testid=stMain] .js-plotly-plot").filter(visible=True)
    assert charts.count() >= 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.locator("[data-testid=stMetricLabel]").filter(has_text="ICAT").scroll_into_view_if_needed()
    tab.screenshot(path=str(SHOTS / "stereoset-1024x768.png"))
    charts.first.scroll_into_view_if_needed()
    tab.screenshot(path=str(SHOTS / "stereoset-chart-1024x768.png"))

    open_tab(tab, "Export")
    button = tab.get_by_role("button", name="Auditor's report (HTML)")
    button.wait_for(timeout=TIMEOUT_MS)
    with tab.expect_download(timeout=TIMEOUT_MS) as download:
        button.click()
    page = open(download.value.path(), encoding="utf-8").read()
    assert page.startswith("<!DOCTYPE html>") and "StereoSet per split and domain" in page
    assert "RANDOM weights" in page and "StereoSet SS" in page and "default-src 'none'" in page
    (SHOTS / "report-from-page.html").write_text(page, encoding="utf-8")

    tab.get_by_text("Presentation mode").first.click()
    wait_idle(tab)
    open_tab(tab, "Benchmarks")
    open_tab(tab, "StereoSet")
    tab.locator("[data-testid=stMetricLabel]").filter(has_text="ICAT").wait_for(timeout=TIMEOUT_MS)
    tab.locator("[data-testid=stMetricLabel]").filter(has_text="ICAT").scroll_into_view_if_needed()
    tab.screenshot(path=str(SHOTS / "stereoset-present-1024x768.png"))
    assert not tab.errors, tab.errors
