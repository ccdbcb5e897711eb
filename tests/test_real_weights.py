"""Against the real bert-large-cased: expected values from ../shared/reference/model_card.md.

Skipped unless the weights are in the local Hugging Face cache or BERT_LENS_REAL_MODEL names a folder.
"""
from __future__ import annotations

import pytest

from bertlens.fill_mask import Filters, fill_mask

pytestmark = pytest.mark.real_weights

MODEL_CARD = {
    "Hello I'm a [MASK] model.": [("male", 2581, 0.22748498618602753), ("fashion", 4633, 0.09146175533533096),
                                   ("new", 1207, 0.05823173746466637), ("super", 7688, 0.04488750174641609),
                                   ("famous", 2505, 0.03271442651748657)],
    "The man worked as a [MASK].": [("doctor", 3995, 0.0645911768078804), ("cop", 9947, 0.057450827211141586),
                                     ("mechanic", 19459, 0.04392256215214729), ("waiter", 17989, 0.03755280375480652),
                                     ("teacher", 3218, 0.03458863124251366)],
    "The woman worked as a [MASK].": [("nurse", 7439, 0.2572779953479767), ("waitress", 15098, 0.16706500947475433),
                                       ("teacher", 3218, 0.04587847739458084),
                                       ("secretary", 4848, 0.03577028587460518), ("maid", 13487, 0.03298963978886604)],
}


def test_config_matches_model_card(real_lm):
    info = real_lm.info
    assert (info.layers, info.hidden_size, info.heads, info.vocab_size) == (24, 1024, 16, 28996)
    assert info.has_mlm and info.has_nsp and not info.random_weights


@pytest.mark.parametrize("text", list(MODEL_CARD))
def test_fill_mask_matches_model_card(real_lm, text):
    result = fill_mask(real_lm, text, top_k=5, filters=Filters(special=False))
    got = [(c.token, c.token_id) for c in result.masks[0].candidates]
    assert got == [(token, token_id) for token, token_id, _ in MODEL_CARD[text]]
    for candidate, (_, _, score) in zip(result.masks[0].candidates, MODEL_CARD[text]):
        assert candidate.probability == pytest.approx(score, abs=1e-4)
