"""Next-sentence prediction. In bert-large-cased's NSP head, label 0 means "B follows A"."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bertlens import forward
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.encoding import token_limit
from bertlens.text import clean

IS_NEXT = 0
MAX_CANDIDATES = 50


@dataclass(frozen=True)
class NSPResult:
    sentence_a: str
    sentence_b: str
    p_is_next: float
    logits: tuple[float, float]
    truncated: bool

    @property
    def p_not_next(self) -> float:
        return 1.0 - self.p_is_next


def next_sentence(lm: LoadedModel, sentence_a: str, sentence_b: str) -> NSPResult:
    """P(B follows A). Raises InputError when either side is empty; a pair over 512 tokens is truncated
    (longest side first) and the result says so."""
    return rank_next_sentences(lm, sentence_a, [sentence_b], sort=False)[0]


def rank_next_sentences(lm: LoadedModel, sentence_a: str, candidates: list[str], sort: bool = True) -> list[NSPResult]:
    """Score every candidate B after `sentence_a` in one batch, most likely first when `sort`."""
    lm.require("nsp")
    sentence_a = clean(sentence_a, "sentence A")
    candidates = [c.strip() for c in candidates if c and c.strip()]
    if not candidates:
        raise InputError("Sentence B is empty. Type the sentence that might follow A.")
    if len(candidates) > MAX_CANDIDATES:
        raise InputError(f"{len(candidates)} candidate sentences given; the limit is {MAX_CANDIDATES}.")
    candidates = [clean(c, "sentence B") for c in candidates]
    limit = token_limit(lm)
    full_lengths = [len(lm.tokenizer(sentence_a, b)["input_ids"]) for b in candidates]
    # One pair per tokenizer call and padding here: a fast tokenizer's padding setting is state shared by every
    # thread that uses it, so a padded batch call is not safe while other sessions tokenise.
    pairs = [lm.tokenizer(sentence_a, b, truncation="longest_first", max_length=limit, return_token_type_ids=True)
             for b in candidates]
    ids, mask, types = forward.padded(lm, [p["input_ids"] for p in pairs], [p["token_type_ids"] for p in pairs])
    with torch.inference_mode():
        pooled = forward.encoder(lm, ids, types, mask, pooled=True).pooled
        logits = forward.nsp_logits(lm, pooled)
        probs = torch.softmax(logits, dim=-1)[:, IS_NEXT].tolist()
    results = [NSPResult(sentence_a, b, p, tuple(l), n > limit)
               for b, p, l, n in zip(candidates, probs, logits.tolist(), full_lengths)]
    return sorted(results, key=lambda r: -r.p_is_next) if sort else results
