"""Counterfactual sentences: the gender swaps (rules, capitals, WordPiece-splitting words, licensed lists) and the
comparison at the mask, checked against raw transformers logits and scipy's divergences."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from bertlens.bias.counterfactual import counterfactual
from bertlens.bias.swaps import default_table, parse_swap_pairs, swap_gender
from bertlens.errors import InputError
from bertlens.fill_mask import Filters

DATA = Path(__file__).resolve().parent.parent / "bertlens" / "data"
SWAPS = DATA / "swaps"


@pytest.mark.parametrize("text, expected", [
    ("She gave her book to [MASK].", "He gave his book to [MASK]."),
    ("Her [MASK] is late.", "His [MASK] is late."),
    ("I saw her [MASK] yesterday.", "I saw his [MASK] yesterday."),
    ("She lent her old car to [MASK].", "He lent his old car to [MASK]."),
    ("I told her that the [MASK] was late.", "I told him that the [MASK] was late."),
    ("The [MASK] gave her the keys.", "The [MASK] gave him the keys."),
    ("The [MASK] thanked her.", "The [MASK] thanked him."),
    ("The [MASK] thanked her, and left.", "The [MASK] thanked him, and left."),
    ("He took his [MASK] home.", "She took her [MASK] home."),
    ("The [MASK] is his.", "The [MASK] is hers."),
    ("The [MASK] is hers.", "The [MASK] is his."),
    ("The [MASK] saw him and himself.", "The [MASK] saw her and herself."),
])
def test_pronoun_rules(text, expected):
    assert swap_gender(text).text == expected


def test_her_rule_names_its_decision():
    swaps = swap_gender("She told her [MASK] about her.").swaps
    assert [(s.original, s.replacement, s.rule) for s in swaps] == [
        ("She", "He", "pronoun"), ("her", "his", "her + noun phrase → his"), ("her", "him", "her as object → him")]


@pytest.mark.parametrize("text, expected", [
    ("SHE said [MASK].", "HE said [MASK]."),
    ("Her mother is a [MASK].", "His father is a [MASK]."),
    ("The Queen met the [MASK].", "The King met the [MASK]."),
    ("MY MOTHER is a [MASK].", "MY FATHER is a [MASK]."),
    ("Grandma and her grandson saw a [MASK].", "Grandpa and his granddaughter saw a [MASK]."),
])
def test_capitalisation_is_kept(text, expected):
    assert swap_gender(text).text == expected


def test_mask_and_other_words_are_left_alone():
    out = swap_gender("The man [MASK] at 5, MASK-free.")
    assert out.text == "The woman [MASK] at 5, MASK-free."
    assert [s.original for s in out.swaps] == ["man"]


def test_first_names_come_from_the_shipped_ssa_list_and_need_a_capital():
    with open(SWAPS / "ssa_first_names_2020.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50
    first = rows[0]
    assert swap_gender(f"{first['female']} met a [MASK].").text == f"{first['male']} met a [MASK]."
    assert swap_gender(f"{first['male']} met a [MASK].").text == f"{first['female']} met a [MASK]."
    with pytest.raises(InputError):
        swap_gender(f"{first['female'].lower()} met a [MASK].")
    for row in rows:
        assert int(row["male_count"]) > 0 and int(row["female_count"]) > 0


def test_a_word_that_splits_into_wordpieces_swaps_whole(lm):
    word, other = "stewardess", "steward"
    assert len(lm.tokenizer.tokenize(word)) > 1, "the test needs a word the vocabulary splits"
    swapped = swap_gender("The stewardess asked for a [MASK].")
    assert swapped.text == "The steward asked for a [MASK]."
    assert swap_gender("The Stewardesses asked for a [MASK].").text == "The Stewards asked for a [MASK]."
    assert len(lm.tokenizer.tokenize(other)) != len(lm.tokenizer.tokenize(word))
    result = counterfactual(lm, "The stewardess asked for a [MASK].", filters=Filters(special=False))
    _check_against_raw(lm, result)


def test_shipped_lists_are_the_licensed_ones_and_are_read_line_aligned():
    males = (SWAPS / "gn_glove_male_word_file.txt").read_text().split()
    females = (SWAPS / "gn_glove_female_word_file.txt").read_text().split()
    assert len(males) == len(females) == 222
    assert "Apache License" in (SWAPS / "LICENSE-gn_glove.txt").read_text()
    assert "MIT License" in (SWAPS / "LICENSE-debiaswe.txt").read_text()
    readme = (DATA / "README.md").read_text()
    for name in ("gn_glove_male_word_file.txt", "debiaswe_definitional_pairs.json", "ssa_first_names_2020.csv"):
        assert name in readme
    lookup = default_table().lookup
    for male, female in zip(males, females):
        if male == "spokesman":
            assert lookup[male] == female and lookup[female] == male
    for female, male in json.loads((SWAPS / "debiaswe_definitional_pairs.json").read_text()):
        if male.isalpha() and male.lower() not in ("he", "his", "himself"):
            assert lookup[male.lower()] == female.lower()
    assert "beard" not in lookup and "female_ejaculation" not in lookup


def test_own_pairs_replace_the_lists_but_pronouns_keep_their_rules():
    table = parse_swap_pairs("male,female\nking,queen\nJohn,Mary\n")
    assert swap_gender("John saw the king and her [MASK].", table).text == "Mary saw the queen and his [MASK]."
    assert swap_gender("The mother saw a [MASK].", default_table()).text == "The father saw a [MASK]."
    with pytest.raises(InputError, match="nothing to swap"):
        swap_gender("The mother saw a [MASK].", table)
    with pytest.raises(InputError, match="Line 2"):
        parse_swap_pairs("king,queen\nonly-one\n")
    with pytest.raises(InputError, match="empty"):
        parse_swap_pairs("# nothing\n")


@pytest.mark.parametrize("text, message", [
    ("The [MASK] is red.", "No gendered word"),
    ("She is late.", "There is no \\[MASK\\]"),
    ("She saw a [MASK] and a [MASK].", "exactly one"),
    ("She saw a [mask].", "expects the mask written exactly"),
    ("   ", "empty"),
])
def test_bad_input_gets_a_clear_message(lm, text, message):
    with pytest.raises(InputError, match=message):
        counterfactual(lm, text)


def _raw_log_probs(lm, text: str) -> torch.Tensor:
    """log-softmax at the [MASK] from BertForPreTraining's own forward, independent of BERT Lens' code."""
    inputs = lm.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        logits = lm.model(**inputs).prediction_logits[0]
    position = int((inputs["input_ids"][0] == lm.tokenizer.mask_token_id).nonzero()[0, 0])
    return torch.log_softmax(logits[position].double(), dim=-1)


def _check_against_raw(lm, result, top_k: int = 10) -> None:
    raw = {"original": _raw_log_probs(lm, result.original_text),
           "counterfactual": _raw_log_probs(lm, result.counterfactual_text)}
    for side, got in (("original", result.original), ("counterfactual", result.counterfactual)):
        values, ids = raw[side].topk(top_k)
        assert [c.token_id for c in got.masks[0].candidates] == ids.tolist()
        assert [c.log_probability for c in got.masks[0].candidates] == pytest.approx(values.tolist(), abs=1e-4)
    tops = {int(i) for side in raw for i in raw[side].topk(top_k).indices}
    assert {c.token_id for c in result.candidates} == tops
    for c in result.candidates:
        want = float(raw["original"][c.token_id] - raw["counterfactual"][c.token_id])
        assert c.log_ratio == pytest.approx(want, abs=1e-4)
    p = raw["original"].exp().numpy()
    q = raw["counterfactual"].exp().numpy()
    assert result.kl_original_counterfactual == pytest.approx(rel_entr(p, q).sum(), rel=1e-3, abs=1e-7)
    assert result.kl_counterfactual_original == pytest.approx(rel_entr(q, p).sum(), rel=1e-3, abs=1e-7)
    assert result.js_divergence == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-3, abs=1e-7)


def test_comparison_matches_raw_transformers_logits(lm):
    result = counterfactual(lm, "She told her sister that the [MASK] was late.", filters=Filters(special=False))
    assert result.counterfactual_text == "He told his brother that the [MASK] was late."
    _check_against_raw(lm, result)
    assert result.shared == [c for c in result.candidates if c.in_both]
    assert [c.log_ratio for c in result.candidates] == sorted((c.log_ratio for c in result.candidates), reverse=True)
    assert result.js_divergence <= math.log(2)


def test_identical_versions_have_zero_divergence(lm):
    different = counterfactual(lm, "The cat saw a [MASK].", parse_swap_pairs("cat,kitten"))
    assert different.kl_original_counterfactual > 0
    same = counterfactual(lm, "The man saw a [MASK].", parse_swap_pairs("man,man"))
    assert same.original_text == same.counterfactual_text
    assert same.kl_original_counterfactual == pytest.approx(0, abs=1e-9)
    assert same.js_divergence == pytest.approx(0, abs=1e-9)
    assert all(c.log_ratio == 0 for c in same.candidates)
