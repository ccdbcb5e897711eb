"""Gender-bias probe: scores against an independent computation from the raw logits, the occupation table, the
configuration builder, the minimum effect size, and bad input. Statistics: tests/test_bias_statistics.py."""
from __future__ import annotations

import csv

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


# ---------------------------------------------------------------- one configuration builder

def test_page_cli_and_default_build_the_same_configuration(tmp_path):
    from bertlens.bias import files

    shipped = bias.build_config(files.TEMPLATES_PATH.read_text(encoding="utf-8"),
                                files.PAIRS_PATH.read_text(encoding="utf-8"),
                                files.OCCUPATIONS_PATH.read_text(encoding="utf-8"))
    assert shipped == bias.default_config() == bias.build_config()
    with files.PAIRS_PATH.open(encoding="utf-8") as handle:
        marked = [f"{r['male']}/{r['female']}" for r in csv.DictReader(handle) if r["probe"] == "yes"]
    assert [p.label for p in shipped.pairs] == marked
    assert shipped.min_effect == 0.1


def test_pair_choice_rule():
    pairs = bias.parse_pairs("male,female,role,probe\nhe,she,person,no\nhis,her,possessive,no\n")
    assert bias.probe_pairs(pairs) == tuple(pairs)
    assert bias.probe_pairs(pairs, ["his/her"]) == (pairs[1],)
    with pytest.raises(InputError, match="not in the list"):
        bias.probe_pairs(pairs, ["the man/the woman"])
    with pytest.raises(InputError, match="No word pair is chosen"):
        bias.probe_pairs(pairs, [])


def test_build_config_refuses_what_the_probe_could_not_run():
    with pytest.raises(InputError, match="no possessive word pair"):
        bias.build_config(pairs="the man,the woman", chosen_pairs=None)
    with pytest.raises(InputError, match="minimum effect"):
        bias.build_config(min_effect=-0.1)
    with pytest.raises(InputError, match="minimum effect"):
        bias.build_config(min_effect=float("nan"))
    with pytest.raises(InputError, match="at least 100"):
        bias.build_config(bootstrap=10)


# ---------------------------------------------------------------- minimum effect size

def test_headline_counts_significant_and_large_enough(small_result):
    import dataclasses

    made = [(0.01, 0.05), (0.01, -0.3), (0.2, 0.5), (0.04, 0.1), (0.049, -0.0999), (0.05, 2.0)]
    template = small_result.occupations[0]
    rows = [dataclasses.replace(template, occupation=f"o{i}", p_adjusted=p, log_ratio=r) for i, (p, r) in
            enumerate(made)]
    result = dataclasses.replace(small_result, occupations=rows)
    assert [o.significant for o in rows] == [True, True, False, True, True, False]
    for threshold in (0.0, 0.1, 0.3, 1e9):
        view = result.with_min_effect(threshold)
        expected = [f"o{i}" for i, (p, r) in enumerate(made) if p < 0.05 and abs(r) >= threshold]
        assert [o.occupation for o in rows if view.notable(o)] == expected
        assert view.notable_count == len(expected) and view.min_effect == threshold
    assert result.with_min_effect(0.1).notable_count == 2
    assert result.with_min_effect(0.0).notable_count == 4
    with pytest.raises(InputError):
        result.with_min_effect(-1)


def test_one_reader_for_every_data_file(tmp_path):
    latin = tmp_path / "latin.txt"
    before = "{person} worked as a caf"
    latin.write_bytes((before + "\xe9 [MASK].\n").encode("latin-1"))
    with pytest.raises(InputError, match=rf"^The template file '.*latin.txt' is not UTF-8 text \(byte {len(before)} "):
        bias.load_templates(latin)
    with pytest.raises(InputError, match=r"^The occupation file '.*latin.txt' is not UTF-8"):
        load_occupations(latin)
    with pytest.raises(InputError, match=r"^Cannot read the word-pair file '.*missing.csv'"):
        bias.load_pairs(tmp_path / "missing.csv")
    big = tmp_path / "big.csv"
    big.write_bytes(b"nurse\n" * 1_000_000)
    with pytest.raises(InputError, match=r"^The occupation file .* is 6.0 MB; the limit is 5 MB"):
        load_occupations(big)
