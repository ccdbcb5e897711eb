"""What if we remove it? in a real browser (issue 27's "done when"): LEACE fitted on the page, the gender direction
collapsing at the fitted layer, and the sidebar switch that changes the probe page's figures and says so. The tiny
model, headless chromium at 1024x768; screenshots, normal and in presentation mode, land in
test-artifacts/debias/."""
from __future__ import annotations

import json

import pytest

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")]

SHOTS = ARTIFACTS / "debias"
TIMEOUT_MS = 180_000
PROJECTOR = {"width": 1024, "height": 768}
NAME = "Debiased: LEACE at layer 2"  # the tiny model has 2 layers; the page fits at the last by default


@pytest.fixture(scope="module")
def app(tiny_model_dir):
    with running_app(tiny_model_dir, log_dir=ARTIFACTS) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def new_tab(browser):
    context = browser.new_context(viewport=PROJECTOR)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    return context, tab


def wait_idle(tab) -> None:
    tab.wait_for_timeout(300)
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def wait_title(tab, title: str) -> None:
    tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                          arg=title, timeout=TIMEOUT_MS)
    wait_idle(tab)


def wait_text(tab, selector: str, text: str) -> None:
    tab.wait_for_function("([s, t]) => [...document.querySelectorAll(s)].some(e => e.innerText.includes(t))",
                          arg=[selector, text], timeout=TIMEOUT_MS)


def chart_x(tab, key: str) -> str:
    """The x values of every trace of the keyed plotly chart, once it is drawn."""
    selector = f".st-key-{key} .js-plotly-plot"
    tab.wait_for_function("s => { const e = document.querySelector(s); return e && e.data && e.data.length; }",
                          arg=selector, timeout=TIMEOUT_MS)
    return tab.evaluate("s => JSON.stringify(document.querySelector(s).data.map(t => t.x))", selector)


def press(tab, key: str) -> None:
    """Press a job's run button, unless the store already holds its result (then there is none)."""
    button = tab.locator(f".st-key-{key} button")
    if button.count():
        button.first.click()
        wait_idle(tab)


def show(tab, selector: str) -> None:
    tab.locator(selector).first.scroll_into_view_if_needed()
    tab.wait_for_timeout(500)


def test_fitting_leace_collapses_the_direction_and_the_switch_changes_the_probe(app, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, tab = new_tab(browser)
    tab.goto(f"{app.url}/debias", timeout=TIMEOUT_MS)
    wait_title(tab, "What if we remove it?")
    tab.screenshot(path=str(SHOTS / "start-1024x768.png"))
    press(tab, "db_fit_run")
    wait_text(tab, "[data-testid=stAlert]", f"{NAME}: fitted on")
    switch = tab.locator("[data-testid=stSidebar] [data-testid=stCheckbox]", has_text=NAME)
    switch.first.wait_for(state="visible", timeout=TIMEOUT_MS)

    press(tab, "db_direction_run")
    wait_text(tab, ".st-key-db-collapse", "collapses at layer 2")
    chart_x(tab, "db-occupations")
    gap = json.loads(chart_x(tab, "db-gap"))
    assert len(gap) == 2, "the gap is drawn intact and debiased"
    wait_idle(tab)
    show(tab, ".st-key-db-collapse")
    tab.screenshot(path=str(SHOTS / "direction-1024x768.png"))
    show(tab, ".st-key-db-occupations")
    tab.screenshot(path=str(SHOTS / "occupations-1024x768.png"))

    tab.locator("[data-testid=stSidebarNav]").get_by_text("Gender-bias probe", exact=True).click()
    wait_title(tab, "Gender-bias probe")
    intact = chart_x(tab, "bias-side-chart")
    assert not tab.get_by_text("every result on this page is computed through this transform").count()
    switch.first.locator("label").click()
    wait_idle(tab)
    wait_text(tab, "[data-testid=stAlert]", f"{NAME}: every result on this page is computed through")
    tab.wait_for_function("([s, before]) => { const e = document.querySelector(s); "
                          "return e && e.data && JSON.stringify(e.data.map(t => t.x)) !== before; }",
                          arg=[".st-key-bias-side-chart .js-plotly-plot", intact], timeout=TIMEOUT_MS)
    assert chart_x(tab, "bias-side-chart") != intact, "the probe's figure changes with the switch"
    tab.screenshot(path=str(SHOTS / "probe-switched-on-1024x768.png"))
    assert not tab.errors, tab.errors
    context.close()

    context, tab = new_tab(browser)  # presentation mode: the results wait in the store for the same inputs
    tab.goto(f"{app.url}/debias?present=1", timeout=TIMEOUT_MS)
    wait_title(tab, "What if we remove it?")
    wait_text(tab, ".st-key-db-collapse", "collapses at layer 2")
    chart_x(tab, "db-occupations")
    wait_idle(tab)
    tab.screenshot(path=str(SHOTS / "present-top-1024x768.png"))
    show(tab, ".st-key-db-occupations")
    tab.screenshot(path=str(SHOTS / "present-occupations-1024x768.png"))
    font = tab.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert font == 20, "presentation mode's text is 20 px"
    assert not tab.errors, tab.errors
    context.close()
