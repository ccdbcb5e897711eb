"""Integrated gradients (Sundararajan et al. 2017) at the word embeddings."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.explain import BASELINE, STEPS, ExplainInput, integrated_gradients
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, register
from bertlens.results import ExplainerResult


@register
class IntegratedGradients(Method):
    kind = "explainer"
    name = "integrated_gradients"
    title = "Integrated gradients"
    order = 20
    summary = ("How much each word moved f along a straight path from a baseline (context words masked) to the "
               "input; the scores add up to f(input) − f(baseline).")
    caveat = "The completeness gap says how well the steps approximate the integral; raise the steps when it is large."
    needs = frozenset({"mlm", "gradients"})
    spec = ConfigSpec((STEPS, BASELINE))

    def estimate(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any]) -> Cost:
        return Cost(3.0 * (config["steps"] + 1), len(inputs.target.text.split()) + 4)

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        def report(done: int, total: int) -> None:
            context.progress(done, total, f"Integrated gradients: pass {done} of {total}")

        ig, _ = integrated_gradients(lm, inputs.target, config["steps"], config["baseline"], report)
        return ExplainerResult(self.name, inputs.target.label, ig.tokens, ig.attributions, ig.completeness_gap,
                               detail=ig)
