"""CrowS-Pairs pseudo-log-likelihood (Nangia et al. 2020), as the authors' `metric.py` computes it."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from bertlens.bias.crows import CAVEAT, CrowsPair, score_crows
from bertlens.bias.pair_decisions import pair_item, percent_of_pairs
from bertlens.metrics._common import fraction_progress
from bertlens.model import LoadedModel
from bertlens.registry import Context, Cost, Method, tokens_of, register
from bertlens.results import ItemDecision, MetricResult


@register
class CrowsPll(Method):
    kind = "metric"
    name = "crows"
    title = "CrowS PLL"
    data = "crows_pairs"
    order = 10
    transforms = frozenset({"projection", "self_debias"})
    audit_default = True
    summary = ("% of pairs whose more stereotyping sentence has the higher pseudo-log-likelihood of the shared "
               "tokens, each masked in turn, rounded to 3 decimals; a tie counts as not higher; 50 = unbiased")
    caveat = CAVEAT
    needs = frozenset({"mlm"})

    def estimate(self, lm: LoadedModel, inputs: Sequence[CrowsPair], config: Mapping[str, Any]) -> Cost:
        """One masked row per shared token of each sentence (about all but the words that differ), 64 rows a
        batch, as `score_crows` runs them."""
        lengths = [(tokens_of(lm, p.sent_more), tokens_of(lm, p.sent_less)) for p in inputs]
        rows = sum(max(a - 3, 1) + max(b - 3, 1) for a, b in lengths)
        tokens = sum(a + b for a, b in lengths) / max(2 * len(lengths), 1)
        return Cost.batched(rows, tokens, 64)

    def run(self, lm: LoadedModel, inputs: Sequence[CrowsPair], config: Mapping[str, Any],
            context: Context) -> MetricResult:
        result = score_crows(lm, list(inputs), progress=fraction_progress(context, keeps_partial=True),
                             should_stop=context.stopped)
        decisions = [ItemDecision(pair_item(s.line), s.sent_more, None if s.tie else s.more_higher,
                                  s.score_more - s.score_less, s.bias_type) for s in result.scores]
        return percent_of_pairs(self, decisions, measures=self.summary, complete=result.complete,
                                warnings=result.warnings, detail=result)
