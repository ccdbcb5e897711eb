"""Side by side: one template filled with a female and a male word, each side's top-k, and the log-ratio
log P(w | female) - log P(w | male) of every candidate in either top-k (> 0 leans female)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from bertlens.bias.config import WordPair, template_role
from bertlens.bias.sentences import fill_slot
from bertlens.errors import InputError
from bertlens.fill_mask import Filters, FillMaskResult, analyse_masked, postprocess
from bertlens.model import LoadedModel


@dataclass(frozen=True)
class SharedCandidate:
    """A candidate with its probability on both sides. `log_ratio` > 0 leans female."""

    token: str
    token_id: int
    p_female: float
    p_male: float
    log_ratio: float
    in_female_top: bool
    in_male_top: bool

    @property
    def in_both(self) -> bool:
        return self.in_female_top and self.in_male_top


@dataclass(frozen=True)
class SideBySide:
    template: str
    pair: WordPair
    female_text: str
    male_text: str
    female: FillMaskResult
    male: FillMaskResult
    candidates: list[SharedCandidate]

    @property
    def shared(self) -> list[SharedCandidate]:
        """Candidates in both sides' top-k, most female-leaning first."""
        return [c for c in self.candidates if c.in_both]


def side_by_side(lm: LoadedModel, template: str, pair: WordPair, top_k: int = 10,
                 filters: Filters = Filters()) -> SideBySide:
    """Fill `template` (one [MASK], one slot) with each side of `pair`; each side's top-k and the log-ratio for
    every candidate in either top-k. One forward pass per side. Raises InputError for a bad template."""
    role = template_role(template)
    if pair.role != role:
        raise InputError(f"The pair {pair.label} fills a {{{pair.role}}} slot but the template has {{{role}}}.")
    texts = {side: fill_slot(template, getattr(pair, side)) for side in ("female", "male")}
    results, log_probs = {}, {}
    for side, text in texts.items():
        analysis = analyse_masked(lm, text)
        log_probs[side] = analysis.mask_log_probs[0]
        results[side] = postprocess(lm, analysis, top_k, filters)
    tops = {side: {c.token_id: c.token for c in results[side].masks[0].candidates} for side in results}
    candidates = []
    for token_id, token in {**tops["female"], **tops["male"]}.items():
        lp_f, lp_m = float(log_probs["female"][token_id]), float(log_probs["male"][token_id])
        candidates.append(SharedCandidate(token, token_id, math.exp(lp_f), math.exp(lp_m), lp_f - lp_m,
                                          token_id in tops["female"], token_id in tops["male"]))
    candidates.sort(key=lambda c: -c.log_ratio)
    return SideBySide(template, pair, texts["female"], texts["male"], results["female"], results["male"], candidates)
