"""Occlusion: each context token replaced by [MASK] in turn."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.explain import ExplainInput, analysis_f, input_tokens, occlusion, rows_per_batch
from bertlens.explain import Occlusion as Occluded
from bertlens.model import LoadedModel
from bertlens.registry import Context, Cost, Method, register
from bertlens.results import ExplainerResult


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
        """One row per context token ([CLS], [SEP] and the mask kept), batched as memory allows."""
        tokens = input_tokens(inputs)
        return Cost.batched(max(tokens - 3, 1), tokens, rows_per_batch(lm, tokens, gradients=False))

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        f_input = analysis_f(inputs.analysis, inputs.target) if inputs.analysis is not None else None
        result = occlusion(lm, inputs.target, f_input=f_input,
                           progress=lambda done, total: context.progress(done, total, "Occlusion"))
        return ExplainerResult(self.name, inputs.target.label, result.tokens, result.delta, detail=result)
