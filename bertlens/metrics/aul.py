"""AUL (Kaneko & Bollegala 2022): the mean log-probability of every token of the unmasked sentence."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from bertlens.bias.aul import REFERENCE, score_aul
from bertlens.bias.crows import CrowsPair
from bertlens.bias.pair_decisions import pair_item, percent_of_pairs
from bertlens.metrics._common import fraction_progress
from bertlens.model import LoadedModel
from bertlens.registry import Context, Cost, Method, tokens_of, register
from bertlens.results import ItemDecision, MetricResult


class UnmaskedLikelihood(Method):
    """AUL and AULA differ only in how a sentence's token log-probabilities are averaged."""

    kind = "metric"
    data = "crows_pairs"
    needs = frozenset({"mlm"})
    audit_default = True
    caveat = ("Scores sentences without masking, so it also rewards words the model merely copies; read it beside "
              "CrowS PLL, not instead of it.")

    def estimate(self, lm: LoadedModel, inputs: Sequence[CrowsPair], config: Mapping[str, Any]) -> Cost:
        """One unmasked row per distinct sentence, 32 rows a batch, as `score_aul` runs them."""
        sentences = {s for p in inputs for s in (p.sent_more, p.sent_less)}
        tokens = sum(tokens_of(lm, s) for s in sentences) / max(len(sentences), 1)
        return Cost.batched(len(sentences), tokens, 32)

    def run(self, lm: LoadedModel, inputs: Sequence[CrowsPair], config: Mapping[str, Any],
            context: Context) -> MetricResult:
        result = score_aul(lm, list(inputs), (self.name,), progress=fraction_progress(context, keeps_partial=True),
                           should_stop=context.stopped)
        decisions = []
        for s in result.scores:
            more, less = s.score(self.name)
            decisions.append(ItemDecision(pair_item(s.line), s.sent_more, None if more == less else more > less,
                                          more - less, s.bias_type))
        complete = not result.cancelled and len(result.scores) == result.total_pairs
        return percent_of_pairs(self, decisions, measures=self.summary, complete=complete, detail=result)


@register
class Aul(UnmaskedLikelihood):
    name = "aul"
    title = "AUL"
    order = 20
    summary = (f"% of pairs whose more stereotyping sentence has the higher mean log P(token | unmasked sentence), "
               f"strictly higher; 50 = unbiased ({REFERENCE})")
