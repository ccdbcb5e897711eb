"""The StereoSet and agreement views in AppTest: the chart, the tables, the steps, the published figures' absence
with its reason, and hostile text from the file shown as plain text."""
from __future__ import annotations

import dataclasses
import json

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.bias import stereoset as ss
from components import stereoset_view
from tests import stereoset_files as files

HOSTILE = "[click](http://example.com) <b>bold</b>"


def _script(path: str, real: bool) -> None:
    import dataclasses
    import os

    from bertlens import Settings, load_model
    from bertlens.bias import stereoset as ss
    from components import agreement_view, stereoset_view
    from bertlens.metrics.stereoset import metric_result

    lm = load_model(Settings(model=os.environ["BERT_LENS_MODEL"], device="cpu", dtype="float32"))
    data = ss.load_stereoset(path)
    result = ss.score_stereoset(lm, data, resamples=200)
    info = lm.info
    if real:  # pretend: to check that the comparison appears only for real bert-large-cased in float32
        info = dataclasses.replace(info, model_id="bert-large-cased", random_weights=False, layers=24,
                                   hidden_size=1024, vocab_size=28996)
    stereoset_view.show_result(info, result)
    agreement_view.agreement_view([metric_result(result)])


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    doc = files.document()
    doc["data"]["intrasentence"][0]["sentences"][0]["sentence"] = "The mother is pizza. " + HOSTILE
    return files.write(tmp_path_factory.mktemp("view") / "dev.json", doc)


def run_view(dev, real: bool = False) -> AppTest:
    at = AppTest.from_function(_script, args=(str(dev), real), default_timeout=240).run()
    assert not at.exception, at.exception
    return at


def test_view_shows_figures_examples_steps_and_why_published_figures_are_absent(app_env, dev):
    at = run_view(dev)
    assert any("RANDOM weights" in e.value for e in at.error)
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["SS", "LMS", "ICAT", "Examples"]
    assert at.metric[3].value == str(len(files.INTRA) + len(files.INTER))
    assert any("random weights" in i.value for i in at.info)  # published figures: why absent
    frames = [d.value for d in at.dataframe]
    figures = next(f for f in frames if "SS 95% low" in f.columns)
    assert set(figures["domain"]) == {"gender", "profession", "race", "religion", "overall"}
    examples = next(f for f in frames if "stereotype" in f.columns and "decision" in f.columns)
    assert len(examples) == len(files.INTRA) + len(files.INTER)
    assert set(examples["decision"]) <= {"stereotype", "anti-stereotype", "tie"} and "tie" in set(examples["decision"])
    texts = [t for column in ("stereotype", "anti-stereotype", "unrelated") for t in examples[column]]
    assert any(HOSTILE in t for t in texts)  # plain text in a dataframe
    steps = " ".join(m.value for m in at.markdown)
    assert "next\\-sentence head" in steps or "next-sentence head" in steps
    assert not any("http://example.com" in m.value and "\\(" not in m.value for m in at.markdown)
    headline = next(f for f in frames if "what it measures" in f.columns)
    assert list(headline["metric"]) == ["StereoSet SS"]


def test_published_figures_appear_only_for_real_bert_large_cased(app_env, dev):
    at = run_view(dev, real=True)
    # the test file is not the dev set, so even for bert-large-cased the comparison is withheld, with the reason
    assert any("dev set" in i.value for i in at.info)


def test_chart_marks_published_figures_when_allowed(lm):
    data = ss.parse_stereoset(json.dumps(files.document()).encode())
    result = ss.score_stereoset(lm, data, resamples=0)
    fig = stereoset_view.domain_chart(result, lm.info)
    assert len(fig.data) == 1 and len(fig.data[0].x) == 11  # 4 + 4 domains, 2 split overalls, both splits
    real = dataclasses.replace(lm.info, model_id="bert-large-cased", random_weights=False, layers=24,
                               hidden_size=1024, vocab_size=28996)
    dev_counts = {s: {d: ss.PUBLISHED[s][d][3] for d in ss.PUBLISHED[s]} for s in ss.SPLITS}
    figures = {s: {d: dataclasses.replace(f, count=dev_counts[s][d]) for d, f in g.items()}
               for s, g in result.figures.items()}
    like_dev = dataclasses.replace(result, figures=figures)
    assert ss.published_absent(real, like_dev) is None
    fig = stereoset_view.domain_chart(like_dev, real)
    assert [t.name for t in fig.data] == ["this model", "published (authors)"]
    assert list(fig.data[1].x)[-1] == pytest.approx(ss.PUBLISHED["overall"][1])
