"""A lesson in a real browser: inputs that survive a page change and a reload, links that restore every input,
presentation mode at 1024x768, click-to-mask, a head click that brings its panel into view, and the copy-link
button, a lesson plan uploaded on Home, plain words and the gender colours. `streamlit run app.py` with the tiny
model, driven by headless chromium; screenshots land in test-artifacts/lesson/."""
from __future__ import annotations

import json
import re
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bertlens.fill_mask import fill_mask
from browser_support import ARTIFACTS, app_pages, chromium_available, launch_chromium, running_app

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")]

SHOTS = ARTIFACTS / "lesson"
TIMEOUT_MS = 60_000
PROJECTOR = {"width": 1024, "height": 768}
URL_PATHS = {page.name: page.url_path for page in app_pages()}
TITLES = {"home": "BERT Lens", "fill_mask": "Fill-mask", "next_sentence": "Next sentence", "attention": "Attention",
          "explain": "Explain", "counterfactual": "Counterfactual sentences", "bias_probe": "Gender-bias probe"}


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
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


# ---- driving and reading widgets -------------------------------------------------------------------------------

def wait_idle(tab) -> None:
    tab.wait_for_timeout(200)
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def open_url(tab, url: str, title: str) -> None:
    tab.goto(url, timeout=TIMEOUT_MS)
    tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                          arg=title, timeout=TIMEOUT_MS)
    wait_idle(tab)


def page_url(app, name: str, params: dict[str, str] | None = None) -> str:
    return f"{app.url}/{URL_PATHS[name]}" + (f"?{urlencode(params)}" if params else "")


def go_to(tab, name: str) -> None:
    """Change page as a user does: the sidebar's navigation link, or in presentation mode (the sidebar folded) the
    top bar's, where pages that do not fit wait behind "more"."""
    label = {"home": "Home", "fill_mask": "Fill-mask", "next_sentence": "Next sentence", "attention": "Attention",
             "explain": "Explain", "counterfactual": "Counterfactual", "bias_probe": "Gender-bias probe"}
    top = tab.locator("[data-testid=stTopNav]")
    if top.count() and top.first.is_visible():
        link = top.get_by_text(label[name], exact=True)
        if not (link.count() and link.first.is_visible()):
            top.get_by_text(re.compile(r"\d+ more")).click()
            link = tab.locator("[data-testid=stTopNavPopoverBody]").get_by_text(label[name], exact=True)
        link.first.click()
    else:
        tab.locator("[data-testid=stSidebarNav]").get_by_text(label[name], exact=True).click()
    tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                          arg=TITLES[name], timeout=TIMEOUT_MS)
    wait_idle(tab)


def type_into(tab, key: str, text: str) -> None:
    box = tab.locator(f".st-key-{key} textarea, .st-key-{key} input").first
    box.fill(text)
    box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    wait_idle(tab)


def click_label(tab, key: str) -> None:
    tab.locator(f".st-key-{key} label").first.click()
    wait_idle(tab)


def choose(tab, key: str, option: str) -> None:
    box = tab.locator(f".st-key-{key} input[role=combobox]")
    box.scroll_into_view_if_needed()
    tab.wait_for_timeout(200)
    box.click()  # a popover closes when the page scrolls, so scroll first
    tab.locator("[role=option]").filter(has_text=re.compile(f"^{re.escape(option)}$")).first.click()
    wait_idle(tab)


def nudge_slider(tab, key: str, key_name: str, times: int) -> None:
    thumb = tab.locator(f".st-key-{key} input[type=range]")
    thumb.focus()
    for _ in range(times):
        thumb.press(key_name)
        wait_idle(tab)


def read(tab, key: str, kind: str):
    """A widget's value as the browser shows it."""
    where = f".st-key-{key}"
    if kind == "text":
        return tab.locator(f"{where} textarea, {where} input").first.input_value()
    if kind == "check":
        return tab.locator(f"{where} input[type=checkbox]").is_checked()
    if kind == "slider":
        return tab.locator(f"{where} input[type=range]").input_value()
    if kind == "select":
        return tab.locator(f"{where} input[role=combobox]").input_value()
    if kind == "radio":
        return tab.locator(f"{where} label[data-selected=true]").inner_text().strip()
    if kind == "pills":
        return [b.inner_text().strip() for b in tab.locator(f"{where} button[aria-checked=true]").all()]
    if kind == "tags":
        return [t.inner_text().strip() for t in tab.locator(f"{where} [data-tag] > span[title]").all()]
    raise ValueError(kind)


# ---- state that survives a page change and a reload (bug 2) ----------------------------------------------------

@dataclass(frozen=True)
class Edits:
    """What a user changes on a page, and what the page must show afterwards: {key: (kind, value)}."""

    act: Callable
    expect: dict[str, tuple[str, object]] = field(default_factory=dict)


def edit_fill_mask(tab) -> None:
    type_into(tab, "fm_text", "The [MASK] barked at the moon.")
    type_into(tab, "fm_targets", "dog, firefighter")
    click_label(tab, "fm_hide_punct")
    nudge_slider(tab, "fm_top_k", "ArrowLeft", 3)


def edit_next_sentence(tab) -> None:
    type_into(tab, "ns_a", "The museum opens at nine.")
    type_into(tab, "ns_b", "Penguins swim well.")
    tab.get_by_role("tab", name="Rank candidates for B").click()
    type_into(tab, "ns_rank_a", "We missed the bus.")
    type_into(tab, "ns_candidates", "So we walked.\nThe moon is bright.")


def edit_attention(tab) -> None:
    type_into(tab, "att_text", "The dog chased the [MASK] ball.")
    choose(tab, "att_layer", "2")
    choose(tab, "att_head", "3")
    choose(tab, "att_statistic", "Share on [SEP]")
    click_label(tab, "att_stretch")


def edit_explain(tab) -> None:
    type_into(tab, "ex_text", "The nurse said that [MASK] was tired.")
    type_into(tab, "ex_target", "she")
    type_into(tab, "ex_contrast", "he")
    type_into(tab, "ex_steps", "30")


def edit_counterfactual(tab) -> None:
    type_into(tab, "cf_text", "My mother said that the [MASK] was late.")
    nudge_slider(tab, "cf_top_k", "ArrowLeft", 2)


def edit_bias_probe(tab) -> None:
    type_into(tab, "bias_side_template", "{person} is a [MASK].")
    choose(tab, "bias_side_pair", "he/she")
    tab.get_by_role("tab", name="Occupation scores").click()
    type_into(tab, "bias_min_effect", "0.30")


EDITS = {
    "bias_probe": Edits(edit_bias_probe, {
        "bias_side_template": ("text", "{person} is a [MASK]."), "bias_side_pair": ("select", "he/she"),
        "bias_min_effect": ("text", "0.30"),
    }),
    "counterfactual": Edits(edit_counterfactual, {
        "cf_text": ("text", "My mother said that the [MASK] was late."), "cf_top_k": ("slider", "8"),
    }),
    "explain": Edits(edit_explain, {
        "ex_text": ("text", "The nurse said that [MASK] was tired."), "ex_target": ("text", "she"),
        "ex_contrast": ("text", "he"), "ex_steps": ("text", "30"),
    }),
    "home": Edits(lambda tab: click_label(tab, "present"), {"present": ("check", True)}),
    "fill_mask": Edits(edit_fill_mask, {
        "fm_text": ("text", "The [MASK] barked at the moon."), "fm_targets": ("text", "dog, firefighter"),
        "fm_hide_punct": ("check", True), "fm_hide_special": ("check", True), "fm_top_k": ("slider", "7"),
    }),
    "next_sentence": Edits(edit_next_sentence, {
        "ns_a": ("text", "The museum opens at nine."), "ns_b": ("text", "Penguins swim well."),
        "ns_rank_a": ("text", "We missed the bus."), "ns_candidates": ("text", "So we walked.\nThe moon is bright."),
    }),
    "attention": Edits(edit_attention, {
        "att_text": ("text", "The dog chased the [MASK] ball."), "att_layer": ("select", "2"),
        "att_head": ("select", "3"), "att_statistic": ("select", "Share on [SEP]"), "att_stretch": ("check", True),
    }),
}


def shown(tab, expect: dict[str, tuple[str, object]], patience_ms: int = 15_000) -> dict[str, object]:
    """The widgets' values once they equal the expected ones, or as they are after `patience_ms` (the frontend
    may still be drawing the last rerun's widgets when the script state already reads 'notRunning')."""
    wanted = {key: value for key, (_, value) in expect.items()}
    waited = 0
    while True:
        values = {key: read(tab, key, kind) for key, (kind, _) in expect.items()}
        if values == wanted or waited >= patience_ms:
            return values
        tab.wait_for_timeout(500)
        waited += 500


@pytest.mark.parametrize("name", list(EDITS))
def test_inputs_survive_a_page_change_and_a_reload(app, tab, name):
    edits = EDITS[name]
    wanted = {key: value for key, (_, value) in edits.expect.items()}
    open_url(tab, page_url(app, name), TITLES[name])
    edits.act(tab)
    assert shown(tab, edits.expect) == wanted, "the edits did not take"

    other = "next_sentence" if name != "next_sentence" else "fill_mask"
    go_to(tab, other)
    go_to(tab, "home" if name != "home" else "attention")
    go_to(tab, name)
    assert shown(tab, edits.expect) == wanted, "a page change lost inputs"

    tab.reload()
    tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                          arg=TITLES[name], timeout=TIMEOUT_MS)
    wait_idle(tab)
    assert shown(tab, edits.expect) == wanted, "a reload lost inputs"
    assert not tab.errors


def test_a_long_text_is_kept_and_the_page_says_the_link_leaves_it_out(app, tab):
    long_text = ("The nurse said that the doctor was late. " * 60) + "The [MASK] arrived."
    open_url(tab, page_url(app, "fill_mask"), "Fill-mask")
    type_into(tab, "fm_text", long_text)
    note = tab.locator("[data-testid=stCaptionContainer]", has_text="link to this page leaves out the text")
    note.wait_for(timeout=TIMEOUT_MS)
    assert "text" not in parse_qs(urlsplit(tab.url).query)
    go_to(tab, "attention")
    go_to(tab, "fill_mask")
    assert read(tab, "fm_text", "text") == long_text


# ---- a link restores every input ------------------------------------------------------------------------------

LINKS = {
    "fill_mask": ({"text": "The dog ran home.", "word": "1", "k": "7", "special": "0", "subwords": "1",
                   "punct": "1", "targets": "cat, firefighter"},
                  {"fm_text": ("text", "The dog ran home."), "fm_mask_word": ("pills", ["dog"]),
                   "fm_top_k": ("slider", "7"), "fm_hide_special": ("check", False),
                   "fm_hide_subwords": ("check", True), "fm_hide_punct": ("check", True),
                   "fm_targets": ("text", "cat, firefighter")}),
    "next_sentence": ({"a": "It rained.", "b": "The roads were wet.", "rank_a": "We missed the bus.",
                       "candidates": "So we walked.\nThe moon is bright.\nTaxis were full."},
                      {"ns_a": ("text", "It rained."), "ns_b": ("text", "The roads were wet."),
                       "ns_rank_a": ("text", "We missed the bus."),
                       "ns_candidates": ("text", "So we walked.\nThe moon is bright.\nTaxis were full.")}),
    "attention": ({"pair_on": "1", "text": "The [MASK] chased the [MASK].", "pair": "It was red.", "layer": "2",
                   "head": "3", "statistic": "sep", "scope": "mean of all heads", "stretch": "1",
                   "min_weight": "0.1", "focus": "2", "query": "3", "mask": "5", "bertviz": "1", "bv_layers": "2",
                   "grid": "layer"},
                  {"att_pair_on": ("check", True), "att_text": ("text", "The [MASK] chased the [MASK]."),
                   "att_pair": ("text", "It was red."), "att_layer": ("select", "2"), "att_head": ("select", "3"),
                   "att_statistic": ("select", "Share on [SEP]"), "att_scope": ("radio", "mean of all heads"),
                   "att_stretch": ("check", True), "att_min_weight": ("slider", "0.1"),
                   "att_focus": ("select", "2: [CLS] The [[MASK]] chased the …"),
                   "att_qk_token": ("select", "3: … The [MASK] [chased] the [MASK] …"),
                   "att_mask": ("select", "5: … chased the [[MASK]] . [SEP] …"),
                   "att_bertviz": ("check", True), "att_bv_layers": ("tags", ["2"]),
                   "att_grid": ("pills", ["one layer, large"])}),
    "home": ({"present": "1"}, {"present": ("check", True)}),
    "bias_probe": ({"pairs": "male,female,role,probe\nthe man,the woman,person,yes\nhe,she,person,yes\n",
                    "templates": "{person} is a [MASK].\n{person} works as a [MASK].",
                    "probe_pairs": "he/she", "side_template": "{person} became a [MASK].", "side_pair": "he/she",
                    "side_k": "12", "side_union": "1", "min_effect": "0.25",
                    "pronoun_templates": "The {occupation} said that [MASK] was late.",
                    "paraphrases": "[a]\n{person} is a [MASK].\n[b]\n{person} works as a [MASK].",
                    "metrics": "crows,aul"},
                   {"bias_pairs": ("text", "male,female,role,probe\nthe man,the woman,person,yes\nhe,she,person,yes\n"),
                    "bias_templates": ("text", "{person} is a [MASK].\n{person} works as a [MASK]."),
                    "bias_probe_pairs": ("tags", ["he/she"]),
                    "bias_side_template": ("text", "{person} became a [MASK]."),
                    "bias_side_pair": ("select", "he/she"), "bias_side_k": ("text", "12"),
                    "bias_side_union": ("check", True), "bias_min_effect": ("text", "0.25"),
                    "bias_pronoun_templates": ("text", "The {occupation} said that [MASK] was late."),
                    "bias_paraphrases": ("text", "[a]\n{person} is a [MASK].\n[b]\n{person} works as a [MASK].")}),
    "counterfactual": ({"text": "His father called the [MASK].", "k": "6", "own": "1", "pairs": "king,queen",
                        "union": "1"},
                       {"cf_text": ("text", "His father called the [MASK]."), "cf_top_k": ("slider", "6"),
                        "cf_own_pairs": ("check", True), "cf_pairs": ("text", "king,queen"),
                        "cf_union": ("check", True)}),
    "explain": ({"text": "The nurse said that [MASK] was tired.", "target": "she", "contrast": "he", "steps": "30",
                 "baseline": "pad", "bias": "0", "top_k": "5"},
                {"ex_text": ("text", "The nurse said that [MASK] was tired."), "ex_target": ("text", "she"),
                 "ex_contrast": ("text", "he"), "ex_steps": ("text", "30"), "ex_baseline": ("radio", "[PAD]"),
                 "ex_bias": ("check", False), "ex_top_k": ("slider", "5")}),
}


@pytest.mark.parametrize("name", list(LINKS))
def test_a_link_round_trip_restores_every_input(app, browser, tab, name):
    params, expect = LINKS[name]
    wanted = {key: value for key, (_, value) in expect.items()}
    open_url(tab, page_url(app, name, params), TITLES[name])
    assert shown(tab, expect) == wanted, "the link did not set every input"
    written = {k: v[0] for k, v in parse_qs(urlsplit(tab.url).query, keep_blank_values=True).items()}
    assert written == params, "the page's own link differs from the one it was opened with"

    fresh = browser.new_context(viewport=PROJECTOR)
    try:
        other = fresh.new_page()
        open_url(other, tab.url, TITLES[name])
        assert shown(other, expect) == wanted, "the page's own link does not restore its inputs"
    finally:
        fresh.close()


@pytest.mark.parametrize("name", ["fill_mask", "next_sentence", "attention", "explain", "counterfactual",
                                  "bias_probe"])
def test_link_tests_cover_every_declared_input(name):
    """Each page's link round trip sets every parameter the page declares (read from its source: the server is
    another process)."""
    from browser_support import ROOT

    source = (ROOT / "app_pages" / f"{name}.py").read_text(encoding="utf-8")
    declared = set(re.findall(r'Field\("\w+", "(\w+)"', source))
    # the second checkpoint must be one BERT_LENS_ALLOWED_MODELS names, and the test server allows only its own
    unreachable = {"bias_probe": {"second"}}.get(name, set())
    declared -= unreachable
    assert declared and declared <= set(LINKS[name][0]), f"not covered: {declared - set(LINKS[name][0])}"


def test_copy_link_button_copies_the_current_link(app, browser):
    context = browser.new_context(viewport=PROJECTOR)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
    try:
        tab = context.new_page()
        open_url(tab, page_url(app, "next_sentence", {"a": "It rained.", "b": "The roads were wet."}),
                 "Next sentence")
        frame = tab.frame_locator("[data-testid=stSidebar] iframe").first
        button = frame.get_by_role("button", name="Copy link to this page")
        button.wait_for(state="visible", timeout=10_000)
        button.click()
        frame.get_by_text("Copied").wait_for(timeout=10_000)
        assert tab.evaluate("navigator.clipboard.readText()") == tab.url
    finally:
        context.close()


# ---- presentation mode at 1024x768 -----------------------------------------------------------------------------


def inside_viewport(box: dict | None) -> bool:
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"] and \
        box["x"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"]


def font_sizes(tab, selector: str) -> list[float]:
    return tab.locator(selector).evaluate_all(
        "els => els.filter(e => e.getBoundingClientRect().height > 0)"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))")


@pytest.mark.parametrize("name, first_result", [
    ("fill_mask", "[data-testid=stMain] .js-plotly-plot .barlayer .point"),
    ("next_sentence", "[data-testid=stMain] [data-testid=stMetricValue]"),
    ("bias_probe", ".st-key-bias-side-chart .js-plotly-plot .barlayer .point"),
])
def test_presentation_mode_shows_the_first_result_without_scrolling(app, tab, name, first_result):
    open_url(tab, page_url(app, name, {"present": "1"}), TITLES[name])
    tab.locator(first_result).first.wait_for(timeout=TIMEOUT_MS)
    tab.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}-present-1024x768.png"))
    boxes = [tab.locator(first_result).nth(i).bounding_box() for i in range(tab.locator(first_result).count())]
    top = min(boxes, key=lambda b: b["y"])  # the most likely candidate is the top bar
    assert inside_viewport(top), f"the first result is at {top}, outside the 1024x768 viewport"
    assert tab.evaluate("window.scrollY") == 0
    assert min(font_sizes(tab, "[data-testid=stMain] [data-testid=stWidgetLabel] p")) >= 20
    chart_text = font_sizes(tab, "[data-testid=stMain] .js-plotly-plot .main-svg text")
    assert chart_text and min(chart_text) >= 16, f"chart labels under 16 px: {sorted(chart_text)[:5]}"

    open_url(tab, page_url(app, name), TITLES[name])
    tab.locator("[data-testid=stMain] [data-testid=stWidgetLabel] p").first.wait_for(timeout=TIMEOUT_MS)
    tab.screenshot(path=str(SHOTS / f"{name}-1024x768.png"))
    assert max(font_sizes(tab, "[data-testid=stMain] [data-testid=stWidgetLabel] p")) < 20, \
        "without presentation mode the text should be the normal size (the check above must be able to fail)"


# ---- click a word to mask it -----------------------------------------------------------------------------------

def test_clicking_a_word_masks_it_and_predicts_it(app, tab, lm):
    text = "The cat sat on the warm mat."
    open_url(tab, page_url(app, "fill_mask"), "Fill-mask")
    type_into(tab, "fm_text", text)
    tab.locator(".st-key-fm_mask_word button", has_text="warm").click()
    wait_idle(tab)
    masked = "The cat sat on the [MASK] mat."
    codes = tab.locator("[data-testid=stCode]").all_inner_texts()
    assert masked in [c.strip() for c in codes]
    assert fill_mask(lm, masked, top_k=10).completed in [c.strip() for c in codes]
    assert read(tab, "fm_mask_word", "pills") == ["warm"]
    assert "word=5" in tab.url


# ---- attention: a click on a head brings its panel into view ---------------------------------------------------

def test_clicking_a_head_scrolls_its_panel_into_view(app, tab):
    open_url(tab, page_url(app, "attention"), "Attention")
    plots = tab.locator(".js-plotly-plot")
    plots.nth(1).wait_for(timeout=TIMEOUT_MS)
    heads = 4
    point = plots.nth(1).locator(".scatterlayer .point").nth(1 * heads + 2)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    tab.mouse.move(x, y)
    tab.mouse.click(x, y)
    tab.locator(".gtitle", has_text="Layer 2, head 3").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)
    tab.wait_for_timeout(800)
    panel = tab.locator(".st-key-att_one_head").bounding_box()
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / "attention-after-head-click.png"))
    assert -1 <= panel["y"] < PROJECTOR["height"] / 2, f"the 'One head' panel is at y={panel['y']:.0f}"


# ---- issue 26: Back restores inputs, one lesson sentence ------------------------------------------------------

def text_of(tab, key: str, expected: str | None = None) -> str:
    """The box's text, once it is drawn (and, with `expected`, once it shows that: a rerun may still be drawing)."""
    tab.wait_for_function("([k, want]) => { const b = document.querySelector("
                          "`.st-key-${k} textarea, .st-key-${k} input`);"
                          " return b && b.value && (want === null || b.value === want); }", arg=[key, expected],
                          timeout=TIMEOUT_MS)
    return read(tab, key, "text")


def back(tab) -> None:
    tab.go_back()
    wait_idle(tab)
    tab.wait_for_timeout(500)
    wait_idle(tab)


@pytest.mark.parametrize("present", [False, True])
def test_back_restores_the_previous_inputs_then_the_previous_page(app, tab, present):
    extra = {"present": "1"} if present else {}
    open_url(tab, page_url(app, "home", extra), "BERT Lens")
    go_to(tab, "fill_mask")
    tab.wait_for_function("() => document.querySelector('.st-key-fm_text textarea')?.value", timeout=TIMEOUT_MS)
    default = text_of(tab, "fm_text")
    first, second = "The nurse said that [MASK] was tired.", "The doctor said that [MASK] was late."
    type_into(tab, "fm_text", first)
    type_into(tab, "fm_text", second)
    back(tab)
    assert text_of(tab, "fm_text", first) == first  # waits (a minute at most) for Back's rerun to draw it
    assert parse_qs(urlsplit(tab.url).query).get("text") == [first]
    back(tab)
    assert text_of(tab, "fm_text", default) == default
    back(tab)
    tab.wait_for_function("() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('BERT Lens'))",
                          timeout=TIMEOUT_MS)
    assert ("present=1" in tab.url) == present
    tab.go_forward()
    wait_idle(tab)
    assert text_of(tab, "fm_text", default) == default
    assert not tab.errors


def test_the_lesson_sentence_opens_explain_heads_and_attention(app, tab):
    sentence = "The woman said that [MASK] was tired."
    open_url(tab, page_url(app, "fill_mask"), "Fill-mask")
    tab.wait_for_function("() => window.__bertlensStale === true", timeout=TIMEOUT_MS)
    box = tab.locator(".st-key-fm_text textarea")
    box.fill(sentence)  # typed, not applied: the results shown are the previous sentence's
    note = tab.locator(".st-key-fm_text .bertlens-stale-note")
    note.wait_for(timeout=10_000)
    assert "previous sentence" in note.inner_text()
    assert tab.evaluate("document.body.classList.contains('bertlens-stale')")
    box.press("Control+Enter")
    wait_idle(tab)
    tab.wait_for_function("() => !document.querySelector('.st-key-fm_text .bertlens-stale-note') && "
                          "!document.body.classList.contains('bertlens-stale')", timeout=TIMEOUT_MS)
    row = tab.locator(".st-key-use_it_on_fill_mask")
    assert [t.strip() for t in row.locator("a").all_inner_texts()] == \
        ["Explain", "Which heads?", "Attention", "Counterfactual", "Bias"]
    TITLES.setdefault("heads", "Which heads?")
    for name, key in (("explain", "ex_text"), ("heads", "hd_text"), ("attention", "att_text")):
        tab.locator("[data-testid=stSidebarNav]").get_by_text(
            {"explain": "Explain", "heads": "Which heads?", "attention": "Attention"}[name], exact=True).click()
        tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                              arg=TITLES[name], timeout=TIMEOUT_MS)
        wait_idle(tab)
        assert text_of(tab, key, sentence) == sentence, name
    for name, key in (("heads", "hd_text"), ("explain", "ex_text")):  # Back, page by page
        back(tab)
        tab.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                              arg=TITLES[name], timeout=TIMEOUT_MS)
        assert text_of(tab, key, sentence) == sentence, name
    open_url(tab, page_url(app, "fill_mask"), "Fill-mask")
    type_into(tab, "fm_text", "The woman worked as a [MASK].")
    tab.locator(".st-key-use_it_on_fill_mask a", has_text="Bias").click()
    tab.wait_for_function("() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('bias'))",
                          timeout=TIMEOUT_MS)
    wait_idle(tab)
    assert read(tab, "bias_side_template", "text") == "{person} worked as a [MASK]."


def test_a_lesson_plan_loads_from_a_link_moves_with_page_keys_adds_a_step_and_downloads(app, browser):
    from components import lesson

    sample = lesson.shipped(lesson.SAMPLE)
    context = browser.new_context(viewport=PROJECTOR, accept_downloads=True)
    try:
        tab = context.new_page()
        open_url(tab, f"{app.url}/?present=1&lesson={lesson.SAMPLE}", "Fill-mask")
        bar = tab.locator(".st-key-lesson_bar")
        assert f"Step 1 of {len(sample.steps)}" in bar.inner_text()
        assert text_of(tab, "fm_text", sample.steps[0].inputs["text"]) == sample.steps[0].inputs["text"]
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / "lesson-step-1-present.png"))
        tab.keyboard.press("PageDown")
        tab.wait_for_function("() => document.querySelector('.st-key-lesson_bar').innerText.includes('Step 2 of')",
                              timeout=TIMEOUT_MS)
        wait_idle(tab)
        assert text_of(tab, "fm_text", sample.steps[1].inputs["text"]) == sample.steps[1].inputs["text"]
        assert "present=1" in tab.url
        tab.keyboard.press("PageUp")
        tab.wait_for_function("() => document.querySelector('.st-key-lesson_bar').innerText.includes('Step 1 of')",
                              timeout=TIMEOUT_MS)
        wait_idle(tab)
        assert text_of(tab, "fm_text", sample.steps[0].inputs["text"]) == sample.steps[0].inputs["text"]

        open_url(tab, page_url(app, "explain"), "Explain")  # a new session, not presenting: tools in the sidebar
        tab.locator("[data-testid=stSidebar] summary", has_text="Lesson plan").first.click()
        tab.locator(".st-key-lesson_add button").first.click()
        wait_idle(tab)
        with tab.expect_download() as caught:
            tab.locator(".st-key-lesson_download button").first.click()
        download = caught.value
        assert download.suggested_filename == "bertlens-lesson-My-lesson.json"
        plan = lesson.parse(Path(download.path()).read_text(encoding="utf-8"))
        assert [step.page for step in plan.steps] == ["explain"]
    finally:
        context.close()


def press(tab, key: str) -> None:
    """Click the button `key` once the page has redrawn (a page change keeps the old page's copy a moment)."""
    wait_idle(tab)
    tab.wait_for_function("k => document.querySelectorAll(`.st-key-${k}`).length === 1", arg=key,
                          timeout=TIMEOUT_MS)
    tab.locator(f".st-key-{key} button").first.click()  # a button with help draws a second, hidden copy


def test_a_lesson_plan_uploaded_on_home_steps_with_its_buttons_and_downloads_the_added_step(app, browser, tmp_path):
    from components import lesson

    first, second = "The nurse said that [MASK] was tired.", "The doctor said that [MASK] was late."
    plan = {"bertlens_lesson": 1, "title": "Two pages",
            "steps": [{"page": "fill-mask", "inputs": {"text": first}, "note": "Guess the pronoun."},
                      {"page": "explain", "inputs": {"text": second}, "note": "Why that guess?"}]}
    path = tmp_path / "two-pages.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    context = browser.new_context(viewport=PROJECTOR, accept_downloads=True)
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        open_url(tab, page_url(app, "home"), "BERT Lens")
        tab.locator(".st-key-lesson_upload input[type=file]").set_input_files(str(path))
        press(tab, "lesson_start")
        bar = tab.locator(".st-key-lesson_bar")
        bar.wait_for(timeout=TIMEOUT_MS)
        assert "Step 1 of 2 · Guess the pronoun." in bar.inner_text()
        assert text_of(tab, "fm_text", first) == first
        press(tab, "lesson_next")
        tab.wait_for_function("() => document.querySelector('.st-key-lesson_bar')?.innerText.includes('Step 2 of')",
                              timeout=TIMEOUT_MS)
        wait_idle(tab)
        assert text_of(tab, "ex_text", second) == second
        assert tab.locator(".st-key-lesson_next button").first.is_disabled()
        press(tab, "lesson_previous")
        tab.wait_for_function("() => document.querySelector('.st-key-lesson_bar')?.innerText.includes('Step 1 of')",
                              timeout=TIMEOUT_MS)
        wait_idle(tab)
        assert text_of(tab, "fm_text", first) == first
        assert tab.locator(".st-key-lesson_previous button").first.is_disabled()
        press(tab, "lesson_add")
        tab.wait_for_function("() => document.querySelector('.st-key-lesson_bar')?.innerText.includes('Step 3 of 3')",
                              timeout=TIMEOUT_MS)
        wait_idle(tab)
        with tab.expect_download() as caught:
            tab.locator(".st-key-lesson_download button").first.click()
        download = caught.value
        assert download.suggested_filename == "bertlens-lesson-Two-pages.json"
        saved = lesson.parse(Path(download.path()).read_text(encoding="utf-8"))
        assert [(step.page, step.inputs.get("text")) for step in saved.steps] == \
            [("fill-mask", first), ("explain", second), ("fill-mask", first)]
        assert [step.note for step in saved.steps] == ["Guess the pronoun.", "Why that guess?", ""]
        assert not errors
    finally:
        context.close()


def test_plain_words_and_the_gender_colours_on_the_projector(app, tab):
    """Plain words are on in presentation mode and off by default otherwise; the counterfactual chart draws her
    side orange and his side blue and names the words in those colours."""
    from components.bias_charts import FEMALE, MALE

    sentence = "The woman said that [MASK] was tired."
    open_url(tab, page_url(app, "counterfactual", {"text": sentence, "present": "1", "union": "1"}),
             "Counterfactual sentences")
    lines = tab.locator("[class*='st-key-plain_'] [data-testid=stCaptionContainer]")
    lines.first.wait_for(timeout=TIMEOUT_MS)
    shown = " ".join(lines.all_inner_texts())
    assert "KL" in shown and "nats" in shown and "log-ratio" in shown
    tab.locator(".st-key-cf-log-ratios .js-plotly-plot").wait_for(timeout=TIMEOUT_MS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / "plain-words-colours-present.png"))
    drawn = tab.evaluate("""() => {
        const gd = document.querySelector('.st-key-cf-log-ratios .js-plotly-plot');
        const fill = e => getComputedStyle(e).fill;
        return {x: [...gd.data[0].x], colours: [...gd.data[0].marker.color],
                bars: [...gd.querySelectorAll('.bars path')].map(fill),
                notes: [...gd.querySelectorAll('.annotation-text')].map(e => [e.textContent, fill(e)])};
    }""")
    rgb = {colour: "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
           for colour in (FEMALE, MALE)}
    assert drawn["x"] and drawn["colours"] == [FEMALE if x > 0 else MALE for x in drawn["x"]]
    assert set(drawn["bars"]) <= set(rgb.values())
    notes = dict(drawn["notes"])
    her = next(text for text in notes if "woman" in text)
    him = next(text for text in notes if "man" in text and "woman" not in text)
    assert notes[her] == rgb[FEMALE] and notes[him] == rgb[MALE]
    open_url(tab, page_url(app, "counterfactual", {"text": sentence, "union": "1"}), "Counterfactual sentences")
    tab.locator(".st-key-cf-log-ratios .js-plotly-plot").wait_for(timeout=TIMEOUT_MS)
    assert lines.count() == 0, "off by default outside presentation mode"
    assert not tab.errors
