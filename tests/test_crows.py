"""CrowS-Pairs: pseudo-log-likelihood against the raw logits, the metric, cancellation and bad files."""
from __future__ import annotations

import difflib

import pytest
import torch

from bertlens import crows
from bertlens.errors import InputError

GOOD = (b"sent_more,sent_less,stereo_antistereo,bias_type\n"
        b"Women are bad at maths.,Men are bad at maths.,stereo,gender\n"
        b"The poor man stole it.,The rich man stole it.,antistereo,socioeconomic\n")


@pytest.fixture(scope="module")
def raw(tiny_model_dir):
    from transformers import AutoTokenizer, BertForMaskedLM

    return BertForMaskedLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def raw_pll(raw, sentence: str, other: str) -> float:
    """Nangia et al.: mask each token the two sentences share, one at a time, and sum log P(original token)."""
    model, tok = raw
    ids, other_ids = tok(sentence)["input_ids"], tok(other)["input_ids"]
    shared = []
    for block in difflib.SequenceMatcher(None, ids, other_ids, autojunk=False).get_matching_blocks():
        shared += [block.a + i for i in range(block.size)]
    total = 0.0
    for position in shared:
        if position in (0, len(ids) - 1):
            continue
        masked = list(ids)
        masked[position] = tok.mask_token_id
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([masked])).logits[0, position]
        total += float(torch.log_softmax(logits, -1)[ids[position]])
    return total


def test_pll_equals_raw_logits(lm, raw):
    pairs = crows.parse_crows(GOOD)
    result = crows.score_crows(lm, pairs, batch_size=7)
    assert len(result.scores) == 2 and not result.cancelled and result.complete
    for score in result.scores:
        assert score.score_more == pytest.approx(raw_pll(raw, score.sent_more, score.sent_less), abs=1e-4)
        assert score.score_less == pytest.approx(raw_pll(raw, score.sent_less, score.sent_more), abs=1e-4)
        assert score.shared_tokens > 3


def test_differing_words_are_not_scored(lm):
    more = lm.tokenizer("Women are bad at maths.")["input_ids"]
    less = lm.tokenizer("Men are bad at maths.")["input_ids"]
    a, b = crows.shared_positions(more, less)
    assert [more[i] for i in a] == [less[j] for j in b]
    assert 1 not in a and 0 not in a and len(more) - 1 not in a
    assert lm.tokenizer.convert_ids_to_tokens([more[i] for i in a]) == ["are", "bad", "at", "math", "##s", "."]


def _score(row: int, more: float, less: float, bias_type: str = "gender", direction: str = "stereo"):
    return crows.PairScore(row, "a", "b", direction, bias_type, more, less, 3)


def test_metric_per_bias_type_with_ties():
    scores = [_score(1, -1.0, -2.0), _score(2, -3.0, -2.0), _score(3, -1.0, -1.0004), _score(4, -5.0, -6.0, "age"),
              _score(5, -1.0, -1.5, "age", "antistereo")]
    result = crows.summarise(scores, 5)
    assert result.overall.more_higher == 3 and result.overall.ties == 1
    assert result.overall.metric == pytest.approx(60.0)
    by_type = {g.group: g for g in result.by_bias_type}
    assert by_type["gender"].metric == pytest.approx(100 / 3) and by_type["age"].metric == 100.0
    assert {g.group: g.pairs for g in result.by_direction} == {"stereo": 4, "antistereo": 1}


def test_cancel_keeps_what_was_scored(lm):
    pairs = crows.parse_crows(crows.EXAMPLE_PATH.read_bytes())
    calls = {"n": 0}
    seen = []

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    result = crows.score_crows(lm, pairs, should_stop=stop, batch_size=20, on_scores=seen.extend)
    assert result.cancelled and 0 < len(result.scores) < len(pairs) and not result.complete
    assert [s.row for s in seen] == [s.row for s in result.scores]
    assert result.overall.pairs == len(result.scores)


def test_progress_and_full_run(lm):
    pairs = crows.parse_crows(crows.EXAMPLE_PATH.read_bytes())
    fractions = []
    result = crows.score_crows(lm, pairs, progress=lambda f, m: fractions.append(f), batch_size=16)
    assert fractions[-1] == pytest.approx(1.0) and fractions == sorted(fractions)
    assert result.complete and {g.group for g in result.by_bias_type} == {"gender", "age", "socioeconomic"}


def test_example_file_is_small_and_hand_written():
    text = crows.EXAMPLE_PATH.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 20 and "hand-written" in text


@pytest.mark.parametrize("data, message", [
    (b"sent_more,sent_less\nA,B\n", "stereo_antistereo, bias_type"),
    (b"sent_more,sent_less,stereo_antistereo,bias_type\nCaf\xe9 is nice.,Bar,stereo,x\n", "not UTF-8"),
    (b"", "empty"),
    (b"sent_more,sent_less,stereo_antistereo,bias_type\n", "no pairs"),
    (b"sent_more,sent_less,stereo_antistereo,bias_type\nA,,stereo,x\n", "sent_less is empty"),
    (b"sent_more,sent_less,stereo_antistereo,bias_type\nA,B,sideways,x\n", "stereo"),
    (b"\x00\x01\x02PK", "binary"),
    (b"sent_more,sent_less,stereo_antistereo,bias_type\n\"A,B,stereo,x\n", "no pairs|well-formed|empty"),
])
def test_bad_files(data, message):
    with pytest.raises(InputError, match=message):
        crows.parse_crows(data)


def test_huge_upload_is_refused(tmp_path):
    with pytest.raises(InputError, match="limit is 5 MB"):
        crows.parse_crows(b"x" * (crows.MAX_UPLOAD_BYTES + 1))
    big = tmp_path / "big.csv"
    big.write_bytes(GOOD + b"A,B,stereo,x\n" * 500_000)
    with pytest.raises(InputError, match="limit is 5 MB"):
        crows.load_crows(big)
    with pytest.raises(InputError, match="Cannot read"):
        crows.load_crows(tmp_path / "missing.csv")


def test_extra_columns_and_bom_are_fine():
    data = b"\xef\xbb\xbf,sent_more,sent_less,stereo_antistereo,bias_type,annotations\n0,A b.,C b.,stereo,age,x\n"
    assert crows.parse_crows(data)[0].bias_type == "age"
