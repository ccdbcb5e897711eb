"""The gender-bias page: AppTest as a user drives it, and the probe, CrowS-Pairs, downloads and hover labels in
headless chromium."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import press_and_finish

from bertlens import bias
from bertlens.bias.crows import EXAMPLE_PATH, parse_crows
from bertlens.numbers import percent

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/bias_probe.py"


def open_page(app_env) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label.replace("\\", ""): m.value for m in at.metric}


def test_page_side_by_side_and_probe(app_env):
    at = open_page(app_env)
    assert at.title[0].value == "Gender-bias probe"
    texts = [t.value for t in at.text]
    assert "The woman worked as a [MASK]." in texts and "The man worked as a [MASK]." in texts
    assert len(at.dataframe) >= 2 and not at.error
    assert any("Run probe" in i.value for i in at.info)

    press_and_finish(at, "bias_run")
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Occupations"] == str(len(bias.load_occupations()))
    assert shown["Templates"] == str(len(bias.load_templates()))
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
    assert "bias_run" not in [b.key for b in at.button], "no run button for inputs that cannot run"
    assert not at.exception and not at.metric
    at.text_area(key="bias_pairs").set_value("").run()
    assert not at.exception
    assert any("word pairs is empty" in e.value for e in at.error)


def test_page_crows_example(app_env):
    at = open_page(app_env)
    n_pairs = len(parse_crows(EXAMPLE_PATH.read_bytes()))
    assert any(f"{n_pairs} pairs" in c.value for c in at.caption)
    press_and_finish(at, "bias_crows_run")
    assert not at.exception and not at.error
    labels = [b.label for b in at.get("download_button")]
    assert "CrowS-Pairs report (CSV)" in labels


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_side_by_side_is_not_mirrored(app_env):
    """The chart puts female on the right, so the woman's table is on the right too."""
    at = open_page(app_env)
    texts = [t.value for t in at.text]
    assert texts.index("The man worked as a [MASK].") < texts.index("The woman worked as a [MASK].")
    chart = plotly_specs(at)[0]
    sides = {a["text"]: a["x"] for a in chart["layout"]["annotations"] if "leans" in a["text"]}
    assert sides["leans the woman →"] > 0.5 > sides["← leans the man"]
    headings = [m.value for m in at.markdown if m.value.startswith("**")]
    assert headings.index("**← the man**") < headings.index("**the woman →**")


def test_headline_counts_test_and_effect_size(app_env):
    at = open_page(app_env)
    press_and_finish(at, "bias_run")
    table = next(d.value for d in at.dataframe if "p (Holm)" in d.value.columns)
    for threshold in (0.1, 0.0, 0.05):
        if threshold != 0.1:
            at.number_input(key="bias_min_effect").set_value(threshold).run()
        assert not at.exception and not any("inputs changed" in w.value for w in at.warning)
        label = f"Significant (Holm) and |log-ratio| ≥ {threshold:g}"
        expected = int(((table["p (Holm)"] < 0.05) & (table["log-ratio"].abs() >= threshold)).sum())
        assert metrics(at)[label] == str(expected)
        captions = " ".join(c.value for c in at.caption)
        assert "pass both Holm's test" in captions and f"{int((table['p (Holm)'] < 0.05).sum())} pass the test " \
                                                                 "alone" in captions
    assert not any("inputs changed" in w.value for w in at.warning)


def test_crows_shows_ties_interval_caveat_and_key_columns_first(app_env):
    """The pair table starts with line, outcome and tie; ties, the Wilson interval and
    the dataset's caveat are shown next to the metric."""
    at = open_page(app_env)
    press_and_finish(at, "bias_crows_run")
    shown = metrics(at)
    assert {"Metric (all pairs)", "Wilson 95% interval", "Ties", "Pairs"} <= set(shown)
    assert any("Blodgett" in w.value and "Norwegian Salmon" in w.value for w in at.warning)
    pairs = next(d.value for d in at.dataframe if "sent_more" in d.value.columns)
    assert list(pairs.columns[:3]) == ["line", "more stereotyping scores higher", "tie"]
    ties = int(pairs["tie"].sum())
    assert shown["Ties"] == f"{ties} ({percent(100 * ties / len(pairs))})", "the one number format"
    groups = next(d.value for d in at.dataframe if "95% low" in d.value.columns)
    assert (groups["95% low"] <= groups["%"]).all() and (groups["%"] <= groups["95% high"]).all()
    assert groups["fewer than 30"].all()


# ---------------------------------------------------------------- in chromium

@pytest.fixture(scope="module")
def browser_page(tiny_model_dir, tmp_path_factory):
    from browser_support import chromium_available, launch_chromium, running_app

    if not chromium_available():
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    log_dir = tmp_path_factory.mktemp("bias-browser")
    with running_app(tiny_model_dir, log_dir=log_dir) as server, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400}, accept_downloads=True)
            page.goto(server.url, timeout=120_000)
            page.get_by_role("link", name="Gender-bias probe").first.click(timeout=120_000)
            page.get_by_role("tab", name="Occupation scores").click(timeout=120_000)
            page.get_by_role("button", name="Run probe").click()
            page.locator("[data-testid=stMetricLabel]", has_text="Significant (Holm) and").wait_for(timeout=300_000)
            page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)
            yield page, server, log_dir
        finally:
            browser.close()


@pytest.mark.browser
def test_browser_runs_one_probe(browser_page):
    page, _, log_dir = browser_page
    page.screenshot(path=str(log_dir / "bias_probe.png"))
    shown = dict(zip(page.locator("[data-testid=stMetricLabel] >> visible=true").all_inner_texts(),
                     page.locator("[data-testid=stMetricValue] >> visible=true").all_inner_texts()))
    assert "Traceback" not in page.inner_text("body")
    assert shown["Occupations"] == str(len(bias.load_occupations()))
    assert shown["Templates"] == str(len(bias.load_templates()))


@pytest.mark.browser
def test_scatter_points_have_hover_labels(browser_page):
    page, _, _ = browser_page
    page.get_by_role("tab", name="Real-world reference").click()
    chart = page.locator(".js-plotly-plot >> visible=true").first
    chart.wait_for(timeout=60_000)
    point = chart.locator(".scatterlayer .trace .points path").first
    point.hover(force=True)
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for(timeout=20_000)
    names = {o.name for o in bias.load_occupations()}
    assert any(name in (hover.text_content() or "") for name in names)
    legend = chart.locator(".legend").text_content() or ""
    assert "one WordPiece" in legend and "least-squares fit" in legend


@pytest.mark.browser
def test_downloads_after_crows_arrive_even_in_quick_succession(browser_page, tiny_model_dir):
    """The probe report after a CrowS-Pairs run, and several downloads one after another."""
    page, server, log_dir = browser_page
    page.get_by_role("tab", name="Benchmarks").click()
    page.get_by_role("tab", name="CrowS-Pairs").click()
    page.get_by_role("button", name="Score pairs").click()
    page.locator("[data-testid=stMetricLabel]", has_text="Wilson 95% interval").wait_for(timeout=120_000)
    page.get_by_role("tab", name="Export").click()
    buttons = ["Probe report (CSV)", "Probe report (JSON)", "CrowS-Pairs report (CSV)", "CrowS-Pairs report (JSON)"]
    for name in buttons:
        page.get_by_role("button", name=name).wait_for(timeout=60_000)
    arrived = []
    page.on("download", lambda download: arrived.append(download))
    for name in buttons:
        page.get_by_role("button", name=name).click()
    deadline = time.monotonic() + 60
    while len(arrived) < len(buttons) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    model = Path(tiny_model_dir).name  # each file names its model (issue 26)
    files = {f"bertlens-{report}-{model}.{ext}": f"{report}.{ext}" for report in ("bias-probe", "crows-pairs")
             for ext in ("csv", "json")}
    assert sorted(d.suggested_filename for d in arrived) == sorted(files), server.log()[-2000:]
    texts = {files[d.suggested_filename].replace("-", "_"): Path(d.path()).read_text(encoding="utf-8")
             for d in arrived}
    assert "#report,gender-bias occupation probe" in texts["bias_probe.csv"]
    assert json.loads(texts["bias_probe.json"])["meta"]["report"] == "gender-bias occupation probe"
    assert "#report,CrowS-Pairs (Nangia et al. 2020)" in texts["crows_pairs.csv"]
    assert json.loads(texts["crows_pairs.json"])["meta"]["pairs_scored"] == len(parse_crows(EXAMPLE_PATH.read_bytes()))
    assert "Deferred file" not in server.log() and "has no attribute" not in server.log()
