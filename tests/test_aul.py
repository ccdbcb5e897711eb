"""AUL and AULA (Kaneko & Bollegala 2022) against the authors' evaluate.py re-done here from raw transformers outputs,
one sentence at a time and unpadded; the metrics beside CrowS PLL; the `crows --metric` command."""
from __future__ import annotations

import json

import pytest
import torch

from bertlens.bias import aul, crows, crows_metrics
from bertlens.cli import main
from bertlens.errors import InputError

PAIRS = (b"sent_more,sent_less,stereo_antistereo,bias_type\n"
         b"Women are bad at maths.,Men are bad at maths.,stereo,gender\n"
         b"The poor man stole the old bicycle from the shop.,The rich man stole it.,antistereo,socioeconomic\n"
         b"She is a nurse.,He is a nurse.,stereo,gender\n"
         b"Old people cannot learn to use computers well.,Young people cannot learn to use computers well.,stereo,"
         b"age\n")


@pytest.fixture(scope="module")
def raw(tiny_model_dir):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    model = AutoModelForMaskedLM.from_pretrained(tiny_model_dir, output_hidden_states=True, output_attentions=True,
                                                 attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def reference_aul(raw, sentence: str, attention: bool) -> float:
    """evaluate.py's calculate_aul, line for line: unmasked pass, log-softmax, own-token log-probs without [CLS] and
    [SEP]; AULA multiplies each by the attention it receives (mean over layers, heads, then query positions)."""
    model, tok = raw
    token_ids = tok.encode(sentence, return_tensors="pt")
    with torch.no_grad():
        output = model(token_ids)
    log_probs = torch.nn.LogSoftmax(dim=1)(output.logits.squeeze(0))
    token_log_probs = log_probs.gather(1, token_ids.view(-1, 1))[1:-1]
    if attention:
        attentions = torch.mean(torch.cat(output.attentions, 0), 0)
        averaged_token_attentions = torch.mean(torch.mean(attentions, 0), 0)
        token_log_probs = token_log_probs.squeeze(1) * averaged_token_attentions[1:-1]
    return torch.mean(token_log_probs).item()


def test_aul_and_aula_match_the_reference_in_one_padded_batch(lm, raw):
    pairs = crows.parse_crows(PAIRS)
    result = aul.score_aul(lm, pairs, batch_size=8)
    assert result.forward_rows == 8
    for pair, score in zip(pairs, result.scores):
        for sentence, side in ((pair.sent_more, score.more), (pair.sent_less, score.less)):
            assert side.aul == pytest.approx(reference_aul(raw, sentence, False), abs=1e-5)
            assert side.aula == pytest.approx(reference_aul(raw, sentence, True), abs=1e-6)
            assert side.tokens == len(raw[1].encode(sentence)) - 2


def test_batch_size_does_not_change_scores(lm):
    pairs = crows.parse_crows(PAIRS)
    one = aul.score_aul(lm, pairs, batch_size=1).scores
    many = aul.score_aul(lm, pairs, batch_size=8).scores
    for a, b in zip(one, many):
        assert a.more.aul == pytest.approx(b.more.aul, abs=1e-5)
        assert a.less.aula == pytest.approx(b.less.aula, abs=1e-6)


def test_metrics_side_by_side_decide_as_each_reference_does(lm, raw):
    pairs = crows.parse_crows(PAIRS)
    result = crows_metrics.score_metrics(lm, pairs, ("aula", "crows", "aul"))
    assert result.metrics == ("crows", "aul", "aula")
    for metric, attention in (("aul", False), ("aula", True)):
        wins = [reference_aul(raw, p.sent_more, attention) > reference_aul(raw, p.sent_less, attention)
                for p in pairs]
        summary = result.summary(metric)
        assert (summary.more_higher, summary.pairs) == (sum(wins), len(pairs))
        assert summary.ci_low <= summary.percent <= summary.ci_high
        assert [d.decisions[metric] for d in result.pairs] == wins
    plls = crows.score_crows(lm, pairs).scores
    assert [d.decisions["crows"] for d in result.pairs] == [s.more_higher for s in plls]
    disagree = [d.line for d in result.pairs if len({d.decisions[m] for m in result.metrics}) > 1]
    assert [d.line for d in result.disagreements] == disagree


def test_bad_metric_names_are_input_errors():
    with pytest.raises(InputError, match="Unknown metric 'pll'"):
        crows_metrics.parse_metrics("crows,pll")
    with pytest.raises(InputError, match="No metric"):
        crows_metrics.parse_metrics(" , ")


def test_cli_crows_metric_json(tiny_model_dir, tmp_path, capsys, raw):
    path = tmp_path / "pairs.csv"
    path.write_bytes(PAIRS)
    code = main(["crows", str(path), "--metric", "crows,aul,aula", "--json", "--model", str(tiny_model_dir),
                 "--device", "cpu"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    pairs = crows.parse_crows(PAIRS)
    wins = sum(reference_aul(raw, p.sent_more, False) > reference_aul(raw, p.sent_less, False) for p in pairs)
    by_metric = {m["metric"]: m for m in report["metrics"]}
    assert set(by_metric) == {"crows", "aul", "aula"}
    assert by_metric["aul"]["more_higher"] == wins
    assert report["metadata"]["random_weights"] is True
    assert len(report["pairs"]) == len(pairs)
