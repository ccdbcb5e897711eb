"""Two checkpoints side by side: the two-model report against each model run on its own, matching on words, and what
happens when the vocabularies differ."""
from __future__ import annotations

import copy
import dataclasses
import json
import math

import pytest

from bertlens import Settings, bias, load_model
from bertlens.bias import compare, crows, crows_metrics
from bertlens.cli import main
from devtools.random_model import build_random_model

TEMPLATES = "{person} worked as a [MASK].\n{person} is a [MASK].\n"
OCCUPATIONS = "occupation,article,pct_women,year,source\nnurse,a,87.9,2023,BLS\nplumber,a,2.0,2023,BLS\n"
PAIRS = (b"sent_more,sent_less,stereo_antistereo,bias_type\n"
         b"Women are bad at maths.,Men are bad at maths.,stereo,gender\n"
         b"The poor man stole it.,The rich man stole it.,antistereo,socioeconomic\n")


@pytest.fixture(scope="module")
def second_dir(tmp_path_factory):
    return build_random_model(tmp_path_factory.mktemp("second") / "tiny-seed-5", seed=5)


@pytest.fixture(scope="module")
def second(second_dir):
    return load_model(Settings(model=str(second_dir), device="cpu", dtype="float32"))


def config():
    return bias.build_config(TEMPLATES, None, OCCUPATIONS, bootstrap=100, permutations=100)


def test_probe_comparison_matches_each_model_run_alone(lm, second):
    a, b = bias.run_probe(lm, config()), bias.run_probe(second, config())
    result = compare.compare_probe(lm, a, second, b)
    assert result.same_vocabulary and not result.notes
    alone_a = {o.occupation: o.log_ratio for o in a.occupations}
    alone_b = {o.occupation: o.log_ratio for o in b.occupations}
    assert {r.occupation for r in result.rows} == {"nurse", "plumber"}
    for row in result.rows:
        assert row.difference == pytest.approx(alone_b[row.occupation] - alone_a[row.occupation])
    assert result.a.model_id != result.b.model_id


def test_different_vocabularies_compare_on_words_and_say_so(lm, second):
    tokenizer = copy.deepcopy(second.tokenizer)
    tokenizer.add_tokens(["zzqxword"])
    other = dataclasses.replace(second, tokenizer=tokenizer, info=dataclasses.replace(second.info,
                                                                                      vocab_size=len(tokenizer)))
    pairs = crows.parse_crows(PAIRS)
    ra = crows_metrics.score_metrics(lm, pairs, ("crows", "aul"))
    rb = crows_metrics.score_metrics(other, pairs, ("crows", "aul"))
    result = compare.compare_crows(lm, ra, other, rb)
    assert not result.same_vocabulary and result.pair_differences == {}
    assert "different vocabularies" in result.notes[0]
    for m in result.metrics:
        assert m.difference == pytest.approx(rb.summary(m.metric).percent - ra.summary(m.metric).percent)
        assert m.decided_differently == sum(x.decisions[m.metric] != y.decisions[m.metric]
                                            for x, y in zip(ra.pairs, rb.pairs))
    a, b = bias.run_probe(lm, config()), bias.run_probe(other, config())
    probe = compare.compare_probe(lm, a, other, b)
    assert "different vocabularies" in probe.notes[0]
    assert all(r.comparable for r in probe.rows)


def test_unknown_token_rows_are_not_compared(lm, second):
    a = bias.run_probe(lm, config())
    unk = lm.tokenizer.unk_token
    b = dataclasses.replace(a, occupations=[dataclasses.replace(o, pieces=[unk]) if o.occupation == "nurse" else o
                                            for o in a.occupations])
    result = compare.compare_probe(lm, a, second, b)
    nurse = next(r for r in result.rows if r.occupation == "nurse")
    assert not nurse.comparable and "[UNK]" in nurse.reason and math.isnan(nurse.difference)


def test_cli_two_models_report(lm, tiny_model_dir, second_dir, tmp_path, capsys):
    path = tmp_path / "pairs.csv"
    path.write_bytes(PAIRS)
    out = tmp_path / "two.json"
    code = main(["crows", str(path), "--metric", "crows,aula", "--models", f"{tiny_model_dir},{second_dir}",
                 "--device", "cpu", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "B − A" in text
    report = json.loads(out.read_text())
    assert [d["metadata"]["model_id"] for d in report["models"]] == [str(tiny_model_dir), str(second_dir)]
    assert len(report["memory"]["rss_added_mib"]) == 2
    pairs = crows.parse_crows(PAIRS)
    alone = crows_metrics.score_metrics(lm, pairs, ("crows", "aula"))
    first = {m["metric"]: m["more_higher"] for m in report["models"][0]["metrics"]}
    assert first == {s.metric: s.more_higher for s in alone.summaries}
    assert report["models"][0]["metadata"]["inputs"][path.name] == __import__("hashlib").sha256(PAIRS).hexdigest()
    assert main(["crows", str(path), "--models", "a,b,c"]) == 2


@pytest.mark.parametrize("a_only,b_only", [(0, 0), (3, 0), (7, 2), (12, 30), (200, 170)])
def test_mcnemar_exact_is_scipys_binomial_test_on_the_discordant_items(a_only, b_only):
    from scipy.stats import binomtest

    from bertlens.bias.statistics import mcnemar_exact, paired_test

    n = a_only + b_only
    expected = binomtest(a_only, n, 0.5).pvalue if n else 1.0
    assert mcnemar_exact(a_only, b_only) == pytest.approx(expected, rel=1e-12)
    both, neither = 5, 4
    a = [True] * a_only + [False] * b_only + [True] * both + [False] * neither
    b = [False] * a_only + [True] * b_only + [True] * both + [False] * neither
    test = paired_test(a, b, resamples=500, seed=3)
    assert (test.a_only, test.b_only, test.items) == (a_only, b_only, len(a))
    assert test.p_value == pytest.approx(expected, rel=1e-12)
    assert test.difference == pytest.approx(100 * (b_only - a_only) / len(a))
    assert test.ci_low <= test.difference <= test.ci_high


def test_two_model_crows_carries_the_paired_test_on_its_own_decisions(lm, second, tmp_path, capsys, second_dir,
                                                                      tiny_model_dir):
    from scipy.stats import binomtest

    pairs = crows.parse_crows(PAIRS)
    ra = crows_metrics.score_metrics(lm, pairs, ("crows",))
    rb = crows_metrics.score_metrics(second, pairs, ("crows",))
    metric = compare.compare_crows(lm, ra, second, rb).metrics[0]
    a_only = sum(x.decisions["crows"] and not y.decisions["crows"] for x, y in zip(ra.pairs, rb.pairs))
    b_only = sum(y.decisions["crows"] and not x.decisions["crows"] for x, y in zip(ra.pairs, rb.pairs))
    assert (metric.paired.a_only, metric.paired.b_only) == (a_only, b_only)
    assert metric.paired.p_value == pytest.approx(binomtest(a_only, a_only + b_only).pvalue if a_only + b_only
                                                  else 1.0)
    assert compare.paired_decisions(ra.results["crows"], rb.results["crows"]) == metric.paired
    file = tmp_path / "pairs.csv"
    file.write_bytes(PAIRS)
    assert main(["crows", str(file), "--models", f"{tiny_model_dir},{second_dir}", "--device", "cpu"]) == 0
    assert "McNemar exact p" in capsys.readouterr().out
