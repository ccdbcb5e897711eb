"""Occlusion: each context token replaced by [MASK] in turn."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.explain import ExplainInput, analysis_f, occlusion
from bertlens.explain import Occlusion as Occluded
from bertlens.model import LoadedModel
from bertlens.registry import Context, Cost, Method, register
from bertlens.results import ExplainerResult

ROW_COST = 0.11
"""One occluded row (all of them in one batch), in passes at `Pace`'s starting rate: the explain bench's 13 rows of
16 tokens took 0.62 s on the 2-core CPU of docs/benchmarks.md, where a lone pass a row made the run button say
6 s. The bench prints this estimate against the time."""


@register
class Occlusion(Method):
    kind = "explainer"
    data = "masked_text"
    result_type = Occluded
    name = "occlusion"
    title = "Occlusion"
    order = 30
    summary = "How much f drops when one token is replaced by [MASK]."
    caveat = "Masking one token at a time misses words that matter only together."
    needs = frozenset({"mlm"})

    def estimate(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any]) -> Cost:
        words = len(inputs.target.text.split())
        return Cost(ROW_COST * (words + 2), words + 4)

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        f_input = analysis_f(inputs.analysis, inputs.target) if inputs.analysis is not None else None
        result = occlusion(lm, inputs.target, f_input=f_input,
                           progress=lambda done, total: context.progress(done, total, "Occlusion"))
        return ExplainerResult(self.name, inputs.target.label, result.tokens, result.delta, detail=result)
