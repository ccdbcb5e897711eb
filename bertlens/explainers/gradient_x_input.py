"""Gradient x input: the gradient of f at the input, dotted with each word embedding."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.explain import ExplainInput, gradient_x_input, input_tokens
from bertlens.explain import GradientXInput as GradientTimesInput
from bertlens.model import LoadedModel
from bertlens.registry import FORWARD_AND_BACKWARD, Context, Cost, Method, register
from bertlens.results import ExplainerResult


@register
class GradientXInput(Method):
    kind = "explainer"
    data = "masked_text"
    result_type = GradientTimesInput
    name = "gradient_x_input"
    title = "Gradient × input"
    order = 40
    summary = "The gradient of f at the input times each word's embedding: one backward pass."
    caveat = "A local, first-order view: it can miss effects that saturate."
    needs = frozenset({"mlm", "gradients"})

    def estimate(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any]) -> Cost:
        return Cost(FORWARD_AND_BACKWARD, input_tokens(inputs))

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        result = gradient_x_input(lm, inputs.target)
        return ExplainerResult(self.name, inputs.target.label, result.tokens, result.scores, detail=result)
