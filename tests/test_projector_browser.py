"""Issue 21 in a real browser at 1024x768, the size of a classroom projector: each page's first result on screen
in presentation mode, no text cut, outside its column or over another, every tab of the bias page in view, SVG and
PNG downloads, the attention page's query-token box and its one-layer view. One app server (the tiny model) and one
chromium for the whole module; screenshots and the measured positions land in test-artifacts/projector/."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bertlens.fill_mask import fill_mask
from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")]

SHOTS = ARTIFACTS / "projector"
TIMEOUT_MS = 120_000
PROJECTOR = {"width": 1024, "height": 768}
VISIBLE_PX = 100  # this much of the first result (or all of it, if it is smaller) must be on screen
SVG = "{http://www.w3.org/2000/svg}"
PAGES = {"home": ("", "BERT Lens"), "fill_mask": ("fill-mask", "Fill-mask"), "explain": ("explain", "Explain"),
         "next_sentence": ("next-sentence", "Next sentence"), "attention": ("attention", "Attention"),
         "bias_probe": ("bias-probe", "Gender-bias probe"),
         "counterfactual": ("counterfactual", "Counterfactual sentences"), "heads": ("heads", "Which heads")}
LONG_WORDS = "The extraordinarily overwhelming nurse said that [MASK] was unbelievably tired yesterday."


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


@pytest.fixture
def tab(browser):
    context = browser.new_context(viewport=PROJECTOR, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


# ---- driving the app ------------------------------------------------------------------------------------------

def wait_idle(tab) -> None:
    tab.wait_for_timeout(300)
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def open_page(tab, app, name: str, present: bool = False, params: str = "") -> None:
    path, title = PAGES[name]
    query = "&".join(q for q in (params, "present=1" if present else "") if q)
    tab.goto(f"{app.url}/{path}" + (f"?{query}" if query else ""), timeout=TIMEOUT_MS)
    tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                          arg=title, timeout=TIMEOUT_MS)
    wait_idle(tab)
    settle(tab)


def settle(tab) -> None:
    """Wait until no element is still a loading skeleton, then a moment for plotly to lay out."""
    for _ in range(60):
        if tab.locator("[data-testid=stSkeleton]").count() == 0:
            break
        tab.wait_for_timeout(500)
    tab.wait_for_timeout(1200)


def type_into(tab, key: str, text: str) -> None:
    box = tab.locator(f".st-key-{key} textarea, .st-key-{key} input").first
    box.fill(text)
    box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    wait_idle(tab)


def click_tab(tab, name: str) -> None:
    tab.get_by_role("tab", name=name, exact=True).first.click()
    wait_idle(tab)
    tab.wait_for_timeout(800)


def run_job(tab, key: str, done: str) -> None:
    """Press a job's run button (unless an earlier test's run already left the result) and wait for `done`."""
    button = tab.locator(f".st-key-{key} button")
    if button.count():
        button.first.click()
    tab.locator(done).first.wait_for(state="attached", timeout=TIMEOUT_MS)
    wait_idle(tab)
    settle(tab)


def to_top(tab) -> None:
    tab.evaluate("() => { window.scrollTo(0, 0); for (const el of document.querySelectorAll('*')) "
                 "{ if (el.scrollTop) el.scrollTop = 0; } }")
    tab.wait_for_timeout(300)


# ---- 1. the first result of every page is on screen in presentation mode ------------------------------------

def act_fill_mask(tab):
    type_into(tab, "fm_text", "The nurse said that [MASK] was tired.")


def act_explain(tab):
    type_into(tab, "ex_text", "The doctor said that [MASK] was late for the meeting again.")


def act_next_sentence(tab):
    type_into(tab, "ns_b", "Penguins cannot fly, but they swim very well.")


def act_attention(tab):
    type_into(tab, "att_text", "The doctor told the nurse that [MASK] was late.")


def act_bias_probe(tab):
    click_tab(tab, "Occupation scores")
    run_job(tab, "bias_run", ".st-key-bias-occupations .js-plotly-plot")


def act_counterfactual(tab):
    type_into(tab, "cf_text", "His father said that the [MASK] was late.")


def act_heads(tab):
    run_job(tab, "hd_run", ".st-key-hd_pair_grid .js-plotly-plot")


FIRST_RESULTS = {
    "fill_mask": (act_fill_mask, "[class*='st-key-fm-chart'] .js-plotly-plot"),
    "explain": (act_explain, ".st-key-ex-lens-grid .js-plotly-plot"),
    "next_sentence": (act_next_sentence, "[data-testid=stMain] [data-testid=stMetric]"),
    "attention": (act_attention, ".st-key-att_thumbs .js-plotly-plot"),
    "bias_probe": (act_bias_probe, "[role=tabpanel]:not([hidden]) [data-testid=stMetric]"),
    "counterfactual": (act_counterfactual, "[data-testid=stMain] [data-testid=stMetric]"),
    "heads": (act_heads, ".st-key-hd_pair_grid .js-plotly-plot"),
}


@pytest.mark.parametrize("name", list(FIRST_RESULTS))
def test_presentation_mode_puts_the_first_result_on_screen(app, tab, name):
    act, first = FIRST_RESULTS[name]
    open_page(tab, app, name, present=True)
    act(tab)
    result = tab.locator(first).filter(visible=True).first
    result.wait_for(timeout=TIMEOUT_MS)
    settle(tab)
    to_top(tab)
    box = result.bounding_box()
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}-present-1024x768.png"))
    record = SHOTS / "first_results.json"
    positions = json.loads(record.read_text()) if record.exists() else {}
    positions[name] = round(box["y"])
    record.write_text(json.dumps(positions, indent=2, sort_keys=True))
    assert box["y"] >= 0 and box["y"] + min(box["height"], VISIBLE_PX) <= PROJECTOR["height"], \
        f"{name}: the first result begins at y = {box['y']:.0f}, below the 768-px screen"
    assert not tab.errors


def test_presentation_mode_folds_the_sidebar_and_the_header_never_covers_the_banner(app, tab):
    open_page(tab, app, "fill_mask", present=True)
    sidebar = tab.locator("[data-testid=stSidebar]").bounding_box()
    assert sidebar is None or sidebar["x"] + sidebar["width"] <= 0, "presentation mode folds the sidebar away"
    main = tab.locator("[data-testid=stMain]").bounding_box()
    assert main["width"] >= PROJECTOR["width"] - 2, "the page gets the projector's whole width"
    nav = tab.locator("[data-testid=stTopNav]")
    assert nav.first.is_visible() and nav.get_by_text("Next sentence", exact=True).is_visible(), \
        "with the sidebar folded, the page links sit in the top bar"
    assert_header_clear(tab)

    open_page(tab, app, "fill_mask", present=False)
    tab.locator("[data-testid=stSidebar]").hover()
    tab.locator("[data-testid=stSidebarCollapseButton] button").click()
    tab.wait_for_timeout(800)
    assert_header_clear(tab)


def test_the_top_bar_shows_every_page_and_copy_link_at_1024(app, tab):
    """Issue 26: at 1024 px in presentation mode no page waits behind "N more", "Copy link" sits in the bar, and
    plain words (on by default there) define the terms in place."""
    open_page(tab, app, "heads", present=True)
    nav = tab.locator("[data-testid=stTopNav]")
    assert nav.get_by_text(re.compile(r"^\d+ more$")).count() == 0 or \
        not nav.get_by_text(re.compile(r"^\d+ more$")).first.is_visible(), "a page is folded under 'more'"
    header = tab.locator("[data-testid=stHeader]").bounding_box()
    for label in ("Home", "Fill-mask", "Explain", "Next sentence", "Attention", "Which heads?", "Gender-bias probe",
                  "Counterfactual"):
        link = nav.get_by_text(label, exact=True).first
        box = link.bounding_box()
        assert link.is_visible() and box and box["x"] + box["width"] <= PROJECTOR["width"], label
    copy = tab.locator(".st-key-top_copy_link iframe").bounding_box()
    assert copy and copy["y"] < header["y"] + header["height"] and copy["x"] + copy["width"] <= PROJECTOR["width"]
    links = [nav.get_by_text(label, exact=True).first.bounding_box() for label in ("Counterfactual",)]
    assert links[0]["x"] + links[0]["width"] <= copy["x"], "the last page link runs under Copy link"
    cut = tab.evaluate("""() => [...document.querySelectorAll('[data-testid=stTopNav] a')]
        .filter(a => a.innerText.trim() && a.getBoundingClientRect().width < 1).map(a => a.innerText.trim())""")
    assert not cut, f"pages in the top bar cut to nothing, with no 'more' to open them: {cut}"
    sidebar = tab.locator("[data-testid=stSidebar]")
    for label in ("What if we remove it?", "Glossary"):  # the pages the top bar has no room for
        assert sidebar.get_by_text(label, exact=True).count() == 1, label
    tab.screenshot(path=str(SHOTS / "top-bar-present-1024x768.png"))

    open_page(tab, app, "counterfactual", present=True)  # plain words are on by default when presenting
    definition = tab.locator(".st-key-plain_KL_nats")
    assert definition.is_visible() and "Kullback-Leibler" in definition.inner_text()
    open_page(tab, app, "counterfactual", present=False)
    assert tab.locator(".st-key-plain_KL_nats").count() == 0


def assert_header_clear(tab) -> None:
    header = tab.locator("[data-testid=stHeader]").bounding_box()
    banner = tab.locator("[data-testid=stMain] [data-testid=stAlert]").first.bounding_box()
    assert banner is not None, "the random-weights banner is missing"
    assert header["y"] + header["height"] <= banner["y"] + 0.5, \
        f"the header (bottom {header['y'] + header['height']:.0f}) covers the banner (top {banner['y']:.0f})"


# ---- 2. nothing is cut, and no text leaves its column ---------------------------------------------------------

CUT_TEXT = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  const edge = main.getBoundingClientRect();
  const found = [];
  for (const el of main.querySelectorAll('*')) {
    if (!el.innerText || !el.innerText.trim() || el.closest('[data-baseweb=select], [data-testid=stDataFrame]')) continue;
    const style = getComputedStyle(el);
    const clips = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (clips && el.scrollWidth > el.clientWidth + 1) found.push('cut: ' + el.innerText.slice(0, 60));
  }
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!node.textContent.trim() || parent.closest('svg, iframe, [data-testid=stDataFrame], [data-baseweb=select]'))
      continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && (r.right > edge.right + 1 || r.left < edge.left - 1)) {
        found.push('outside: ' + node.textContent.slice(0, 60));
        break;
      }
    }
  }
  return found;
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_no_text_is_cut_or_outside_the_page(app, tab, name):
    for present in (False, True):
        open_page(tab, app, name, present=present)
        assert tab.evaluate(CUT_TEXT) == [], f"{name}, presentation mode {'on' if present else 'off'}"


# ---- 3. no chart text runs into another (the lens heatmap, the token strips, the token axes) -----------------

OVERLAPS = """(root) => {
  const boxes = [...root.querySelectorAll('.main-svg text')].filter(t => {
      const style = getComputedStyle(t);
      return t.textContent.trim() && style.display !== 'none' && style.visibility !== 'hidden' &&
             parseFloat(style.opacity || '1') > 0; })
    .map(t => ({text: t.textContent, r: t.getBoundingClientRect()})).filter(b => b.r.width > 0 && b.r.height > 0);
  const found = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].r, b = boxes[j].r;
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) found.push([boxes[i].text, boxes[j].text]);
  }
  return {count: boxes.length, overlaps: found.slice(0, 5)};
}"""


def text_boxes_apart(tab, key: str) -> int:
    chart = tab.locator(f".st-key-{key} .js-plotly-plot").first
    chart.wait_for(timeout=TIMEOUT_MS)
    measured = chart.evaluate(OVERLAPS)
    assert measured["count"] > 0, f"{key}: no text drawn"
    assert measured["overlaps"] == [], f"{key}: texts overlap: {measured['overlaps']}"
    return measured["count"]


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_explain_charts_texts_never_overlap(app, tab, present):
    open_page(tab, app, "explain", present=present, params=f"text={LONG_WORDS}")
    text_boxes_apart(tab, "ex-lens-grid")
    run_job(tab, "ex_run", ".st-key-ex-ig-words")
    click_tab(tab, "Integrated gradients")
    text_boxes_apart(tab, "ex-ig-words")
    click_tab(tab, "Attention rollout")
    text_boxes_apart(tab, "ex-rollout")
    click_tab(tab, "Side by side")
    text_boxes_apart(tab, "ex-side")
    text_boxes_apart(tab, "ex-spearman")


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_attention_and_fill_mask_texts_never_overlap(app, tab, present):
    open_page(tab, app, "attention", present=present, params=f"text={LONG_WORDS}")
    text_boxes_apart(tab, "att_lines")
    click_tab(tab, "Heatmap")
    text_boxes_apart(tab, "att_heatmap")
    click_tab(tab, "Query × key")
    text_boxes_apart(tab, "att_qk_chart")
    text_boxes_apart(tab, "att_mask_chart")
    open_page(tab, app, "fill_mask", present=present, params="targets=firefighter,astronaut")
    tab.locator("[class*='st-key-fm-chart'] .js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    key = tab.locator("[class*='st-key-fm-chart']").first.get_attribute("class")
    text_boxes_apart(tab, re.search(r"st-key-(fm-chart-\d+)", key).group(1))


# ---- 4. every tab of the bias page is in view at 1024 px --------------------------------------------------------

TABS_IN_VIEW = """() => [...document.querySelectorAll('[data-testid=stMain] [role=tablist]')]
  .filter(list => list.getBoundingClientRect().width > 0)
  .map(list => { const edge = list.getBoundingClientRect();
    return [...list.querySelectorAll('[role=tab]')].map(t => { const r = t.getBoundingClientRect();
      return [t.innerText.trim(), r.width > 0 && r.left >= edge.left - 1 && r.right <= edge.right + 1]; }); })"""


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_every_bias_tab_is_in_view_at_1024(app, tab, present):
    open_page(tab, app, "bias_probe", present=present)
    names = [name for name, _ in tab.evaluate(TABS_IN_VIEW)[0]]
    assert 2 <= len(names) <= 5, f"at most five top-level tabs, found {names}"
    for name in names:
        click_tab(tab, name)
        for tablist in tab.evaluate(TABS_IN_VIEW):
            hidden = [n for n, visible in tablist if not visible]
            assert not hidden, f"under {name!r}, these tabs hide behind the tab bar's edge: {hidden}"


# ---- 5. figures for papers: SVG and PNG downloads ---------------------------------------------------------------

def svg_texts(path: Path) -> str:
    root = ET.fromstring(path.read_bytes())
    assert root.tag == f"{SVG}svg", f"{path.name} is not an SVG document"
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text")) + " " + " ".join(
        (d.text or "") for d in root.iter(f"{SVG}desc"))


def download(tab, click) -> Path:
    with tab.expect_download(timeout=TIMEOUT_MS) as waiting:
        click()
    done = waiting.value
    target = SHOTS / "downloads" / done.suggested_filename
    target.parent.mkdir(parents=True, exist_ok=True)
    done.save_as(target)
    return target


def test_charts_download_as_svg_from_the_mode_bar_and_as_png(app, tab, lm):
    text = "The nurse said that [MASK] was tired."
    open_page(tab, app, "fill_mask", params=f"text={text}")
    chart = tab.locator("[class*='st-key-fm-chart'] .js-plotly-plot").first
    chart.hover()
    svg = download(tab, lambda: chart.locator(".bertlens-svg").click())
    assert svg.suffix == ".svg"
    assert svg.stem == f"bertlens-fill-mask-{Path(lm.info.model_id).name}-The-nurse-said-that-MASK-was-tired"
    shown = svg_texts(svg)
    for candidate in fill_mask(lm, text, top_k=10).masks[0].candidates[:5]:
        assert candidate.token in shown, f"{candidate.token!r} is missing from the chart's SVG"
    chart.hover()
    png = download(tab, lambda: chart.locator(".bertlens-png").click())
    assert png.suffix == ".png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_attention_views_download_as_standalone_svg(app, tab, lm):
    text = "The doctor told the nurse that [MASK] was late."
    tokens = lm.tokenizer.tokenize(text)
    open_page(tab, app, "attention", params=f"text={text}")
    head = download(tab, lambda: tab.get_by_role("button", name="Head view (SVG)").click())
    assert head.name.startswith("bertlens-attention-head-view-Layer-") and \
        f"-{Path(lm.info.model_id).name}-The-doctor-told-the-nurse-that-MASK" in head.name
    shown = svg_texts(head)
    assert "“The doctor told the nurse that [MASK] was late.”" in shown, "the title names the sentence"
    assert all(token in shown for token in tokens), "the head view's SVG names every token"
    tab.locator(".st-key-att_grid button", has_text="one layer, large").click()
    wait_idle(tab)
    model = download(tab, lambda: tab.get_by_role("button", name="Model view of this layer (SVG)").click())
    shown = svg_texts(model)
    assert all(token in shown for token in tokens) and "head 1" in shown


def test_a_charts_pictures_are_titled_with_the_sentence_and_the_model(app, tab, lm):
    """Downloads say what they show: the camera's SVG and the PNG of a chart on a page with a sentence are named
    and titled after it and the model, while the chart on the page keeps no title."""
    text = "The doctor told the nurse that [MASK] was late."
    model = Path(lm.info.model_id).name
    open_page(tab, app, "attention", params=f"text={text}")
    chart = tab.locator(".st-key-att_stats .js-plotly-plot").first
    chart.hover()
    svg = download(tab, lambda: chart.locator(".bertlens-svg").click())
    assert svg.stem.startswith("bertlens-attention-") and f"-{model}-The-doctor-told-the-nurse" in svg.stem
    assert svg_texts(svg).count(f"“{text}” · {model}") == 1
    chart.hover()
    png = download(tab, lambda: chart.locator(".bertlens-png").click())
    assert png.stem == svg.stem and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tab.wait_for_timeout(300)
    assert chart.locator(".g-gtitle text").count() == 0 or not chart.locator(".g-gtitle").inner_text().strip()


def test_lens_and_attribution_strip_download_as_standalone_svg(app, tab):
    open_page(tab, app, "explain", params=f"text={LONG_WORDS}")
    lens = svg_texts(download(tab, lambda: tab.get_by_role("button", name="Logit lens (SVG)").click()))
    cells = tab.locator(".st-key-ex-lens-grid .main-svg .heatmaplayer text").evaluate_all(
        "els => els.map(e => e.textContent)")
    whole = [c for c in cells if c.strip() and not c.endswith("…")]
    assert whole and all(c in lens for c in whole), "the SVG holds every token the grid shows"
    run_job(tab, "ex_run", ".st-key-ex-ig-words")
    click_tab(tab, "Integrated gradients")
    strip = svg_texts(download(tab, lambda: tab.get_by_role("button", name="Attributions (SVG)").click()))
    for word in ("extraordinarily", "overwhelming", "unbelievably", "yesterday"):
        assert word in strip, f"{word!r} is missing from the attribution strip's SVG"


# ---- 6. the attention page: the query-token box follows the text; one layer, large ------------------------------

def test_query_token_box_follows_a_new_text(app, tab):
    open_page(tab, app, "attention")
    click_tab(tab, "Query × key")
    box = tab.locator(".st-key-att_qk_token input[role=combobox]")
    assert "The cat" in box.input_value()
    type_into(tab, "att_text", "The doctor told the nurse that she was late.")
    click_tab(tab, "Query × key")
    waited = 0
    while "The doctor" not in box.input_value() and waited < 10_000:
        tab.wait_for_timeout(500)
        waited += 500
    assert box.input_value().startswith("0: [[CLS]] The doctor"), box.input_value()


def test_one_layer_view_labels_heads_at_16px_in_presentation_mode(app, tab, lm):
    open_page(tab, app, "attention", present=True, params="grid=layer&layer=2")
    labels = tab.locator(".st-key-att_layer_heads .main-svg .annotation-text")
    labels.first.wait_for(timeout=TIMEOUT_MS)
    texts = labels.evaluate_all("els => els.map(e => e.textContent)")
    assert texts == [f"head {h + 1}" for h in range(lm.info.heads)]
    sizes = labels.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert min(sizes) >= 16, sizes
    text_boxes_apart(tab, "att_layer_heads")
    tab.screenshot(path=str(SHOTS / "attention-one-layer-present-1024x768.png"))


CLEAR_OF_INTERVALS = """(root) => {
  const bars = [...root.querySelectorAll('.errorbar path')].map(p => p.getBoundingClientRect())
    .filter(r => r.width > 0);
  const labels = [...root.querySelectorAll('.scatterlayer .textpoint text')].map(t => ({text: t.textContent,
    r: t.getBoundingClientRect()}));
  return labels.map(l => {
    const mid = (l.r.top + l.r.bottom) / 2;
    const bar = bars.find(b => Math.abs((b.top + b.bottom) / 2 - mid) < 6);
    return [l.text, bar ? Math.round(l.r.left - bar.right) : null];
  });
}"""


def test_bias_charts_label_every_row_and_keep_labels_clear(app, tab):
    open_page(tab, app, "bias_probe", present=True)
    act_bias_probe(tab)
    shown = int(tab.locator("[role=tabpanel]:not([hidden]) [data-testid=stMetricValue]").first.inner_text())
    rows = tab.locator(".st-key-bias-occupations .main-svg .ytick text").count()
    # presentation mode draws the 10 occupations that lean most (the table lists all), each row labelled
    assert rows == min(shown, 10), f"{rows} of {min(shown, 10)} occupations are labelled at 16 px"
    height = tab.locator(".st-key-bias-occupations .js-plotly-plot").first.bounding_box()["height"]
    assert height < 768, f"the compact occupation chart is {height:.0f} px tall"
    assert tab.evaluate(CUT_TEXT) == []
    text_boxes_apart(tab, "bias-occupations")
    click_tab(tab, "Real-world reference")
    text_boxes_apart(tab, "bias-reference")
    click_tab(tab, "Benchmarks")
    run_job(tab, "bias_crows_run", ".st-key-bias-crows .js-plotly-plot")
    text_boxes_apart(tab, "bias-crows")
    gaps = tab.locator(".st-key-bias-crows .js-plotly-plot").first.evaluate(CLEAR_OF_INTERVALS)
    assert gaps and all(gap is not None and gap >= 0 for _, gap in gaps), \
        f"a CrowS bar's label starts before the end of its interval: {gaps}"
    assert tab.evaluate(CUT_TEXT) == [], "the CrowS-Pairs metrics (interval, ties) are cut"
    open_page(tab, app, "bias_probe", present=False)
    click_tab(tab, "Benchmarks")
    tab.locator(".st-key-bias-crows .js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    assert tab.locator("[data-testid=stMetricLabel]", has_text="Wilson 95% interval").first.is_visible()
    assert tab.evaluate(CUT_TEXT) == [], "at 1024 px in normal mode the CrowS-Pairs metrics are cut"
