"""What the audit report tells a client: the probe's direction checked against the sign computed by transformers."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM, BertTokenizerFast

from bertlens import report_html
from bertlens.bias import audit
from bertlens.bias.probe import DIRECTION

TEMPLATES = "{person} is a [MASK].\n{person} worked as a [MASK].\n"
OCCUPATIONS = "occupation,article,pct_women,year,source\nnurse,a,87.9,2023,BLS\nplumber,a,2.0,2023,BLS\n"


@pytest.fixture(scope="module")
def probe_report(tiny_model_dir):
    config = audit.parse_config(json.dumps({
        "bertlens_audit": 1, "models": [str(tiny_model_dir)], "metrics": ["probe"],
        "templates": {"text": TEMPLATES}, "occupations": {"text": OCCUPATIONS}, "bootstrap": 100,
        "permutations": 100}))
    return audit.run_audit(config)


def reference_log_ratio(model_dir, word: str) -> float:
    """Mean over the templates of log P(word | the woman …) − log P(word | the man …), from transformers alone."""
    tokenizer = BertTokenizerFast.from_pretrained(model_dir)
    model = BertForMaskedLM.from_pretrained(model_dir).eval()
    word_id = tokenizer.convert_tokens_to_ids(word)

    def log_p(text: str) -> float:
        enc = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        at = int((enc["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0])
        return float(torch.log_softmax(logits[at], -1)[word_id])

    diffs = [log_p(t.replace("{person}", "The woman")) - log_p(t.replace("{person}", "The man"))
             for t in TEMPLATES.splitlines()]
    return float(np.mean(diffs))


def test_html_states_the_probe_direction_and_reads_a_known_occupation_the_right_way(probe_report, tiny_model_dir):
    page = report_html.render(probe_report)
    assert "P(he)" not in page and "male word is more likely" not in page
    assert report_html._e(DIRECTION) in page
    expected = reference_log_ratio(tiny_model_dir, "nurse")
    assert abs(expected) > 1e-4
    row = re.search(r"<tr><td>nurse</td><td class='num'>([-0-9.]+)</td><td>(\w+)</td>", page)
    assert row is not None
    assert np.sign(float(row.group(1))) == np.sign(expected)
    assert row.group(2) == ("female" if expected > 0 else "male")


CROWS = ("sent_more,sent_less,stereo_antistereo,bias_type\n"
         "Women are bad at maths.,Men are bad at maths.,stereo,gender\n"
         "The poor man stole it.,The rich man stole it.,antistereo,socioeconomic\n"
         "Old people cannot drive.,Young people cannot drive.,stereo,age\n"
         "Girls cry a lot.,Boys cry a lot.,stereo,gender\n"
         "The rich are lazy.,The poor are lazy.,antistereo,socioeconomic\n")


def test_crows_metric_json_has_the_groups_of_plain_crows(tmp_path, capsys, tiny_model_dir):
    from bertlens.cli import main

    file = tmp_path / "pairs.csv"
    file.write_text(CROWS)
    args = ["--model", str(tiny_model_dir), "--device", "cpu", "--json"]
    assert main(["crows", str(file), "--metric", "crows,aul", *args]) == 0
    document = json.loads(capsys.readouterr().out)
    crows_record = next(m for m in document["metrics"] if m["metric"] == "crows")
    from bertlens.bias.crows import group_label, load_crows, score_crows
    from bertlens.model import load_model
    from bertlens.settings import Settings

    lm = load_model(Settings(model=str(tiny_model_dir), device="cpu", dtype="float32"))
    reference = score_crows(lm, load_crows(file))
    assert [g["label"] for g in crows_record["groups"]] == [group_label(g) for g in reference.groups]
    for mine, theirs in zip(crows_record["groups"], reference.groups):
        assert (mine["counted"], mine["more_higher"], mine["ties"]) == (theirs.denominator, theirs.more_higher,
                                                                        theirs.ties)
        assert mine["percent"] == pytest.approx(theirs.metric, nan_ok=True)
        assert mine["small_sample"] is True
    assert {g["group"] for g in crows_record["groups"]} >= {"gender", "socioeconomic", "stereo", "antistereo"}


# ---------------------------------------------------------------- the report as a whole

def synthetic_audit(lm, models=None, stop_crows_at: int | None = None, thresholds=None):
    """A dev-sized StereoSet file and 1,508 CrowS-style pairs, decided at random (fast: no model runs), assembled
    into an audit report as the audit assembles it."""
    import csv
    import io
    import random

    from bertlens import registry
    from bertlens.bias import stereoset as ss
    from bertlens.bias.crows import parse_crows
    from bertlens.bias.pair_decisions import pair_item, percent_of_pairs
    from bertlens.metrics.stereoset import metric_result
    from bertlens.results import ItemDecision
    from devtools.bench_stereoset import synthetic_document
    from devtools.crows_synthetic import synthetic_pairs

    rng = random.Random(3)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sent_more", "sent_less", "stereo_antistereo", "bias_type"])
    for p in synthetic_pairs():
        writer.writerow([p.sent_more, p.sent_less, p.direction, p.bias_type])
    crows_text = buffer.getvalue()
    stereoset_text = json.dumps(synthetic_document())
    data = {"bertlens_audit": 1, "models": models or [lm.info.model_id], "metrics": ["crows", "aul", "aula",
                                                                                     "stereoset"],
            "crows_pairs": {"text": crows_text}, "stereoset": {"text": stereoset_text}, "bootstrap": 200}
    if thresholds:
        data["thresholds"] = thresholds
    config = audit.parse_config(json.dumps(data))
    pairs = parse_crows(crows_text.encode())
    parsed = ss.parse_stereoset(stereoset_text.encode(), "dev.json")
    examples = parsed.intrasentence + parsed.intersentence
    scored = [ss.ExampleScore(e, (rng.random(), rng.random(), rng.random())) for e in examples]
    stereoset_result = metric_result(ss.summarise("both", scored, len(scored), 200))

    def results():
        out = [stereoset_result]
        for name in ("crows", "aul", "aula"):
            shown = pairs[:stop_crows_at] if stop_crows_at and name == "crows" else pairs
            decisions = [ItemDecision(pair_item(p.line), "", rng.random() < 0.55, rng.random() - 0.5, p.bias_type)
                         for p in shown]
            out.append(percent_of_pairs(registry.get("metric", name), decisions, measures="",
                                        complete=len(shown) == len(pairs)))
        return out

    rows = [audit.checkpoint_row(model, lm, results(), {"crows_pairs": pairs}, config=config)
            for model in config.models]
    return config, audit.assemble(config, rows, "a test")


def test_report_references_its_inputs_and_a_dev_sized_audit_stays_under_2_mb(lm):
    config, report = synthetic_audit(lm)
    text = audit.report_json(report).encode("utf-8")
    assert len(text) < 2 * 2**20, len(text)
    assert audit.parse_report(text)  # loads on the Many checkpoints tab (5 MB limit)
    inputs = {i["name"]: i for i in report["inputs"]}
    assert inputs["crows_pairs"]["size"] == len(config.texts["crows_pairs"].encode("utf-8"))
    assert inputs["stereoset"]["sha256"] == config.digests.get("stereoset") or len(inputs["stereoset"]["sha256"]) == 64
    assert "Women are far too emotional" not in text.decode()  # no input text is copied
    assert report["configuration"]["crows_pairs"]["sha256"] == inputs["crows_pairs"]["sha256"]


def test_report_carries_the_versions_that_ran_it(lm):
    import platform

    import torch
    import transformers

    _, report = synthetic_audit(lm)
    for provenance in (report["provenance"], report["checkpoints"][0]["provenance"]):
        assert provenance["python"] == platform.python_version()
        assert provenance["torch"] == torch.__version__ and provenance["transformers"] == transformers.__version__
        assert provenance["bertlens"] and provenance["hardware"] and provenance["precision"] == "float32"
    page = report_html.render(report)
    assert f"torch {torch.__version__}" in page and f"transformers {transformers.__version__}" in page


def test_a_stopped_run_is_never_completed_and_small_groups_are_flagged(lm):
    _, report = synthetic_audit(lm, stop_crows_at=493)
    assert report["completed"] == 0 and report["stopped"] == 1
    crows_row = next(m for m in report["checkpoints"][0]["metrics"] if m["metric"] == "crows")
    assert crows_row["stopped"] == "stopped after 493 of 1,508" and crows_row["total"] == 1508
    page = report_html.render(report)
    header = page[:page.index("<h2>Configuration</h2>")]
    assert "0 completed, 1 stopped, 0 failed" in header and "stopped after 493 of 1,508" in header
    figures = report["checkpoints"][0]["stereoset"]
    flags = {(split, domain): f["small_sample"] for split in ("intrasentence", "intersentence")
             for domain, f in figures[split].items()}
    assert all(flag == (figures[split][domain]["count"] < 30) for (split, domain), flag in flags.items())
    groups = [g for record in report["checkpoints"][0]["crows"] for g in record.get("groups") or []]
    assert groups and all(g["small_sample"] == (g["counted"] < 30) for g in groups)


def test_two_checkpoints_are_compared_with_mcnemar_and_thresholds_pass_or_fail(lm, tiny_model_dir):
    from scipy.stats import binomtest

    from bertlens.bias.reports import expand_decisions

    _, report = synthetic_audit(lm, models=[lm.info.model_id, str(tiny_model_dir) + "/"],
                                thresholds={"crows": {"max": 55}, "aul": {"min": 45, "max": 55}})
    comparison = next(c for c in report["comparisons"] if c["metric"] == "aul")
    a, b = (expand_decisions(r["decisions"]["aul"]) for r in report["checkpoints"])
    a_only = sum(a[i] and not b[i] for i in a)
    b_only = sum(b[i] and not a[i] for i in a)
    assert (comparison["a_only"], comparison["b_only"]) == (a_only, b_only)
    assert comparison["p_value"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue)
    record = next(m for m in report["checkpoints"][0]["metrics"] if m["metric"] == "crows")
    assert record["threshold"]["pass"] == (record["value"] <= 55)
    page = report_html.render(report)
    assert "McNemar exact p" in page and ("<span class='pass'>pass</span>" in page
                                          or "<span class='fail'>fail</span>" in page)


def test_one_key_for_one_computation_whichever_route_computed_it(tmp_path, capsys, tiny_model_dir, lm):
    from bertlens.bias.crows import parse_crows
    from bertlens.bias.crows_metrics import score_metrics
    from bertlens.cli import main
    from components import audit_views, report_download

    file = tmp_path / "pairs.csv"
    file.write_text(CROWS)
    args = ["--model", str(tiny_model_dir), "--device", "cpu", "--json"]
    assert main(["crows", str(file), *args]) == 0
    plain = json.loads(capsys.readouterr().out)["meta"]["key"]
    assert main(["crows", str(file), "--metric", "crows", *args]) == 0
    side_by_side = json.loads(capsys.readouterr().out)["metrics"][0]["key"]
    (tmp_path / "audit.json").write_text(json.dumps({
        "bertlens_audit": 1, "models": [str(tiny_model_dir)], "metrics": ["crows"],
        "crows_pairs": {"path": "pairs.csv"}}))
    report = audit.run_audit(audit.load_config(tmp_path / "audit.json"))
    audited = report["checkpoints"][0]["metrics"][0]["key"]
    pairs = parse_crows(file.read_bytes())
    inputs = dict(templates=None, pairs=None, chosen_pairs=None, occupations=None,
                  crows_file=("pairs.csv", file.read_bytes()), min_effect=0.1)
    config = audit_views.page_config(lm, inputs)
    result = score_metrics(lm, pairs, ("crows",)).results["crows"]
    page = report_download.page_report(lm, config, [result], pairs)
    paged = page["checkpoints"][0]["metrics"][0]["key"]
    assert len(plain) == 64 and plain == side_by_side == audited == paged
    assert page["configuration_sha256"] == config.sha256()


def test_command_line_exports_name_files_never_by_absolute_path(tmp_path, capsys, tiny_model_dir):
    from bertlens.cli import main

    file = tmp_path / "pairs.csv"
    file.write_text(CROWS)
    for extra in ([], ["--metric", "crows,aul"]):
        assert main(["crows", str(file), "--model", str(tiny_model_dir), "--device", "cpu", "--json", *extra]) == 0
        assert str(tmp_path) not in capsys.readouterr().out
