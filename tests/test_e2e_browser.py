"""End to end in a real browser: `streamlit run app.py` with the tiny model, driven by headless chromium.

For every page: load it, run its main action through its real widgets, check that its view appears with the
result the core computes, that the console has no errors, and that no request leaves the app's own server (CDN
scripts, web fonts and images are all refused and reported). A script and a markdown image typed into each page
must not run or load. Screenshots land in test-artifacts/browser/.

Per-page specifics live in PAGES below: adding a page is one entry.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import pytest

from bertlens import bias
from bertlens.bias.counterfactual import counterfactual
from bertlens.encoding import encode
from bertlens.explain import resolve_target
from bertlens.fill_mask import fill_mask
from bertlens.nsp import next_sentence
from bertlens.numbers import probability
from browser_support import ARTIFACTS, ROOT, app_pages, chromium_available, launch_chromium, running_app

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")]

SHOTS = ARTIFACTS / "browser"
SCRIPT = "</script><img src=x onerror=alert(1)><script>window.__pwned=1</script>"
MD_IMAGE = "![x](http://example.com/x.png)"
PAYLOAD = f"{SCRIPT} {MD_IMAGE} <iframe src=http://example.com></iframe>"
TIMEOUT_MS = 60_000
STREAMLIT_PROBE = re.compile(r"^/[\w-]+/_stcore/(health|host-config)$")


@dataclass(frozen=True)
class BrowserPage:
    """How to drive one page: where it lives, what to type where, what to click, and what must then appear."""

    title: str                       # its h1
    inputs: dict[str, str] = field(default_factory=dict)   # widget key -> text typed in
    click: tuple[str, ...] = ()      # names of the links, tabs or buttons clicked in turn to run the main action
    view: str = ".js-plotly-plot"    # CSS selector of the view that must appear
    shows: Callable | None = None    # (lm, inputs) -> [(CSS selector, text the core says must be shown there)]
    payload_key: str | None = None   # widget key the script payload is typed into
    payload_suffix: str = ""         # added after the payload so the page still runs (e.g. a [MASK])
    after_click_title: str | None = None


PAGES = {
    "home": BrowserPage(
        title="BERT Lens", click=("Fill-mask: what goes in the blank?",), view=".st-key-fm_text textarea",
        after_click_title="Fill-mask",
    ),
    "fill_mask": BrowserPage(
        title="Fill-mask", inputs={"fm_text": "The [MASK] sat on the mat."},
        shows=lambda lm, i: [("[data-testid=stCode]", fill_mask(lm, i["fm_text"], top_k=10).completed)],
        payload_key="fm_text", payload_suffix=" The [MASK] is here.",
    ),
    "explain": BrowserPage(
        title="Explain", inputs={"ex_text": "The nurse said [MASK] was tired."},
        shows=lambda lm, i: [("[data-testid=stText]", f"at [MASK] 1 (token "
                              f"{resolve_target(lm, i['ex_text'], 'he', 'she').position})")],
        payload_key="ex_text", payload_suffix=" [MASK] is here.",
    ),
    "next_sentence": BrowserPage(
        title="Next sentence",
        inputs={"ns_a": "I went to the store.", "ns_b": "The cat slept all day."},
        shows=lambda lm, i: [("[data-testid=stMetricValue]",
                              probability(next_sentence(lm, i['ns_a'], i['ns_b']).p_is_next))],
        payload_key="ns_b",
    ),
    "attention": BrowserPage(
        title="Attention", inputs={"att_text": "The dog chased the ball."},
        shows=lambda lm, i: [("[data-testid=stExpander] summary",
                              f"Tokens ({len(encode(lm, i['att_text']).tokens)})")],
        payload_key="att_text",
    ),
    "bias_probe": BrowserPage(
        title="Gender-bias probe", inputs={"bias_side_template": "{person} is a [MASK] at home."},
        click=("Occupation scores", "Run probe"),
        shows=lambda lm, i: [
            ("[data-testid=stText]", bias.side_by_side(lm, i["bias_side_template"], bias.load_pairs()[0])
             .female_text),
            ("[data-testid=stMetricValue]", str(len(bias.default_config().occupations))),
        ],
        payload_key="bias_side_template", payload_suffix=" {person} is a [MASK].",
    ),
    "heads": BrowserPage(
        title="Which heads?", inputs={"hd_text": "The nurse said that [MASK] was tired."},
        click=("Find the heads",),
        shows=lambda lm, i: [("[data-testid=stMetricLabel]", "Total effect")],
        payload_key="hd_text", payload_suffix=" [MASK] was late.",
    ),
    "glossary": BrowserPage(title="Glossary", view="[data-testid=stMain] li"),
    "debias": BrowserPage(
        title="What if we remove it?", click=("Fit",), view=".st-key-db_direction_run button",
        shows=lambda lm, i: [("[data-testid=stAlert]", f"Debiased: LEACE at layer {lm.config.num_hidden_layers}: "
                                                       "fitted on")],
    ),
    "counterfactual": BrowserPage(
        title="Counterfactual sentences", inputs={"cf_text": "He said that his [MASK] was late."},
        shows=lambda lm, i: [("[data-testid=stText]", counterfactual(lm, i["cf_text"]).counterfactual_text)],
        payload_key="cf_text", payload_suffix=" She said [MASK].",
    ),
}
APP_PAGES = {page.name: page for page in app_pages()}


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


class Watch:
    """Everything a page does that a test may object to: console errors, foreign requests, dialogs."""

    def __init__(self, own: str) -> None:
        self.own = own
        self.console: list[str] = []
        self.foreign: list[str] = []
        self.dialogs: list[str] = []
        self.requests = 0
        self.probes = 0

    def route(self, route) -> None:
        self.requests += 1
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc == self.own:
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def on_response(self, response) -> None:
        # Opened at /<page>, Streamlit's frontend first looks for its server under that path and gets a 404.
        if response.status == 404 and STREAMLIT_PROBE.search(urlsplit(response.url).path):
            self.probes += 1

    def on_console(self, message) -> None:
        if message.type == "error":
            self.console.append(message.text)

    def console_errors(self) -> list[str]:
        """Console errors, less one 'Failed to load resource: 404' for each of Streamlit's own path probes."""
        errors, excused = [], self.probes
        for text in self.console:
            if excused and text.startswith("Failed to load resource") and "404" in text:
                excused -= 1
                continue
            errors.append(text)
        return errors

    def on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_websocket(self, socket) -> None:
        if urlsplit(socket.url).netloc != self.own:
            self.foreign.append(socket.url)


@pytest.fixture
def page(app, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watch = Watch(f"{app.host}:{app.port}")
    context.route("**/*", watch.route)
    tab = context.new_page()
    tab.on("response", watch.on_response)
    tab.on("console", watch.on_console)
    tab.on("pageerror", lambda error: watch.console.append(f"page error: {error}"))
    tab.on("dialog", watch.on_dialog)
    tab.on("websocket", watch.on_websocket)
    tab.watch = watch
    yield tab
    context.close()


def wait_idle(tab) -> None:
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def open_page(tab, app, name: str) -> BrowserPage:
    spec = PAGES[name]
    tab.goto(f"{app.url}/{APP_PAGES[name].url_path}", timeout=TIMEOUT_MS)
    tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                          arg=spec.title, timeout=TIMEOUT_MS)
    wait_idle(tab)
    return spec


def type_into(tab, key: str, text: str) -> None:
    """Type into a keyed text input or area and commit it as a user would."""
    box = tab.locator(f".st-key-{key} textarea, .st-key-{key} input").first
    box.click()
    box.fill(text)
    box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    tab.wait_for_timeout(300)
    wait_idle(tab)


def click(tab, label: str) -> None:
    target = (tab.get_by_role("link", name=label).or_(tab.get_by_role("button", name=label))
              .or_(tab.get_by_role("tab", name=label))).first
    target.click()
    tab.wait_for_timeout(300)
    wait_idle(tab)


def visible_texts(tab, selector: str) -> list[str]:
    return tab.locator(selector).evaluate_all("els => els.map(e => e.innerText)")


def assert_clean(tab) -> None:
    watch = tab.watch
    assert not watch.foreign, f"requests left the app's server: {watch.foreign}"
    assert not watch.console_errors(), f"console errors: {watch.console_errors()}"
    assert not watch.dialogs, f"a dialog opened: {watch.dialogs}"


def test_every_page_of_the_app_has_an_entry():
    assert set(APP_PAGES) == set(PAGES), "add the new page to PAGES"


@pytest.mark.parametrize("name", list(PAGES))
def test_page_runs_its_main_action(page, app, lm, name):
    spec = open_page(page, app, name)
    for key, text in spec.inputs.items():
        type_into(page, key, text)
    for label in spec.click:
        click(page, label)
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].some(e => e.getBoundingClientRect().height > 0 && e.checkVisibility())",
        arg=spec.view, timeout=TIMEOUT_MS)
    if spec.after_click_title:
        page.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                               arg=spec.after_click_title, timeout=TIMEOUT_MS)
    for selector, expected in spec.shows(lm, spec.inputs) if spec.shows else []:
        page.wait_for_function(
            "([s, t]) => [...document.querySelectorAll(s)].some(e => e.innerText.includes(t))",
            arg=[selector, expected], timeout=TIMEOUT_MS)
    assert not page.locator("[data-testid=stException]").count(), "a traceback reached the page"
    page.evaluate("s => [...document.querySelectorAll(s)].filter(e => e.checkVisibility()).pop()"
                  "?.scrollIntoView({block: 'center'})", spec.view)
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert_clean(page)
    assert page.watch.requests > 0, "the route guard saw no request: it is not watching"


@pytest.mark.parametrize("name", [n for n, spec in PAGES.items() if spec.payload_key])
def test_typed_script_does_not_run(page, app, name):
    spec = open_page(page, app, name)
    type_into(page, spec.payload_key, PAYLOAD + spec.payload_suffix)
    page.wait_for_timeout(1000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-payload.png"), full_page=True)
    injected = page.evaluate("""() => ({
        pwned: window.__pwned !== undefined,
        onerror: document.querySelectorAll('[onerror]').length,
        img: [...document.querySelectorAll('img')].filter(i => /(^|\\/)x$|example\\.com/.test(i.getAttribute('src') || '')).length,
        iframe: [...document.querySelectorAll('iframe')].filter(f => /example\\.com/.test(f.getAttribute('src') || '')).length,
    })""")
    assert injected == {"pwned": False, "onerror": 0, "img": 0, "iframe": 0}, injected
    assert PAYLOAD.split(" ")[0] in page.locator(f".st-key-{spec.payload_key} textarea, "
                                                 f".st-key-{spec.payload_key} input").first.input_value()
    assert_clean(page)


def test_an_uploaded_reports_text_is_no_live_link(page, app, tmp_path):
    """Issue 28, broken 1 (components/audit_views.py:268): a report's ran_on with a markdown link, an image and bare
    URLs became <a href> and <img src> at the outside host. Expected in the browser's DOM: the text is shown, and no
    link or image points at that host."""
    ran_on = "[Click to re-login](http://127.0.0.9/phish) ![b](http://127.0.0.9/beacon.png) www.127.0.0.9"
    report = {"report": "BERT Lens bias audit", "date": "2026-01-01", "configuration_sha256": "a" * 64,
              "ran_on": ran_on, "inputs": [], "completed": 1, "failed": 0, "spread": [],
              "checkpoints": [{"model": "m1", "status": "ok", "scores": {"s": 1.0},
                               "occupations": [{"occupation": "nurse", "log_ratio": 0.5}]}]}
    upload = tmp_path / "report.json"
    upload.write_text(json.dumps(report), encoding="utf-8")
    open_page(page, app, "bias_probe")
    click(page, "Compare")
    click(page, "Many checkpoints")
    page.locator(".st-key-bias_audit_upload input[type=file]").set_input_files(str(upload))
    page.wait_for_function("() => document.body.innerText.includes('127.0.0.9/phish')", timeout=TIMEOUT_MS)
    wait_idle(page)
    outside = page.evaluate("""() => ({
        a: [...document.querySelectorAll('a')].map(a => a.getAttribute('href') || '').filter(h => h.includes('127.0.0.9')),
        img: [...document.querySelectorAll('img')].map(i => i.getAttribute('src') || '').filter(s => s.includes('127.0.0.9')),
    })""")
    assert outside == {"a": [], "img": []}, outside
    assert_clean(page)


def test_route_guard_refuses_and_reports_foreign_hosts(page, app):
    """The guard must be able to fail: a fetch to another host is refused and recorded."""
    open_page(page, app, "home")
    outcome = page.evaluate("""() => fetch('http://example.com/x.png').then(() => 'loaded', () => 'refused')""")
    assert outcome == "refused"
    assert any("example.com" in url for url in page.watch.foreign)
    page.watch.foreign.clear()
    page.watch.console.clear()


def test_deep_link_on_a_fresh_server_gets_the_app_shell(tiny_model_dir, browser):
    """Regression: a folder named pages/ beside app.py put Streamlit in its legacy multipage mode, so a deep link
    on a fresh server ran the page alone, without app.py's banner and model facts. The pages live in app_pages/.
    The server is serve.py, as `make run` and the image start it: a deep link asks no /PAGE/_stcore/health or
    /PAGE/_stcore/host-config, which answer 404 (Streamlit's page guesses them first unless the shell names the
    server's root)."""
    deep = next(p for p in APP_PAGES.values() if not p.default)
    answers: list[tuple[int, str]] = []
    with running_app(tiny_model_dir, log_dir=ARTIFACTS, script="serve.py") as fresh:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            tab = context.new_page()
            tab.on("response", lambda response: answers.append((response.status, response.url)))
            tab.goto(f"{fresh.url}/{deep.url_path}", timeout=TIMEOUT_MS)
            tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                                  arg=PAGES[deep.name].title, timeout=TIMEOUT_MS)
            wait_idle(tab)
            SHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SHOTS / "deep-link-fresh-server.png"))
            main = tab.locator("[data-testid=stMain]").inner_text()
            sidebar = tab.locator("[data-testid=stSidebar]").inner_text()
        finally:
            context.close()
    assert "random weights" in main, "the random-weights banner is missing"
    assert "Layers" in sidebar and "Home" in sidebar, f"the app's sidebar is missing: {sidebar[:200]!r}"
    failed = [(status, url) for status, url in answers if status >= 400]
    assert not failed, failed
    asked = [urlsplit(url).path for _, url in answers if "/_stcore/" in url]
    assert "/_stcore/health" in asked and "/_stcore/host-config" in asked, asked
    assert not any(path.startswith(f"/{deep.url_path}/") for path in asked), asked


def test_server_refuses_uploads_without_xsrf_token_and_over_the_limit(app):
    import tomllib
    import urllib.error
    import urllib.request

    url = f"{app.url}/_stcore/upload_file/some-session/some-file"
    request = urllib.request.Request(url, data=b"occupation,article\n", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403 and b"XSRF" in refused.value.read()

    limit_mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    big = urllib.request.Request(url, data=b"x" * ((limit_mb + 1) * 2**20), method="PUT",
                                 headers={"X-Xsrftoken": "t", "Cookie": "_streamlit_xsrf=t"})
    with pytest.raises((urllib.error.URLError, ConnectionError)) as too_big:
        urllib.request.urlopen(big, timeout=30)
    if isinstance(too_big.value, urllib.error.HTTPError):
        assert too_big.value.code in (400, 403, 413)
