"""Headless chromium against `streamlit run app.py`: the attention overview, one head and bertviz render offline."""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="chromium is not installed"),
]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_attention_page_renders_offline(tiny_model_dir):
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    vendored: dict[str, int] = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_app(tiny_model_dir) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def guard(route):
                url = route.request.url
                if url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in LOCAL_HOSTS:
                    route.continue_()
                else:
                    outside.append(url)
                    route.abort()

            page.route("**/*", guard)
            page.on("response", lambda r: vendored.__setitem__(r.url.rsplit("/", 1)[-1], r.status)
                    if "/app/static/vendor/" in r.url else None)
            page.goto(app.url)
            page.locator("[data-testid=stSidebarNav]").get_by_text("Attention", exact=True).click()
            page.get_by_text("One head", exact=True).wait_for(timeout=120_000)
            plots = page.locator(".js-plotly-plot")
            plots.nth(1).wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "attention-overview.png"))

            # click layer 2, head 3 in the statistics heatmap: its markers are listed layer by layer
            heads = 4
            point = plots.nth(1).locator(".scatterlayer .point").nth(1 * heads + 2)
            point.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            box = point.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.click(x, y)
            page.locator(".gtitle", has_text="Layer 2, head 3").first.wait_for(timeout=60_000)

            page.get_by_role("tab", name="Heatmap").click()
            page.locator(".js-plotly-plot").nth(3).wait_for(timeout=30_000)
            page.get_by_role("tab", name="bertviz").click()
            page.get_by_text("Show bertviz's own views").click()
            frame = next(f for f in _wait_for_frames(page) if "bertviz" in (f.content() or ""))
            frame.locator("svg text").first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "attention-head.png"), full_page=True)
        finally:
            browser.close()
    assert outside == [], f"requests left the app's server: {outside}"
    assert vendored.get("require-2.3.6.js") == 200
    assert vendored.get("d3-5.7.0.min.js") == 200 and vendored.get("jquery-3.7.1.min.js") == 200


def _wait_for_frames(page, timeout_ms: int = 30_000):
    """The page's child frames once a bertviz srcdoc frame exists (the sidebar always holds the copy-link frame)."""
    page.wait_for_function("[...document.querySelectorAll('iframe')].some(f => (f.srcdoc || '').includes('bertviz'))",
                           timeout=timeout_ms)
    page.wait_for_timeout(500)
    return [f for f in page.frames if f != page.main_frame]
