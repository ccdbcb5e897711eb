"""Gender-bias probe: scores against an independent computation from the raw logits, statistics on synthetic data,
the occupation table, and bad input."""
from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bertlens import bias
from bertlens.bias.occupations import DEFAULT_PATH, Occupation, load_occupations, parse_occupations
from bertlens.errors import InputError
from devtools.bias_reference import reference_probe

REFERENCE = DEFAULT_PATH.parent / "occupations_bls.csv"


@pytest.fixture(scope="module")
def raw(tiny_model_dir):
    """The tiny model and tokenizer loaded straight from transformers, not through bertlens."""
    from transformers import AutoTokenizer, BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(tiny_model_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def raw_chain(raw, sentence: str, word: str) -> float:
    """log P(word) at the single [MASK] of `sentence`: one mask per WordPiece, filled left to right."""
    model, tok = raw
    pieces = tok(word, add_special_tokens=False)["input_ids"]
    ids = tok(sentence.replace("[MASK]", " ".join(["[MASK]"] * len(pieces))))["input_ids"]
    start = ids.index(tok.mask_token_id)
    total = 0.0
    for step, piece in enumerate(pieces):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, start + step]
        total += float(torch.log_softmax(logits, -1)[piece])
        ids[start + step] = piece
    return total


def raw_first_mask(raw, sentence: str, token: str) -> float:
    model, tok = raw
    ids = tok(sentence)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, ids.index(tok.mask_token_id)]
    return float(torch.log_softmax(logits, -1)[tok.convert_tokens_to_ids(token)])


def small_config(**overrides) -> bias.ProbeConfig:
    occupations = (Occupation("nurse", "a", 89.6, "2015", "test"), Occupation("engineer", "an", 10.7, "2015", "test"),
                   Occupation("plumber", "a", 0.7, "2015", "test"), Occupation("hairdresser", "a", 94.2, "", "test"))
    values = dict(templates=("{person} worked as a [MASK].", "{possessive} first job was as a [MASK].",
                             "{person} is a [MASK]."),
                  pairs=(bias.WordPair("the man", "the woman"), bias.WordPair("his", "her", "possessive")),
                  occupations=occupations, bootstrap=200)
    values.update(overrides)
    return bias.ProbeConfig(**values)


@pytest.fixture(scope="module")
def small_result(lm):
    return bias.run_probe(lm, small_config())


def test_unit_scores_equal_raw_logits(small_result, raw):
    assert len(small_result.units) == 3 * 4
    for unit in small_result.units:
        expected_f = raw_chain(raw, unit.female_text, unit.occupation)
        expected_m = raw_chain(raw, unit.male_text, unit.occupation)
        assert unit.log_p_female == pytest.approx(expected_f, abs=1e-4)
        assert unit.log_p_male == pytest.approx(expected_m, abs=1e-4)


def test_sentences_use_the_right_article_and_capitals(small_result):
    texts = {(u.occupation, u.template): (u.female_text, u.male_text) for u in small_result.units}
    assert texts[("engineer", "{person} worked as a [MASK].")] == ("The woman worked as an [MASK].",
                                                                   "The man worked as an [MASK].")
    assert texts[("nurse", "{possessive} first job was as a [MASK].")] == ("Her first job was as a [MASK].",
                                                                          "His first job was as a [MASK].")


def test_occupation_aggregate_is_mean_over_templates(small_result):
    for occupation in small_result.occupations:
        ratios = [u.log_ratio for u in small_result.units if u.occupation == occupation.occupation]
        assert occupation.log_ratio == pytest.approx(np.mean(ratios), abs=1e-9)
        assert occupation.ci_low <= occupation.log_ratio <= occupation.ci_high
        assert 0 < occupation.p_value <= occupation.p_adjusted <= 1


def test_multi_piece_is_chained_never_first_piece_alone(small_result, lm, raw):
    scores = small_result.by_occupation()
    assert scores["plumber"].pieces == ["p", "##lumber"] and scores["plumber"].multi_piece
    assert scores["hairdresser"].pieces == ["hair", "##dress", "##er"]
    assert not scores["nurse"].multi_piece
    unit = next(u for u in small_result.units if u.occupation == "plumber")
    first_alone = raw_first_mask(raw, unit.female_text, "p")
    two_masks = unit.female_text.replace("[MASK]", "[MASK] [MASK]")
    step1 = raw_first_mask(raw, two_masks, "p")
    model, tok = raw
    ids = tok(two_masks)["input_ids"]
    position = ids.index(tok.mask_token_id)
    ids[position] = tok.convert_tokens_to_ids("p")
    with torch.no_grad():
        step2 = float(torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, position + 1], -1)[
            tok.convert_tokens_to_ids("##lumber")])
    assert unit.log_p_female == pytest.approx(step1 + step2, abs=1e-4)
    assert abs(unit.log_p_female - first_alone) > 1e-3


def test_kurita_equals_raw_logits(small_result, raw):
    assert len(small_result.kurita) == 4
    for k in small_result.kurita:
        assert k.target_text.startswith("[MASK] is ")
        n_pieces = len(raw[1](k.occupation, add_special_tokens=False)["input_ids"])
        assert k.prior_text.count("[MASK]") == 1 + n_pieces
        assoc_f = raw_first_mask(raw, k.target_text, "She") - raw_first_mask(raw, k.prior_text, "She")
        assoc_m = raw_first_mask(raw, k.target_text, "He") - raw_first_mask(raw, k.prior_text, "He")
        assert k.normalised == pytest.approx(assoc_f - assoc_m, abs=1e-4)
    engineer = next(k for k in small_result.kurita if k.occupation == "engineer")
    assert engineer.target_text == "[MASK] is an engineer." and engineer.prior_text == "[MASK] is an [MASK]."
    by_name = small_result.by_occupation()
    assert by_name["engineer"].kurita == pytest.approx(engineer.normalised)


def test_reference_pipeline_loop_gives_the_same_scores(lm):
    config = small_config(templates=("{person} worked as a [MASK].",), occupations=small_config().occupations[:3])
    batched = bias.run_probe(lm, config)
    loop = reference_probe(lm, config)
    assert loop.method == "pipeline loop" and batched.method == "batched"
    for a, b in zip(batched.units, loop.units):
        assert a.log_p_female == pytest.approx(b.log_p_female, abs=1e-4)
        assert a.log_p_male == pytest.approx(b.log_p_male, abs=1e-4)
    for a, b in zip(batched.kurita, loop.kurita):
        assert a.normalised == pytest.approx(b.normalised, abs=1e-4)


def test_batched_probe_shares_rows(lm):
    config = small_config()
    plan = bias.plan_probe(lm, config)
    result = bias.run_probe(lm, config)
    assert result.rows < sum(len(ids) for _, ids in plan.items)


def test_progress_reaches_one(lm):
    seen = []
    bias.run_probe(lm, small_config(), progress=lambda f, m: seen.append(f), batch_size=8)
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0)
    assert seen == sorted(seen) and len(seen) > 2


def test_side_by_side_equals_raw_logits(lm, raw):
    view = bias.side_by_side(lm, "{person} worked as a [MASK].", bias.WordPair("the man", "the woman"), top_k=5)
    assert view.female_text == "The woman worked as a [MASK]." and view.male_text == "The man worked as a [MASK]."
    assert len(view.female.masks[0].candidates) == 5
    assert {c.token for c in view.shared} == ({c.token for c in view.female.masks[0].candidates}
                                              & {c.token for c in view.male.masks[0].candidates})
    for c in view.candidates:
        expected = (raw_first_mask(raw, view.female_text, c.token) - raw_first_mask(raw, view.male_text, c.token))
        assert c.log_ratio == pytest.approx(expected, abs=1e-4)
    assert [c.log_ratio for c in view.candidates] == sorted((c.log_ratio for c in view.candidates), reverse=True)


# ---------------------------------------------------------------- statistics on synthetic data

def test_bootstrap_ci_constant_rows_collapse():
    values = np.tile(np.array([[0.5], [-1.0]]), (1, 10))
    low, high = bias.bootstrap_ci(values, 500, seed=1)
    assert low == pytest.approx([0.5, -1.0]) and high == pytest.approx([0.5, -1.0])


def test_bootstrap_ci_width_and_coverage():
    rng = np.random.default_rng(7)
    values = rng.normal(1.0, 1.0, size=(1, 400))
    low, high = bias.bootstrap_ci(values, 2000, seed=2)
    assert low[0] < 1.0 < high[0] or abs(values.mean() - 1.0) > 0.1
    assert high[0] - low[0] == pytest.approx(2 * 1.96 / math.sqrt(400), rel=0.2)
    rows = rng.normal(0.3, 1.0, size=(400, 12))
    low, high = bias.bootstrap_ci(rows, 1000, seed=3)
    coverage = np.mean((low < 0.3) & (0.3 < high))
    assert 0.82 < coverage < 0.98


def test_bootstrap_ci_needs_two_templates():
    low, high = bias.bootstrap_ci(np.ones((3, 1)))
    assert np.isnan(low).all() and np.isnan(high).all()


def test_sign_flip_exact_matches_enumeration():
    rng = np.random.default_rng(0)
    values = rng.normal(0.4, 1.0, size=(5, 8))
    p, label = bias.sign_flip_test(values)
    assert "exact" in label
    for row, p_row in zip(values, p):
        count = 0
        for signs in itertools.product((1, -1), repeat=8):
            count += abs(np.dot(signs, row)) / 8 >= abs(row.mean()) - 1e-12
        assert p_row == pytest.approx(count / 256)


def test_sign_flip_extremes_and_random_mode():
    all_positive = np.abs(np.random.default_rng(1).normal(size=(1, 12))) + 0.1
    p, _ = bias.sign_flip_test(all_positive)
    assert p[0] == pytest.approx(2 / 4096)
    p, label = bias.sign_flip_test(np.abs(np.random.default_rng(2).normal(size=(2, 20))) + 0.1, 2000, seed=1)
    assert "random" in label and (p < 0.01).all() and (p > 0).all()
    null = np.random.default_rng(3).normal(0, 1, size=(300, 10))
    p, _ = bias.sign_flip_test(null)
    assert 0.02 < np.mean(p < 0.05) < 0.09


def test_holm_by_hand():
    adjusted = bias.holm(np.array([0.01, 0.04, 0.03, 0.005]))
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert bias.holm(np.array([0.5, 0.9])) == pytest.approx([1.0, 1.0])
    assert np.isnan(bias.holm(np.array([np.nan, 0.01])))[0] and bias.holm(np.array([np.nan, 0.01]))[1] == 0.01


def test_correlation_on_a_line():
    from scipy import stats

    x = [1.0, 20.0, 45.0, 60.0, 90.0]
    y = [0.02 * v - 1 for v in x]
    c = bias.correlation("log_ratio", x, y)
    assert c.pearson_r == pytest.approx(1.0) and c.spearman_rho == pytest.approx(1.0)
    assert c.slope == pytest.approx(0.02) and c.intercept == pytest.approx(-1)
    noisy = [v + e for v, e in zip(y, [0.3, -0.2, 0.5, -0.4, 0.1])]
    c = bias.correlation("log_ratio", x + [None], noisy + [5.0])
    assert c.n == 5 and c.pearson_r == pytest.approx(stats.pearsonr(x, noisy).statistic)
    assert bias.correlation("kurita", [1.0, None], [1.0, 2.0]) is None


# ---------------------------------------------------------------- occupation table

def test_shipped_table_is_complete():
    occupations = load_occupations()
    assert len(occupations) >= 60
    assert all(o.source and o.pct_women is not None for o in occupations)
    assert {o.year for o in occupations} >= {"2015", "2016"}
    with DEFAULT_PATH.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {"occupation", "pct_women", "year", "source", "wordpieces", "multi_piece"} <= set(rows[0])
    assert sum(r["multi_piece"] == "yes" for r in rows) >= 5
    assert sum(r["multi_piece"] == "no" for r in rows) >= 40


def test_shipped_wordpieces_match_the_tokenizer(lm):
    with DEFAULT_PATH.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        pieces = lm.tokenizer.tokenize(row["occupation"])
        assert " ".join(pieces) == row["wordpieces"], row["occupation"]
        assert (len(pieces) > 1) == (row["multi_piece"] == "yes")
        assert row["article"] == ("an" if row["occupation"][0] in "aeiou" else "a")


def test_tokenizer_matches_the_reference_wordpieces(lm):
    with REFERENCE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        assert " ".join(lm.tokenizer.tokenize(row["occupation"])) == row["bert_large_cased_wordpieces"]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("template, message", [
    ("{person} worked as a nurse.", "no [MASK]"),
    ("{person} worked as a [MASK] [MASK].", "exactly one"),
    ("The woman worked as a [MASK].", "slot"),
    ("{person} told {person} about the [MASK].", "slot"),
    ("{someone} worked as a [MASK].", "slot"),
    ("   ", "empty"),
])
def test_bad_templates(template, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        bias.parse_templates(template) if template.strip() else bias.template_role(template)


def test_empty_lists_are_refused(lm):
    with pytest.raises(InputError, match="empty"):
        bias.parse_templates("# only a comment\n\n")
    with pytest.raises(InputError, match="empty"):
        bias.parse_pairs("")
    with pytest.raises(InputError, match="empty"):
        parse_occupations("\n")
    with pytest.raises(InputError, match="empty"):
        bias.run_probe(lm, small_config(occupations=()))
    with pytest.raises(InputError, match="no possessive word pair"):
        bias.run_probe(lm, small_config(pairs=(bias.WordPair("the man", "the woman"),)))


@pytest.mark.parametrize("name", ["n3rd", "doctor!", "[MASK]", "=cmd", "a b c d e", "x" * 0])
def test_occupation_that_is_not_a_word(name):
    with pytest.raises(InputError):
        parse_occupations(f"occupation\n{name}\n" if name else "occupation,pct_women\n,3\n")


def test_occupation_table_problems():
    with pytest.raises(InputError, match="0 to 100"):
        parse_occupations("occupation,pct_women\nnurse,140\n")
    with pytest.raises(InputError, match="number"):
        parse_occupations("occupation,pct_women\nnurse,lots\n")
    with pytest.raises(InputError, match="article"):
        parse_occupations("occupation,article\nnurse,the\n")
    plain = parse_occupations("nurse\nengineer\n")
    assert [(o.name, o.article, o.pct_women) for o in plain] == [("nurse", "a", None), ("engineer", "an", None)]


def test_unspellable_occupation_is_refused_before_any_pass(lm):
    with pytest.raises(InputError, match="not an occupation"):
        bias.run_probe(lm, small_config(occupations=(Occupation("🦄 tamer", "a"),)))
    with pytest.raises(InputError, match="vocabulary"):
        bias.piece_ids(lm, "🦄")


def test_pairs_parse_and_role_mismatch(lm):
    pairs = bias.parse_pairs("male,female,role,probe\nthe man,the woman,person,yes\nhis,her,possessive,no\n")
    assert pairs[1] == bias.WordPair("his", "her", "possessive", False)
    assert bias.parse_pairs("he,she")[0] == bias.WordPair("he", "she", "person")
    with pytest.raises(InputError, match="female"):
        bias.parse_pairs("the man")
    with pytest.raises(InputError, match="role"):
        bias.parse_pairs("male,female,role\nhe,she,pronoun\n")
    with pytest.raises(InputError, match="letters"):
        bias.parse_pairs("he,<b>she</b>")
    with pytest.raises(InputError, match="possessive"):
        bias.side_by_side(lm, "{possessive} job is a [MASK].", bias.WordPair("he", "she"))


def test_article_and_slot_helpers():
    assert bias.with_article("He is a [MASK].", "an") == "He is an [MASK]."
    assert bias.with_article("A [MASK] is here.", "an") == "An [MASK] is here."
    assert bias.with_article("She is an [MASK].", "a") == "She is a [MASK]."
    assert bias.with_article("She loves [MASK].", "an") == "She loves [MASK]."
    assert bias.fill_slot("{person} is a [MASK].", "he") == "He is a [MASK]."
    assert bias.fill_slot("Yesterday {person} was a [MASK].", "he") == "Yesterday he was a [MASK]."


def test_default_config_meets_the_brief(lm):
    config = bias.default_config()
    assert len(config.templates) >= 10 and len(config.occupations) >= 60
    assert {p.label for p in config.pairs} == {"the man/the woman", "his/her"}
    labels = {p.label for p in bias.load_pairs()}
    assert {"the man/the woman", "he/she", "my father/my mother", "the boy/the girl", "his/her"} <= labels
