"""Schemas for everything uploaded or configured (bertlens.schemas): the audit configuration and the audit report.
A bad file gets one message before anything is drawn or run, and the bias page keeps working without a reload."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.bias import audit
from bertlens.errors import InputError
from bertlens.schemas import MAX_JSON_DEPTH, check_depth

ROOT = Path(__file__).resolve().parent.parent
GOOD_REPORT = {
    "report": "BERT Lens bias audit", "tool": "BERT Lens", "date": "2026-01-01T00:00:00+00:00",
    "configuration_sha256": "a" * 64, "inputs": [{"name": "templates", "source": "inline", "sha256": "b" * 64}],
    "configuration": {"bertlens_audit": 1}, "ran_on": "this machine, in sequence",
    "checkpoints": [{"model": "m1", "status": "ok", "fingerprint": "f", "random_weights": True, "dtype": "float32",
                     "vocab_size": 28996, "scores": {"probe: mean |log-ratio|": 0.25, "count": 3},
                     "occupations": [{"occupation": "nurse", "log_ratio": 0.5, "ci_low": 0.1, "ci_high": 0.9,
                                      "p_holm": 0.01, "kurita": None, "pieces": ["nurse"], "notable": True}],
                     "crows": [{"metric": "crows", "percent": 55.0, "ci_low": 40.0, "ci_high": 70.0,
                                "more_higher": 11, "pairs": 20}]},
                    {"model": "m2", "status": "failed", "reason": "weights missing"}],
    "completed": 1, "failed": 1, "random_weights": True,
    "spread": [{"score": "count", "n": 1, "mean": 3.0, "sd": None, "min": 3.0, "max": 3.0, "range": 0.0}],
}
BAD_REPORTS = {
    "checkpoints of the wrong type": {**GOOD_REPORT, "checkpoints": ["x", 5]},
    "spread a string": {**GOOD_REPORT, "spread": "nope"},
    "completed an object": {**GOOD_REPORT, "completed": {"a": 1}},
    "an occupation row without its name": {**GOOD_REPORT, "checkpoints": [
        {**GOOD_REPORT["checkpoints"][0], "occupations": [{"log_ratio": 0.5}]}]},
    "a status nobody writes": {**GOOD_REPORT, "checkpoints": [{"model": "m", "status": "maybe"}]},
    "scores that are text": {**GOOD_REPORT, "checkpoints": [{**GOOD_REPORT["checkpoints"][0], "scores": {"a": "1"}}]},
    "no checkpoints": {k: v for k, v in GOOD_REPORT.items() if k != "checkpoints"},
}
RAW_BAD = {"100,000 nested [": b"[" * 100_000, "NaN": json.dumps({**GOOD_REPORT, "completed": float("nan")}).encode(),
           "not UTF-8": b"\xff\xfe{", "a list": b"[]", "truncated": json.dumps(GOOD_REPORT).encode()[:-9]}
MARKUP = "[Click to re-login](http://127.0.0.9/phish) ![b](http://127.0.0.9/beacon.png) <img src=x onerror=alert(1)>"
LIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)!\[|(?<!\\)<img", re.I)


def test_a_good_report_passes_and_keeps_its_values():
    report = audit.parse_report(json.dumps(GOOD_REPORT).encode())
    assert report["checkpoints"][0]["occupations"][0]["occupation"] == "nurse"
    assert report["checkpoints"][0]["scores"] == {"probe: mean |log-ratio|": 0.25, "count": 3}
    assert report["completed"] == 1 and report["spread"][0]["sd"] is None


@pytest.mark.parametrize("case", [*BAD_REPORTS, *RAW_BAD])
def test_each_malformed_report_is_one_input_error(case):
    data = RAW_BAD[case] if case in RAW_BAD else json.dumps(BAD_REPORTS[case]).encode()
    with pytest.raises(InputError) as caught:
        audit.parse_report(data, "'report.json'")
    assert len(str(caught.value)) < 400 and "\n" not in str(caught.value)


@pytest.mark.parametrize("extra, says", [
    ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": True}, "seed"),
    ({"bootstrap": 0}, "bootstrap"), ({"permutations": 10**9}, "permutations"), ({"min_effect": -0.1}, "min_effect"),
    ({"min_effect": "0.1"}, "min_effect"), ({"models": "m"}, "models"), ({"models": [1]}, "models"),
    ({"metrics": []}, "metrics"), ({"metrics": "probe"}, "metrics"), ({"templates": {"text": 5}}, "templates"),
    ({"templates": {"url": "http://x"}}, "templates"), ({"chosen_pairs": [None]}, "chosen_pairs"),
    ({"precision": ["float32"]}, "precision"),
])
def test_each_bad_configuration_field_is_named(extra, says):
    with pytest.raises(InputError, match=says):
        audit.parse_config(json.dumps({"bertlens_audit": 1, "models": ["m"], **extra}))


def test_nesting_is_bounded_before_json_parses_it():
    deep = '{"bertlens_audit": 1, "models": ["m"], "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(InputError, match="nests"):
        audit.parse_config(deep)
    check_depth("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "x")
    check_depth('["' + "[" * 1000 + '"]', "brackets inside a string do not count")


@pytest.fixture
def page(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("app_pages/bias_probe.py").run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> None:
    next(u for u in at.file_uploader if u.key == "bias_audit_upload").set_value((name, data, "application/json"))
    at.run()


def test_the_page_survives_every_bad_report_and_then_shows_a_good_one(page):
    at = page
    for case, data in [*((c, json.dumps(r).encode()) for c, r in BAD_REPORTS.items()), *RAW_BAD.items()]:
        upload(at, "report.json", data)
        assert not at.exception, (case, [e.value for e in at.exception])
        assert len([e for e in at.error if "report.json" in e.value.replace("\\", "")]) == 1, case
        assert not any(m.label == "Checkpoints completed" for m in at.metric), f"{case}: drawn anyway"
    upload(at, "good.json", json.dumps(GOOD_REPORT).encode())
    assert not at.exception and not at.error
    shown = {m.label: m.value for m in at.metric}
    assert shown["Checkpoints completed"] == "1" and shown["Failed"] == "1"


def test_report_text_never_becomes_a_link_or_an_image(page):
    at = page
    hostile = {**GOOD_REPORT, "ran_on": MARKUP, "date": MARKUP[:90],
               "checkpoints": [{**GOOD_REPORT["checkpoints"][0], "model": MARKUP},
                               {"model": MARKUP, "status": "failed", "reason": MARKUP}]}
    upload(at, "[x](http://127.0.0.9/n).json", json.dumps(hostile).encode())
    assert not at.exception
    rendered = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success") for e in at.get(kind)]
    rendered += [m.label for m in at.metric]
    plain = [e.value for e in at.text]
    ours = [text for text in rendered if "127.0.0.9" in text.replace("\\", "")]
    assert ours or any("127.0.0.9" in text for text in plain), "the report's caption is not shown"
    assert not [text for text in ours if LIVE.search(text)], ours
