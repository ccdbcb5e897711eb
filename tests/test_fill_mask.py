"""Fill-mask against transformers' own pipeline and an independent chain-rule computation."""
from __future__ import annotations

import math
import unicodedata

import pytest
import torch
from transformers import BertForMaskedLM, pipeline

from bertlens.errors import InputError
from bertlens.fill_mask import Filters, complete, fill_mask, score_words
from bertlens.text import MASK

SENTENCES = [
    "Hello I'm a [MASK] model.",
    "The man worked as a [MASK].",
    "The [MASK] sat on the [MASK] near the door.",
    "Paris is the capital of [MASK], and Berlin is the capital of [MASK].",
]


@pytest.fixture(scope="module")
def reference(tiny_model_dir):
    return pipeline("fill-mask", model=str(tiny_model_dir), device="cpu")


@pytest.fixture(scope="module")
def mlm(tiny_model_dir):
    return BertForMaskedLM.from_pretrained(str(tiny_model_dir), attn_implementation="eager").eval()


@pytest.mark.parametrize("text", SENTENCES)
def test_equals_transformers_pipeline(lm, reference, text):
    ours = fill_mask(lm, text, top_k=10, filters=Filters(special=False))
    theirs = reference(text, top_k=10)
    theirs = [theirs] if isinstance(theirs[0], dict) else theirs
    assert len(ours.masks) == len(theirs) == text.count(MASK)
    for mask, expected in zip(ours.masks, theirs):
        assert [c.token_id for c in mask.candidates] == [e["token"] for e in expected]
        for c, e in zip(mask.candidates, expected):
            assert c.probability == pytest.approx(e["score"], abs=1e-5)
            assert c.log_probability == pytest.approx(math.log(e["score"]), abs=1e-4)


def test_special_tokens_hidden_by_default(lm):
    special = set(lm.tokenizer.all_special_ids)
    result = fill_mask(lm, "The [MASK] is here.", top_k=50)
    assert not special & {c.token_id for c in result.masks[0].candidates}
    shown = fill_mask(lm, "The [MASK] is here.", top_k=50, filters=Filters(special=False))
    hidden = {c.token_id for c in shown.masks[0].candidates} - {c.token_id for c in result.masks[0].candidates}
    assert hidden <= special | {i for t, i in lm.tokenizer.get_vocab().items() if t.startswith("[")}


def test_filters_keep_full_vocabulary_probabilities(lm):
    plain = fill_mask(lm, "The [MASK] is here.", top_k=50, filters=Filters(special=False))
    filtered = fill_mask(lm, "The [MASK] is here.", top_k=50, filters=Filters(subwords=True, punctuation=True))
    tokens = [c.token for c in filtered.masks[0].candidates]
    assert not any(t.startswith("##") for t in tokens)
    assert not any(t and all(unicodedata.category(ch)[0] in "PS" for ch in t) for t in tokens)
    by_id = {c.token_id: c.probability for c in plain.masks[0].candidates}
    for c in filtered.masks[0].candidates:
        if c.token_id in by_id:
            assert c.probability == pytest.approx(by_id[c.token_id])


def test_completed_sentence_uses_top_token_for_every_mask(lm):
    result = fill_mask(lm, "The [MASK] sat on the [MASK].", top_k=3)
    first, second = (m.candidates[0].token for m in result.masks)
    assert result.completed == complete("The [MASK] sat on the [MASK].", [first, second])
    assert MASK not in result.completed
    assert complete("a [MASK] b", ["##x"]) == "ax b"
    assert complete("[MASK] and [MASK]!", ["cats", "dogs"]) == "cats and dogs!"


def test_chained_word_score_matches_independent_computation(lm, mlm):
    text = "The man worked as a [MASK]."
    scores = score_words(lm, text, ["firefighter", "doctor"])
    firefighter, doctor = scores
    assert firefighter.pieces == lm.tokenizer.tokenize("firefighter") and len(firefighter.pieces) > 1
    assert firefighter.multi_piece and firefighter.rank is None

    expected = 0.0
    ids = lm.tokenizer("firefighter", add_special_tokens=False)["input_ids"]
    for step in range(len(ids)):
        filled = " ".join(lm.tokenizer.convert_ids_to_tokens(ids[:step]) + [MASK] * (len(ids) - step))
        filled = filled.replace(" ##", "")
        enc = lm.tokenizer(text.replace(MASK, filled), return_tensors="pt")
        position = (enc["input_ids"][0] == lm.tokenizer.mask_token_id).nonzero()[0].item()
        with torch.no_grad():
            logits = mlm(**enc).logits[0, position]
        expected += torch.log_softmax(logits, -1)[ids[step]].item()
    assert firefighter.log_probability == pytest.approx(expected, abs=1e-4)

    enc = lm.tokenizer(text, return_tensors="pt")
    position = (enc["input_ids"][0] == lm.tokenizer.mask_token_id).nonzero()[0].item()
    with torch.no_grad():
        log_probs = torch.log_softmax(mlm(**enc).logits[0, position], -1)
    doctor_id = lm.tokenizer.convert_tokens_to_ids("doctor")
    assert doctor.log_probability == pytest.approx(log_probs[doctor_id].item(), abs=1e-4)
    assert doctor.rank == int((log_probs > log_probs[doctor_id]).sum()) + 1


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("No mask here.", "no [MASK]"),
    ("A lower-case [mask] here.", "expects the mask written exactly as [MASK]"),
    ("A <mask> from RoBERTa.", "expects the mask written exactly as [MASK]"),
    ("[MASK] " * 11, "limit is 10"),
    ("word " * 600 + "[MASK]", "at most 512"),
    ("x" * 100_000, "characters long"),
])
def test_bad_text_gets_a_clear_message(lm, text, message):
    with pytest.raises(InputError) as info:
        fill_mask(lm, text)
    assert message.lower() in str(info.value).lower()


@pytest.mark.parametrize("top_k", [0, 51, -3])
def test_bad_top_k(lm, top_k):
    with pytest.raises(InputError, match="top-k"):
        fill_mask(lm, "A [MASK].", top_k=top_k)


@pytest.mark.parametrize("words, message", [
    ([], "empty"),
    (["  ", ""], "empty"),
    (["\u2603\u2603"], "vocabulary"),
])
def test_bad_target_words(lm, words, message):
    with pytest.raises(InputError) as info:
        score_words(lm, "A [MASK].", words)
    assert message in str(info.value)


def test_targets_need_exactly_one_mask(lm):
    with pytest.raises(InputError, match="exactly one"):
        score_words(lm, "A [MASK] and a [MASK].", ["cat"])


def test_mask_glued_to_words_is_still_a_mask(lm):
    result = fill_mask(lm, "The[MASK]is here.", top_k=3)
    assert len(result.masks) == 1
