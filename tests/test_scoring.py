"""The one batched MLM scorer: every row's log-probabilities equal transformers' own, whatever the batch."""
from __future__ import annotations

import pytest
import torch

from bertlens.errors import InputError
from bertlens.scoring import MaskedRow, chained_log_probs, masked_log_probs


@pytest.fixture(scope="module")
def raw(tiny_model_dir):
    from transformers import AutoTokenizer, BertForMaskedLM

    return BertForMaskedLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def raw_log_probs(raw, ids: list[int], position: int) -> torch.Tensor:
    model, _ = raw
    with torch.no_grad():
        return torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, position], -1)


def test_rows_of_different_lengths_in_one_batch_equal_transformers(lm, raw):
    tok = raw[1]
    rows = []
    for text, word in (("The nurse was [MASK].", "late"), ("A much longer sentence about a [MASK] and more.", "dog"),
                       ("[MASK] is here.", "She")):
        ids = tok(text)["input_ids"]
        rows.append(MaskedRow(tuple(ids), ids.index(tok.mask_token_id),
                              tuple(tok.convert_tokens_to_ids([word, "the", "."]))))
    seen = []
    for batch_size in (1, 2, 64):
        values = masked_log_probs(lm, rows, batch_size=batch_size, progress=lambda d, t: seen.append((d, t)))
        for row, got in zip(rows, values):
            expected = raw_log_probs(raw, list(row.ids), row.position)
            assert got == pytest.approx([float(expected[t]) for t in row.targets], abs=1e-4)
    assert seen[:3] == [(1, 3), (2, 3), (3, 3)] and seen[-1] == (3, 3)


def test_chained_scoring_uses_the_runner_and_refuses_long_text(lm, raw):
    tok = raw[1]
    pieces = tok("plumber", add_special_tokens=False)["input_ids"]
    [scores] = chained_log_probs(lm, [("He worked as a [MASK].", pieces)])
    ids = tok("He worked as a " + " ".join(["[MASK]"] * len(pieces)) + ".")["input_ids"]
    start = ids.index(tok.mask_token_id)
    expected = []
    for step, piece in enumerate(pieces):
        expected.append(float(raw_log_probs(raw, ids, start + step)[piece]))
        ids[start + step] = piece
    assert scores == pytest.approx(expected, abs=1e-4)
    with pytest.raises(InputError, match="longer than"):
        masked_log_probs(lm, [MaskedRow(tuple(range(1000, 1600)), 3, (5,))])
