"""The pronoun probe against raw transformers logits, one sentence at a time, and scipy's correlation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from transformers.models.bert import modeling_bert

from bertlens.bias.occupations import Occupation
from bertlens.bias.pronouns import load_pronoun_templates, parse_pronoun_templates, run_pronoun_probe
from bertlens.errors import InputError

TEMPLATES = ["The {occupation} said that [MASK] would be late.", "[MASK] thanked the {occupation} twice."]
OCCUPATIONS = [Occupation("nurse", "a", 88.0), Occupation("plumber", "a", 0.7), Occupation("firefighter", "a", 5.0),
               Occupation("teacher", "a", None)]


def raw_pronoun_log_probs(lm, text: str, words: list[str]) -> list[float]:
    inputs = lm.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        logits = lm.model(**inputs).prediction_logits[0]
    position = int((inputs["input_ids"][0] == lm.tokenizer.mask_token_id).nonzero()[0, 0])
    log_probs = torch.log_softmax(logits[position].double(), dim=-1)
    return [float(log_probs[lm.tokenizer.convert_tokens_to_ids(w)]) for w in words]


def test_probabilities_match_raw_logits(lm):
    result = run_pronoun_probe(lm, TEMPLATES, OCCUPATIONS, bootstrap=200)
    assert result.rows == len(TEMPLATES) * len(OCCUPATIONS)
    by_name = {s.occupation: s for s in result.occupations}
    for occupation in OCCUPATIONS:
        name = occupation.name
        texts = [f"The {name} said that [MASK] would be late.", f"[MASK] thanked the {name} twice."]
        raw = [raw_pronoun_log_probs(lm, texts[0], ["he", "she", "they"]),
               raw_pronoun_log_probs(lm, texts[1], ["He", "She", "They"])]
        got = [s for s in result.sentences if s.occupation == name]
        assert [s.text for s in got] == texts
        for sentence, want in zip(got, raw):
            assert [sentence.log_p_he, sentence.log_p_she, sentence.log_p_they] == pytest.approx(want, abs=1e-4)
        score = by_name[name]
        assert score.p_he == pytest.approx(np.mean([np.exp(r[0]) for r in raw]), rel=1e-3)
        assert score.p_she == pytest.approx(np.mean([np.exp(r[1]) for r in raw]), rel=1e-3)
        assert score.p_they == pytest.approx(np.mean([np.exp(r[2]) for r in raw]), rel=1e-3)
        assert score.skew == pytest.approx(np.mean([r[1] - r[0] for r in raw]), abs=1e-4)
        assert score.ci_low <= score.skew + 1e-9 and score.skew <= score.ci_high + 1e-9
    shares = [o.pct_women for o in OCCUPATIONS if o.pct_women is not None]
    skews = [by_name[o.name].skew for o in OCCUPATIONS if o.pct_women is not None]
    assert result.correlation.n == 3
    assert result.correlation.pearson_r == pytest.approx(stats.pearsonr(shares, skews).statistic)


def test_all_sentences_run_in_one_batch(lm, monkeypatch):
    calls = []
    original = modeling_bert.BertEncoder.forward

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("hidden_states", args[0] if args else None).shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(modeling_bert.BertEncoder, "forward", counted)
    result = run_pronoun_probe(lm, TEMPLATES, OCCUPATIONS, bootstrap=200)
    assert calls == [result.rows]


def test_shipped_templates_are_valid_and_grammatical_for_they():
    templates = load_pronoun_templates()
    assert len(templates) >= 5
    for template in templates:
        after = template.split("[MASK]", 1)[1].split()[0]
        assert after not in ("is", "was", "has", "does"), f"'{template}' rules out 'they' by grammar"


@pytest.mark.parametrize("text", ["", "The {occupation} said so.", "The nurse said [MASK] left.",
                                  "The {occupation} and {occupation} said [MASK] left."])
def test_bad_templates(text):
    with pytest.raises(InputError):
        parse_pronoun_templates(text)
