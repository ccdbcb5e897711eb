"""Counterfactual sentences: a sentence with one [MASK], the same sentence with its gendered words swapped
(`bertlens.bias.swaps`), and the model's predictions at the mask compared side by side.

- top-k of each version (probabilities over the whole vocabulary; `filters` only hide candidates from the lists);
- for every candidate in either top-k, log P(w | original) - log P(w | counterfactual) (> 0: the original sentence
  makes w more likely);
- the KL divergence between the two distributions over the whole vocabulary, both ways, in nats, and the
  Jensen-Shannon divergence (symmetric, at most ln 2).

Two forward passes, one per version (`analyse`, by default `analyse_masked`, is the only thing that runs the model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


from bertlens.analysis import Analysis
from bertlens.bias.swaps import Swap, SwapTable, default_table, swap_gender
from bertlens.divergence import js_divergence, kl_divergence
from bertlens.errors import InputError
from bertlens.fill_mask import Filters, FillMaskResult, analyse_masked, check_top_k, postprocess
from bertlens.model import LoadedModel
from bertlens.text import MASK, check_one_mask, clean, wrong_mask_spelling


@dataclass(frozen=True)
class CandidateRatio:
    """A candidate in either version's top-k; `log_ratio` = log P(original) - log P(counterfactual)."""

    token: str
    token_id: int
    p_original: float
    p_counterfactual: float
    log_ratio: float
    in_original_top: bool
    in_counterfactual_top: bool

    @property
    def in_both(self) -> bool:
        return self.in_original_top and self.in_counterfactual_top


@dataclass(frozen=True)
class Counterfactual:
    original_text: str
    counterfactual_text: str
    swaps: tuple[Swap, ...]
    original: FillMaskResult
    counterfactual: FillMaskResult
    candidates: list[CandidateRatio]
    kl_original_counterfactual: float
    kl_counterfactual_original: float
    js_divergence: float
    swap_source: str

    @property
    def shared(self) -> list[CandidateRatio]:
        """Candidates in both top-k lists, the ones the original favours most first."""
        return [c for c in self.candidates if c.in_both]


def check_sentence(text: str) -> str:
    """A sentence with exactly one [MASK]. Raises InputError."""
    text = clean(text, "sentence")
    if text.count(MASK) == 0 and wrong_mask_spelling(text) is None:
        raise InputError(f"There is no {MASK} in the sentence. Put {MASK} where the model should guess a word, for "
                         f"example 'She said that her {MASK} was late.'")
    return check_one_mask(text, "sentence", f"the counterfactual view compares one mask, so keep exactly one "
                                            f"{MASK}")


def counterfactual(lm: LoadedModel, text: str, table: SwapTable | None = None, top_k: int = 10,
                   filters: Filters = Filters(),
                   analyse: Callable[[LoadedModel, str], Analysis] = analyse_masked) -> Counterfactual:
    """Swap the gendered words of `text` (one [MASK]) and compare the predictions at the mask. Two forward passes,
    through `analyse`. Raises InputError for no or several masks, no gendered word or a bad top_k; MissingHead
    without an MLM head."""
    check_top_k(top_k)
    text = check_sentence(text)
    lm.require("mlm")
    table = table or default_table()
    swapped = swap_gender(text, table)
    analyses = {"original": analyse(lm, text), "counterfactual": analyse(lm, swapped.text)}
    log_probs = {side: a.mask_log_probs[0] for side, a in analyses.items()}
    results = {side: postprocess(lm, a, top_k, filters) for side, a in analyses.items()}
    tops = {side: {c.token_id: c.token for c in r.masks[0].candidates} for side, r in results.items()}
    candidates = []
    for token_id, token in {**tops["original"], **tops["counterfactual"]}.items():
        lp_o, lp_c = float(log_probs["original"][token_id]), float(log_probs["counterfactual"][token_id])
        candidates.append(CandidateRatio(token, token_id, math.exp(lp_o), math.exp(lp_c), lp_o - lp_c,
                                         token_id in tops["original"], token_id in tops["counterfactual"]))
    candidates.sort(key=lambda c: -c.log_ratio)
    lo, lc = log_probs["original"], log_probs["counterfactual"]
    return Counterfactual(text, swapped.text, swapped.swaps, results["original"], results["counterfactual"],
                          candidates, kl_divergence(lo, lc), kl_divergence(lc, lo), js_divergence(lo, lc),
                          table.source)

