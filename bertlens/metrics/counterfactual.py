"""Counterfactual sentences: the predictions at the mask before and after the gendered words are swapped."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from bertlens.bias.counterfactual import counterfactual
from bertlens.bias.swaps import SwapTable
from bertlens.fill_mask import MAX_TOP_K, Filters
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, Param, tokens_of, register
from bertlens.results import ItemDecision, MetricResult


@dataclass(frozen=True)
class SentenceInput:
    """A sentence with one [MASK], and the swap table (None: the shipped lists)."""

    text: str
    table: SwapTable | None = None


@register
class CounterfactualSwap(Method):
    kind = "metric"
    name = "counterfactual"
    title = "Counterfactual sentence"
    data = "masked_text"
    order = 60
    transforms = frozenset({"projection", "self_debias"})
    heavy = False
    summary = ("Jensen-Shannon divergence (nats) between the predictions at the mask for the sentence and for the "
               "same sentence with every gendered word swapped; 0 = the swap changes nothing")
    caveat = ("The swap rules see one word ahead and no syntax; check the list of swaps before reading the "
              "divergence.")
    needs = frozenset({"mlm"})
    spec = ConfigSpec((Param("top_k", "int", 10, 1, MAX_TOP_K, help="candidates compared from each version"),))

    def estimate(self, lm: LoadedModel, inputs: SentenceInput, config: Mapping[str, Any]) -> Cost:
        """Two lone passes: the sentence and its swapped version."""
        text = inputs if isinstance(inputs, str) else inputs.text
        return Cost(2.0, tokens_of(lm, text))

    def run(self, lm: LoadedModel, inputs: SentenceInput | str, config: Mapping[str, Any],
            context: Context) -> MetricResult:
        """`inputs`: the masked-text kind's sentence (the shipped swap lists), or a SentenceInput with a table."""
        inputs = SentenceInput(inputs) if isinstance(inputs, str) else inputs
        result = counterfactual(lm, inputs.text, inputs.table, config["top_k"],
                                Filters(punctuation=True, subwords=True))
        decisions = tuple(ItemDecision(c.token, c.token, None if c.log_ratio == 0 else c.log_ratio > 0, c.log_ratio)
                          for c in result.candidates)
        return MetricResult(self.name, self.title, result.js_divergence, "nats", math.nan, math.nan, "", 1, 0, 0.0,
                            self.summary, self.caveat, decisions, (), True, result)
