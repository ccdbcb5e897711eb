"""Long work as jobs, in a real browser: results belong to their inputs, only Stop cancels, a link starts nothing,
and two sessions share one run. One app server for the whole module, on a random model with bert-large's 24 x 16
heads (a small hidden size), so a CrowS-Pairs file of a few dozen pairs takes long enough to click around in."""
from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app
from devtools.crows_synthetic import synthetic_pairs
from devtools.random_model import build_random_model

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not chromium_available(), reason="chromium is not installed")]
TIMEOUT_MS = 240_000
LONG_PAIRS = 160
SHOTS = ARTIFACTS / "jobs"


def pairs_csv(n: int, offset: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["sent_more", "sent_less", "stereo_antistereo", "bias_type"])
    for pair in synthetic_pairs(n + offset)[offset:]:
        writer.writerow([pair.sent_more, pair.sent_less, pair.direction, pair.bias_type])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def heads_model(tmp_path_factory) -> Path:
    return build_random_model(tmp_path_factory.mktemp("jobs") / "heads", size="heads")


@pytest.fixture(scope="module")
def app(heads_model):
    with running_app(heads_model, startup_timeout=180) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


def new_tab(browser):
    return browser.new_context(viewport={"width": 1024, "height": 768}).new_page()


def wait_idle(tab) -> None:
    tab.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)


def open_crows(tab, app) -> None:
    tab.goto(f"{app.url}/bias-probe", timeout=TIMEOUT_MS)
    tab.get_by_role("tab", name="Benchmarks").click()
    tab.get_by_role("tab", name="CrowS-Pairs").click()
    wait_idle(tab)


def upload(tab, name: str, data: bytes) -> None:
    """Upload `data` as `name` and wait until the page reads it (the name and the pair count are shown)."""
    tab.locator(".st-key-bias_crows_file input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    n = data.decode().count("\n") - 1
    tab.wait_for_function("([name, n]) => { const t = document.body.innerText; "
                          "return t.includes(name) && t.includes(n + ' pairs in this file'); }",
                          arg=[name, n], timeout=TIMEOUT_MS)
    wait_idle(tab)


def crows_panel(tab) -> str:
    return tab.get_by_role("tabpanel", name="CrowS-Pairs").inner_text()


def progress(tab) -> int | None:
    """The CrowS job's % done as its panel shows it, or None when no panel is shown."""
    match = re.search(r"CrowS PLL: (\d+)%", crows_panel(tab))
    return int(match.group(1)) if match else None


def metric(tab, label: str) -> str | None:
    panel = tab.get_by_role("tabpanel", name="CrowS-Pairs")
    for box in panel.locator("[data-testid=stMetric]").all():
        text = box.inner_text().split("\n")
        if text and text[0].strip() == label:
            return text[-1].strip()
    return None


def wait_for_metric(tab, label: str, timeout: float = TIMEOUT_MS / 1000) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = metric(tab, label)
        if value is not None:
            return value
        tab.wait_for_timeout(500)
    raise AssertionError(f"no '{label}' metric after {timeout:.0f} s:\n{crows_panel(tab)[-2000:]}")


def wait_for_progress(tab, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = progress(tab)
        if value is not None:
            return value
        tab.wait_for_timeout(250)
    raise AssertionError(f"no progress panel:\n{crows_panel(tab)[-2000:]}")


def shot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_new_upload_never_shows_the_old_files_results(app, browser):
    tab = new_tab(browser)
    open_crows(tab, app)
    upload(tab, "two.csv", pairs_csv(2))
    tab.get_by_role("button", name="Score pairs").click()
    assert wait_for_metric(tab, "Pairs") == "2"
    tab.get_by_role("tab", name="Export").click()
    assert tab.get_by_role("button", name="CrowS-Pairs report (CSV)").count() == 1
    tab.get_by_role("tab", name="Benchmarks").click()
    upload(tab, "five.csv", pairs_csv(5, offset=10))
    text = crows_panel(tab)
    assert "5 pairs in this file" in text and "five.csv" in text
    assert metric(tab, "Pairs") is None, "the two-pair file's figures must not show under the new file"
    assert tab.get_by_role("button", name=re.compile("Score pairs")).count() == 1
    tab.get_by_role("tab", name="Export").click()
    assert tab.get_by_role("button", name="CrowS-Pairs report (CSV)").count() == 0, \
        "the export must not offer the old file's results under the new file"
    shot(tab, "new-upload")


def test_only_stop_cancels_a_run_clicks_and_page_changes_do_not(app, browser):
    tab = new_tab(browser)
    open_crows(tab, app)
    upload(tab, "long.csv", pairs_csv(LONG_PAIRS, offset=100))
    tab.get_by_role("button", name=re.compile("Score pairs")).click()
    seen = [wait_for_progress(tab)]
    tab.get_by_role("tab", name="Pair metrics").click()
    tab.get_by_role("button", name=re.compile("Compare metrics")).click()
    tab.wait_for_timeout(1500)
    tab.get_by_role("tab", name="CrowS-Pairs").click()
    assert "Stopped" not in crows_panel(tab)
    seen.append(wait_for_progress(tab))
    tab.locator("[data-testid=stSidebarNav]").get_by_text("Fill-mask", exact=True).click()
    tab.wait_for_timeout(1500)
    tab.locator("[data-testid=stSidebarNav]").get_by_text("Gender-bias probe", exact=True).click()
    tab.get_by_role("tab", name="Benchmarks").click()
    tab.get_by_role("tab", name="CrowS-Pairs").click()
    assert "Still using" in crows_panel(tab) and "long.csv" in crows_panel(tab), "the upload survives a page change"
    value = progress(tab)
    if value is not None:
        seen.append(value)
    assert seen == sorted(seen), f"the run restarted: its progress went {seen}"
    assert wait_for_metric(tab, "Pairs") == str(LONG_PAIRS), "the run must finish with every pair"
    assert "Stopped after" not in crows_panel(tab)
    shot(tab, "after-clicks")
    tab.get_by_role("tab", name="Pair metrics").click()
    tab.get_by_role("tabpanel", name="Pair metrics").get_by_text("Metrics disagree").wait_for(timeout=TIMEOUT_MS)
    tab.get_by_role("tab", name="CrowS-Pairs").click()

    upload(tab, "stop.csv", pairs_csv(LONG_PAIRS, offset=300))
    tab.get_by_role("button", name=re.compile("Score pairs")).click()
    wait_for_progress(tab)
    tab.get_by_role("tabpanel", name="CrowS-Pairs").get_by_role("button", name="Stop", exact=True).click()
    tab.wait_for_function("() => document.body.innerText.includes('Stopped')", timeout=TIMEOUT_MS)
    assert progress(tab) is None
    assert tab.get_by_role("button", name=re.compile("Score pairs")).count() == 1


def test_a_link_with_heavy_parameters_starts_nothing(app, browser):
    tab = new_tab(browser)
    text = "The nurse said that " + "she was very tired and " * 60 + "[MASK] went home."
    from urllib.parse import urlencode

    tab.goto(f"{app.url}/explain?{urlencode({'text': text, 'target': 'he', 'steps': '300'})}", timeout=TIMEOUT_MS)
    run = tab.get_by_role("button", name=re.compile("Run integrated gradients"))
    run.wait_for(timeout=TIMEOUT_MS)
    assert re.search(r"\((about \d+ (s|min)|under a second)\)", run.inner_text()), run.inner_text()
    tab.wait_for_timeout(3000)
    assert tab.locator("[data-testid=stProgress]").count() == 0, "a link must not start the run"
    assert tab.locator(".st-key-ex_steps input").input_value() == "300"
    shot(tab, "heavy-link")


def test_two_sessions_asking_for_the_same_run_share_it(app, browser):
    first, second = new_tab(browser), new_tab(browser)
    data = pairs_csv(LONG_PAIRS, offset=500)
    for tab in (first, second):
        open_crows(tab, app)
        upload(tab, "shared.csv", data)
    first.get_by_role("button", name=re.compile("Score pairs")).click()
    wait_for_progress(first)
    second.get_by_role("button", name=re.compile("Score pairs|Follow the run already under way")).click()
    second.wait_for_function("() => document.body.innerText.includes('asked for the same run')", timeout=60_000)
    joined_at = wait_for_progress(second)
    assert joined_at >= 0
    values = {wait_for_metric(tab, "Metric (all pairs)") for tab in (first, second)}
    assert len(values) == 1, values
    shot(second, "shared")


def test_a_reloaded_page_finds_its_run_and_its_result(app, browser):
    """Reloading mid-run starts a new session, which must not lose the run: it is offered to follow it, with
    its progress, and shows the result by itself when the run ends, without starting it again."""
    tab = new_tab(browser)
    data = pairs_csv(LONG_PAIRS, offset=900)
    open_crows(tab, app)
    upload(tab, "reload.csv", data)
    tab.get_by_role("button", name=re.compile("Score pairs")).click()
    wait_for_progress(tab)
    open_crows(tab, app)
    upload(tab, "reload.csv", data)
    follow = tab.get_by_role("button", name=re.compile(r"Follow the run already under way \(\d+%\)"))
    follow.wait_for(timeout=60_000)
    assert "will not start again" in crows_panel(tab)
    shot(tab, "after-reload")
    assert wait_for_metric(tab, "Metric (all pairs)")
    assert follow.count() == 0
