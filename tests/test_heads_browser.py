"""Headless chromium against `streamlit run app.py`: clicking a head on the "Which heads?" map links to its attention
pattern, and clicking the head-switch grid on Fill-mask switches a head off and on again. One server for both."""
from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlparse

import pytest

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="chromium is not installed"),
]

TEXT = "The nurse said that [MASK] would be late."
HEADS = 4  # the tiny test model: 2 layers of 4 heads


@pytest.fixture(scope="module")
def browser_page(tiny_model_dir):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_app(tiny_model_dir) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield app, browser
        finally:
            browser.close()


def click_marker(page, plot, index: int) -> None:
    """Click the invisible marker of the index-th head (layer-major) of a grid chart."""
    point = plot.locator(".scatterlayer .point").nth(index)
    point.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def test_a_clicked_head_links_to_its_attention_pattern(browser_page):
    app, browser = browser_page
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"{app.url}/heads?text={TEXT.replace(' ', '+').replace('[', '%5B').replace(']', '%5D')}"
              "&swap=nurse%3Dman&targets=she%2Che")
    page.get_by_role("button", name="Find the heads").click()
    page.get_by_text("Total effect of the swap").wait_for(timeout=120_000)
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for(timeout=60_000)
    click_marker(page, plot, 1 * HEADS + 2)  # layer 2, head 3
    link = page.get_by_role("link", name="Open head 2.3 on Attention")
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    target = urlparse(urljoin(page.url, href))
    assert target.path.endswith("/attention")
    assert {k: v[0] for k, v in parse_qs(target.query).items()} == {"text": TEXT, "layer": "2", "head": "3"}
    assert "head=2.3" in page.url  # the chosen head is a page input: it lasts in the link
    page.screenshot(path=str(ARTIFACTS / "heads-clicked.png"))
    page.goto(urljoin(page.url, href))
    page.get_by_text("One head", exact=True).wait_for(timeout=120_000)
    page.locator(".gtitle", has_text="Layer 2, head 3").first.wait_for(timeout=60_000)
    page.close()


def test_the_switch_grid_toggles_a_head(browser_page):
    app, browser = browser_page
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"{app.url}/fill-mask?text=The+nurse+said+that+%5BMASK%5D+would+be+late.&hs_mode=chosen")
    page.get_by_text("Switch heads off").wait_for(timeout=120_000)
    grid = page.locator(".st-key-fm_hs_grid_0 .js-plotly-plot")
    grid.wait_for(timeout=60_000)
    click_marker(page, grid, 0 * HEADS + 1)  # layer 1, head 2
    page.get_by_text("1 head switched off: 1.2").wait_for(timeout=60_000)
    assert "hs_heads=1.2" in page.url
    grid = page.locator(".st-key-fm_hs_grid_1 .js-plotly-plot")
    grid.wait_for(timeout=60_000)
    click_marker(page, grid, 0 * HEADS + 1)  # the same head again: back on
    page.get_by_text("Click heads on the grid").wait_for(timeout=60_000)
    assert "hs_heads" not in page.url
    page.close()
