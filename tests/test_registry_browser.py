"""A metric on a new kind of input, dropped in as two modules, works in a real browser: the bias page's Benchmarks
tab shows its kind's panel, its option widget is drawn from its config spec, and changing the option changes the
result. `streamlit run app.py` with the tiny model and the toys of `registry_toys` installed, in chromium at
1024x768; screenshots land in test-artifacts/registry/."""
from __future__ import annotations

from urllib.parse import unquote

import pytest

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app
from registry_toys import KIND, METRIC, toys_installed

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")]

SHOTS = ARTIFACTS / "registry"
TIMEOUT_MS = 120_000
SAMPLE = ("nurse", "engineer", "carpenter", "it")


@pytest.fixture(scope="module")
def tab(tiny_model_dir):
    from playwright.sync_api import sync_playwright

    with toys_installed(), running_app(tiny_model_dir, log_dir=ARTIFACTS) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.app_url = server.url
        yield page
        browser.close()


def wait_idle(tab) -> None:
    tab.wait_for_timeout(300)
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def run_and_read(tab) -> str:
    tab.get_by_role("button", name="Run Toy long words").click()
    value = tab.locator("[data-testid=stMetricValue]").first
    value.wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)
    return value.inner_text()


def test_the_toy_metrics_option_widget_changes_its_result(tab):
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.goto(f"{tab.app_url}/bias-probe", timeout=TIMEOUT_MS)
    tab.get_by_role("heading", name="Gender-bias probe").wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)
    tab.get_by_role("tab", name="Benchmarks", exact=True).first.click()
    wait_idle(tab)
    tab.get_by_role("tab", name="Toy word list", exact=True).first.click()
    wait_idle(tab)
    first = run_and_read(tab)
    share = 100 * sum(len(w) >= 3 for w in SAMPLE) / len(SAMPLE)
    assert first.startswith(f"{share:.0f}") or first.startswith(f"{share:.3g}"), first
    tab.screenshot(path=str(SHOTS / "toy-min-len-3.png"))
    field = tab.locator(f".st-key-kind_{KIND}_min_len input")
    field.fill("6")
    field.press("Enter")
    wait_idle(tab)
    second = run_and_read(tab)
    share = 100 * sum(len(w) >= 6 for w in SAMPLE) / len(SAMPLE)
    assert second.startswith(f"{share:.0f}") or second.startswith(f"{share:.3g}"), second
    assert second != first
    assert f"{METRIC}.min_len=6" in unquote(tab.url), "the option travels in the page's link"
    tab.screenshot(path=str(SHOTS / "toy-min-len-6.png"))
