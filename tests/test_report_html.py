"""The auditor's HTML report: one self-contained file. Checked as text (escaping, caveats, banner) and opened in
chromium: it requests nothing but itself, its figures render, and it prints to PDF."""
from __future__ import annotations

import html
import re

import pytest

from bertlens import report_html
from bertlens.bias import agreement
from bertlens.bias import stereoset as ss
from bertlens.bias.crows import CAVEAT as CROWS_CAVEAT
from bertlens.results import ItemDecision, MetricResult

HOSTILE = "<script>window.hacked = 1</script><img src='http://example.com/x.png'>"


def _result(name: str, title: str, decisions: dict[str, bool | None], value: float, caveat: str = "") -> MetricResult:
    items = tuple(ItemDecision(k, f"sentence {k} {HOSTILE if k == 'line 3' else ''}", d, 0.5, "gender")
                  for k, d in decisions.items())
    return MetricResult(name, title, value, "%", value - 8, value + 8, "Wilson 95%", len(items),
                        sum(d is None for d in decisions.values()), 50.0, f"what {title} measures", caveat, items)


def _stereoset_doc() -> dict:
    examples = []
    for i, (split, domain, target, scores) in enumerate([
            ("intrasentence", "gender", "mother", (0.3, 0.2, 0.1)), ("intrasentence", "gender", "father", (0.1, 0.2, 0.3)),
            ("intrasentence", "race", "Ethiopia", (0.5, 0.2, 0.1)), ("intrasentence", "race", "Crimean", (0.5, 0.5, 0.1)),
            ("intersentence", "race", "Ethiopia", (0.9, 0.2, 0.1)), ("intersentence", "race", "Norway", (0.2, 0.3, 0.1)),
            ("intersentence", "religion", "Bible", (0.4, 0.3, 0.5))]):
        sentences = tuple(ss.StereoSentence(f"s{i}{g}", f"text {g}", g) for g in ss.GOLD)
        example = ss.StereoExample(f"e{i}", split, domain, target, "context", sentences)  # type: ignore[arg-type]
        examples.append(ss.ExampleScore(example, scores))
    return ss.result_document(ss.summarise("both", examples, len(examples), 500))


def sample_report(random_weights: bool = True) -> dict:
    crows = _result("crows", "CrowS PLL", {"line 2": True, "line 3": False, "line 4": None}, 58.0, CROWS_CAVEAT)
    aul = _result("aul", "AUL", {"line 2": True, "line 3": True, "line 4": False}, 61.0)
    stereo = _result("stereoset", "StereoSet SS", {"intrasentence:e0": True}, 55.0, ss.CAVEAT)
    doc = agreement.agreement_document([crows, aul, stereo])
    ok = {"model": f"/models/{HOSTILE}", "status": "ok", "fingerprint": "sha256:" + "ab" * 32,
          "random_weights": random_weights, "dtype": "float32", "vocab_size": 28996,
          "scores": {"crows: % sent_more higher": 58.0},
          "metrics": doc["headlines"] + [{"metric": "probe", "title": "Occupation probe", "value": 0.21,
                                          "unit": "nats", "ci_low": 0.1, "ci_high": 0.3, "interval": "bootstrap",
                                          "n": 3, "ties": 0, "neutral": 0.0, "measures": "mean |log-ratio|",
                                          "caveat": "", "complete": True}],
          "agreement": doc, "stereoset": _stereoset_doc(),
          "occupations": [{"occupation": "nurse", "log_ratio": -1.2, "ci_low": -1.5, "ci_high": -0.9, "p_holm": 0.001,
                           "notable": True},
                          {"occupation": "plumber", "log_ratio": 0.8, "ci_low": 0.5, "ci_high": 1.1, "p_holm": 0.01,
                           "notable": True},
                          {"occupation": HOSTILE, "log_ratio": 0.05, "ci_low": -0.2, "ci_high": 0.3, "p_holm": 1.0,
                           "notable": False}]}
    failed = {"model": "bert-large-cased", "status": "failed", "reason": "The weights are not on this machine."}
    return {"report": "BERT Lens bias audit", "tool": "BERT Lens", "date": "2026-12-06T04:00:00+00:00",
            "configuration_sha256": "c" * 64,
            "inputs": [{"name": "crows_pairs", "source": "inline", "sha256": "d" * 64},
                       {"name": "stereoset", "source": "dev.json", "sha256": "e" * 64}],
            "configuration": {"bertlens_audit": 1, "models": ["a", "b"], "metrics": ["crows", "aul", "stereoset"],
                              "precision": "float32", "device": "cpu", "seed": 0, "bootstrap": 2000,
                              "crows_pairs": {"text": "sent_more,sent_less\n" + HOSTILE}},
            "ran_on": "this machine, in sequence", "checkpoints": [ok, failed], "completed": 1, "failed": 1,
            "random_weights": random_weights, "spread": []}


def test_holds_what_an_auditor_needs():
    page = report_html.render(sample_report())
    assert "RANDOM weights" in page and "id='random-weights'" in page
    assert html.escape(CROWS_CAVEAT, quote=True) in page
    assert "Blodgett" in page and "<b>StereoSet SS.</b>" in page and "<b>CrowS PLL.</b>" in page
    assert page.count(html.escape(CROWS_CAVEAT, quote=True)) == 1  # once at the top, referred to in the table
    assert "c" * 64 in page and "d" * 64 in page and "e" * 64 in page
    assert "sha256:" + "ab" * 32 in page and "float32" in page and "2026-12-06T04:00:00+00:00" in page
    for text in ("Every metric side by side", "Metrics checked against each other", "Cohen&#x27;s kappa",
                 "StereoSet per split and domain", "Occupation probe", "Failed: The weights are not on this machine."):
        assert text in page
    assert "CrowS PLL vs" not in page and "crows vs aul" in page  # pairs named by metric, items listed
    assert page.count("<svg") >= 3
    assert "characters, inline" in page and "sent_more,sent_less" not in page  # inputs shown by hash


def test_no_banner_without_random_weights():
    assert "RANDOM weights" not in report_html.render(sample_report(random_weights=False))


def test_user_text_is_escaped_and_nothing_is_fetched():
    page = report_html.render(sample_report())
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page)
    assert "default-src 'none'" in page and "@media print" in page


def test_old_reports_without_metric_records_still_render():
    report = sample_report()
    for row in report["checkpoints"]:
        for key in ("metrics", "agreement", "stereoset"):
            row.pop(key, None)
    page = report_html.render(report)
    assert "crows: % sent_more higher" in page and "<b>CrowS PLL.</b>" in page


@pytest.mark.browser
def test_opens_in_chromium_offline_with_its_figures(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.browser_support import ARTIFACTS, chromium_available, launch_chromium

    if not chromium_available():
        pytest.skip("chromium is not installed")
    path = tmp_path / "report.html"
    report_html.write(sample_report(), path)
    requests: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 768})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            assert page.evaluate("window.hacked === undefined")
            figures = page.locator("figure svg")
            assert figures.count() >= 3
            for i in range(figures.count()):
                box = figures.nth(i).bounding_box()
                assert box and box["width"] > 300 and box["height"] > 40
            assert page.locator("svg circle.point").count() >= 10
            assert page.locator("svg line.neutral").count() >= 3
            assert page.locator("#random-weights").is_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report_html.png"), full_page=True)
            pdf = page.pdf(format="A4", print_background=True)
            assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
            (ARTIFACTS / "report_html.pdf").write_bytes(pdf)
        finally:
            browser.close()
    assert requests and all(url == path.as_uri() for url in requests), requests


def test_a_stopped_run_is_stopped_in_the_header_and_its_row_never_completed():
    report = sample_report()
    ok = report["checkpoints"][0]
    crows_row = next(m for m in ok["metrics"] if m["metric"] == "crows")
    crows_row.update(complete=False, n=493, total=1508, stopped="stopped after 493 of 1,508")
    report["completed"] = 1
    page = report_html.render(report)
    header = page[:page.index("<h2>Configuration</h2>")]
    assert "0 completed, 1 stopped, 1 failed" in header
    assert "CrowS PLL stopped after 493 of 1,508" in header
    row = page[page.index("Every metric side by side"):]
    assert "stopped after 493 of 1,508" in row and "493 of 1,508" in row


def test_small_groups_are_flagged_and_nothing_prints_none():
    page = report_html.render(sample_report())
    stereoset = page[page.index("StereoSet per split and domain"):]
    assert "religion <span class='flag'>(small sample)</span>" in stereoset
    assert "Only 3 occupations (small sample" in page
    assert ">None<" not in page and "None" not in re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)


def test_key_value_tables_have_no_empty_header_and_counts_are_not_plotted_on_a_fraction_axis():
    page = report_html.render(sample_report())
    assert "<th></th>" not in page
    assert "Headlines (occupations)" not in page  # a count without an interval stays in the table
    assert report_html._value(1.0, "occupations") == "1 occupations" and report_html._value(1.0, "%") == "1.00 %"
    assert "<div class='print-only'><h4>The configuration as saved" in page


def test_interval_colour_says_whether_it_excludes_the_neutral_value():
    figure = report_html.interval_figure([("excludes above", 60.0, 55.0, 65.0), ("includes", 52.4, 40.3, 64.2),
                                          ("excludes below", 40.0, 35.0, 45.0)], 50.0, "%", "t")
    marks = re.findall(r"data-excludes='(\w+)'", figure)
    assert marks == ["yes", "no", "yes"]
