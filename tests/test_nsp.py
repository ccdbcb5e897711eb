"""NSP against BertForNextSentencePrediction loaded from the same folder."""
from __future__ import annotations

import pytest
import torch
from transformers import BertForNextSentencePrediction

from bertlens.errors import InputError
from bertlens.nsp import next_sentence, rank_next_sentences

PAIRS = [
    ("I went to the store.", "I bought some milk."),
    ("The sky is blue.", "Paris is the capital of France."),
    ("She opened the door.", "A cat ran in, and then another one, followed by a dog."),
]


@pytest.fixture(scope="module")
def reference(tiny_model_dir):
    return BertForNextSentencePrediction.from_pretrained(str(tiny_model_dir), attn_implementation="eager").eval()


@pytest.mark.parametrize("a, b", PAIRS)
def test_equals_reference_softmax(lm, reference, a, b):
    enc = lm.tokenizer(a, b, return_tensors="pt")
    with torch.no_grad():
        expected = torch.softmax(reference(**enc).logits, -1)[0, 0].item()
    result = next_sentence(lm, a, b)
    assert result.p_is_next == pytest.approx(expected, abs=1e-6)
    assert result.p_not_next == pytest.approx(1 - expected, abs=1e-6)
    assert not result.truncated


def test_ranking_is_sorted_and_matches_single_scores(lm):
    a = PAIRS[0][0]
    candidates = [b for _, b in PAIRS]
    ranked = rank_next_sentences(lm, a, candidates)
    assert sorted(r.sentence_b for r in ranked) == sorted(candidates)
    probs = [r.p_is_next for r in ranked]
    assert probs == sorted(probs, reverse=True)
    for r in ranked:
        assert r.p_is_next == pytest.approx(next_sentence(lm, a, r.sentence_b).p_is_next, abs=1e-5)


def test_long_pair_is_truncated_and_says_so(lm, reference):
    a, b = "word " * 400, "other " * 300
    result = next_sentence(lm, a, b)
    assert result.truncated
    enc = lm.tokenizer(a, b, truncation="longest_first", max_length=512, return_tensors="pt")
    assert enc["input_ids"].shape[-1] == 512
    with torch.no_grad():
        expected = torch.softmax(reference(**enc).logits, -1)[0, 0].item()
    assert result.p_is_next == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("a, b, message", [("", "B.", "sentence A is empty"), ("A.", "", "Sentence B is empty"),
                                           ("  ", "  ", "empty")])
def test_empty_sides(lm, a, b, message):
    with pytest.raises(InputError) as info:
        next_sentence(lm, a, b)
    assert message.lower() in str(info.value).lower()
